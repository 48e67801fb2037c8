"""Evaluate a bucket against people: the test split of a LaMem-format dataset.

    python -m training.evaluate --bucket BUCKET --data DATA --split K|all [--compare BUCKET2] [--report DIR]
    python -m training.evaluate --output false_alarm --bucket assets/falseresmem --data DATA --split K

It prints one JSON line: Spearman's rho with its 95% bootstrap interval (``spearman_ci``),
Pearson's r, the mean absolute and squared errors and ``n`` (training/agreement.py says how).
Each photo is decoded and preprocessed exactly as ``POST /model/predict`` does, through the same
ModelWrapper. Spearman's rho ranks tied scores by their average rank.

- ``splits/halves_K.txt`` (optional, ``name score_half1 score_half2``) adds ``human_split_half``:
  how well two halves of the participants agree on the test photos, the ceiling of any model.
- ``--compare BUCKET2`` scores the same photos with a second bucket and adds ``compare``: its own
  figures and ``delta_spearman`` (rho of BUCKET minus rho of BUCKET2) with a paired interval.
- ``--split all`` reports the mean of each figure over the test splits 1..5 that exist (LaMem's
  protocol; its test sets overlap, and each photo is scored once), with each split's figures and
  intervals under ``per_split``.
- ``--report DIR`` writes ``scatter.png`` (predicted against true, both buckets),
  ``residuals.png``, ``metrics.json`` and ``predictions.csv``.
- ``--output false_alarm`` measures a bucket of the false-alarm rate (FalseResMem, or one
  fine-tuned from it) against a lab's false-alarm rates, in the same format; a bucket of another
  output is refused.
"""
import argparse
import csv
import json
import logging
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

import config
from training.agreement import agreement, difference, split_half
from training.lamem import DatasetError, available_splits, parse_split_arg, read_halves, read_split

log = logging.getLogger("evaluate")


def metrics(predicted, true):
    """The figures of one model on one split (training/agreement.py)."""
    return agreement(predicted, true)


def predict_files(model, paths, batch=8):
    """Scores of image files, through the service's own decoding and preprocessing."""
    scores = []
    for start in tqdm(range(0, len(paths), batch), desc="scoring", unit="batch"):
        photos = [model.pipeline.prepare(p, Path(p).name) for p in paths[start:start + batch]]
        scores.extend(r[model.outputs[0]] for r in model.predict(photos))
    return scores


def score_bucket(bucket, paths, batch, output="memorability"):
    """({path: score}, the model's metadata) of ``bucket`` on ``paths``, served as ``output``
    (core.model.bucket.BucketError when it predicts another); the model freed after."""
    from core.model.outputs import serving_bucket
    from core.model.wrapper import ModelWrapper

    model = ModelWrapper(serving_bucket(config.settings().replace(BATCH_SIZE=batch), bucket, output),
                                      warm_up=False)  # this bucket alone
    try:
        return dict(zip(paths, predict_files(model, paths, batch))), model.bucket.metadata
    finally:
        model.close()


def split_figures(entries, predicted, compared, halves):
    """One split's figures: the bucket's, the ceiling where halves exist, and the comparison."""
    true = [s for _, s in entries]
    result = metrics([predicted[p] for p, _ in entries], true)
    if halves is not None:
        pairs = [halves[Path(p).name] for p, _ in entries if Path(p).name in halves]
        if len(pairs) >= 3:
            result["human_split_half"] = split_half(*zip(*pairs))
    if compared is not None:
        other = [compared[p] for p, _ in entries]
        result["compare"] = {**metrics(other, true),
                             **difference([predicted[p] for p, _ in entries], other, true)}
    return result


def mean_of(per_split):
    """LaMem's protocol: each point figure averaged over the splits; intervals stay per split."""
    first = next(iter(per_split.values()))
    def mean(values):  # over the splits where the figure is defined
        values = [v for v in values if v is not None]
        return float(np.mean(values)) if values else None

    result = {m: mean([f[m] for f in per_split.values()]) for m in ("spearman", "pearson", "mae", "mse")}
    result["n"] = sum(f["n"] for f in per_split.values())
    if "compare" in first:
        result["compare"] = {m: mean([f["compare"][m] for f in per_split.values()])
                             for m in ("spearman", "pearson", "mae", "mse", "delta_spearman")}
    return result


def evaluate(bucket, data, split, report=None, batch=8, compare=None, output="memorability"):
    """Return the figures of ``bucket`` on ``test_{split}`` (or their mean for split 'all'),
    against ``compare`` too when given; both predict ``output``."""
    splits = available_splits(data, "test") if split == "all" else [split]
    if not splits:
        raise DatasetError(f"{data}/splits holds no test_K.txt files")
    entries = {k: read_split(data, "test", k) for k in splits}  # every line checked before scoring
    halves = {k: read_halves(data, k) for k in splits}
    paths = sorted({path for k in splits for path, _ in entries[k]})  # LaMem's test sets overlap
    predicted, meta = score_bucket(bucket, paths, batch, output)
    compared, other_meta = score_bucket(compare, paths, batch, output) if compare else (None, None)
    per_split = {k: split_figures(entries[k], predicted, compared, halves[k]) for k in splits}
    result = per_split[splits[0]] if len(splits) == 1 else {**mean_of(per_split), "per_split": per_split}
    result = {"bucket": str(bucket), "output": output, **result}
    if compare:
        result["compare"] = {"bucket": str(compare), **result["compare"]}
    if report:
        write_report(Path(report), (meta, predicted), (other_meta, compared), entries, result, output)
    return result


def shown(value, spec=".3f"):
    return "undefined" if value is None else format(value, spec)


def write_report(folder, primary, secondary, entries, result, output="memorability"):
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    (meta, predicted), (other_meta, compared) = primary, secondary
    pairs = [(p, s) for k in entries for p, s in entries[k]]
    true = np.array([s for _, s in pairs])
    models = [(meta["name"], np.array([predicted[p] for p, _ in pairs]), result, "tab:blue")]
    if compared is not None:
        models.append((f"{other_meta['name']} (compared)", np.array([compared[p] for p, _ in pairs]),
                       result["compare"], "tab:orange"))

    fig, ax = plt.subplots(figsize=(6, 6), dpi=100)
    for name, pred, figures, colour in models:
        ax.scatter(true, pred, s=12, alpha=0.6, color=colour,
                   label=f"{name}: Spearman {shown(figures['spearman'])}, MAE {figures['mae']:.3f}")
    values = np.concatenate([true] + [pred for _, pred, _, _ in models])
    ax.plot([values.min(), values.max()], [values.min(), values.max()], color="grey", linewidth=1,
            label="predicted = true")
    title = f"{len(true)} test photos"
    if "delta_spearman" in result.get("compare", {}):
        title += f"; difference in Spearman {shown(result['compare']['delta_spearman'], '+.3f')}"
    ax.set(xlabel=f"true {output.replace('_', '-')} rate (people)" if output != "memorability"
           else "true memorability (people)", ylabel="predicted", title=title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "scatter.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.hist(models[0][1] - true, bins=30, color="tab:blue", alpha=0.8)
    ax.axvline(0, color="grey", linewidth=1)
    ax.set(xlabel="predicted - true", ylabel="photos", title=f"{meta['name']}: residuals")
    fig.tight_layout()
    fig.savefig(folder / "residuals.png")
    plt.close(fig)

    (folder / "metrics.json").write_text(json.dumps({**result, "model": meta["id"]}, indent=2) + "\n")
    with open(folder / "predictions.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["image", "true", "predicted"] + (["compared"] if compared is not None else []))
        writer.writerows([(Path(p).name, f"{s:.6f}", f"{predicted[p]:.9g}")  # float32, exactly
                          + ((f"{compared[p]:.9g}",) if compared is not None else ()) for p, s in pairs])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bucket", required=True, help="bucket folder to evaluate")
    parser.add_argument("--data", required=True, help="LaMem-format dataset folder")
    parser.add_argument("--split", required=True, help="test split K (1..5), or 'all'")
    parser.add_argument("--report", type=Path, help="folder for the plots and metrics.json")
    parser.add_argument("--compare", help="a second bucket, scored on the same photos (the difference in rho)")
    parser.add_argument("--batch", type=int, default=8, help="photos per forward pass")
    parser.add_argument("--output", choices=("memorability", "false_alarm"), default="memorability",
                        help="what the dataset's scores are, and the buckets predict: hit rates or false-alarm rates")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        result = evaluate(args.bucket, args.data, parse_split_arg(args.split), args.report, args.batch, args.compare,
                          args.output)
    except (ValueError, OSError, RuntimeError) as error:
        log.error("%s", error)
        return 2
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
