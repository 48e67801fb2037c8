"""What FFmpeg may do with an untrusted video (core/analyses/video.py): which container formats it opens,
that it opens nothing else, how many frames it reads, on how many threads, and which frames it
need not decode at all.

- **Formats**: an upload or a file opens only as one of FORMATS (FFmpeg's ``format_whitelist``,
  checked after probing and before any demuxer reads a header). FFmpeg's playlists and lists
  open the files and addresses they name: ``concat`` (relative to the working directory, on
  an upload), ``hls``, ``image2`` (a name such as ``frame%03d.png``), ``mlv`` (its ``.M00``...
  siblings), ``vobsub`` (the ``.sub`` beside an ``.idx``) and ``sdp`` (it binds UDP ports for
  RTP). Two more locks hold if a format ever did: FFmpeg may open no protocol
  (``protocol_whitelist`` empty) and PyAV's ``io_open`` refuses every nested open. A path is
  opened here, by Python, so that FFmpeg never parses a name as a protocol or a pattern.
- **Frames read**: a pass reads at most MAX_VIDEO_DECODE_FRAMES packets of the stream (the
  video's own frames, whatever the sampling), and a header that declares more is refused
  before decoding: a stream whose frames have no timestamps, or a 240 fps hour, is a 400 and
  not an unbounded decode.
- **Skipped frames**: where the samples are sparser than the stream's frames, an H.264 frame
  that no other frame references (``skip_frame = NONREF``) and that no sample can show is
  not decoded. Which frame a sample shows is decided from the packets' timestamps, read a few
  packets ahead, so the sampled frames are exactly those of a full decode.
"""
import bisect
import collections
import ctypes
import functools
import glob
import os

import av

EPSILON = 1e-6  # seconds: a frame presented at exactly t is the one shown at t (core/analyses/video.py)
MARGIN = 1e-9  # seconds: rounding between a packet's time and its frame's; errs towards decoding
# FFmpeg's demuxer names (a name matches any of a demuxer's comma-separated names).
FORMATS = ("mov", "matroska", "avi", "mpegts", "mpeg", "flv", "ogg", "asf", "mxf")
READS = "MP4, MOV, 3GP, WebM, Matroska, AVI, MPEG-TS, MPEG-PS, FLV, Ogg, ASF and MXF"
# Codecs whose non-reference frames no frame references. Not HEVC: its sub-layer non-reference
# pictures may be referenced by a higher temporal sub-layer, which NONREF would break.
SKIPPABLE = frozenset({"h264"})
LOOKAHEAD = 16  # packets read ahead of the decoder, to know when each frame stops being shown


class VideoError(ValueError):
    """The upload is not a video this service can score; the message says why."""


class Refused(OSError):
    """FFmpeg asked to open another file or address while reading a video."""


def _refuse(url, flags, options):
    raise Refused(url)


def open_container(source, name, probe=True):
    """(container, the file opened here or None) of ``source``, a path or a seekable binary
    file, held to FORMATS; VideoError that names what was wrong (with ``probe``, the format of
    one refused)."""
    owned = open(source, "rb") if isinstance(source, (str, os.PathLike)) else None
    stream = owned or source
    try:
        container = av.open(stream, mode="r", metadata_errors="ignore", io_open=_refuse,
                             options={"format_whitelist": ",".join(FORMATS), "protocol_whitelist": ""})
        if allowed(container.format.name):  # FFmpeg checked it already; a build that did not is caught here
            return container, owned
        container.close()
        message = f"{name} is in FFmpeg's format '{container.format.name}', which this server does not read"
    except Refused as refused:
        message = f"{name} names another file or address ({refused}): only a video file is read"
    except (av.FFmpegError, UnicodeDecodeError, ValueError):
        detected = probe_format(stream) if probe else None
        message = (f"{name} is in FFmpeg's format '{detected}', which this server does not read: send a "
                   f"video file ({READS})" if detected and not allowed(detected) else
                   f"{name} is not a video that FFmpeg can read ({READS})")
    if owned is not None:
        owned.close()
    else:
        stream.seek(0)
    raise VideoError(message)


def allowed(format_name):
    """Whether FFmpeg's demuxer ``format_name`` ("mov,mp4,m4a,3gp,3g2,mj2") is one of FORMATS."""
    return any(part in FORMATS for part in format_name.split(","))


class _ProbeData(ctypes.Structure):
    _fields_ = [("filename", ctypes.c_char_p), ("buf", ctypes.c_char_p), ("buf_size", ctypes.c_int),
                ("mime_type", ctypes.c_char_p)]


@functools.cache
def _probe_function():
    """libavformat's av_probe_input_format3, from the library PyAV loaded; None without it."""
    libs = os.path.join(os.path.dirname(av.__file__), os.pardir, "av.libs")
    for path in sorted(glob.glob(os.path.join(libs, "libavformat*"))):
        try:
            function = ctypes.CDLL(path).av_probe_input_format3
        except (OSError, AttributeError):
            continue
        function.restype = ctypes.c_void_p
        function.argtypes = [ctypes.POINTER(_ProbeData), ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        return function
    return None


def probe_format(stream, limit=1 << 20):
    """The demuxer FFmpeg's probe picks for ``stream``'s first bytes, as its own probing does
    (2 KB, then twice as many, until a format is sure); None if none or no libavformat at hand.
    Probing reads bytes only: it opens nothing. Only to name a refused format."""
    function = _probe_function()
    if function is None:
        return None
    try:
        stream.seek(0)
        head = stream.read(limit)
        name = getattr(stream, "name", None)
        name = os.fsencode(name) if isinstance(name, (str, bytes)) else b""
    except (OSError, ValueError):
        return None
    size = 2048
    while True:
        data = head[:size]
        buffer = ctypes.create_string_buffer(data + bytes(64), len(data) + 64)  # FFmpeg's padding
        score = ctypes.c_int()
        found = function(ctypes.byref(_ProbeData(name, ctypes.cast(buffer, ctypes.c_char_p), len(data), None)),
                         1, ctypes.byref(score))
        if (found and score.value > 25) or size >= len(head):  # AVPROBE_SCORE_RETRY
            return ctypes.cast(found, ctypes.POINTER(ctypes.c_char_p))[0].decode() if found else None
        size *= 2


def frames(video, times=None):
    """The frames of ``video`` (core.analyses.video.VideoReader) decoded from its container's position,
    in the decoder's order: one pass. Counts ``video.packets`` (VideoError past
    MAX_VIDEO_DECODE_FRAMES in the pass), ``video.decoded`` and ``video.passes``. With the
    sorted sample ``times`` (from the stream's start) and a codec of SKIPPABLE, the frames that
    no sample can show and no frame references are not decoded (Plan)."""
    video.passes += 1
    context, limit = video.stream.codec_context, video.settings.MAX_VIDEO_DECODE_FRAMES
    plan = Plan(times, video.stream.time_base, video.start) if times is not None and context.name in SKIPPABLE else None
    read = 0

    def demuxed():
        nonlocal read
        for packet in video.container.demux(video.stream):
            if packet.size:  # not one of the empty packets that flush the decoder at the end
                if read == limit:
                    raise VideoError(f"{video.name} has more than {limit} frames to decode (MAX_VIDEO_DECODE_FRAMES); "
                                      "a stream that long, or whose frames have no timestamps, is not read")
                read += 1
                video.packets += 1
            yield packet

    skipping = False
    context.skip_frame = "DEFAULT"
    try:
        for packet, skip in plan.packets(demuxed()) if plan else ((packet, False) for packet in demuxed()):
            if skip != skipping:
                context.skip_frame, skipping = ("NONREF" if skip else "DEFAULT"), skip
            for frame in packet.decode():
                video.decoded += 1
                if plan:
                    plan.came_out(frame)
                yield frame
    finally:
        if skipping:
            context.skip_frame = "DEFAULT"


class Plan:
    """Which packets of a pass must be decoded for the sample ``times`` (seconds from the
    stream's ``start``). A sample shows the last frame presented at or before it
    (core.analyses.video.VideoReader.played_at), so a frame is needed when a sample falls between its
    time and the next frame's. Each packet is judged LOOKAHEAD packets after it is read, from
    the times of the packets around it: where each packet is one frame of its time, the next
    frame is never sooner than the next packet known, so no frame a sample shows is skipped.
    That is checked as frames come out (each a packet's time, in order, none missing), and
    skipping waits for WARM frames that hold it and stops for the pass at a frame that does
    not (a packet without a time, a field of an interlaced frame, a packet that made no frame)."""

    WARM = 2 * LOOKAHEAD

    def __init__(self, times, time_base, start):
        self.times, self.start = list(times), start
        self.scale = time_base.numerator / time_base.denominator
        self.known = collections.deque(maxlen=4 * LOOKAHEAD)  # times of the packets judged
        self.waiting = collections.Counter()  # times of packets decoded whose frames are to come out
        self.skipped = collections.Counter()  # times of packets skipped (a reference frame comes out anyway)
        self.out, self.trusted = 0, True

    def _time(self, pts):
        return None if pts is None else float(pts) * self.scale - self.start

    def packets(self, demuxed):
        """(packet, skip) of each packet of ``demuxed``, in its order."""
        ahead = collections.deque()
        for packet in demuxed:
            ahead.append((packet, self._time(packet.pts)))
            if len(ahead) > LOOKAHEAD:
                yield self._judge(ahead)
        while ahead:
            yield self._judge(ahead)

    def _judge(self, ahead):
        packet, t = ahead.popleft()
        if not packet.size:
            return packet, False
        if t is None:
            self.trusted = False
            return packet, False
        skip = False
        if self.trusted and self.out >= self.WARM:
            later = [x for x in (*self.known, *(x for _, x in ahead)) if x is not None and x > t]
            skip = not self._needed(t, min(later) if later else None)
        self.known.append(t)
        (self.skipped if skip else self.waiting)[t] += 1
        return packet, skip

    def _needed(self, t, following):
        first = bisect.bisect_left(self.times, t - EPSILON - MARGIN)
        if first == len(self.times):
            return False  # after the last sample
        return following is None or self.times[first] < following - EPSILON + MARGIN

    def came_out(self, frame):
        if not self.trusted:
            return
        t = self._time(frame.pts)
        pool = self.waiting if self.waiting[t] else self.skipped if self.skipped[t] else None
        if t is None or pool is None or any(x < t for x in self.waiting):  # a packet made no frame
            self.trusted = False
            return
        pool[t] -= 1
        for counter in (self.waiting, self.skipped):
            for x in [x for x, n in counter.items() if n <= 0 or (counter is self.skipped and x < t)]:
                del counter[x]
        self.out += 1


def set_threads(stream, threads):
    """FFmpeg decodes on ``threads`` threads (MODEL_THREADS), by frame and by slice; not the
    node's core count, which a container's CPU limit does not change."""
    stream.codec_context.thread_count = threads
    stream.codec_context.thread_type = "AUTO"
