"""The views of each photo that the deep candidates (training/deep.py) train on, each computed by
ResMem's frozen part in one pass and cached (training/bottlenecks.py, keyed by the view).

VIEWS passes: the centre crop of the resized photo (from the ridge heads' own pass), its mirror
image, then random crop windows. How the random ones are drawn is the recipe (``--augment``):
  - ``fixed`` (the default): one random window and flip, drawn once from the seed and the same for
    every photo: what the deep candidates have used since they were written;
  - ``resmem``: nearer ResMem's own augmentation, a random window and flip for each photo and
    random pass (an N x 3 array of them, from the seed: at VIEWS 3, one a photo for the whole run),
    and dropout 0.5 after fc6 and fc7 in the retrained head, as ResMem trained it
    (training/deep.py's trainable).
``--augment fixed,resmem`` trains each deep part with both, and the selection rule keeps the
recipe that pays, part by part (training/candidates.py): twice the deep training, one and a half
times the views (the mirror view is both recipes').
"""
import argparse
import hashlib

import numpy as np

VIEWS = 3  # the centre crop, its mirror, one random crop: each costs a pass of ResMem over the photos
RECIPES = ("fixed", "resmem")
DROPOUT = 0.5  # ResMem's, after fc6 and fc7


def recipes(text):
    """--augment ("fixed", "resmem" or both, comma-separated; or already such a tuple) -> a tuple
    of RECIPES, each once."""
    names = text.split(",") if isinstance(text, str) else text
    chosen = tuple(dict.fromkeys(str(name).strip() for name in names))
    wrong = [name for name in chosen if name not in RECIPES]
    if wrong or not chosen:
        raise RecipeError(f"{', '.join(map(repr, wrong or [text]))}: the recipes of views are {', '.join(RECIPES)}")
    return chosen


class RecipeError(ValueError, argparse.ArgumentTypeError):
    """A ValueError to the callers of ``recipes``; as --augment's type, argparse prints its message."""


def views(spec, n, count=VIEWS, seed=0, recipe="fixed"):
    """The ``count`` views of ``n`` photos: each a (top, left, flip) for every photo, or (the
    random ones of ``resmem``) an ``n`` x 3 array of int32, a window and a flip for each photo."""
    from core.inputs.images import crop_offsets

    if recipe not in RECIPES:
        raise ValueError(f"--augment must be one of {', '.join(RECIPES)}, not {recipe!r}")
    top, left = crop_offsets(spec)
    rng = np.random.default_rng(seed)
    chosen = [(top, left, False), (top, left, True)]
    rows, columns = spec.resize[1] - spec.crop + 1, spec.resize[0] - spec.crop + 1
    while len(chosen) < count:
        if recipe == "fixed":
            chosen.append((int(rng.integers(0, rows)), int(rng.integers(0, columns)), bool(rng.integers(0, 2))))
        else:
            chosen.append(np.stack([rng.integers(0, rows, n), rng.integers(0, columns, n), rng.integers(0, 2, n)],
                                   axis=1).astype(np.int32))
    return chosen[:count]


def described(view):
    """What a cache key records of a view: the tuple, or the digest of a photo-by-photo array."""
    if isinstance(view, np.ndarray):
        return f"per-photo:{hashlib.md5(np.ascontiguousarray(view).tobytes(), usedforsecurity=False).hexdigest()}"
    return str(tuple(view))
