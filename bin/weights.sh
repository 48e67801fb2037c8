#!/bin/sh
# Put the verified weights bucket under assets/. Used by `make weights` and by the Dockerfile.
#   bin/weights.sh                         convert the resmem 1.1.6 wheel from PyPI (cached in .cache/)
#   bin/weights.sh BUCKET_URL MODEL_FILE   download BUCKET_URL/MODEL_FILE and unpack it, as MAX does
# Either way the files must match the checksums pinned in md5sums.txt, or this fails.
set -eu
PYTHON=${PYTHON:-python}
if [ -n "${1:-}" ]; then
    "$PYTHON" -m training.fetch_bucket "$1/${2:?model_file is required with model_bucket}" --into assets
else
    "$PYTHON" -m training.convert_resmem --out assets/resmem --cache "${WEIGHTS_CACHE:-.cache}"
fi
md5sum -c md5sums.txt
