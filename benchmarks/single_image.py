"""Single-image latency and fidelity against the original ResMem, measured in one run.

    make bench-single   [IMAGES=folder of photos]

One invocation, on this machine, times, photo by photo, one after another:
  1. the original PyTorch package in-process (open, transformer, forward), in .venv-ref;
  2. this project in-process: ModelWrapper.predict([bytes]) (decode, preprocess, forward);
  3. this project over HTTP: one POST /model/predict per photo to a gunicorn server.
It prints the median and p95 milliseconds, the ratio of each to the original, and the port's
fidelity on these photos: max |diff| and Spearman's rho (ties get their average rank).
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests
from scipy.stats import spearmanr

from tests.server_process import running_server
from training.convert_resmem import cached_wheel_path

ROOT = Path(__file__).resolve().parent.parent

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


def original(photos, workdir):
    """Scores and per-photo ms of the original package, from its own environment."""
    wheel = cached_wheel_path(ROOT / ".cache")
    scores, timing = Path(workdir) / "scores.json", Path(workdir) / "timing.json"
    subprocess.run([str(ROOT / ".venv-ref" / "bin" / "python"), "-m", "training.reference_scores",
                    *map(str, photos), "--wheel", str(wheel), "--out", str(scores),
                    "--timing", str(timing)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    by_name = json.loads(scores.read_text())
    return [by_name[p.name] for p in photos], json.loads(timing.read_text())


def in_process(photos):
    import config
    from core.model.outputs import serving_bucket
    from core.model.wrapper import ModelWrapper

    model = ModelWrapper(serving_bucket(config.settings(), ROOT / "assets" / "resmem"))
    scores, timings = [], []
    for photo in photos:
        data = photo.read_bytes()
        start = time.perf_counter()
        scores.append(model.predict([data])[0]["memorability"])
        timings.append((time.perf_counter() - start) * 1000)
    return scores, timings


def over_http(photos):
    with running_server() as (url, _):
        session, timings = requests.Session(), []
        for photo in photos:
            data = photo.read_bytes()
            start = time.perf_counter()
            response = session.post(f"{url}/model/predict", files={"image": (photo.name, data)}, timeout=60)
            timings.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()
        return timings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, default=ROOT / "samples", help="folder of photos")
    parser.add_argument("--limit", type=int, default=100, help="at most this many photos")
    args = parser.parse_args(argv)
    photos = sorted(p for p in args.images.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)[:args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        reference, base_ms = original(photos, tmp)
    ours, ours_ms = in_process(photos)
    http_ms = over_http(photos)
    diff = np.abs(np.array(ours) - np.array(reference))
    base = np.median(base_ms)
    print(f"{len(photos)} photos from {args.images}, one at a time")
    print(f"{'runtime':<34}{'p50 ms':>9}{'p95 ms':>9}{'x original':>12}")
    for name, ms in (("original resmem (PyTorch) in-process", base_ms),
                     ("Keras port, in-process predict()", ours_ms),
                     ("Keras port, HTTP POST /model/predict", http_ms)):
        print(f"{name:<34}{np.median(ms):>9.1f}{np.percentile(ms, 95):>9.1f}{np.median(ms) / base:>12.2f}")
    rho = spearmanr(ours, reference).statistic if len(photos) > 2 else float("nan")
    print(f"fidelity: max |diff| {diff.max():.2e}, mean |diff| {diff.mean():.2e}, Spearman rho {rho:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
