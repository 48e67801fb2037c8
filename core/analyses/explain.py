"""Memorability maps by occlusion: hide a region, measure how far the score falls.

Why occlusion: it measures directly what a map claims, the effect of removing a region on
the score. `make bench-explain` compares it with Grad-CAM and gradient x activation on real
photos by the deletion test; docs/maps.md has the figures (integrated gradients, at ~7 s a photo,
was too slow to serve). Its cost is one forward pass per window, all run as one batch.

The windows tile the model's input crop in an n x n grid. Optionally (EXPLAIN_OFFSET_WINDOWS)
(n-1) x (n-1) windows of the same size sit on the grid's inner corners too; the deletion and
insertion tests found the plain grid better, so they are off by default. A pixel's value is the
mean fall of the score, in the score's own units, over the windows that cover it: +0.03 means
hiding the region lowers the score by 0.03.

The grid is the tier's (core/model/tiers.py, unless EXPLAIN_GRID sets one): a fast runtime affords a
finer grid in the same time.
How a region is hidden (the baseline) is measured in `make bench-explain` by the deletion and
insertion tests: grey (the default), the photo's mean colour, the photo blurred, or "grey+blur",
the mean of the falls under grey and under blur (twice the passes).
The crop sits in the bucket's resized frame (ResMem: 227 of 256x256); the model never sees
the border outside it, so the border's value is exactly 0 (neutral).
"""
from dataclasses import dataclass

import numpy as np
from PIL import Image

from config import BASELINES  # how a region may be hidden: hidden() draws each
from core.analyses.heatmap import effects_grid, heatmap_of, overlay_png
from core.inputs.images import crop_offsets, preprocess
from core.model.outputs import default_output, scores_of
from core.model.tiers import TIERS

GREY = (128, 128, 128)
BLUR_CELLS = 8  # "blur": the crop averaged down to 8 x 8 cells and smoothly enlarged again


@dataclass(frozen=True)
class MapSettings:
    """The EXPLAIN_* settings, resolved for one tier: what every map of a server or run uses."""
    grid: int  # occlusion grid n (n x n windows)
    offset: bool  # the (n-1)^2 windows on the grid's inner corners too
    baseline: str  # how a window hides its region: one of BASELINES
    heatmap_size: int  # cells along the longer side of the heatmap and effects grids
    overlay_size: int  # pixels along the overlay's longer side
    effect_scale: float  # score units drawn in full colour on the overlay

    @classmethod
    def from_settings(cls, settings, precision=None):
        """From config.Settings (validated there); EXPLAIN_GRID 0 means the tier's grid."""
        tier = TIERS[precision or settings.MODEL_PRECISION]
        return cls(settings.EXPLAIN_GRID or tier.grid, settings.EXPLAIN_OFFSET_WINDOWS,
                   settings.EXPLAIN_BASELINE, settings.EXPLAIN_HEATMAP_SIZE,
                   settings.EXPLAIN_OVERLAY_SIZE, settings.EXPLAIN_EFFECT_SCALE)


@dataclass
class PhotoMap:
    """What /model/explain answers and `score --maps` writes for one photo."""
    scores: object  # core.model.outputs.Scores: every output's score (with stable, and its mirror delta)
    output: str  # the output mapped
    effects: np.ndarray  # the fall of its score, in score units, over the whole photo as displayed
    heatmap: np.ndarray  # the same scaled per photo into [0, 1], 0.5 neutral
    overlay: bytes  # PNG of the photo with the effects over it, on the fixed scale


def map_photo(model, photo, settings, stable=False, output=None):
    """The one map pipeline: occlusion -> effects -> heatmap -> overlay, each grid computed once.
    ``model`` is a core.model.wrapper.ModelWrapper, ``photo`` a core.inputs.pipeline.Photo, ``settings`` MapSettings.
    ``stable``: the score is the mean of the photo's and its mirror image's (``photo.x_mirror``,
    scored in the same pass as the occluded copies); the map is the photo's own. The map is of
    ``output`` (default: core.model.outputs.default_output); every output is scored in the same passes."""
    mirror = model.pipeline.with_mirror(photo).x_mirror if stable else None
    found = explain_prepared(model, photo.x, settings.grid, settings.offset, settings.baseline, mirror, output)
    effects = effects_grid(found.frame, photo.size, settings.heatmap_size)
    return PhotoMap(found.scores, found.output, effects, heatmap_of(effects),
                    overlay_png(photo.image, effects, settings.effect_scale, settings.overlay_size))


@dataclass
class Explanation:
    output: str  # the output mapped
    frame: np.ndarray  # fall of its score when each pixel's region is hidden; the resized frame's shape
    crop_box: tuple    # (top, left, size) of the model's crop inside the frame
    scores: object  # core.model.outputs.Scores of the photo, every output (with ``mirror``: the mean of the two)
    passes: int = 0  # forward passes it took, all in one batch


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
    top, left = crop_offsets(spec)  # where core.inputs.images.preprocess takes its crop
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


def explain_prepared(model, x, grid, offset=False, baseline="grey", mirror=None, output=None):
    """The score and occlusion map (an Explanation) of the network input ``x`` (core.inputs.pipeline.Photo.x);
    ``mirror``, another input, is scored in the same batch (Photo.x_mirror). The map is of
    ``output`` (one of model.outputs; default: core.model.outputs.default_output); every output is
    scored in each pass."""
    spec = model.spec
    output = output or default_output(model.outputs)
    fills = [np.broadcast_to(hidden(x, part, spec), x.shape) for part in baseline.split("+")]
    windows = occlusion_windows(spec.crop, grid, offset)
    head = [x] if mirror is None else [x, mirror]  # the photo itself (the answer), its mirror
    batch = np.concatenate([np.stack(head), np.repeat(x[None], len(fills) * len(windows), axis=0)])
    for occluded, (fill, (top, left, bottom, right)) in zip(
            batch[len(head):], ((fill, window) for fill in fills for window in windows)):
        occluded[top:bottom, left:right] = fill[top:bottom, left:right]
    rows = model.scores(batch).astype(np.float64)
    scores = rows[:, model.outputs.index(output)]
    # One fall per window: the mean over the fills.
    falls = (scores[0] - scores[len(head):]).reshape(len(fills), len(windows)).mean(axis=0)

    total = np.zeros((spec.crop, spec.crop))
    count = np.zeros((spec.crop, spec.crop))
    for fall, (top, left, bottom, right) in zip(falls, windows):
        total[top:bottom, left:right] += fall
        count[top:bottom, left:right] += 1
    frame, crop_box = in_frame(total / np.maximum(count, 1), spec)
    scores = scores_of(model.outputs, rows[0], rows[1] if mirror is not None else None)
    return Explanation(output, frame, crop_box, scores, len(batch))
