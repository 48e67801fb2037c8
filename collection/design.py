"""`python -m score --crops` and `--regions`: a designer's two questions asked of a whole
collection, answered by the same code as /model/crops and /model/regions.

    --crops 1:1,16:9     the best crop of each ratio (min_scale 1, as the API's default) by the
                         default output (core.model.outputs.default_output: memorability where it
                         is served): the columns crop_1x1 ("x,y,w,h" in pixels of the photo as
                         displayed), crop_1x1_memorability and crop_1x1_delta_vs_center, per ratio
                         (crop_1x1_false_alarm and crop_1x1_false_alarm_delta_vs_center where
                         false_alarm is the default)
    --regions FILE       named regions per photo: the column regions, JSON of
                         [{"name", "effect", "spread", "verdict", "in_model_view"}, ...], the
                         measures of the default output, and each other output's effect
                         (false_alarm_effect); each named by core.model.outputs.field

FILE is JSON, ``{"photo path": [{"name": ..., "box": [x0, y0, x1, y1]} | {"name": ..., "points":
[[x, y], ...]}, ...]}``, or CSV with the header ``path,name,x0,y0,x1,y1`` (boxes). A path matches
an input when both name the same file (relative paths are taken from the current folder).
"""
import csv
import json
import os

from core.analyses.marks import FieldError, parse_regions
from core.model.outputs import default_output, field

CSV_HEADER = ["path", "name", "x0", "y0", "x1", "y1"]


def crop_fields(ratios, output):
    """The extra columns of --crops, in ratio order, for crops ranked by ``output``."""
    return tuple(f"crop_{r.width}x{r.height}{suffix}" for r in ratios
                 for suffix in ("", f"_{field(output)}", f"_{field(output, 'delta_vs_center')}"))


def crop_values(found):
    """The --crops columns of one photo from core.analyses.crops.search_crops's answer (top 1)."""
    values, output = {}, found["output"]
    for ratio in found["ratios"]:
        best, name = ratio.crops[0], "crop_" + ratio.ratio.replace(":", "x")
        values.update({name: ",".join(map(str, best.box)), f"{name}_{field(output)}": best.scores[output],
                       f"{name}_{field(output, 'delta_vs_center')}": best.delta[output]})
    return values


def regions_value(measured):
    """The --regions column of one photo from core.analyses.regions.measure_regions's answer: each
    region's measures of the default output, and each other output's effect (false_alarm_effect)."""
    top = default_output(list(measured.scores))
    values = []
    for r in measured.regions:
        value = {"name": r.name, field(top, "effect"): round(r.effect[top], 6),
                 field(top, "spread"): round(r.spread[top], 6), field(top, "verdict"): r.verdict[top],
                 "in_model_view": round(r.in_model_view, 4)}
        value.update({field(output, "effect"): round(effect, 6)
                      for output, effect in r.effect.items() if output != top})
        values.append(value)
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
