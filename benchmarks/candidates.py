"""`make bench-candidates DATA=...`: each fine-tuning candidate on one dataset, its val and test rho.

    python -m benchmarks.candidates --data DATA [--split 1] [--output memorability] [--augment fixed] [--seeds 1]

training.finetune chooses one candidate on val. To see what each would have given, this writes
one bucket a candidate (`--candidates heads`, `head`, `stage`, `head,ensembles`,
`stage,ensembles`; the features cached by the first run serve the others) and scores each on the
test split with training.evaluate, beside the base model. Each run is its own process: the
seconds and peak RSS (resident, and anonymous from model.json) are the candidate's own (with warm
features, after the first).
It prints one row a candidate, then each deep part's selection rho at its best epoch and as the
averages of its weights (training/averages.py), and the chosen one's with the mirror average, and
keeps them in --out (test-artifacts/bench-candidates.json). Test rho is
for the report only: nothing here chooses by it.
"""
import argparse
import json
import sys
import tempfile
from pathlib import Path

from benchmarks.score import measured
from training.finetune import BASES

ROOT = Path(__file__).resolve().parent.parent

CANDIDATES = ("heads", "head", "stage", "head,ensembles", "stage,ensembles")


def evaluated(bucket, data, split, output, out):
    """The test split's metrics of ``bucket``, on the Keras model itself (tf-fp32: exact, and a
    tuned bucket needs no conversion)."""
    measured(["env", "MODEL_PRECISION=tf-fp32", sys.executable, "-m", "training.evaluate", "--bucket", str(bucket),
              "--data", str(data), "--split",
              str(split), "--output", output, "--report", str(out)])
    return json.loads((out / "metrics.json").read_text())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--split", type=int, default=1)
    parser.add_argument("--output", choices=sorted(BASES), default="memorability")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "features")
    parser.add_argument("--augment", default="fixed", help="the deep candidates' views (finetune --augment)")
    parser.add_argument("--seeds", type=int, default=1, help="each deep candidate's seeds (finetune --seeds)")
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts" / "bench-candidates.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-candidates-") as workdir:
        base = evaluated(ROOT / BASES[args.output], args.data, args.split, args.output, Path(workdir) / "base-report")
        rows = [{"candidate": "the base model", "val_spearman": None, "test_spearman": base["spearman"],
                 "test_ci": base["spearman_ci"]}]
        for candidate in CANDIDATES:
            bucket = Path(workdir) / candidate.replace(",", "-")
            seconds, rss = measured([sys.executable, "-m", "training.finetune", "--data", str(args.data), "--split",
                                     str(args.split), "--output", args.output, "--out", str(bucket), "--cache",
                                     str(args.cache), "--candidates", candidate, "--augment", args.augment,
                                     "--seeds", str(args.seeds), "--force"])
            provenance = json.loads((bucket / "model.json").read_text())["provenance"]
            test = evaluated(bucket, args.data, args.split, args.output, bucket.with_name(bucket.name + "-report"))
            rows.append({"candidate": candidate, "chosen": provenance["chosen_on_selection"]["features"],
                         "val_spearman": provenance["selection"]["val_spearman"],
                         "base_val_spearman": provenance["selection"]["base_val_spearman"],
                         "confirmation_spearman": provenance["confirmation"]["spearman"],
                         "passed_gate": provenance["passed_gate"],
                         "test_spearman": test["spearman"], "test_ci": test["spearman_ci"], "seconds": seconds,
                         "peak_rss_mb": rss, "peak_anon_mb": provenance["memory_mb"]["whole run"]["peak_anon_mb"],
                         # what each average and the mirror average gave on the selection photos
                         "selection_by_candidate": {row["features"]: row.get("val_spearman")
                                                    for row in provenance["candidates"]},
                         "mirror_average": provenance["selection"]["mirror_average"]})
    print(f"{'--candidates':<17}{'select':>7}{'confirm':>8}{'gate':>6}{'test rho':>9}  {'95% interval':<17}"
          f"{'seconds':>8}{'peak MB':>8}{'anon MB':>8}  chosen")
    for row in rows:
        low, high = row["test_ci"] or (float("nan"), float("nan"))
        val = f"{row['val_spearman']:.3f}" if row["val_spearman"] is not None else "-"
        confirm = f"{row['confirmation_spearman']:.3f}" if row.get("confirmation_spearman") is not None else "-"
        passed = {True: "yes", False: "no"}.get(row.get("passed_gate"), "-")
        print(f"{row['candidate']:<17}{val:>7}{confirm:>8}{passed:>6}{row['test_spearman']:>9.3f}  "
              f"[{low:.3f}, {high:.3f}]    {row.get('seconds', 0):>6.0f}{row.get('peak_rss_mb', 0):>8.0f}"
              f"{row.get('peak_anon_mb') or 0:>8.0f}  "
              f"{row.get('chosen', '')}")
    from training.deep import PARTS

    def short(name):  # "head", "stage, mean of its 7 epochs' weights", ...
        for part, long in PARTS.items():
            name = name.replace(long, part)
        return name

    for row in rows[1:]:  # each deep part's best epoch and its averages, and the mirror average of the chosen
        mirror = row["mirror_average"]
        averages = [f"{short(name)} {rho:.3f}" for name, rho in row["selection_by_candidate"].items()
                    if name.startswith("deep: ") and rho is not None]
        print(f"{row['candidate']}: the chosen {mirror['val_spearman']:.3f}, with the mirror average "
              f"{mirror['mirror_average']:.3f} ({'chosen' if mirror['chosen'] else 'not chosen'})"
              + (f"; {'; '.join(averages)}" if averages else ""))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
