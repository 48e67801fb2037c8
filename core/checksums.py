"""Checksums in MAX's ``md5sums.txt`` format (``<md5>  <path>``, as ``md5sum -c`` reads it)."""
import hashlib
from pathlib import Path

CHUNK = 1 << 20


class ChecksumError(RuntimeError):
    """A file is missing or its content is not what its checksum line pins."""


def file_digest(path, algorithm="md5"):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


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


def verify_md5sums(path, root=None, optional=()):
    """Check every file listed in checksum file ``path`` (relative to ``root``, default its folder);
    a name in ``optional`` may be absent, but is checked where present."""
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
        actual = file_digest(target)
        if actual != expected:
            raise ChecksumError(
                f"{target} has md5 {actual}, but {path} pins {expected}: the file is corrupt or "
                "from another bucket; delete it and fetch or convert it again")
    return entries
