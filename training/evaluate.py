"""Evaluate a bucket against people: the test split of a LaMem-format dataset.

    python -m training.evaluate --bucket BUCKET --data DATA --split K [--compare BUCKET2] [--report DIR]
    python -m training.evaluate --bucket B1 --bucket B2 ... --data DATA --split all   # one bucket a split
    python -m training.evaluate --output false_alarm --bucket assets/falseresmem --data DATA --split K

It prints one JSON line: Spearman's rho with its 95% bootstrap interval (``spearman_ci``),
Pearson's r, the mean absolute and squared errors and ``n`` (training/agreement.py says how).
Each photo is decoded and preprocessed exactly as ``POST /model/predict`` does, through the same
ModelWrapper. Spearman's rho ranks tied scores by their average rank.

- A test photo that a bucket's provenance says it was fitted or chosen on (by name, or as a
  near-duplicate) is refused, exit 2, naming the photos (training/protocol.py); ``--allow-overlap``
  scores them anyway and lists them under ``overlap``.
- ``DATA/participants.csv`` (optional: participants x photos, 1, 0 or empty; training/lamem.py)
  adds ``human_split_half`` over 100 random divisions of the participants and ``ceiling``: its
  Spearman-Brown correction, the ceiling and the model's rho as a fraction of it
  (training/agreement.py). Without it, ``splits/halves_K.txt`` (``name score_half1 score_half2``)
  adds ``human_split_half`` of that one split, uncorrected: not a ceiling.
- ``--compare BUCKET2`` scores the same photos with a second bucket and adds ``compare``: its own
  figures and ``delta_spearman`` (rho of BUCKET minus rho of BUCKET2) with a paired interval.
- ``--split all`` measures each ``--bucket`` (given once per split) on the test split of the split
  it was trained on, and reports each figure's mean and ``spread`` (SD, least, most) over the
  splits, with each split's figures and intervals under ``per_split``. A bucket trained elsewhere
  (ResMem: its provenance names no split) given alone is measured on every test split.
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
import os
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

import config
from training.agreement import agreement, difference, of_ceiling, people, split_half
from training.lamem import (
    PARTICIPANTS,
    DatasetError,
    available_splits,
    parse_split_arg,
    read_halves,
    read_participants,
    read_split,
)
from training.protocol import by_split, check_unseen

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


def score_bucket(bucket, paths, batch, output="memorability", stable=False):
    """({path: score}, the model's metadata, whether it scored with the mirror average) of
    ``bucket`` on ``paths``, served as ``output`` (core.model.bucket.BucketError when it predicts
    another); the model freed after. Scored as the mean of each photo and its mirror image where
    its model.json says "tta": "mirror", with ``stable``, or where MODEL_TTA=mirror says so."""
    from core.model.outputs import serving_bucket
    from core.model.wrapper import ModelWrapper

    settings = serving_bucket(config.settings().replace(BATCH_SIZE=batch), bucket, output)
    model = ModelWrapper(settings.replace(MODEL_TTA="mirror") if stable else settings,
                         warm_up=False)  # this bucket alone
    try:
        return dict(zip(paths, predict_files(model, paths, batch))), model.bucket.metadata, \
            model.settings.stable_by_default
    finally:
        model.close()


def people_of(entries, halves, participants):
    """What people's own agreement says on these test photos: the split-half over many random
    divisions and the ceiling where ``participants`` are given, else one split of ``halves``."""
    names = [Path(p).name for p, _ in entries]
    if participants is not None:
        photos, responses = participants
        column = {name: i for i, name in enumerate(photos)}
        missing = [name for name in names if name not in column]
        if missing:
            raise DatasetError(f"{PARTICIPANTS} has no column for {len(missing)} test photo(s): "
                               f"{', '.join(missing[:5])}")
        return people(responses[:, [column[name] for name in names]])
    pairs = [halves[name] for name in names if name in (halves or {})]
    return {"human_split_half": split_half(*zip(*pairs))} if len(pairs) >= 3 else {}


def split_figures(entries, predicted, compared, known):
    """One split's figures: the bucket's, people's (``known``: people_of) and the comparison."""
    true = [s for _, s in entries]
    result = {**metrics([predicted[p] for p, _ in entries], true), **known}
    top = known.get("ceiling", {}).get("spearman")
    if "ceiling" in known:
        result["ceiling"] = {**known["ceiling"], "of_ceiling": of_ceiling(result["spearman"], top)}
    if compared is not None:
        other = [compared[p] for p, _ in entries]
        result["compare"] = {**metrics(other, true),
                             **difference([predicted[p] for p, _ in entries], other, true)}
        if "ceiling" in known:
            result["compare"]["of_ceiling"] = of_ceiling(result["compare"]["spearman"], top)
    return result


FIGURES = ("spearman", "pearson", "mae", "mse")


def over_splits(per_split):
    """LaMem's protocol: each point figure's mean over the splits, and its spread (the SD, the
    least and the most); intervals stay per split."""
    def values(figure, within=None):  # over the splits where the figure is defined
        found = [(f[within] if within else f)[figure] for f in per_split.values()]
        return [v for v in found if v is not None]

    def mean(found):
        return float(np.mean(found)) if found else None

    def spread(found):
        return {"sd": float(np.std(found, ddof=1)) if len(found) > 1 else None,
                "min": min(found, default=None), "max": max(found, default=None)}

    result = {m: mean(values(m)) for m in FIGURES}
    result["n"] = sum(f["n"] for f in per_split.values())
    result["spread"] = {m: spread(values(m)) for m in FIGURES}
    if all("ceiling" in f for f in per_split.values()):
        fractions = values("of_ceiling", "ceiling")
        result["ceiling"] = {"of_ceiling": mean(fractions), "spread": spread(fractions)}
    if all("compare" in f for f in per_split.values()):
        wanted = (*FIGURES, "delta_spearman")
        result["compare"] = {m: mean(values(m, "compare")) for m in wanted}
        result["compare"]["spread"] = {m: spread(values(m, "compare")) for m in wanted}
    return result


def as_list(buckets):
    return [] if buckets is None else [buckets] if isinstance(buckets, (str, os.PathLike)) else list(buckets)


def evaluate(bucket, data, split, report=None, batch=8, compare=None, output="memorability", allow_overlap=False):
    """Return the figures on ``test_{split}`` of ``bucket`` (a bucket, or for split 'all' one a
    split: by_split), against ``compare`` (the same) when given; both predict ``output``. A test
    photo a bucket was fitted or chosen on is refused (check_unseen) unless ``allow_overlap``."""
    from core.model.bucket import chosen_mirrored, open_bucket
    from core.model.checksums import DigestMemo

    buckets, compares = as_list(bucket), as_list(compare)
    splits = available_splits(data, "test") if split == "all" else [split]
    if not splits:
        raise DatasetError(f"{data}/splits holds no test_K.txt files")
    memo = DigestMemo(config.settings().MODEL_CACHE)
    facts = {b: open_bucket(b, memo=memo).facts for b in {*buckets, *compares}}
    measured = by_split(buckets, facts, splits, split)
    if set(splits) - set(measured):
        log.warning("no bucket trained on split(s) %s: their test splits are not measured",
                    ", ".join(map(str, sorted(set(splits) - set(measured)))))
    against = by_split(compares, facts, splits, split, "--compare") if compares else {}
    if against and set(measured) - set(against):
        raise ValueError(f"--compare has no bucket for split(s) {sorted(set(measured) - set(against))}")
    entries = {k: read_split(data, "test", k) for k in measured}  # every line checked before scoring
    participants = read_participants(data)
    known = {k: people_of(entries[k], read_halves(data, k), participants) for k in measured}
    found = check_unseen([*measured.items(), *((k, against[k]) for k in measured if k in against)],
                         facts, entries, allow_overlap)
    # Each bucket is scored as it was chosen, with the mirror average where its model.json says so
    # (training/finetune.py); in a comparison, both where either was: the difference is then the
    # models', not the mirror's. wanted: (bucket, so) -> the photos it scores so, each once.
    so = {k: any(chosen_mirrored(facts[b], b) for b in (measured[k], against.get(k)) if b is not None)
          for k in measured}
    wanted = {}
    for k in measured:
        for b in (measured[k], against.get(k)):
            if b is not None:
                wanted.setdefault((b, so[k]), set()).update(p for p, _ in entries[k])
    scored = {key: score_bucket(key[0], sorted(paths), batch, output, key[1]) for key, paths in wanted.items()}
    predicted = {k: scored[measured[k], so[k]][0] for k in measured}
    compared = {k: scored[against[k], so[k]][0] for k in measured} if against else None
    mirrored = {k: scored[measured[k], so[k]][2] for k in measured}  # so, or by MODEL_TTA=mirror
    per_split = {k: {**split_figures(entries[k], predicted[k], compared and compared[k], known[k]),
                     **({"overlap": found[k]} if k in found else {})} for k in measured}
    if split != "all":
        result = {"bucket": str(measured[split]), "output": output, "mirror_average": mirrored[split],
                  **per_split[split]}
    else:
        for k, figures in per_split.items():
            figures.update(bucket=str(measured[k]), mirror_average=mirrored[k])
            if against:
                figures["compare"] = {"bucket": str(against[k]), **figures["compare"]}
        result = {"bucket": [str(b) for b in dict.fromkeys(measured.values())], "output": output,
                  **over_splits(per_split), "per_split": per_split}
    if against:
        result["compare"] = {"bucket": [str(b) for b in dict.fromkeys(against.values())] if split == "all"
                             else str(against[split]), **result["compare"]}
    if report:
        metadata = {b: got[1] for (b, _), got in scored.items()}
        write_report(Path(report), (metadata[buckets[0]], predicted),
                     (metadata[compares[0]] if compares else None, compared), entries, result, output)
    return result


def shown(value, spec=".3f"):
    return "undefined" if value is None else format(value, spec)


def write_report(folder, primary, secondary, entries, result, output="memorability"):
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    (meta, predicted), (other_meta, compared) = primary, secondary  # predicted: {k: {path: score}}
    pairs = [(k, p, s) for k in entries for p, s in entries[k]]
    true = np.array([s for _, _, s in pairs])
    models = [(meta["name"], np.array([predicted[k][p] for k, p, _ in pairs]), result, "tab:blue")]
    if compared is not None:
        models.append((f"{other_meta['name']} (compared)", np.array([compared[k][p] for k, p, _ in pairs]),
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
    several = len(entries) > 1  # a photo may then be in several test splits, scored by each split's bucket
    with open(folder / "predictions.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["split"] * several + ["image", "true", "predicted"] + ["compared"] * (compared is not None))
        writer.writerows([(k,) * several + (Path(p).name, f"{s:.6f}", f"{predicted[k][p]:.9g}")  # float32, exactly
                          + ((f"{compared[k][p]:.9g}",) if compared is not None else ()) for k, p, s in pairs])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bucket", required=True, action="append",
                        help="bucket folder to evaluate; with --split all, once per split (each is measured on the "
                             "test split of the split it was trained on)")
    parser.add_argument("--data", required=True, help="LaMem-format dataset folder")
    parser.add_argument("--split", required=True, help="test split K (1..5), or 'all'")
    parser.add_argument("--report", type=Path, help="folder for the plots and metrics.json")
    parser.add_argument("--compare", action="append",
                        help="a second bucket, scored on the same photos (the difference in rho); with --split all, "
                             "one trained elsewhere (ResMem), or once per split as --bucket")
    parser.add_argument("--allow-overlap", action="store_true",
                        help="score test photos that a bucket was fitted or chosen on (its provenance says which) "
                             "anyway: the figures then overstate it, and the output lists them under overlap")
    parser.add_argument("--batch", type=int, default=8, help="photos per forward pass")
    parser.add_argument("--output", choices=("memorability", "false_alarm"), default="memorability",
                        help="what the dataset's scores are, and the buckets predict: hit rates or false-alarm rates")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        result = evaluate(args.bucket, args.data, parse_split_arg(args.split), args.report, args.batch, args.compare,
                          args.output, args.allow_overlap)
    except (ValueError, OSError, RuntimeError) as error:
        log.error("%s", error)
        return 2
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
