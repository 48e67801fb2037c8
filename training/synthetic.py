"""A LaMem-format dataset whose "human" score is a known function of the image: a known answer
for the fine-tuning stage, since no human-scored dataset can be downloaded here.

    python -m training.synthetic --photos DIR --out DATA [--n 300 --seed 0 --val 0.2 --test 0.2]

Each photo is a random crop of a real photo (DIR, JPEG or PNG) with a magenta rectangle pasted
on it. Its "true" memorability rises with the rectangle's share of the photo:
``0.45 + share`` for a share drawn uniformly in 0..0.4. Two "halves of the participants" each
see it with their own noise (``--noise``, default 0.058: split-half Spearman near 0.8, as
people reach on real data), and the split files hold the mean of the halves, as a lab's hit
rates would. ``splits/halves_1.txt`` holds both halves of every photo: one split of the
participants, uncorrected, not a ceiling (training/README.md). Crops of one photo that are
near-duplicates are kept in one split.

ResMem does not predict this score (its Spearman on it is low), so a fine-tune that reaches a
high rho on the test split has learned it from the labels.
"""
import argparse
import logging
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from training import overlap
from training.label import divide
from training.lamem import write_split

log = logging.getLogger("synthetic")

COLOUR = (255, 0, 255)
MAX_SHARE = 0.4
BASE_SCORE = 0.45
SIDE = 320  # the long side of each generated photo: small files, and far above ResMem's 256


def true_score(share):
    return BASE_SCORE + share


def make_photo(source, rng):
    """A random crop of ``source`` (RGB) resized to SIDE, with a rectangle of a random share;
    returns (image, share)."""
    w, h = source.size
    scale = rng.uniform(0.5, 1.0)
    cw, ch = max(16, int(w * scale)), max(16, int(h * scale * rng.uniform(0.8, 1.25)))
    cw, ch = min(cw, w), min(ch, h)
    left, top = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    photo = source.crop((left, top, left + cw, top + ch))
    ratio = SIDE / max(cw, ch)
    photo = photo.resize((max(16, round(cw * ratio)), max(16, round(ch * ratio))), Image.Resampling.BILINEAR)
    share = rng.uniform(0.0, MAX_SHARE)
    pw, ph = photo.size
    aspect = rng.uniform(0.5, 2.0)  # the rectangle's width / height
    rw = int(np.clip(round(np.sqrt(share * pw * ph * aspect)), 1, pw))
    rh = int(np.clip(round(share * pw * ph / rw), 0, ph))
    x, y = int(rng.integers(0, pw - rw + 1)), int(rng.integers(0, ph - rh + 1))
    if rh:
        photo.paste(COLOUR, (x, y, x + rw, y + rh))
    return photo, rw * rh / (pw * ph)


def make_dataset(photos, out, n=300, seed=0, noise=0.058, val=0.2, test=0.2):
    """Write ``n`` generated photos and their scores to ``out`` in LaMem's format (split 1)."""
    sources = sorted(p for p in Path(photos).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not sources:
        raise ValueError(f"{photos} holds no .jpg or .png photos")
    out = Path(out)
    if (out / "splits").exists():
        raise FileExistsError(f"{out}/splits exists already: choose a new --out, or delete it")
    (out / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    halves = {}
    for index in range(n):
        with Image.open(sources[index % len(sources)]) as source:
            photo, share = make_photo(source.convert("RGB"), rng)
        name = f"{index:05d}.jpg"
        photo.save(out / "images" / name, quality=90)
        halves[name] = np.clip(true_score(share) + rng.normal(0, noise, 2), 0.0, 1.0)
    scores = {name: float(np.mean(pair)) for name, pair in halves.items()}
    # Crops of one photo can be near-duplicates: each set is kept in one split (training/overlap.py)
    together = overlap.groups(overlap.fingerprints(sorted((out / "images").glob("*.jpg"))))
    for kind, names in divide(scores, val, test, seed, together).items():
        write_split(out, kind, 1, [(name, scores[name]) for name in sorted(names)])
    (out / "splits" / "halves_1.txt").write_text(
        "".join(f"{name} {a:.6f} {b:.6f}\n" for name, (a, b) in sorted(halves.items())))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", required=True, type=Path, help="folder of real photos to crop")
    parser.add_argument("--out", required=True, type=Path, help="dataset folder to create")
    parser.add_argument("--n", type=int, default=300, help="photos to generate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise", type=float, default=0.058, help="each half's noise (standard deviation)")
    parser.add_argument("--val", type=float, default=0.2)
    parser.add_argument("--test", type=float, default=0.2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        make_dataset(args.photos, args.out, args.n, args.seed, args.noise, args.val, args.test)
    except (OSError, ValueError) as error:
        log.error("%s", error)
        return 2
    log.info("wrote %d photos to %s", args.n, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
