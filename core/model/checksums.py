"""Checksums in MAX's ``md5sums.txt`` format (``<md5>  <path>``, as ``md5sum -c`` reads it).

A model load checks about 1 GB (the bucket's weights and the tier's runtime: 1.7 s of md5 on
2 cores, a third of a `score` start). ``DigestMemo`` hashes each version of a file once: it
remembers a file's md5 against its device, inode, size, mtime and ctime, as git's index does.
Any write, copy, truncation or `touch` changes the ctime, so the file is hashed again; what it
does not see is the disk itself flipping a bit under an unchanged inode.
"""
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

CHUNK = 1 << 20
MEMO_FILE = "digests.json"
SETTLED_NS = 2 * 10**9  # a file changed less than 2 s ago may change again within the same tick


class ChecksumError(RuntimeError):
    """A file is missing or its content is not what its checksum line pins."""


def file_digest(path, algorithm="md5"):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _identity(path):
    st = os.stat(path)
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


class DigestMemo:
    """md5s of files already hashed, in ``folder``/digests.json (MODEL_CACHE). Where that folder
    cannot be written (a read-only image), every file is simply hashed each time."""

    def __init__(self, folder, settled_ns=SETTLED_NS):
        self.path, self.settled_ns = Path(folder) / MEMO_FILE, settled_ns

    def _read(self):
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def digest(self, path):
        key, before = os.path.realpath(path), _identity(path)
        known = self._read().get(key)
        if known and known[0] == before:
            return known[1]
        digest = file_digest(path)
        if _identity(path) == before and time.time_ns() - before[4] > self.settled_ns:
            self._remember(key, before, digest)
        return digest

    def _remember(self, key, identity, digest):
        """Add one entry, dropping those of files gone; concurrent writers may lose an entry,
        which is then only hashed again."""
        memo = {k: v for k, v in self._read().items() if os.path.exists(k)}
        memo[key] = [identity, digest]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".digests-")
        except OSError:
            return
        try:
            with os.fdopen(fd, "w") as stream:
                json.dump(memo, stream)
            os.replace(tmp, self.path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)


def write_md5sums(folder, names, filename="md5sums.txt"):
    """Write the checksum lines of ``names`` (paths relative to ``folder``), sorted for stability."""
    folder = Path(folder)
    lines = [f"{file_digest(folder / name)}  {name}\n" for name in sorted(names)]
    (folder / filename).write_text("".join(lines))
    return folder / filename


def read_md5sums(path):
    """Parse a checksum file into ``{relative path: md5}``."""
    entries = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 32:
            raise ChecksumError(f"{path}:{number}: not an md5sum line: {line!r}")
        entries[name.lstrip("*")] = digest
    return entries


def verify_md5sums(path, root=None, optional=(), digest=file_digest):
    """Check every file listed in checksum file ``path`` (relative to ``root``, default its folder);
    a name in ``optional`` may be absent, but is checked where present. ``digest``: a
    DigestMemo's, to hash each version of a file once."""
    root = Path(root) if root is not None else Path(path).parent
    entries = read_md5sums(path)
    if not entries:
        raise ChecksumError(f"{path} lists no files")
    for name, expected in entries.items():
        target = root / name
        if not target.is_file():
            if name in optional:
                continue
            raise ChecksumError(f"{target} is missing (listed in {path})")
        actual = digest(target)
        if actual != expected:
            raise ChecksumError(
                f"{target} has md5 {actual}, but {path} pins {expected}: the file is corrupt or "
                "from another bucket; delete it and fetch or convert it again")
    return entries
