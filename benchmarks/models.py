"""Compare buckets in one run on this machine: speed in-process, and agreement with the first.

    python -m benchmarks.models --images DIR --buckets assets/resmem BUCKET [...] [--batch 16]

For each bucket it scores the same photos (the uploaded bytes: decode, preprocess, forward)
one at a time and then ``--batch`` at a time, through ModelWrapper.predict, and prints images
per second, the ratio to the first bucket, and Spearman's rho of its scores against the first
bucket's. Writes test-artifacts/bench-models.json.
"""
import argparse
import json
import statistics
import time
from pathlib import Path

from scipy.stats import spearmanr

import config
from core.model.outputs import serving_bucket
from core.model.wrapper import ModelWrapper

ROOT = Path(__file__).resolve().parent.parent
SUFFIXES = {".jpg", ".jpeg", ".png"}


def timed(model, photos, batch):
    scores, seconds = [], []
    for start in range(0, len(photos), batch):
        chunk = photos[start:start + batch]
        begin = time.perf_counter()
        scores += [r["memorability"] for r in model.predict(chunk)]
        seconds.append(time.perf_counter() - begin)
    return scores, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", required=True, type=Path)
    parser.add_argument("--buckets", nargs="+", required=True)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N photos")
    args = parser.parse_args(argv)
    files = sorted(p for p in args.images.iterdir() if p.suffix.lower() in SUFFIXES)
    photos = [p.read_bytes() for p in files[:args.limit or None]]
    results, baseline = [], None
    for bucket in args.buckets:
        model = ModelWrapper(serving_bucket(config.settings().replace(BATCH_SIZE=args.batch), bucket))
        timed(model, photos[:4], 1)  # warm the caches
        scores, single = timed(model, photos, 1)
        _, batched = timed(model, photos, args.batch)
        row = {"bucket": bucket, "id": model.MODEL_META_DATA["id"], "n": len(photos),
               "single_p50_ms": statistics.median(single) * 1000,
               "single_img_s": len(photos) / sum(single), "batched_img_s": len(photos) / sum(batched)}
        baseline = baseline or (row, scores)
        row["single_ratio"] = row["single_img_s"] / baseline[0]["single_img_s"]
        row["batched_ratio"] = row["batched_img_s"] / baseline[0]["single_img_s"]
        row["spearman_vs_first"] = float(spearmanr(scores, baseline[1]).statistic)
        results.append(row)
        model.close()
    print(f"{'bucket':<28} {'single p50':>10} {'single img/s':>12} {'x':>5} "
          f"{'batch img/s':>11} {'x':>5} {'rho vs first':>12}")
    for r in results:
        print(f"{r['bucket']:<28} {r['single_p50_ms']:>8.1f}ms {r['single_img_s']:>12.2f} "
              f"{r['single_ratio']:>5.2f} {r['batched_img_s']:>11.2f} {r['batched_ratio']:>5.2f} "
              f"{r['spearman_vs_first']:>12.4f}")
    out = ROOT / "test-artifacts" / "bench-models.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
