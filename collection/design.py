"""`python -m score --crops` and `--regions`: a designer's two questions asked of a whole
collection, answered by the same code as /model/crops and /model/regions.

    --crops 1:1,16:9     the best crop of each ratio (min_scale 1, as the API's default): the
                         columns crop_1x1 ("x,y,w,h" in pixels of the photo as displayed),
                         crop_1x1_memorability and crop_1x1_delta_vs_center, per ratio
    --regions FILE       named regions per photo: the column regions, JSON of
                         [{"name", "effect", "spread", "verdict", "in_model_view"}, ...]

FILE is JSON, ``{"photo path": [{"name": ..., "box": [x0, y0, x1, y1]} | {"name": ..., "points":
[[x, y], ...]}, ...]}``, or CSV with the header ``path,name,x0,y0,x1,y1`` (boxes). A path matches
an input when both name the same file (relative paths are taken from the current folder).
"""
import csv
import json
import os

from core.analyses.marks import FieldError, parse_regions

CSV_HEADER = ["path", "name", "x0", "y0", "x1", "y1"]


def crop_fields(ratios):
    """The extra columns of --crops, in ratio order."""
    return tuple(f"crop_{r.width}x{r.height}{suffix}" for r in ratios
                 for suffix in ("", "_memorability", "_delta_vs_center"))


def crop_values(found):
    """The --crops columns of one photo from core.analyses.crops.search_crops's answer (top 1)."""
    values = {}
    for ratio in found["ratios"]:
        best, name = ratio.crops[0], "crop_" + ratio.ratio.replace(":", "x")
        values.update({name: ",".join(map(str, best.box)), f"{name}_memorability": best.memorability,
                       f"{name}_delta_vs_center": best.memorability - ratio.center.memorability})
    return values


def regions_value(measured):
    """The --regions column of one photo from core.analyses.regions.measure_regions's answer: each region's
    effect on the first output, and ``<output>_effect`` on each other (false_alarm_effect)."""
    found = next(iter(measured.values()))
    values = [{"name": r.name, "effect": round(r.effect, 6), "spread": round(r.spread, 6),
               "verdict": r.verdict, "in_model_view": round(r.in_model_view, 4)} for r in found.regions]
    for output, other in list(measured.items())[1:]:
        for value, region in zip(values, other.regions):
            value[f"{output}_effect"] = round(region.effect, 6)
    return json.dumps(values)


def key(path):
    return os.path.realpath(path)


def read_regions_file(path, limit):
    """{realpath of a photo: [core.analyses.regions.Region]} from FILE; FieldError names the bad entry."""
    with open(path, encoding="utf-8") as stream:
        text = stream.read()
    if str(path).lower().endswith(".json"):
        try:
            listed = json.loads(text)
        except ValueError as error:
            raise FieldError(f"{path} is not valid JSON ({error})") from None
        except RecursionError:  # "[[[[..." thousands deep
            raise FieldError(f"{path} is nested too deeply to be read as JSON") from None
        if not isinstance(listed, dict):
            raise FieldError(f"{path} must hold a JSON object: {{\"photo path\": [regions]}}")
        return {key(photo): parse_regions(regions, limit, f"{path}: {photo}") for photo, regions in listed.items()}
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames != CSV_HEADER:
        raise FieldError(f"{path} must be JSON (.json) or CSV with the header {','.join(CSV_HEADER)}")
    grouped = {}
    for line, row in enumerate(reader, start=2):
        try:
            box = [float(row[name]) for name in CSV_HEADER[2:]]
        except (TypeError, ValueError):
            raise FieldError(f"{path}:{line}: x0, y0, x1 and y1 must be numbers") from None
        grouped.setdefault(row["path"], []).append({"name": row["name"], "box": box})
    return {key(photo): parse_regions(regions, limit, f"{path}: {photo}") for photo, regions in grouped.items()}
