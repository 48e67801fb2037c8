"""Memorability maps by occlusion: hide a region, measure how far the score falls.

Why occlusion: it measures directly what a map claims, the effect of removing a region on
the score. `make bench-explain` compares it with Grad-CAM and gradient x activation on real
photos by the deletion test; the README has the figures (integrated gradients, at ~7 s a photo,
was too slow to serve). Its cost is one forward pass per window, all run as one batch.

The windows tile the model's input crop in an n x n grid. Optionally (EXPLAIN_OFFSET_WINDOWS)
(n-1) x (n-1) windows of the same size sit on the grid's inner corners too; the deletion and
insertion tests found the plain grid better, so they are off by default. A pixel's value is the
mean fall of the score, in the score's own units, over the windows that cover it: +0.03 means
hiding the region lowers the score by 0.03.

The grid is the tier's (``grid_for``): a fast runtime affords a finer grid in the same time.
How a region is hidden (the baseline) is measured in `make bench-explain` by the deletion and
insertion tests: grey (the default), the photo's mean colour, the photo blurred, or "grey+blur",
the mean of the falls under grey and under blur (twice the passes).
The crop sits in the bucket's resized frame (ResMem: 227 of 256x256); the model never sees
the border outside it, so the border's value is exactly 0 (neutral).
"""
from dataclasses import dataclass

import numpy as np
from PIL import Image

from core.images import preprocess

GREY = (128, 128, 128)
BASELINES = ("grey", "mean", "blur", "grey+blur")
BLUR_CELLS = 8  # "blur": the crop averaged down to 8 x 8 cells and smoothly enlarged again
# The grid each tier affords in about the time the fp32 map took before (0.74 s a photo here):
# lite-int8's passes take a third of fp32's, so it maps on 3 x 3 windows instead of 2 x 2.
DEFAULT_GRID = 2
GRID_BY_PRECISION = {"lite-int8": 3}


def check_settings(grid, baseline):
    """Raise ValueError on an EXPLAIN_GRID or EXPLAIN_BASELINE no map could be made with, so
    that a server or a scoring run stops at start rather than on its first map."""
    _check_grid(grid)
    if baseline not in BASELINES:
        raise ValueError(f"EXPLAIN_BASELINE: the baseline must be one of {', '.join(BASELINES)}, "
                         f"not {baseline!r}")


def _check_grid(grid):
    if grid < 0:
        raise ValueError(f"EXPLAIN_GRID must be 0 (the tier's grid) or more, not {grid}")


def grid_for(precision, grid=0):
    """The occlusion grid of a model served at ``precision``: ``grid`` (EXPLAIN_GRID), or the
    tier's own when it is 0."""
    _check_grid(grid)
    return grid or GRID_BY_PRECISION.get(precision, DEFAULT_GRID)


@dataclass
class Explanation:
    memorability: float
    frame: np.ndarray  # fall of the score when each pixel's region is hidden; the resized frame's shape
    crop_box: tuple    # (top, left, size) of the model's crop inside the frame


def occlusion_windows(size, grid, offset=False):
    """(top, left, bottom, right) windows in a size x size crop: the grid, then the offset grid."""
    edges = np.linspace(0, size, grid + 1).round().astype(int)
    windows = [(edges[i], edges[j], edges[i + 1], edges[j + 1])
               for i in range(grid) for j in range(grid)]
    half = size / grid / 2
    for i in range(1, grid if offset else 1):
        for j in range(1, grid):
            top, left = int(round(edges[i] - half)), int(round(edges[j] - half))
            windows.append((top, left, top + edges[1], left + edges[1]))
    return windows


def in_frame(crop_map, spec):
    """A map over the model's crop, placed in the resized frame with a neutral (0) border."""
    height, width = spec.resize[1], spec.resize[0]
    # The same offsets as core.images.preprocess takes its crop at.
    top, left = int(round((height - spec.crop) / 2.0)), int(round((width - spec.crop) / 2.0))
    frame = np.zeros((height, width))
    frame[top:top + spec.crop, left:left + spec.crop] = crop_map
    return frame, (top, left, spec.crop)


def hidden(x, baseline, spec):
    """What a region of the preprocessed crop ``x`` becomes when it is hidden: an array to copy
    from (the same shape as ``x``, or one pixel that broadcasts)."""
    if baseline == "grey":  # grey through the same normalisation as the photo
        return preprocess(Image.new("RGB", tuple(spec.resize), GREY), spec)[:1, :1]
    if baseline == "mean":
        return x.mean(axis=(0, 1), keepdims=True)
    if baseline == "blur":
        size = x.shape[:2][::-1]
        return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(x[..., c]), "F")
                                    .resize((BLUR_CELLS, BLUR_CELLS), Image.BOX)
                                    .resize(size, Image.BILINEAR)) for c in range(x.shape[2])], axis=-1)
    raise ValueError(f"baseline must be one of {', '.join(BASELINES)}, not {baseline!r}")


def explain(model, image, grid=DEFAULT_GRID, offset=False, baseline="grey"):
    """The score and occlusion map of one RGB PIL image, with ``model`` a core.model.ModelWrapper."""
    return explain_prepared(model, preprocess(image, model.spec), grid, offset, baseline)


def explain_prepared(model, x, grid=DEFAULT_GRID, offset=False, baseline="grey"):
    """``explain`` of an image already preprocessed (``ModelWrapper.prepare``)."""
    spec = model.spec
    check_settings(grid, baseline)  # "grey+mean" is two known parts, but not a known baseline
    fills = [np.broadcast_to(hidden(x, part, spec), x.shape) for part in baseline.split("+")]
    windows = occlusion_windows(spec.crop, grid, offset)
    batch = np.repeat(x[None], len(fills) * len(windows) + 1, axis=0)
    for occluded, (fill, (top, left, bottom, right)) in zip(
            batch[1:], ((fill, window) for fill in fills for window in windows)):
        occluded[top:bottom, left:right] = fill[top:bottom, left:right]
    scores = model._predict(batch).astype(np.float64)  # batch[0] is the photo itself: the answer
    # One fall per window: the mean over the fills.
    falls = (scores[0] - scores[1:]).reshape(len(fills), len(windows)).mean(axis=0)

    total = np.zeros((spec.crop, spec.crop))
    count = np.zeros((spec.crop, spec.crop))
    for fall, (top, left, bottom, right) in zip(falls, windows):
        total[top:bottom, left:right] += fall
        count[top:bottom, left:right] += 1
    frame, crop_box = in_frame(total / np.maximum(count, 1), spec)
    return Explanation(float(scores[0]), frame, crop_box)
