"""The formats the service takes: one list, read by the classifier (core/inputs/kinds.py), the
decoders, the walk's name rules (collection/inputs.py) and every help text and message.

Each is the names people give it, what Pillow or FFmpeg calls it, and the file suffixes that
claim it (a claim only: what a file is comes from its bytes).
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    names: tuple  # as people name it: ("MP4", "MOV", "3GP")
    readers: tuple  # Pillow's format names, or FFmpeg's demuxer name, that read it
    suffixes: tuple  # the file name endings that claim it

    @property
    def label(self):
        """One name for an answer's `format`: "JPEG", "MP4/MOV/3GP"."""
        return "/".join(self.names)


IMAGE_FORMATS = (
    Format(("JPEG",), ("JPEG", "MPO"), (".jpg", ".jpeg", ".jpe", ".jfif", ".mpo")),  # MPO: many cameras' JPEG
    Format(("PNG",), ("PNG",), (".png",)),
    Format(("GIF",), ("GIF",), (".gif",)),
    Format(("BMP",), ("BMP", "DIB"), (".bmp", ".dib")),
    Format(("TIFF",), ("TIFF",), (".tif", ".tiff")),
    Format(("WebP",), ("WEBP",), (".webp",)),
)

# FFmpeg's demuxers: a name matches any of a demuxer's comma-separated names ("mov,mp4,m4a,3gp,3g2,mj2").
VIDEO_FORMATS = (
    Format(("MP4", "MOV", "3GP"), ("mov",), (".mp4", ".m4v", ".mov", ".3gp", ".3g2")),
    Format(("WebM", "Matroska"), ("matroska",), (".webm", ".mkv")),
    Format(("AVI",), ("avi",), (".avi",)),
    Format(("MPEG-TS",), ("mpegts",), (".ts", ".mts", ".m2ts")),
    Format(("MPEG-PS",), ("mpeg",), (".mpg", ".mpeg", ".vob")),
    Format(("FLV",), ("flv",), (".flv",)),
    Format(("Ogg",), ("ogg",), (".ogv", ".ogg")),
    Format(("ASF",), ("asf",), (".asf", ".wmv")),
    Format(("MXF",), ("mxf",), (".mxf",)),
)

PILLOW_FORMATS = frozenset(reader for format in IMAGE_FORMATS for reader in format.readers)
DEMUXERS = tuple(reader for format in VIDEO_FORMATS for reader in format.readers)
CLAIMED_SUFFIXES = frozenset(suffix for format in IMAGE_FORMATS + VIDEO_FORMATS for suffix in format.suffixes)


def listing(formats, last="or"):
    """"JPEG, PNG, GIF, BMP, TIFF or WebP": every name of ``formats``, for help texts and messages."""
    names = [name for format in formats for name in format.names]
    return f"{', '.join(names[:-1])} {last} {names[-1]}"


IMAGE_TEXT = listing(IMAGE_FORMATS)
VIDEO_TEXT = listing(VIDEO_FORMATS)


def demuxer_allowed(name):
    """Whether FFmpeg's demuxer ``name`` ("mov,mp4,m4a,3gp,3g2,mj2") reads one of VIDEO_FORMATS."""
    return any(part in DEMUXERS for part in name.split(","))


def format_of(reader):
    """The Format that Pillow's or FFmpeg's ``reader`` name reads, or None."""
    for format in IMAGE_FORMATS + VIDEO_FORMATS:
        if reader in format.readers or any(part in format.readers for part in reader.split(",")):
            return format
    return None
