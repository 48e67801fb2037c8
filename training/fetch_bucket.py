"""Download a published bucket tarball (MAX's ``model_bucket``/``model_file``) and unpack it.

    python -m training.fetch_bucket https://host/path/assets.tar.gz --into assets

The checksums are verified by the caller right after (``md5sum -c md5sums.txt``), in the
same step, as MAX's Dockerfiles do.
"""
import argparse
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from tqdm import tqdm

CHUNK = 1 << 20


def download(url, target):
    with urllib.request.urlopen(url, timeout=60) as response, open(target, "wb") as out:  # noqa: S310 -- a pinned URL
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=Path(url).name) as bar:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                bar.update(len(chunk))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="URL (or local path) of the bucket tarball")
    parser.add_argument("--into", default="assets", type=Path, help="folder to unpack into")
    args = parser.parse_args(argv)
    args.into.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(args.url)
        if not archive.is_file():
            archive = Path(tmp) / "bucket.tar.gz"
            download(args.url, archive)
        with tarfile.open(archive) as tar:
            tar.extractall(args.into, filter="data")  # refuses absolute paths, .. and devices
    return 0


if __name__ == "__main__":
    sys.exit(main())
