"""The model's own noise: how far a score moves under changes no viewer would notice, and what
the stable mode (MODEL_TTA=mirror) does to it and costs, per tier, in one run on this machine.

    make bench-stability IMAGES=dir [LIMIT=n] [PRECISIONS="fp32 lite-int8"]

For each photo (decoded as the service decodes it) it scores the photo and four changes of it:
its mirror image, a 2% crop (1% off each side), a re-encoding as JPEG at quality 90 and a resize
to 80%, first plainly and then in the stable mode. It prints, per tier and mode, the median, p90
and largest |score(change) - score(photo)| and Spearman's rho between the photos' scores and the
changed ones' over the collection; then the time of one photo plain and stable, and their ratio.
The p90 of the mirror change on fp32 (ResMem's own scores, exactly) is the page's "too close to
call" threshold (config.py's TIE_THRESHOLD). Writes test-artifacts/bench-stability.json.
"""
import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from scipy.stats import spearmanr

import config
from benchmarks.single_image import PHOTO_SUFFIXES
from core.model.wrapper import ModelWrapper

ROOT = Path(__file__).resolve().parent.parent


def jpeg_90(image):
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def crop_2(image):
    dx, dy = round(image.width * 0.01), round(image.height * 0.01)
    return image.crop((dx, dy, image.width - dx, image.height - dy))


CHANGES = {  # what no viewer would notice
    "mirror": ImageOps.mirror,
    "crop 2%": crop_2,
    "JPEG q90": jpeg_90,
    "resize 80%": lambda image: image.resize((round(image.width * 0.8), round(image.height * 0.8)),
                                             Image.Resampling.LANCZOS),
}


def measure(model, photos):
    """{mode: {"photo": [scores], change: [scores]}} and {mode: [seconds of one photo]}."""
    scores = {mode: {"photo": [], **{change: [] for change in CHANGES}} for mode in ("plain", "stable")}
    seconds = {"plain": [], "stable": []}
    for number, path in enumerate(photos, 1):
        image = model.pipeline.decode(path, path.name)[0]
        variants = [image] + [change(image) for change in CHANGES.values()]
        for mode, stable in (("plain", False), ("stable", True)):
            begin = time.perf_counter()
            model.predict([image], stable=stable)
            seconds[mode].append(time.perf_counter() - begin)
            results = model.predict(variants, stable=stable)
            for name, result in zip(["photo", *CHANGES], results):
                scores[mode][name].append(result["memorability"])
        print(f"\r{number}/{len(photos)} photos", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return scores, seconds


def summary(scores, seconds):
    rows = {}
    for mode, by_change in scores.items():
        photo = np.asarray(by_change["photo"])
        rows[mode] = {"score_sd": float(photo.std()), "p50_ms": statistics.median(seconds[mode]) * 1000}
        for change in CHANGES:
            moved = np.abs(np.asarray(by_change[change]) - photo)
            rows[mode][change] = {"median": float(np.median(moved)), "p90": float(np.percentile(moved, 90)),
                                  "max": float(moved.max()),
                                  "rho": float(spearmanr(photo, by_change[change]).statistic)}
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", required=True, type=Path)
    parser.add_argument("--limit", type=int, default=0, help="the first N photos only (0: all)")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "lite-int8"])
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts" / "bench-stability.json")
    args = parser.parse_args(argv)
    photos = sorted(p for p in args.images.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)[:args.limit or None]
    report = {"photos": len(photos), "tiers": {}}
    for precision in args.precisions:
        settings = config.settings().replace(MODEL_BUCKET=str(ROOT / "assets" / "resmem"), MODEL_PRECISION=precision)
        model = ModelWrapper(settings)
        try:
            report["tiers"][precision] = rows = summary(*measure(model, photos))
        finally:
            model.close()
        print(f"\n{precision}, {len(photos)} photos: scores' own SD {rows['plain']['score_sd']:.3f}")
        print(f"{'mode':<8} {'change':<11} {'median |d|':>10} {'p90 |d|':>8} {'max |d|':>8} {'rho':>7}")
        for mode in ("plain", "stable"):
            for change in CHANGES:
                row = rows[mode][change]
                print(f"{mode:<8} {change:<11} {row['median']:>10.4f} {row['p90']:>8.4f} {row['max']:>8.4f} "
                      f"{row['rho']:>7.4f}")
        plain, stable = rows["plain"]["p50_ms"], rows["stable"]["p50_ms"]
        print(f"one photo p50: plain {plain:.1f} ms, stable {stable:.1f} ms ({stable / plain:.2f}x)")
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
