"""The photos of a collection, in a stable order: files, folders walked recursively, or a list.

Nothing here looks at extensions or reads any bytes: every file is an input, and whether it is
an image is decided by its bytes when it is scored (core/pipeline.py), as the service decides.
Hidden files and folders (a leading dot: .DS_Store, .git) are left out of a walk. Inputs are
streamed, so a folder of a million photos is never held as a list.
"""
import os
from dataclasses import dataclass
from pathlib import PurePath


class InputError(ValueError):
    """A path on the command line that does not exist: nothing can be scored from it."""


@dataclass(frozen=True)
class Input:
    path: str  # as the user named it, joined with the walk: the row's `path`, the key of a resume
    name: str  # relative, without `..`: where its maps go under --maps (see map_name)


def map_name(path, root=None):
    """A safe relative name for ``path``'s maps: relative to the folder ``root`` it was found in,
    else the path itself with its anchor (`/`, `C:\\`) and any `..` removed."""
    relative = PurePath(os.path.relpath(path, root)) if root is not None else PurePath(path)
    parts = [part for part in relative.parts if part not in ("..", ".") and part != relative.anchor]
    return str(PurePath(*parts)) if parts else PurePath(path).name or "input"


def walk(folder):
    """Every non-hidden file under ``folder``, in sorted order of its relative path."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:  # a folder that vanished or cannot be listed mid-walk: skip it
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from walk(entry.path)
        elif entry.is_file():
            yield entry.path


def read_list(stream):
    """Paths from a text stream, one a line; blank lines are skipped."""
    for line in stream:
        line = line.rstrip("\r\n")
        if line.strip():
            yield line


def iter_inputs(paths=(), listed=()):
    """Inputs from ``paths`` (files or folders) and then ``listed`` (paths from a list), each
    path once: a repeat is dropped, so that every path has exactly one row."""
    seen = set()

    def once(path, root=None):
        if path not in seen:
            seen.add(path)
            yield Input(path, map_name(path, root))

    for path in paths:
        if os.path.isdir(path):
            for found in walk(path):
                yield from once(found, path)
        else:
            yield from once(path)
    for path in listed:
        yield from once(path)


def check_paths(paths):
    """Raise InputError for a command-line path that does not exist."""
    missing = [path for path in paths if not os.path.exists(path)]
    if missing:
        raise InputError(f"no such file or folder: {', '.join(missing)}")
