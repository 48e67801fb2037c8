"""The most memorable crops of a photo for each aspect ratio, found without scoring every window.

Scores are compared only within a ratio: ResMem squashes every input to 256 x 256, so a square
crop and a 16:9 crop are distorted differently and their scores are not comparable.

The candidate grid of a ratio: the largest window of that ratio that fits the photo, scaled by
1, 0.9, ... down to ``min_scale`` (default 1: the largest window only, its position chosen), at
GRID_STEPS + 1 positions along each free axis. Windows that do not contain every ``keep`` box
are dropped. The search on that grid:
  1. one occlusion map of the whole photo (core/analyses/explain.py, the tier's grid: 4 or 9 passes,
     shared by all ratios) ranks every window by the sum of the effects inside it, from a
     summed-area table (O(1) a window);
  2. the best SCORED windows of each ratio and its centre window are cropped and scored, all
     ratios in one batch;
  3. around the best so far, the grid neighbours (position +-1 step, scale +-1) are scored, until
     the best has no unscored neighbour: a local optimum on the grid.
``exhaustive=True`` scores every window instead (tests and `make bench-crops` compare the two).
Each crop is cut from the decoded photo and preprocessed by core/inputs/pipeline.py, as any upload is.
"""
import re
from dataclasses import dataclass, field

import numpy as np

from core.analyses.explain import explain_prepared
from core.analyses.marks import FieldError, parse_box
from core.model.outputs import default_output

DEFAULT_RATIOS = "1:1,4:5,16:9,9:16"
GRID_STEPS = 16  # positions along a free axis: 17, every 1/16 of the slack
SCALE_STEP = 0.1
SCORED = 12  # windows of each ratio scored in the first round
MAX_ROUNDS = 8
MAX_RATIO = 4  # W:H between 1:4 and 4:1
MAX_RATIOS = 8
MAX_BOXES = 8


@dataclass(frozen=True)
class Ratio:
    name: str
    width: int
    height: int

    @property
    def value(self):
        return self.width / self.height


def parse_ratios(text, field_name="ratios"):
    parts = str(text).split(",", MAX_RATIOS)  # counted first: a long field costs no more than 9 parts
    if len(parts) > MAX_RATIOS:
        raise FieldError(f"{field_name}: more than {MAX_RATIOS} ratios; at most {MAX_RATIOS}")
    ratios = []
    for part in parts:
        match = re.fullmatch(r"\s*(\d{1,4}):(\d{1,4})\s*", part)
        if not match or int(match[1]) == 0 or int(match[2]) == 0:
            raise FieldError(f"{field_name}: {part.strip()[:40]!r} is not a ratio W:H of whole numbers above 0, "
                             "e.g. 16:9")
        ratio = Ratio(f"{int(match[1])}:{int(match[2])}", int(match[1]), int(match[2]))
        if not 1 / MAX_RATIO <= ratio.value <= MAX_RATIO:
            raise FieldError(f"{field_name}: {ratio.name} is outside 1:{MAX_RATIO} to {MAX_RATIO}:1")
        if ratio.name not in [r.name for r in ratios]:
            ratios.append(ratio)
    if len(ratios) > MAX_RATIOS:
        raise FieldError(f"{field_name}: {len(ratios)} ratios; at most {MAX_RATIOS}")
    return ratios


def parse_keep(value, field_name="keep"):
    """Boxes ``[[x0, y0, x1, y1], ...]`` in fractions, which every crop must contain."""
    if not isinstance(value, list) or len(value) > 16:
        raise FieldError(f"{field_name} must be a JSON list of at most 16 boxes [x0, y0, x1, y1]")
    return [parse_box(item, f"{field_name}[{i}]") for i, item in enumerate(value)]


def parse_boxes(value, size, field_name="boxes"):
    """Crops to score as they are: ``[[x, y, w, h], ...]`` in whole pixels of the photo as
    displayed (its ``size``), at most MAX_BOXES, each inside the photo and at least 8 px a side."""
    if not isinstance(value, list) or not 0 < len(value) <= MAX_BOXES:
        raise FieldError(f"{field_name} must be a JSON list of 1 to {MAX_BOXES} boxes [x, y, w, h] in pixels")
    width, height = size
    boxes = []
    for i, box in enumerate(value):
        if (not isinstance(box, list) or len(box) != 4
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in box)):
            raise FieldError(f"{field_name}[{i}] must be [x, y, w, h] in whole pixels, not {box!r}"[:200])
        x, y, w, h = box
        if x < 0 or y < 0 or w < 8 or h < 8 or x + w > width or y + h > height:
            raise FieldError(f"{field_name}[{i}] {box} is not inside the {width}x{height} photo "
                             "(or is under 8 px a side)")
        boxes.append(tuple(box))
    return boxes


def shortest_cut(size, ratios, min_scale, boxes=()):
    """The shortest side, in pixels of the photo as displayed (``size``), of any crop that the
    search of ``ratios`` (down to ``min_scale``) or the given ``boxes`` will cut: the picture they
    are cut from must be decoded fine enough for it (core.inputs.pipeline.InputPipeline.for_cuts)."""
    sides = [min(largest(size, ratio)) * min_scale for ratio in ratios] + [min(w, h) for _, _, w, h in boxes]
    return max(1, int(min(sides))) if sides else None


def score_boxes(model, photo, boxes, stable=False):
    """Crops of ``photo`` scored as they are (a designer's own), cut and preprocessed as the
    search's; each Crop's ``scores`` are every output's."""
    crops = [model.pipeline.crop(photo, box, mirror=stable) for box in boxes]  # a crop keeps no picture
    return [Crop(box, found) for box, found in zip(boxes, model.predict(crops, stable))]


@dataclass
class Crop:
    box: tuple  # (x, y, w, h) in pixels of the photo as displayed, full size
    scores: object = None  # core.model.outputs.Scores: every output's score (with stable, its mirror delta)
    index: tuple = None  # (scale, row, col) on the ratio's grid
    tie: bool = False  # within the noise of the best, in the output that ranks the crops
    delta: dict = None  # {output: this crop's score minus the centre crop's} (search_crops)

    def export(self):
        x, y, w, h = self.box
        return {"xywh": f"{x},{y},{w},{h}", "thumbor": f"{x}x{y}:{x + w}x{y + h}",
                "imgproxy": f"crop:{w}:{h}:nowe:{x}:{y}", "cloudinary": f"c_crop,x_{x},y_{y},w_{w},h_{h}"}


@dataclass
class RatioCrops:
    ratio: str
    crops: list  # the best, best first (ties larger first)
    center: Crop
    passes: int
    candidates: int
    all_scored: dict = field(default_factory=dict, repr=False)  # index -> Crop


def largest(size, ratio):
    width, height = size
    if width / height > ratio.value:
        return height * ratio.value, height
    return width, width / ratio.value


def grid(size, ratio, min_scale, keep):
    """{(scale, row, col): (x, y, w, h)} of the ratio's candidate windows that hold every keep box."""
    width, height = size
    big_w, big_h = largest(size, ratio)
    scales = np.round(np.arange(1, min_scale - 1e-9, -SCALE_STEP), 6) if min_scale < 1 else [1.0]
    windows = {}
    for s, scale in enumerate(scales):
        w, h = max(1, int(big_w * scale)), max(1, int(big_h * scale))
        xs = np.unique(np.round(np.linspace(0, width - w, GRID_STEPS + 1)).astype(int)) if width > w else [0]
        ys = np.unique(np.round(np.linspace(0, height - h, GRID_STEPS + 1)).astype(int)) if height > h else [0]
        for r, y in enumerate(ys):
            for c, x in enumerate(xs):
                if all(x <= k[0][0] * width and y <= k[0][1] * height and x + w >= k[2][0] * width
                       and y + h >= k[2][1] * height for k in keep):
                    windows[(s, r, c)] = (int(x), int(y), w, h)
    return windows


def centre(size, ratio):
    width, height = size
    w, h = (int(v) for v in largest(size, ratio))
    return (int(round((width - w) / 2)), int(round((height - h) / 2)), w, h)


def window_sums(frame, size, windows):
    """The sum of the occlusion effects (the model's squashed frame) inside each window."""
    table = np.pad(frame, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    rows, cols = frame.shape
    width, height = size
    out = {}
    for key, (x, y, w, h) in windows.items():
        x0, x1 = round(x / width * cols), round((x + w) / width * cols)
        y0, y1 = round(y / height * rows), round((y + h) / height * rows)
        out[key] = table[y1, x1] - table[y0, x1] - table[y1, x0] + table[y0, x0]
    return out


def neighbours(key, windows):
    """Grid neighbours of ``key``: +-1 step in position at its scale, and the nearest window (by
    centre) at the scales either side."""
    s, r, c = key
    near = [(s, r + dr, c + dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]
    x, y, w, h = windows[key]
    for other in (s - 1, s + 1):
        same = [k for k in windows if k[0] == other]
        if same:
            near.append(min(same, key=lambda k: (windows[k][0] + windows[k][2] / 2 - x - w / 2) ** 2
                            + (windows[k][1] + windows[k][3] / 2 - y - h / 2) ** 2))
    return [k for k in near if k in windows]


def overlap(a, b):
    """Intersection over union of two (x, y, w, h) boxes."""
    w = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    h = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def chosen(scored, top, noise, output, distinct=0.7):
    """The ``top`` crops to show by their score of ``output``: best first, those within ``noise``
    of the best marked ``tie`` and ordered larger first; a crop overlapping a shown one by more
    than ``distinct`` (IoU) is skipped, so that the alternatives differ."""
    best = max(crop.scores[output] for crop in scored)
    for crop in scored:
        crop.tie = crop.scores[output] >= best - noise
    ordered = sorted(scored, key=lambda c: (not c.tie, -c.box[2] * c.box[3] if c.tie else 0, -c.scores[output]))
    shown = []
    for crop in ordered:
        if all(overlap(crop.box, other.box) <= distinct for other in shown):
            shown.append(crop)
        if len(shown) == top:
            break
    return shown


def search_crops(model, photo, ratios, maps, top=3, min_scale=1.0, keep=(), noise=0.061, stable=False,
                 exhaustive=False, scored_first=SCORED, output=None):
    """{"scores": the photo's core.model.outputs.Scores, "output": the output that ranks the crops,
    "map_passes", "ratios": [RatioCrops]} of ``photo`` (core.inputs.pipeline.Photo) with ``model``
    (core.model.wrapper.ModelWrapper); ``maps`` is core.analyses.explain.MapSettings (the ranking
    map's grid and baseline). The crops are ranked by ``output`` (default:
    core.model.outputs.default_output), and each is scored for every output in the same passes,
    with its ``delta`` from the centre crop. FieldError when no window of a ratio can hold every
    ``keep`` box."""
    output = output or default_output(model.outputs)
    size = photo.size
    grids = {ratio.name: grid(size, ratio, min_scale, keep) for ratio in ratios}
    for ratio in ratios:
        if not grids[ratio.name]:
            raise FieldError(f"keep: no {ratio.name} crop of this {size[0]}x{size[1]} photo holds every keep box")
    scored = {ratio.name: {} for ratio in ratios}
    passes = {ratio.name: 0 for ratio in ratios}

    def score(requests):
        """Score (ratio, key, box) crops in one batch; the photo's mirror too with ``stable``."""
        for (name, key, _), crop in zip(requests, score_boxes(model, photo, [box for _, _, box in requests], stable)):
            crop.index = key if key != "centre" else None
            scored[name][key] = crop
            passes[name] += 2 if stable else 1

    if not ratios:  # only a designer's own boxes: the photo's score, and no map
        return {"scores": model.predict([photo], stable)[0], "output": output, "map_passes": 2 if stable else 1,
                "ratios": []}
    mirror = model.pipeline.with_mirror(photo).x_mirror if stable else None
    found = explain_prepared(model, photo.x, maps.grid, maps.offset, maps.baseline, mirror, output)
    map_passes = found.passes
    first = []
    for ratio in ratios:
        windows = grids[ratio.name]
        if exhaustive:
            keys = list(windows)
        else:
            sums = window_sums(found.frame, size, windows)
            keys = sorted(windows, key=lambda k: -sums[k])[:scored_first]
        first += [(ratio.name, key, windows[key]) for key in keys]
        first.append((ratio.name, "centre", centre(size, ratio)))
    score(first)
    for _ in range(0 if exhaustive else MAX_ROUNDS):
        more = []
        for ratio in ratios:
            on_grid = {k: c for k, c in scored[ratio.name].items() if k != "centre"}
            best = max(on_grid, key=lambda k: on_grid[k].scores[output])
            more += [(ratio.name, k, grids[ratio.name][k]) for k in neighbours(best, grids[ratio.name])
                     if k not in scored[ratio.name]]
        if not more:
            break
        score(more)
    results = []
    for ratio in ratios:
        all_scored = scored[ratio.name]
        center = all_scored["centre"]
        for crop in all_scored.values():  # the one place a crop's difference from the centre is taken
            crop.delta = {name: crop.scores[name] - center.scores[name] for name in crop.scores}
        on_grid = [c for k, c in all_scored.items() if k != "centre"]
        results.append(RatioCrops(ratio.name, chosen(on_grid, top, noise, output), center, passes[ratio.name],
                                  len(grids[ratio.name]), all_scored))
    return {"scores": found.scores, "output": output, "map_passes": map_passes, "ratios": results}
