"""Memorability maps by occlusion: hide a region, measure how far the score falls.

Why occlusion: it measures directly what a map claims, the effect of removing a region on
the score. `make bench-explain` compares it with Grad-CAM and gradient x activation on real
photos by the deletion test; the README has the figures (integrated gradients, at ~7 s a photo,
was too slow to serve). Its cost is one forward pass per window, all run as one batch.

The windows tile the model's input crop in an n x n grid, plus (n-1) x (n-1) windows of the
same size centred on the grid's inner corners, so that regions straddling a grid line are
measured too. A pixel's value is the mean fall of the score, in the score's own units, over the
windows that cover it: +0.03 means hiding the region lowers the score by 0.03.

How a region is hidden (the baseline) is measured in `make bench-explain` by the deletion and
insertion tests: grey (the default), the photo's mean colour, or the photo blurred.
The crop sits in the bucket's resized frame (ResMem: 227 of 256x256); the model never sees
the border outside it, so the border's value is exactly 0 (neutral).
"""
from dataclasses import dataclass

import numpy as np
from PIL import Image

from core.images import preprocess

GREY = (128, 128, 128)
BASELINES = ("grey", "mean", "blur")
BLUR_CELLS = 8  # "blur": the crop averaged down to 8 x 8 cells and smoothly enlarged again


@dataclass
class Explanation:
    memorability: float
    frame: np.ndarray  # fall of the score when each pixel's region is hidden; the resized frame's shape
    crop_box: tuple    # (top, left, size) of the model's crop inside the frame


def occlusion_windows(size, grid, offset=True):
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


def explain(model, image, grid=2, offset=True, baseline="grey"):
    """The score and occlusion map of one RGB PIL image, with ``model`` a core.model.ModelWrapper."""
    return explain_prepared(model, preprocess(image, model.spec), grid, offset, baseline)


def explain_prepared(model, x, grid=2, offset=True, baseline="grey"):
    """``explain`` of an image already preprocessed (``ModelWrapper.prepare``)."""
    spec = model.spec
    fill = np.broadcast_to(hidden(x, baseline, spec), x.shape)
    windows = occlusion_windows(spec.crop, grid, offset)
    batch = np.repeat(x[None], len(windows) + 1, axis=0)
    for occluded, (top, left, bottom, right) in zip(batch[1:], windows):
        occluded[top:bottom, left:right] = fill[top:bottom, left:right]
    scores = model._predict(batch).astype(np.float64)  # batch[0] is the photo itself: the answer
    falls = scores[0] - scores[1:]

    total = np.zeros((spec.crop, spec.crop))
    count = np.zeros((spec.crop, spec.crop))
    for fall, (top, left, bottom, right) in zip(falls, windows):
        total[top:bottom, left:right] += fall
        count[top:bottom, left:right] += 1
    frame, crop_box = in_frame(total / np.maximum(count, 1), spec)
    return Explanation(float(scores[0]), frame, crop_box)
