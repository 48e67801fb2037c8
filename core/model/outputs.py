"""What a server predicts: a list of outputs, each a name and the verified bucket that predicts it.

    MODEL_OUTPUTS=memorability,false_alarm     (the default: both rates of a memory test)
    MODEL_OUTPUTS=memorability                 (ResMem alone, the leanest deployment)

Every layer reads this list as data: the model loads one runtime an output and runs them all on
the same preprocessed batch in each forward pass (core/model/wrapper.py), every result carries
Scores (a score an output, by name), the analyses rank by ``default_output`` unless asked for
another, and the fields of the JSON answers and the CSV columns are named by ``field``, only at
those edges. The outputs' buckets must share their preprocessing: one input pipeline feeds them all.
"""
from collections.abc import Mapping
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
    model; stably (MODEL_TTA=mirror) where the bucket was chosen scoring so (its model.json's
    "tta", training/finetune.py). ValueError for an output that is none of KNOWN, BucketError for a
    "tta" that is none known."""
    import json
    from pathlib import Path

    from core.model.bucket import chosen_mirrored

    try:
        facts = json.loads((Path(bucket) / "model.json").read_text())
    except (OSError, ValueError):
        facts = {}  # no bucket there: the model's loading says so, with its own message
    facts = facts if isinstance(facts, dict) else {}  # the same: not a bucket's facts
    output = output_of(facts) if output is None else output
    if output not in KNOWN:
        raise ValueError(f"{bucket} predicts {output!r}, which is no output; known: {', '.join(KNOWN)}")
    stably = {"MODEL_TTA": "mirror"} if chosen_mirrored(facts, bucket) else {}
    return settings.replace(MODEL_OUTPUTS=output, **{KNOWN[output][0]: str(bucket)}, **stably)


def default_output(outputs):
    """The output that a map, the regions, a video's moments and best clip, and the crops are of when
    the request names none (``output=``): memorability where it is served, whatever the order of
    MODEL_OUTPUTS; else the first served (MODEL_OUTPUTS=false_alarm: false_alarm)."""
    return "memorability" if "memorability" in outputs else outputs[0]


class Scores(Mapping):
    """One input's score of each output, by name (``scores["false_alarm"]``), in MODEL_OUTPUTS'
    order; with stable, each is the mean of the photo's and its mirror image's, and
    ``mirror_delta`` maps each output to the photo's score minus its mirror's (else it is None)."""

    def __init__(self, score, mirror_delta=None):
        self._score, self.mirror_delta = dict(score), mirror_delta

    def __getitem__(self, name):
        return self._score[name]

    def __iter__(self):
        return iter(self._score)

    def __len__(self):
        return len(self._score)

    def __eq__(self, other):
        if isinstance(other, Scores):
            return self._score == other._score and self.mirror_delta == other.mirror_delta
        return super().__eq__(other)

    __hash__ = None

    def __repr__(self):
        return f"Scores({self._score!r}" + (f", mirror_delta={self.mirror_delta!r})" if self.mirror_delta else ")")


def scores_of(outputs, row, mirror_row=None):
    """The Scores of ``row`` (a score an output, in ``outputs``' order); with ``mirror_row`` (the
    photo's mirror image's) each output's mean of the two and their difference: the one place a
    mirror is averaged. The (a + b) / 2 is in float64 of float32 scores: the same for a photo and
    its mirror, exactly."""
    if mirror_row is None:
        return Scores({name: float(score) for name, score in zip(outputs, row)})
    return Scores({name: (float(a) + float(b)) / 2 for name, a, b in zip(outputs, row, mirror_row)},
                  {name: float(a) - float(b) for name, a, b in zip(outputs, row, mirror_row)})


# The names of the JSON answers and the CSV columns, made here and nowhere else: an output's score
# is its name; memorability's other measures keep the bare names they had before there were two
# outputs (mirror_delta, delta_vs_center, effect), every other output's are prefixed with its name.
def field(output, measure=None):
    """The field of ``output``'s ``measure`` (None: its score): field("memorability") is
    "memorability", field("memorability", "mirror_delta") "mirror_delta",
    field("false_alarm", "mirror_delta") "false_alarm_mirror_delta"."""
    if measure is None:
        return output
    return measure if output == "memorability" else f"{output}_{measure}"


def fields_of(scores):
    """The fields of a Scores, as /model/predict answers them: each output's score, then with
    stable its mirror delta, in the outputs' order."""
    fields = {}
    for name, score in scores.items():
        fields[field(name)] = score
        if scores.mirror_delta is not None:
            fields[field(name, "mirror_delta")] = scores.mirror_delta[name]
    return fields


def scores_from(outputs, fields):
    """The Scores of a JSON object with the fields of fields_of (the service's answer, read by
    ``score --url``): the ``outputs`` it holds; their mirror deltas where it has them."""
    served = [name for name in outputs if field(name) in fields]
    deltas = {name: fields[field(name, "mirror_delta")] for name in served if field(name, "mirror_delta") in fields}
    return Scores({name: fields[field(name)] for name in served}, deltas or None)
