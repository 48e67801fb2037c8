"""What FFmpeg may do with an untrusted video (core/analyses/video.py): which container formats it opens,
that it opens nothing else, how many frames it reads, on how many threads, and which frames it
need not decode at all.

- **Formats**: an upload or a file opens only as one of formats.VIDEO_FORMATS (FFmpeg's ``format_whitelist``,
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
import os

import av

from core.inputs.formats import DEMUXERS, VIDEO_TEXT, demuxer_allowed

EPSILON = 1e-6  # seconds: a frame presented at exactly t is the one shown at t (core/analyses/video.py)
MARGIN = 1e-9  # seconds: rounding between a packet's time and its frame's; errs towards decoding
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


def open_container(source, name):
    """(container, the file opened here or None) of ``source``, a path or a seekable binary
    file of a kind classified as a video (core/inputs/kinds.py), held to formats.VIDEO_FORMATS;
    VideoError that names what was wrong."""
    owned = open(source, "rb") if isinstance(source, (str, os.PathLike)) else None
    stream = owned or source
    try:
        container = av.open(stream, mode="r", metadata_errors="ignore", io_open=_refuse,
                             options={"format_whitelist": ",".join(DEMUXERS), "protocol_whitelist": ""})
        if demuxer_allowed(container.format.name):  # FFmpeg checked it already; a build that did not is caught here
            return container, owned
        container.close()
        message = f"{name} is in FFmpeg's format '{container.format.name}', which this server does not read"
    except Refused as refused:
        message = f"{name} names another file or address ({refused}): only a video file is read"
    except (av.FFmpegError, UnicodeDecodeError, ValueError):
        message = f"{name} is not a video that FFmpeg can read ({VIDEO_TEXT})"
    if owned is not None:
        owned.close()
    else:
        stream.seek(0)
    raise VideoError(message)


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
