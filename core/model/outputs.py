"""What a server predicts: a list of outputs, each a name and the verified bucket that predicts it.

    MODEL_OUTPUTS=memorability,false_alarm     (the default: both rates of a memory test)
    MODEL_OUTPUTS=memorability                 (ResMem alone, the leanest deployment)

Every layer reads this list as data: the model loads one runtime an output and runs them all on
the same preprocessed batch in each forward pass (core/model/wrapper.py), a prediction carries one field
an output, and the analyses, ``score``'s columns and the page take the names from here. The
outputs' buckets must share their preprocessing: one input pipeline feeds them all.
"""
from dataclasses import dataclass

from config import OUTPUTS as KNOWN  # name -> (its bucket's setting, what it means)
from config import parse_outputs as parse_outputs  # one parser: the setting's check


@dataclass(frozen=True)
class Output:
    name: str
    bucket: str  # a bucket folder (core/model/bucket.py)


def outputs_of(settings):
    """The Output list of ``settings`` (config.Settings): MODEL_OUTPUTS, each with its bucket."""
    return [Output(name, getattr(settings, KNOWN[name][0])) for name in parse_outputs(settings.MODEL_OUTPUTS)]


def output_of(facts):
    """The output a bucket predicts, from its model.json (``facts``): memorability unless it says."""
    return (facts.get("output") or {}).get("name", "memorability")


def serving_bucket(settings, bucket, output=None):
    """``settings`` that serve ``bucket`` alone, as ``output`` (default: what its model.json says
    it predicts), for a tool that scores with one bucket: evaluate, label, the benchmarks of one
    model. ValueError for an output that is none of KNOWN."""
    if output is None:
        import json
        from pathlib import Path

        try:
            facts = json.loads((Path(bucket) / "model.json").read_text())
        except (OSError, ValueError):
            facts = {}  # no bucket there: the model's loading says so, with its own message
        output = output_of(facts)
    if output not in KNOWN:
        raise ValueError(f"{bucket} predicts {output!r}, which is no output; known: {', '.join(KNOWN)}")
    return settings.replace(MODEL_OUTPUTS=output, **{KNOWN[output][0]: str(bucket)})


def mirror_delta_field(name):
    """The field of an output's signed difference between a photo and its mirror (stable=true):
    ``mirror_delta`` for memorability, as before there were two outputs, ``<name>_mirror_delta``
    for the others."""
    return "mirror_delta" if name == "memorability" else f"{name}_mirror_delta"


def prediction_fields(outputs, row, mirror_row=None):
    """A prediction's fields: each output's score of ``row`` (a score an output, in ``outputs``'
    order); with ``mirror_row`` (the photo's mirror image's) each output's mean of the two and its
    mirror delta. The (a + b) / 2 is in float64 of float32 scores: the same for a photo and its
    mirror, exactly."""
    if mirror_row is None:
        return {name: float(score) for name, score in zip(outputs, row)}
    fields = {}
    for name, a, b in zip(outputs, row, mirror_row):
        fields[name], fields[mirror_delta_field(name)] = (float(a) + float(b)) / 2, float(a) - float(b)
    return fields
