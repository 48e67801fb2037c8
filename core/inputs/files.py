"""Reading an input file safely: a regular file only (a FIFO is refused from its stat, never
blocked on), bounded in size before a byte is read."""
import os
import stat

from core.inputs.images import ImageError, TooLarge

KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
         (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))


def check_size(name, size, max_bytes, setting="MAX_IMAGE_BYTES"):
    """ImageError for an empty file, TooLarge for one over ``max_bytes`` (None: no limit): from
    its size alone, before a byte is read (a file's stat, an object's listing)."""
    if size == 0:
        raise ImageError(f"{name} is empty")
    if max_bytes is not None and size > max_bytes:
        raise TooLarge(f"{name} is {size} bytes, over the limit of {max_bytes} bytes ({setting})")


def open_file(path, name, max_bytes=None, setting="MAX_IMAGE_BYTES"):
    """A binary file object of ``path``, open at its start: a regular file, not empty, of at most
    ``max_bytes`` (None: any size, for a caller that reads only its first bytes); else ImageError,
    with nothing read. Nothing blocks on a FIFO: it is refused from its stat, and opened
    non-blocking should one be swapped in after the stat."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            kind = next((kind for test, kind in KINDS if test(info.st_mode)), "a special file")
            raise ImageError(f"{name} is not a regular file: it is {kind}")
        check_size(name, info.st_size, max_bytes, setting)
        stream = os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)), "rb")
    except OSError as error:
        raise ImageError(f"{name} cannot be read ({error.strerror or error})") from None
    if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
        stream.close()
        raise ImageError(f"{name} is not a regular file")
    return stream


def read_stream(stream, name, max_bytes):
    """At most ``max_bytes`` of an open file, from where it is."""
    try:
        return stream.read(max_bytes + 1)[:max_bytes]
    except OSError as error:
        raise ImageError(f"{name} cannot be read ({error.strerror or error})") from None


def read_source(source, name, max_bytes, setting="MAX_IMAGE_BYTES"):
    """The bytes of a path (through ``open_file``: bounded), or of a bytes-like input."""
    if isinstance(source, (str, os.PathLike)):
        with open_file(source, name, max_bytes, setting) as stream:
            return read_stream(stream, name, max_bytes)
    return bytes(source)
