"""Evaluate a bucket on the test split of a LaMem-format dataset.

    python -m training.evaluate --bucket BUCKET --data DATA --split K|all [--report DIR]

It prints one JSON line: ``{"spearman": ..., "pearson": ..., "mse": ..., "n": ...}``. Each photo
is decoded and preprocessed exactly as ``POST /model/predict`` does, through the same
ModelWrapper. Spearman's rho ranks tied scores by their average rank (scipy's ``spearmanr``).
``--split all`` reports the mean of each metric over the test splits 1..5 that exist (LaMem's
protocol), with ``n`` the number of photo-score pairs scored in all. ``--report DIR`` also
writes ``scatter.png`` (predicted against true), ``residuals.png`` (a histogram of predicted
minus true), ``metrics.json`` (with each split's figures) and ``predictions.csv``.
"""
import argparse
import csv
import json
import logging
import sys
from pathlib import Path

import numpy as np
from scipy.stats import pearsonr, spearmanr
from tqdm import tqdm

import config
from training.lamem import DatasetError, available_splits, parse_split_arg, read_split

log = logging.getLogger("evaluate")


def metrics(predicted, true):
    predicted, true = np.asarray(predicted, np.float64), np.asarray(true, np.float64)
    return {"spearman": float(spearmanr(predicted, true).statistic),
            "pearson": float(pearsonr(predicted, true).statistic) if len(true) > 1 else float("nan"),
            "mse": float(np.mean((predicted - true) ** 2)), "n": int(len(true))}


def predict_files(model, paths, batch=8):
    """Scores of image files, through the service's own decoding and preprocessing."""
    scores = []
    for start in tqdm(range(0, len(paths), batch), desc="scoring", unit="batch"):
        photos = [model.pipeline.prepare(p, Path(p).name) for p in paths[start:start + batch]]
        scores.extend(r["memorability"] for r in model.predict(photos))
    return scores


def evaluate(bucket, data, split, report=None, batch=8):
    """Return the metrics of ``bucket`` on ``test_{split}`` (or their mean for split 'all')."""
    from core.model import ModelWrapper

    splits = available_splits(data, "test") if split == "all" else [split]
    if not splits:
        raise DatasetError(f"{data}/splits holds no test_K.txt files")
    entries = {k: read_split(data, "test", k) for k in splits}  # every line checked before scoring
    model = ModelWrapper.from_settings(config.settings().replace(MODEL_BUCKET=str(bucket), BATCH_SIZE=batch))
    paths = sorted({path for k in splits for path, _ in entries[k]})  # LaMem's test sets overlap
    try:
        predicted = dict(zip(paths, predict_files(model, paths, batch)))
    finally:
        model.close()
    per_split = {k: metrics([predicted[p] for p, _ in entries[k]], [s for _, s in entries[k]])
                 for k in splits}
    result = per_split[splits[0]] if len(splits) == 1 else {
        **{m: float(np.mean([per_split[k][m] for k in splits])) for m in ("spearman", "pearson", "mse")},
        "n": sum(per_split[k]["n"] for k in splits)}
    if report:
        write_report(Path(report), model, entries, predicted, per_split, result)
    return result


def write_report(folder, model, entries, predicted, per_split, result):
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    pairs = [(p, s, predicted[p]) for k in entries for p, s in entries[k]]
    true = np.array([s for _, s, _ in pairs])
    pred = np.array([q for _, _, q in pairs])
    name = model.MODEL_META_DATA["name"]

    fig, ax = plt.subplots(figsize=(6, 6), dpi=100)
    ax.scatter(true, pred, s=12, alpha=0.6)
    low, high = float(min(true.min(), pred.min())), float(max(true.max(), pred.max()))
    ax.plot([low, high], [low, high], color="grey", linewidth=1, label="predicted = true")
    ax.set(xlabel="true memorability", ylabel=f"predicted by {name}",
           title=f"{name}: Spearman {result['spearman']:.3f}, MSE {result['mse']:.4f}, n {result['n']}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(folder / "scatter.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.hist(pred - true, bins=30, color="tab:blue", alpha=0.8)
    ax.axvline(0, color="grey", linewidth=1)
    ax.set(xlabel="predicted - true", ylabel="photos", title=f"{name}: residuals")
    fig.tight_layout()
    fig.savefig(folder / "residuals.png")
    plt.close(fig)

    (folder / "metrics.json").write_text(json.dumps(
        {**result, "model": model.MODEL_META_DATA["id"], "per_split": per_split}, indent=2) + "\n")
    with open(folder / "predictions.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["image", "true", "predicted"])
        writer.writerows([(Path(p).name, f"{s:.6f}", f"{q:.9g}") for p, s, q in pairs])  # float32, exactly


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bucket", required=True, help="bucket folder to evaluate")
    parser.add_argument("--data", required=True, help="LaMem-format dataset folder")
    parser.add_argument("--split", required=True, help="test split K (1..5), or 'all'")
    parser.add_argument("--report", type=Path, help="folder for the plots and metrics.json")
    parser.add_argument("--batch", type=int, default=8, help="photos per forward pass")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        result = evaluate(args.bucket, args.data, parse_split_arg(args.split), args.report, args.batch)
    except (ValueError, OSError, RuntimeError) as error:
        log.error("%s", error)
        return 2
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
