"""`make bench-finetune`: what fine-tuning costs, in time and memory, and gains, against ResMem, in
one run on this machine.

    python -m benchmarks.finetune --images DIR [--sizes 1000 5000] [--seed 0] [--baseline-photos 1000]

For each size N it makes a LaMem-format set of N photos from the photos in DIR, whose "human"
score ResMem does not predict (training/synthetic.py; 60% train, 20% val, 20% test), then runs,
each in its own process so that its peak RSS is its own:
  - the baseline: `python -m score` with ResMem, one scoring pass as a user runs it (default
    tier), over the first --baseline-photos of them (all with 0): the ratios are to its seconds
    a photo times N;
  - `python -m training.finetune` with an empty feature cache (cold: ResMem's features of train
    and val and its views, then every candidate: the whole `make finetune`); model.json holds
    each part's peak memory (training/memory.py), anonymous (what must be held) and in all
    (resident, the memory-mapped caches' pages counted), printed per candidate;
  - `python -m training.evaluate --compare assets/resmem` on the test split (tf-fp32, exact).
It prints seconds, the ratio of each to the baseline's, peak RSS, and the test split's rho of the
fine-tuned bucket and of ResMem with the paired difference and its interval.
test-artifacts/bench-finetune.json keeps the rows. Nothing here is asserted.
"""
import argparse
import json
import sys
import tempfile
from pathlib import Path

from benchmarks.score import measured

ROOT = Path(__file__).resolve().parent.parent


def python(module, *args):
    return [sys.executable, "-m", module, *map(str, args)]


def one_size(images, n, seed, workdir, baseline_photos):
    data, bucket, cache = workdir / "data", workdir / "bucket", workdir / "features"
    measured(python("training.synthetic", "--photos", images, "--out", data, "--n", n, "--seed", seed))
    rows = {}
    photos = sorted((data / "images").iterdir())[:baseline_photos or None]
    seconds, rss = measured(python("score", *photos, "--out", workdir / "scores.csv", "--overwrite"))
    rows["score"] = (seconds * n / len(photos), rss)  # one pass over the N photos, at the rate measured
    finetune = python("training.finetune", "--data", data, "--split", 1, "--cache", cache, "--force")
    rows["finetune cold, all"] = measured(finetune + ["--out", bucket])
    # tf-fp32, the Keras model itself: the tuned bucket needs no conversion. Only this child's
    # environment: the next size's `score` baseline stays on the default tier.
    evaluate = python("training.evaluate", "--bucket", bucket, "--data", data, "--split", 1,
                      "--compare", ROOT / "assets/resmem", "--report", workdir / "report")
    rows["evaluate"] = measured(["env", "MODEL_PRECISION=tf-fp32", *evaluate])
    result = json.loads((workdir / "report" / "metrics.json").read_text())
    provenance = json.loads((bucket / "model.json").read_text())["provenance"]
    chosen = provenance["chosen_on_selection"]["features"]
    candidates = {row["features"]: {key: row.get(key) for key in ("val_spearman", "seconds", "peak_anon_mb",
                                                                  "peak_rss_mb", "epoch")}
                  for row in provenance["candidates"]}
    return {"n": n, "seconds": {k: v[0] for k, v in rows.items()}, "peak_rss_mb": {k: v[1] for k, v in rows.items()},
            "spearman": result["spearman"], "spearman_ci": result["spearman_ci"],
            "resmem_spearman": result["compare"]["spearman"], "delta": result["compare"]["delta_spearman"],
            "delta_ci": result["compare"]["delta_spearman_ci"], "human_split_half": result.get("human_split_half"),
            "chosen_on_val": chosen, "candidates": candidates, "confirmation": provenance["confirmation"],
            "memory_mb": provenance["memory_mb"], "baseline_photos": len(photos)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline-photos", type=int, default=1000,
                        help="how many of the photos the `score` baseline scores (0: all)")
    args = parser.parse_args(argv)
    results = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="bench-finetune-") as workdir:
            result = one_size(args.images.resolve(), n, args.seed, Path(workdir), args.baseline_photos)
        results.append(result)
        base = result["seconds"]["score"]
        print(f"\n{n} photos ({int(n * 0.6)} train): seconds, ratio to one `score` pass over them (its rate on "
              f"{result['baseline_photos']}), peak RSS MB")
        for name, seconds in result["seconds"].items():
            print(f"  {name:<20}{seconds:>9.1f}{seconds / base:>8.2f}x{result['peak_rss_mb'][name]:>9.0f}")
        print("  finetune's peak memory, MB anonymous / resident in all (memory-mapped caches' pages counted):")
        for part, peak in result["memory_mb"].items():
            print(f"    {part:<18}{peak['peak_anon_mb']:>7} / {peak['peak_rss_mb']}")
        for name, row in result["candidates"].items():
            rho = "-" if row["val_spearman"] is None else f"{row['val_spearman']:.3f}"
            cost = f", trained in {row['seconds']} s ({row['epoch']} epochs to the best), its peak " \
                   f"{row['peak_anon_mb']} MB anonymous / {row['peak_rss_mb']} MB" if row["seconds"] is not None else ""
            print(f"  val rho {rho}: {name}{cost}")
        low, high = result["spearman_ci"]
        dlow, dhigh = result["delta_ci"]
        print(f"  test rho: fine-tuned {result['spearman']:.3f} [{low:.3f}, {high:.3f}], "
              f"ResMem {result['resmem_spearman']:.3f}, difference {result['delta']:.3f} [{dlow:.3f}, {dhigh:.3f}]"
              + (f", people's split half (one split, uncorrected) {result['human_split_half']['spearman']:.3f}"
                 if result["human_split_half"] else "") + f"; chosen on val: {result['chosen_on_val']}")
    out = ROOT / "test-artifacts" / "bench-finetune.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
