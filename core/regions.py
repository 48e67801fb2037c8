"""What a marked region does to the score: hide it on the model's own input and measure the fall.

A region is a named box ``[x0, y0, x1, y1]`` or polygon ``[[x, y], ...]`` in fractions 0..1 of
the photo as displayed (EXIF orientation applied). It is hidden the way the maps hide their
windows (core/explain.py's ``hidden``: EXPLAIN_BASELINE, grey by default, the baseline that
`make bench-explain` chose by the deletion test), on the network's input itself: the photo is
decoded and preprocessed once, by core/pipeline.py, and every pass is a copy of that input.

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
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from shapely.geometry import Polygon, box as shapely_box

from core.explain import hidden
from core.images import crop_offsets

JITTER = 0.02  # of the photo's side: how far each jittered copy of a region moves
SMALL_AREA = 0.05  # a region under 5% of the photo gets a warning: its effect is mostly noise
SUPERSAMPLE = 4  # each frame pixel's share of a region, from a mask drawn 4 x 4 times finer
MAX_POINTS = 64  # of a polygon


class FieldError(ValueError):
    """A field of a regions or crops request is invalid; the message names the field and value."""


@dataclass(frozen=True)
class Region:
    name: str
    points: tuple  # ((x, y), ...) in fractions of the displayed photo; a box is its 4 corners
    is_box: bool = False  # axis-aligned: masked exactly, by each pixel's overlap

    def moved(self, dx, dy):
        """The region shifted by (dx, dy), kept inside the photo (a shift at the edge is smaller)."""
        xs, ys = zip(*self.points)
        dx = min(max(dx, -min(xs)), 1 - max(xs))
        dy = min(max(dy, -min(ys)), 1 - max(ys))
        return Region(self.name, tuple((x + dx, y + dy) for x, y in self.points), self.is_box)

    def mirrored(self):
        return Region(self.name, tuple((1 - x, y) for x, y in self.points), self.is_box)

    @property
    def area(self):
        return Polygon(self.points).area


def _number(value, field):
    # math.isfinite only on floats: an int of 2**64 or more overflows NumPy's and float's range.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float)
                                                                           and not math.isfinite(value)):
        raise FieldError(f"{field} must be a number, not {value!r}"[:200])
    if not 0 <= value <= 1:
        raise FieldError(f"{field} is {value}: coordinates are fractions 0..1 of the photo as displayed")
    return float(value)


def parse_box(value, field):
    """The 4 corners of ``[x0, y0, x1, y1]`` (fractions, x0 < x1, y0 < y1), or FieldError."""
    if not isinstance(value, list) or len(value) != 4:
        raise FieldError(f"{field} must be [x0, y0, x1, y1] in fractions 0..1, not {value!r}"[:200])
    x0, y0, x1, y1 = (_number(v, f"{field}[{i}]") for i, v in enumerate(value))
    if x0 >= x1 or y0 >= y1:
        raise FieldError(f"{field} {value} is empty or inverted: it needs x0 < x1 and y0 < y1")
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def parse_polygon(value, field):
    if not isinstance(value, list) or not 3 <= len(value) <= MAX_POINTS:
        raise FieldError(f"{field} must be a list of 3 to {MAX_POINTS} [x, y] points, not {value!r}"[:200])
    points = []
    for i, point in enumerate(value):
        if not isinstance(point, list) or len(point) != 2:
            raise FieldError(f"{field}[{i}] must be [x, y], not {point!r}"[:200])
        points.append((_number(point[0], f"{field}[{i}][0]"), _number(point[1], f"{field}[{i}][1]")))
    shape = Polygon(points)
    if shape.convex_hull.area <= 0:
        raise FieldError(f"{field} has no area")
    if not shape.is_valid:
        raise FieldError(f"{field} crosses itself; give its points in order around its edge")
    return tuple(points)


def parse_regions(value, limit, field="regions"):
    """Regions from the decoded JSON ``value``: a list of ``{"name", "box"}`` or ``{"name",
    "points"}``, at most ``limit``, names unique; FieldError names what is wrong."""
    if not isinstance(value, list) or not value:
        raise FieldError(f"{field} must be a non-empty JSON list of {{\"name\": ..., \"box\": [x0, y0, x1, y1]}}")
    if len(value) > limit:
        raise FieldError(f"{field} has {len(value)} regions; at most {limit} (MAX_REGIONS)")
    regions = []
    for i, item in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(item, dict) or set(item) - {"name", "box", "points"} or ("box" in item) == ("points" in item):
            raise FieldError(f"{where} must be {{\"name\": ..., \"box\": [...]}} or {{\"name\": ..., "
                             f"\"points\": [[x, y], ...]}}, not {item!r}"[:240])
        name = item.get("name", f"region {i + 1}")
        if not isinstance(name, str) or not 0 < len(name) <= 80:
            raise FieldError(f"{where}.name must be a text of 1 to 80 characters, not {name!r}"[:200])
        if "box" in item:
            regions.append(Region(name, parse_box(item["box"], f"{where}.box"), True))
        else:
            regions.append(Region(name, parse_polygon(item["points"], f"{where}.points")))
    names = [r.name for r in regions]
    if len(set(names)) < len(names):
        raise FieldError(f"{field}: two regions are named {next(n for n in names if names.count(n) > 1)!r}")
    return regions


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
    name: str
    effect: float
    spread: float
    verdict: str
    alone: float
    area_pct: float
    in_model_view: float
    warning: str = None


def verdict(effect, spread, noise):
    if abs(effect) <= max(spread, noise):
        return "no clear effect"
    return "raises" if effect > 0 else "lowers"


@dataclass
class RegionsResult:
    memorability: float
    regions: list  # RegionEffect, in the request's order
    passes: int  # forward passes of the request, all in one batch
    all_hidden: dict = None  # several regions: {"effect": all hidden at once, "sum_of_effects"}
    mirror_delta: float = None  # stable: the photo's score minus its mirror image's


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
    """{output: RegionsResult} of ``regions`` on ``photo`` (core.pipeline.Photo) with ``model``
    (core.model.ModelWrapper), for each of model.outputs, in model.outputs' order: every pass in
    one call of ``model.scores``, which scores every output. ``noise`` is the score difference
    below which nothing is called an effect (TIE_THRESHOLD)."""
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
    return {output: _measured(rows[:, column].reshape(len(views), -1), regions, fills, spec, noise, stable, len(batch))
            for column, output in enumerate(model.outputs)}


def _measured(scores, regions, fills, spec, noise, stable, passes):
    """The RegionsResult of one output from its scores: a row a view (the photo, its mirror)."""
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
    results = []
    for region, effect, moved, score_alone in zip(regions, effects, jittered, alone):
        spread = float(np.abs(moved - effect).max())
        seen = in_model_view(region, spec)
        warnings = []
        if region.area < SMALL_AREA:
            warnings.append(f"the region is {region.area:.1%} of the photo, under {SMALL_AREA:.0%}: "
                            "its effect is small beside the model's noise")
        if seen < 0.95:  # a sliver outside is no news
            warnings.append(f"{1 - seen:.0%} of the region is outside the centre {spec.crop}x{spec.crop} "
                            f"of the {spec.resize[0]}x{spec.resize[1]} squashed photo that the model sees")
        results.append(RegionEffect(region.name, float(effect), spread, verdict(effect, spread, noise),
                                    float(score_alone), 100 * region.area, seen, "; ".join(warnings) or None))
    result = RegionsResult(float(base.mean()), results, passes)
    if len(regions) > 1:
        together = scores[:, -fills:].mean(axis=1)
        result.all_hidden = {"effect": float((base - together).mean()), "sum_of_effects": float(sum(effects))}
    if stable:
        result.mirror_delta = float(base[0] - base[1])
    return result
