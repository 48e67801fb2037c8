"""The photos of a collection, in a stable order: files, folders walked recursively, or a list.

Nothing here reads a file: whether it is an image is decided by its first bytes when it is
scored (core/inputs/pipeline.py), as the service decides. A walk treats links as `find` and `os.walk`
do: a symlink to a file is an input, a symlinked folder is not entered unless ``follow_links``,
and then each real folder is entered once (by device and inode), so a loop ends. Every other
entry is an input too, FIFOs, sockets and devices included, so that each gets its row ("not a
regular file") rather than vanishing; a folder that cannot be listed is an input with its error.
Hidden files and folders (a leading dot: .DS_Store, .git) are left out of a walk. Inputs are
streamed, so a folder of a million photos is never held as a list.
"""
import itertools
import os
from dataclasses import dataclass
from pathlib import PurePath

from collection.uris import is_uri
from core.inputs.formats import CLAIMED_SUFFIXES


class InputError(ValueError):
    """A path on the command line that does not exist: nothing can be scored from it."""


@dataclass(frozen=True)
class Input:
    path: str  # as the user named it, joined with the walk: the row's `path`, the key of a resume
    name: str  # relative, without `..`: where its maps go under --maps (map_name), one per input
    walked: bool = False  # met in a walk, not named: a file there that is no image is not a failure
    error: str = None  # known before reading: a folder that cannot be listed

    def not_an_image(self, kind):
        """The one test of "not an image, met in a walk", which is no failure: a walked file whose
        bytes are of no image format at all nor a video (``kind``, core.inputs.kinds.Kind; None
        when its bytes were not classified) and whose name claims no format taken. A README or a
        CSV beside the photos; not a photo.bin that is a broken JPEG, a notes.mp4 or a favicon."""
        return (self.walked and self.error is None and kind is not None and kind.other
                and os.path.splitext(self.path)[1].lower() not in CLAIMED_SUFFIXES)


def map_root(paths, listed=()):
    """The deepest folder that holds every input: each folder of ``paths``, the folder of each
    file of ``paths`` and of ``listed``. Maps are named relative to it (map_name), so that
    distinct inputs never share a map. ``listed`` None: paths that cannot be known ahead (a list
    on stdin, read once), so the filesystem's root: maps named by their absolute paths."""
    if listed is None:
        return os.path.abspath(os.sep)
    root = None
    for path, named in itertools.chain(((path, True) for path in paths), ((path, False) for path in listed)):
        if not is_uri(path):
            path = os.path.abspath(path)
            folder = path if named and os.path.isdir(path) else os.path.dirname(path)
            if root is None or not (folder + os.sep).startswith(root.rstrip(os.sep) + os.sep):  # most are inside
                root = folder if root is None else os.path.commonpath([root, folder])
    return root


def map_name(path, root=None):
    """A safe relative name for ``path``'s maps: relative to ``root`` (map_root; a URI's prefix),
    folders kept, else the path itself; with its anchor (`/`, `C:\\`) and any `..` removed."""
    if root is not None:
        path, root = (item if is_uri(path) else os.path.abspath(item) for item in (path, root))
    relative = PurePath(os.path.relpath(path, root)) if root is not None else PurePath(path)
    parts = [part for part in relative.parts if part not in ("..", ".") and part != relative.anchor]
    return str(PurePath(*parts)) if parts else PurePath(path).name or "input"


class OwnFiles:
    """The run's own output, maps folder and summary, which it never scores: known by device and
    inode, whatever name reaches them (./scores.csv, an absolute path, a link); one that does
    not exist yet is not met."""

    def __init__(self, paths=()):
        self.ids = set()
        for path in paths:
            try:
                info = os.stat(path)
            except (OSError, TypeError, ValueError):
                continue
            self.ids.add((info.st_dev, info.st_ino))
        self.inodes = {inode for _, inode in self.ids}

    def holds(self, path):
        try:
            info = os.stat(path)
        except (OSError, ValueError):
            return False
        return (info.st_dev, info.st_ino) in self.ids

    def holds_entry(self, entry):
        """holds() for an os.DirEntry, with no system call unless its inode is one of ours or it is a link."""
        if entry.is_symlink():
            return self.holds(entry.path)
        if entry.inode() not in self.inodes:
            return False
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            return False
        return (info.st_dev, info.st_ino) in self.ids


def walk(folder, follow_links=False, seen=None, own=None):
    """(path, error) of every non-hidden entry under ``folder`` that is not a folder nor one of
    ``own`` (OwnFiles), in sorted order of its relative path; error is None, or why a folder
    could not be listed."""
    if follow_links:
        seen = set() if seen is None else seen
        try:
            info = os.stat(folder)
        except OSError as error:
            yield folder, f"cannot be listed ({error.strerror or error})"
            return
        if (info.st_dev, info.st_ino) in seen:  # a loop, or a folder reached twice: once is enough
            return
        seen.add((info.st_dev, info.st_ino))
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as error:  # unreadable, or vanished mid-walk: its row says so
        yield folder, f"cannot be listed ({error.strerror or error})"
        return
    for entry in entries:
        if entry.name.startswith(".") or (own and own.ids and own.holds_entry(entry)):
            continue
        try:
            is_folder = entry.is_dir(follow_symlinks=follow_links)
        except OSError:
            is_folder = False
        if is_folder:
            yield from walk(entry.path, follow_links, seen, own)
        elif not (entry.is_symlink() and _is_folder(entry.path)):  # a symlinked folder, not followed
            yield entry.path, None


def _is_folder(path):
    try:
        return os.path.isdir(path)
    except OSError:
        return False


def read_list(stream):
    """Paths from a text stream, one a line; blank lines are skipped."""
    for line in stream:
        line = line.rstrip("\r\n")
        if line.strip():
            yield line


def iter_inputs(paths=(), listed=(), follow_links=False, maps_root=None, exclude=()):
    """Inputs from ``paths`` (files, folders, or URIs of objects or prefixes) and then ``listed``
    (paths from a list), each path once: a repeat is dropped, so that every path has exactly one
    row. A folder named on the command line is walked even when it is a symlink, as `find -H` does.
    Map names are relative to
    ``maps_root``, by default map_root's (a ``listed`` that is no list or tuple is not read ahead).
    The paths of ``exclude`` (the run's output, maps and summary: OwnFiles) are never inputs."""
    own = OwnFiles(exclude)  # when the first input is asked for: the output exists by then
    if maps_root is None:
        maps_root = map_root(paths, listed if isinstance(listed, (list, tuple)) else None)
    seen = set()

    def once(path, walked=False, error=None, root=maps_root):
        if path not in seen and not (own.ids and not walked and own.holds(path)):
            seen.add(path)
            yield Input(path, map_name(path, root), walked=walked, error=error)

    for path in paths:
        if is_uri(path):  # a prefix or an object in storage, listed by pyarrow (--ray only)
            from collection.storage import list_uri

            for found in list_uri(path):
                yield from once(found, found != path, root=path if found != path else None)
        elif os.path.isdir(path):
            if own.ids and own.holds(path):  # `score maps/ --maps maps/`: nothing of ours is scored
                continue
            for found, error in walk(path, follow_links, own=own):
                yield from once(found, True, error)
        else:
            yield from once(path)
    for path in listed:
        yield from once(path)


def check_paths(paths):
    """Raise InputError for a command-line path that does not exist (a URI is checked when
    it is listed)."""
    missing = [path for path in paths if not is_uri(path) and not os.path.exists(path)]
    if missing:
        raise InputError(f"no such file or folder: {', '.join(missing)}")
