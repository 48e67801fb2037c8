"""Export a bucket: as the tarball the Dockerfile downloads, and as a CoreML model.

    python -m training.export --bucket BUCKET [--tar OUT.tar.gz] [--coreml OUT.mlpackage]
                              [--precision float16|float32]

``--tar`` writes ``OUT.tar.gz`` holding ``NAME/`` (the bucket's listed files: its weights,
``model.json`` and ``md5sums.txt``; NAME is the bucket folder's name) and, next to it,
``OUT.tar.gz.md5sums.txt``: the checksum lines, in MAX's ``md5sums.txt`` format, of the files
as they land under ``assets/``. Publish the tarball, add those lines to the top-level
``md5sums.txt``, and build with ``--build-arg model_bucket=URL --build-arg model_file=OUT.tar.gz
--build-arg model_name=NAME``. The tarball is byte-for-byte reproducible.

``--coreml`` writes an ML program (training/coreml.py) whose image input is scaled as the
bucket's preprocessing says and whose output is named ``memorability``.
"""
import argparse
import gzip
import logging
import sys
import tarfile
from pathlib import Path

from core.model.bucket import CHECKSUM_FILE, open_bucket
from core.model.checksums import file_digest

log = logging.getLogger("export")


def export_tar(bucket, out, name=None):
    """Write the bucket's verified files as a reproducible tarball; return its checksum lines."""
    name = name or bucket.path.resolve().name
    files = sorted([*bucket.checksums, CHECKSUM_FILE])
    out = Path(out)
    # Level 1: float weights hardly compress, and level 9 takes ten times as long for 1% less.
    with open(out, "wb") as raw, gzip.GzipFile(
            fileobj=raw, mode="wb", mtime=0, filename="", compresslevel=1) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for file in files:
            info = tar.gettarinfo(bucket.path / file, arcname=f"{name}/{file}")
            info.mtime, info.uid, info.gid, info.uname, info.gname, info.mode = 0, 0, 0, "", "", 0o644
            with open(bucket.path / file, "rb") as data:
                tar.addfile(info, data)
    lines = "".join(f"{bucket.checksums[file]}  assets/{name}/{file}\n" for file in sorted(bucket.checksums))
    Path(f"{out}.md5sums.txt").write_text(lines)
    return lines


def export_coreml(bucket, out, precision="float16"):
    from core.model.networks import build_network
    from training.coreml import convert

    model = build_network(bucket.architecture, bucket.preprocessing.crop, bucket.architecture_options)
    model.load_weights(bucket.weights_path)
    mlmodel = convert(bucket, model, precision)
    mlmodel.save(str(out))
    return mlmodel


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bucket", required=True, help="bucket folder to export (verified first)")
    parser.add_argument("--tar", type=Path, help="tarball to write, e.g. assets.tar.gz")
    parser.add_argument("--name", help="folder name inside the tarball (default: the bucket's)")
    parser.add_argument("--coreml", type=Path, help="CoreML package to write, e.g. memnet.mlpackage")
    parser.add_argument("--precision", choices=("float16", "float32"), default="float16",
                        help="CoreML weights and compute precision")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    if not (args.tar or args.coreml):
        parser.error("nothing to do: give --tar and/or --coreml")
    try:
        bucket = open_bucket(args.bucket)
        if args.tar:
            lines = export_tar(bucket, args.tar, args.name)
            log.info("wrote %s (md5 %s) and %s.md5sums.txt:\n%s", args.tar, file_digest(args.tar),
                     args.tar, lines.rstrip())
        if args.coreml:
            export_coreml(bucket, args.coreml, args.precision)
            log.info("wrote %s", args.coreml)
    except (ValueError, OSError, RuntimeError) as error:
        log.error("%s", error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
