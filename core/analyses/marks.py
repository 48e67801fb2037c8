"""What a request marks on a photo, parsed from its JSON: named regions (a box or a polygon, in
fractions 0..1 of the photo as displayed) and boxes, each refused with a FieldError that names the
field and the value. core/analyses/regions.py measures regions; core/analyses/crops.py scores boxes."""
import math
from dataclasses import dataclass

from shapely.geometry import Polygon

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
