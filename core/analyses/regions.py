"""What a marked region does to the score: hide it on the model's own input and measure the fall.

A region is a named box ``[x0, y0, x1, y1]`` or polygon ``[[x, y], ...]`` in fractions 0..1 of
the photo as displayed (EXIF orientation applied). It is hidden the way the maps hide their
windows (core/analyses/explain.py's ``hidden``: EXPLAIN_BASELINE, grey by default, the baseline that
`make bench-explain` chose by the deletion test), on the network's input itself: the photo is
decoded and preprocessed once, by core/inputs/pipeline.py, and every pass is a copy of that input.

For each region, in one batch with the photo itself:
    effect      score(photo) - score(photo with the region hidden): + the region raises the score
    spread      the largest change of ``effect`` when the region is moved by JITTER of the photo's
                side left, right, up and down (4 passes): how solid the number is
    alone       the score of the photo with everything but the region hidden
    verdict     "raises" or "lowers" only when |effect| is above both the spread and the noise
                band (TIE_THRESHOLD); else "no clear effect"
    in_model_view  the share of the region inside the model's centre crop: ResMem squashes the
                photo to 256 x 256 and keeps the centre 227 x 227, so a region in the outer 5.5%
                cannot change the score, and the answer says so rather than report 0 as a finding
With several regions, one more pass hides all of them at once, beside the sum of their effects.
Passes: 1 + 6 per region (+1 for several), doubled with ``stable`` (the mirror image, with each
region mirrored, in the same batch), times 2 with the grey+blur baseline.
"""
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from shapely.geometry import Polygon
from shapely.geometry import box as shapely_box

from core.analyses.explain import hidden
from core.inputs.images import crop_offsets
from core.model.outputs import scores_of

JITTER = 0.02  # of the photo's side: how far each jittered copy of a region moves
SMALL_AREA = 0.05  # a region under 5% of the photo gets a warning: its effect is mostly noise
SUPERSAMPLE = 4  # each frame pixel's share of a region, from a mask drawn 4 x 4 times finer


def frame_mask(region, spec):
    """Each pixel's share (0..1) of ``region`` in the model's resized frame (float32 H x W):
    exact for a box, from a 4x finer drawing for a polygon."""
    width, height = spec.resize
    if region.is_box:
        xs, ys = zip(*region.points)
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        def cover(low, high, n):  # each pixel's overlap with [low, high] (in pixels)
            edges = np.arange(n + 1)
            return np.clip(np.minimum(edges[1:], high * n) - np.maximum(edges[:-1], low * n), 0, 1)
        return np.outer(cover(y0, y1, height), cover(x0, x1, width)).astype(np.float32)
    canvas = Image.new("L", (width * SUPERSAMPLE, height * SUPERSAMPLE), 0)
    ImageDraw.Draw(canvas).polygon([(x * width * SUPERSAMPLE, y * height * SUPERSAMPLE)
                                    for x, y in region.points], fill=255)
    return np.asarray(canvas.resize((width, height), Image.BOX), np.float32) / 255


def crop_of(mask, spec):
    top, left = crop_offsets(spec)
    return mask[top:top + spec.crop, left:left + spec.crop]


def in_model_view(region, spec):
    """The share of ``region``'s area inside the model's centre crop (exact, by geometry)."""
    width, height = spec.resize
    top, left = crop_offsets(spec)
    view = shapely_box(left / width, top / height, (left + spec.crop) / width, (top + spec.crop) / height)
    shape = Polygon(region.points)
    return shape.intersection(view).area / shape.area


@dataclass
class RegionEffect:
    """One region's measures; effect, spread, verdict and alone map each output to its own."""
    name: str
    effect: dict
    spread: dict
    verdict: dict
    alone: dict
    area_pct: float
    in_model_view: float
    warning: str = None


def verdict(effect, spread, noise):
    if abs(effect) <= max(spread, noise):
        return "no clear effect"
    return "raises" if effect > 0 else "lowers"


@dataclass
class RegionsResult:
    scores: object  # core.model.outputs.Scores of the photo (with stable, the mean with its mirror's)
    regions: list  # RegionEffect, in the request's order
    passes: int  # forward passes of the request, all in one batch
    all_hidden: dict = None  # several regions: {output: {"effect": all hidden at once, "sum_of_effects"}}


def _view_inputs(x, regions, fills, spec):
    """One view's inputs, one at a time, in order: the photo; per region its hiding, its 4
    jittered hidings and everything but it hidden; then, for several regions, all of them hidden."""
    def hide(mask):
        m = crop_of(mask, spec)[..., None]
        for fill in fills:
            yield x * (1 - m) + fill * m

    yield x
    masks = []
    for region in regions:
        mask = frame_mask(region, spec)
        masks.append(mask)
        yield from hide(mask)
        for dx, dy in ((JITTER, 0), (-JITTER, 0), (0, JITTER), (0, -JITTER)):
            yield from hide(frame_mask(region.moved(dx, dy), spec))
        yield from hide(1 - mask)
    if len(regions) > 1:
        yield from hide(np.maximum.reduce(masks))


def measure_regions(model, photo, regions, baseline="grey", noise=0.061, stable=False):
    """The RegionsResult of ``regions`` on ``photo`` (core.inputs.pipeline.Photo) with ``model``
    (core.model.wrapper.ModelWrapper), each measure for each of model.outputs: every pass in one call
    of ``model.scores``, which scores every output. ``noise`` is the score difference below which
    nothing is called an effect (TIE_THRESHOLD)."""
    spec = model.spec
    views = [(photo.x, regions)]
    if stable:
        views.append((model.pipeline.with_mirror(photo).x_mirror, [r.mirrored() for r in regions]))
    fills_of = [[np.broadcast_to(hidden(x, part, spec), x.shape) for part in baseline.split("+")] for x, _ in views]
    fills = len(fills_of[0])
    per_view = 1 + 6 * fills * len(regions) + (fills if len(regions) > 1 else 0)
    batch = np.empty((len(views) * per_view, *photo.x.shape), np.float32)  # filled in place: one copy
    inputs = (inp for (x, regs), f in zip(views, fills_of) for inp in _view_inputs(x, regs, f, spec))
    for index, inp in enumerate(inputs):
        batch[index] = inp
    rows = model.scores(batch).astype(np.float64)
    measured = {output: _measured(rows[:, column].reshape(len(views), -1), regions, fills, noise)
                for column, output in enumerate(model.outputs)}

    def by_output(index, measure):
        return {output: per_region[index][measure] for output, (per_region, _) in measured.items()}

    # The photo's scores, and its mirror's (the first input of the second view), from the same passes.
    result = RegionsResult(scores_of(model.outputs, rows[0], rows[per_view] if stable else None), [], len(batch))
    for index, region in enumerate(regions):
        seen = in_model_view(region, spec)
        measures = (by_output(index, m) for m in ("effect", "spread", "verdict", "alone"))
        result.regions.append(RegionEffect(region.name, *measures, 100 * region.area, seen,
                                           _warning(region, seen, spec)))
    if len(regions) > 1:
        result.all_hidden = {output: together for output, (_, together) in measured.items()}
    return result


def _warning(region, seen, spec):
    """What to say of a small region, or of one partly outside the model's view; else None."""
    warnings = []
    if region.area < SMALL_AREA:
        warnings.append(f"the region is {region.area:.1%} of the photo, under {SMALL_AREA:.0%}: "
                        "its effect is small beside the model's noise")
    if seen < 0.95:  # a sliver outside is no news
        warnings.append(f"{1 - seen:.0%} of the region is outside the centre {spec.crop}x{spec.crop} "
                        f"of the {spec.resize[0]}x{spec.resize[1]} squashed photo that the model sees")
    return "; ".join(warnings) or None


def _measured(scores, regions, fills, noise):
    """One output's measures from its scores, a row a view (the photo, its mirror): ([{"effect",
    "spread", "verdict", "alone"} a region], {"effect", "sum_of_effects"} of all hidden or None)."""
    views = scores.shape[0]
    base = scores[:, 0]
    # Per view: the fall under each hiding, averaged over the fills; then over the views.
    per_region = 6 * fills
    effects, jittered, alone = [], [], []
    for index in range(len(regions)):
        start = 1 + index * per_region
        block = scores[:, start:start + per_region].reshape(views, 6, fills).mean(axis=2)
        falls = (base[:, None] - block[:, :5]).mean(axis=0)
        effects.append(falls[0])
        jittered.append(falls[1:])
        alone.append(block[:, 5].mean())
    measures = []
    for effect, moved, score_alone in zip(effects, jittered, alone):
        spread = float(np.abs(moved - effect).max())
        measures.append({"effect": float(effect), "spread": spread, "verdict": verdict(effect, spread, noise),
                         "alone": float(score_alone)})
    together = None
    if len(regions) > 1:
        hidden_all = scores[:, -fills:].mean(axis=1)
        together = {"effect": float((base - hidden_all).mean()), "sum_of_effects": float(sum(effects))}
    return measures, together
