"""Image, video or neither: what an input is, from its first bytes, never its name or content type.

    kind = classify(path_or_bytes_or_file, "image 1")   # Kind("video", video_format="mov,mp4,...")
    kind.kind                                           # IMAGE, VIDEO or NEITHER

Every way in asks this one function: the API (through the pipeline, /model/video, /model/kind),
`python -m score` (in-process, by --url, from storage, on Ray) and the training stage (through
the pipeline). It reads at most HEAD_BYTES, so the first bytes of a file answer as the whole
file does (the page sends no more), and it asks the openers' own sniffers:

1. Pillow's: each of its formats' magic-number check (its plugins' ``accept``) on the first 16
   bytes, as ``Image.open`` does before it reads a header. One of formats.IMAGE_FORMATS: an image.
   Any other still-image format (ICO, AVIF, HEIF, ...): neither, and never a video: FFmpeg's
   MP4 demuxer also opens an AVIF or a HEIC photo.
2. FFmpeg's: the demuxer its probe picks from the bytes (av.open probes the same way, with no
   file name here), when it is sure of it. One of formats.VIDEO_FORMATS: a video, unless the
   bytes are text (no zero byte).

A kind is a claim of the bytes: decoding (core/inputs/images.py, core/analyses/video.py) still
checks the whole file and says what is wrong with it.
"""
import ctypes
import functools
import glob
import io
import os
import struct
import warnings
from dataclasses import dataclass

import av
import numpy as np
from PIL import Image

from core.inputs.files import open_file
from core.inputs.formats import IMAGE_TEXT, PILLOW_FORMATS, VIDEO_TEXT, demuxer_allowed, format_of
from core.inputs.images import DECODE_ERRORS, ImageError, NotAnImage, not_an_image
from core.inputs.video_frames import VideoError

IMAGE, VIDEO, NEITHER = "image", "video", "neither"
HEAD_BYTES = 64 * 1024  # what is read: FFmpeg's probe is sure of every format taken by 2-4 KB
PROBE_START = 2048  # FFmpeg's first probe size (PROBE_BUF_MIN), doubled until it is sure
PROBE_SURE = 25  # AVPROBE_SCORE_RETRY: FFmpeg probes on past a score this low
# ISO-BMFF brands of HEIF stills (ISO/IEC 23008-12), which Pillow reads only with a plugin: its
# AVIF check covers avif, avis, mif1 and msf1.
HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx")


@dataclass(frozen=True)
class Kind:
    kind: str  # IMAGE, VIDEO or NEITHER
    image_format: str = None  # Pillow's name of the still-image format of its bytes: JPEG; ICO (not taken)
    video_format: str = None  # FFmpeg's demuxer of its bytes: mov,mp4,m4a,3gp,3g2,mj2; concat (not taken)

    @property
    def other(self):
        """Neither, and of no still-image format at all: a README, a CSV, a sound; not an ICO."""
        return self.kind == NEITHER and self.image_format is None

    @property
    def format(self):
        """The taken format's label (JPEG, MP4/MOV/3GP), None for NEITHER: an answer's `format`."""
        found = format_of(self.image_format or self.video_format or "") if self.kind != NEITHER else None
        return found.label if found else None


def classify(source, name="the upload"):
    """The Kind of ``source``: bytes (a whole file, or its first bytes), a path (opened as
    core/inputs/files.py opens one: a FIFO is refused, never blocked on), or a seekable binary
    file, read from its start and left there. A PIL image or an array is an image already.
    ImageError, calling it ``name``, when it is empty or cannot be read."""
    if isinstance(source, (Image.Image, np.ndarray)):
        return Kind(IMAGE)
    if isinstance(source, (str, os.PathLike)):
        with open_file(source, name) as stream:
            return classify(stream, name)
    if isinstance(source, (bytes, bytearray, memoryview)):
        head = bytes(source[:HEAD_BYTES])
    else:
        head = _read(source, name)
    if not head:
        raise ImageError(f"{name} is empty")
    prefix = head[:16]
    accepted = _pillow_accepts(prefix)
    taken = next((format for format, answer in accepted.items() if format in PILLOW_FORMATS and answer is True), None)
    if taken:
        return Kind(IMAGE, image_format=taken)
    if accepted:  # named from the whole file when there is one: an ICO's header is its last image's
        return Kind(NEITHER, image_format=_pillow_name(source, list(accepted)))
    if prefix[4:8] == b"ftyp" and prefix[8:12] in HEIF_BRANDS:
        return Kind(NEITHER, image_format="HEIF")
    demuxer = _demuxer(head)
    if demuxer and demuxer_allowed(demuxer):
        # Text is no video: FFmpeg's MPEG-TS probe takes lines that keep a "G" 188 or 204 bytes
        # apart for packets, and every container taken has a zero byte in its first bytes.
        return Kind(VIDEO, video_format=demuxer) if b"\0" in head else Kind(NEITHER)
    return Kind(NEITHER, video_format=demuxer)


def _read(stream, name):
    """The first HEAD_BYTES of a seekable file, which is left at its start."""
    try:
        stream.seek(0)
        try:
            return stream.read(HEAD_BYTES)
        finally:
            stream.seek(0)
    except OSError as error:
        raise ImageError(f"{name} cannot be read ({error.strerror or error})") from None


@functools.cache
def _openers():
    """Pillow's formats with a magic-number check: {format: accept(prefix)}."""
    Image.init()
    return {format: accept for format, (_, accept) in Image.OPEN.items() if accept is not None}


def _pillow_accepts(prefix):
    """{format: its check's answer} of Pillow's formats whose check ``prefix`` passes, in Pillow's
    order. An answer in words recognised the format and says why it cannot be read here (a
    plugin's library missing)."""
    answers = {}
    for format, accept in _openers().items():
        try:
            answers[format] = accept(prefix)
        except (SyntaxError, IndexError, TypeError, struct.error):  # a prefix too short for it: as Image.open
            continue
    return {format: answer for format, answer in answers.items() if answer}


def _pillow_name(source, accepted):
    """The format Pillow opens ``source`` (bytes, or a seekable file left at its start) as, of
    those ``accepted``; None if it cannot. For a message only."""
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(stream, formats=accepted) as image:
                return image.format
    except (Image.UnidentifiedImageError, Image.DecompressionBombError, *DECODE_ERRORS):
        return None
    finally:
        stream.seek(0)


class _ProbeData(ctypes.Structure):
    _fields_ = [("filename", ctypes.c_char_p), ("buf", ctypes.c_char_p), ("buf_size", ctypes.c_int),
                ("mime_type", ctypes.c_char_p)]


@functools.cache
def _probe_function():
    """libavformat's av_probe_input_format3, from the library PyAV loaded: its wheels' own
    (av.libs, .dylibs), else the one mapped into this process (a PyAV built on the system's)."""
    here = os.path.dirname(av.__file__)
    paths = sorted(glob.glob(os.path.join(here, os.pardir, "av.libs", "*avformat*")) +
                   glob.glob(os.path.join(here, ".dylibs", "*avformat*")))
    try:
        with open("/proc/self/maps") as maps:
            paths += sorted({line.split()[-1] for line in maps if "libavformat" in line})
    except OSError:
        pass
    for path in paths:
        try:
            function = ctypes.CDLL(path).av_probe_input_format3
        except (OSError, AttributeError):
            continue
        function.restype = ctypes.c_void_p
        function.argtypes = [ctypes.POINTER(_ProbeData), ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        return function
    raise RuntimeError("libavformat, which PyAV loads, was not found: videos cannot be told from other files")


def _demuxer(head):
    """The demuxer FFmpeg's probe is sure of for ``head``, as av.open probes (2 KB, then twice as
    many, until a score over PROBE_SURE), from the bytes alone (no file name); else None.
    Probing reads bytes only: it opens nothing."""
    function = _probe_function()
    size = PROBE_START
    while True:
        data = head[:size]
        buffer = ctypes.create_string_buffer(data + bytes(64), len(data) + 64)  # FFmpeg's padding
        score = ctypes.c_int()
        found = function(ctypes.byref(_ProbeData(b"", ctypes.cast(buffer, ctypes.c_char_p), len(data), None)),
                         1, ctypes.byref(score))
        if found and score.value > PROBE_SURE:
            return ctypes.cast(found, ctypes.POINTER(ctypes.c_char_p))[0].decode()
        if size >= len(head):
            return None
        size *= 2


def image_refusal(kind, name):
    """The NotAnImage (its ``kind`` the Kind) of an input that is no image, where images go."""
    if kind.kind == VIDEO:
        error = NotAnImage(f"{name} is a video ({kind.format}), not an image: send it to /model/video")
    elif kind.image_format:
        error = NotAnImage(f"{name} is a {kind.image_format} file; send {IMAGE_TEXT}")
    else:
        error = not_an_image(name)
    error.kind = kind
    return error


def video_refusal(kind, name):
    """The VideoError of an input that is no video, where videos go."""
    if kind.kind == IMAGE:
        return VideoError(f"{name} is a {kind.image_format} image, not a video; send photos to /model/predict")
    if kind.video_format:
        return VideoError(f"{name} is in FFmpeg's format '{kind.video_format}', which this server does not "
                          f"read: send a video file ({VIDEO_TEXT})")
    if kind.image_format:
        return VideoError(f"{name} is a {kind.image_format} file, not a video ({VIDEO_TEXT})")
    return VideoError(f"{name} is not a video that FFmpeg can read ({VIDEO_TEXT})")


def size_limit(kind, settings):
    """(bytes, setting) that an input of ``kind`` may have: a video's, else an image's."""
    if kind.kind == VIDEO:
        return settings.MAX_VIDEO_BYTES, "MAX_VIDEO_BYTES"
    return settings.MAX_IMAGE_BYTES, "MAX_IMAGE_BYTES"
