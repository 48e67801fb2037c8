"""Convert the published ResMem weights (PyPI ``resmem==1.1.6``) into a Keras weights bucket.

    python -m training.convert_resmem --out assets/resmem

Steps: fetch the wheel from the package registry (cached under ``.cache/downloads`` by its
sha256), verify the wheel and its ``model.pt`` against pinned checksums, read the state dict
without PyTorch (training/torch_checkpoint.py), copy it into the Keras port
(core/networks.py) and write the bucket: weights, ``model.json`` and ``md5sums.txt``.
The output is byte-for-byte reproducible.
"""
import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core.bucket import BucketError, open_bucket, write_bucket
from core.checksums import ChecksumError, file_digest
from training.torch_checkpoint import load_state_dict

log = logging.getLogger("convert_resmem")

WHEEL = "resmem-1.1.6-py3-none-any.whl"
WHEEL_REQUIREMENT = "resmem==1.1.6"
WHEEL_SHA256 = "2ed9d656280761215cde8f94a58197cdca523ccacb36fbd949edbea7a62c5572"
MODEL_PT = "resmem/model.pt"
MODEL_PT_MD5 = "48161915ad0cc9fc539dfdf80aa1e054"
WEIGHTS_FILE = "resmem.weights.h5"
LICENSE = ("ResMem Non-commercial License (c) 2021 The University of Chicago: the weights may be "
           "used for noncommercial purposes only (research use by companies is allowed; use on "
           "a website that earns advertising money is not). For commercial rights contact the "
           "Brain Bridge Lab, wilma@uchicago.edu. The code of this service is Apache-2.0.")

FACTS = {
    "id": "resmem",
    "name": "ResMem",
    "description": ("Predicts image memorability, the probability that a viewer remembers a photo "
                    "after seeing it once, on LaMem's 0..1 scale. A MemNet (AlexNet) branch and "
                    "a ResNet-152 feed a 6-layer regression head. Ported from PyTorch to Keras."),
    "type": "Image-to-Score Regression",
    "source": ("https://github.com/Brain-Bridge-Lab/resmem (Needell & Bainbridge, 2022, "
               "'Embracing New Techniques in Deep Learning for Estimating Image Memorability'); "
               "weights from PyPI resmem==1.1.6"),
    "license": LICENSE,
    "architecture": "resmem",
    "weights": WEIGHTS_FILE,
    "input_size": 227,
    # Exactly resmem.transformer: Resize((256, 256)) on a PIL image, CenterCrop(227), ToTensor().
    "preprocessing": {"resize": [256, 256], "interpolation": "bilinear", "crop": 227,
                      "scale": 1 / 255, "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]},
    "output": {"name": "memorability", "range": [0.0, 1.0]},
    "provenance": {"converted_from": WHEEL_REQUIREMENT, "wheel_sha256": WHEEL_SHA256,
                   "model_pt_md5": MODEL_PT_MD5, "converter": "training/convert_resmem.py"},
}


def cached_wheel_path(cache_dir):
    """Where the download cache keeps the wheel: keyed by its sha256."""
    return Path(cache_dir) / "downloads" / f"sha256-{WHEEL_SHA256}" / WHEEL


def fetch_wheel(cache_dir):
    """Return the path of the verified ResMem wheel, downloading it once through pip."""
    target = cached_wheel_path(cache_dir)
    if target.is_file() and file_digest(target, "sha256") == WHEEL_SHA256:
        log.info("using cached %s", target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        # pip honours the machine's index, proxy and certificate settings, and shows progress.
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                        "--progress-bar", "on", "-d", tmp, WHEEL_REQUIREMENT], check=True)
        downloaded = Path(tmp) / WHEEL
        verify_sha256(downloaded)
        os.replace(downloaded, target)
    return target


def verify_sha256(wheel):
    actual = file_digest(wheel, "sha256")
    if actual != WHEEL_SHA256:
        raise ChecksumError(f"{wheel} has sha256 {actual}, expected {WHEEL_SHA256}: "
                            "refusing to use a wheel that is not the published resmem 1.1.6")


def extract_model_pt(wheel, folder):
    """Extract ``resmem/model.pt`` from the wheel and verify its md5."""
    with zipfile.ZipFile(wheel) as archive, archive.open(MODEL_PT) as src:
        path = Path(folder) / "model.pt"
        with open(path, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    actual = file_digest(path)
    if actual != MODEL_PT_MD5:
        raise ChecksumError(f"{MODEL_PT} in {wheel} has md5 {actual}, expected {MODEL_PT_MD5}")
    return path


def fc6_row_order(channels=256, side=6):
    """Keras row k of fc6 reads torch row perm[k]: torch flattens C,H,W and Keras H,W,C."""
    return np.arange(channels * side * side).reshape(channels, side, side).transpose(1, 2, 0).ravel()


def keras_weights(layer, state):
    """The Keras weight list of ``layer`` from the torch tensors of the module it mirrors."""
    prefix = layer.name.replace("_", ".") + "."  # features_layer1_0_conv1 -> features.layer1.0.conv1
    kind = type(layer).__name__
    if kind == "Conv2D":  # torch (out, in/groups, kh, kw) -> keras (kh, kw, in/groups, out)
        out = [state.pop(prefix + "weight").transpose(2, 3, 1, 0)]
    elif kind == "Dense":  # torch (out, in) -> keras (in, out)
        kernel = state.pop(prefix + "weight").T
        if layer.name == "fc6":
            memnet = kernel.shape[0] - 1000
            kernel = np.concatenate([kernel[:memnet][fc6_row_order()], kernel[memnet:]])
        out = [kernel]
    elif kind == "BatchNormalization":
        state.pop(prefix + "num_batches_tracked", None)
        return [state.pop(prefix + n) for n in ("weight", "bias", "running_mean", "running_var")]
    else:
        raise ValueError(f"no conversion rule for {kind} layer {layer.name}")
    if prefix + "bias" in state:
        out.append(state.pop(prefix + "bias"))
    return out


def convert(model_pt, out_dir):
    """Write the bucket for ``model_pt`` into ``out_dir``; return the bucket's path."""
    from core.networks import build_resmem

    state = dict(load_state_dict(model_pt))
    model = build_resmem(FACTS["input_size"])
    layers = [layer for layer in model.layers if layer.weights]
    for layer in tqdm(layers, desc="converting ResMem", unit="layer"):
        layer.set_weights([np.ascontiguousarray(w, dtype=np.float32) for w in keras_weights(layer, state)])
    if state:
        raise ValueError(f"{len(state)} tensors of model.pt were not used: {sorted(state)[:5]}")
    return write_bucket(out_dir, model, FACTS)


def is_converted(out_dir):
    """True when ``out_dir`` already holds a verified bucket of this exact conversion."""
    try:
        return open_bucket(out_dir).facts.get("provenance") == FACTS["provenance"]
    except (BucketError, ChecksumError, ValueError):
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="assets/resmem", help="bucket folder to write")
    parser.add_argument("--cache", default=".cache", help="download cache folder")
    parser.add_argument("--wheel", help="use this local resmem-1.1.6 wheel instead of downloading")
    parser.add_argument("--force", action="store_true", help="convert even if a verified bucket exists")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    if not args.force and is_converted(args.out):
        log.info("%s already holds the verified ResMem bucket", args.out)
        return 0
    wheel = Path(args.wheel) if args.wheel else fetch_wheel(args.cache)
    verify_sha256(wheel)
    with tempfile.TemporaryDirectory() as tmp:
        convert(extract_model_pt(wheel, tmp), args.out)
    log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
