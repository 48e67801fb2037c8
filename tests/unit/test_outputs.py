"""Contract: the outputs as data (core/model/outputs.py): their names, their buckets, their fields."""
import numpy as np
import pytest

import config
from core.model.outputs import mirror_delta_field, outputs_of, parse_outputs, prediction_fields, serving_bucket
from tests.settings import BUCKET, FALSE_BUCKET


def test_the_default_serves_both_each_from_its_own_bucket():
    settings = config.settings().replace(MODEL_BUCKET="a", FALSE_ALARM_BUCKET="b")
    assert [(o.name, o.bucket) for o in outputs_of(settings)] == [("memorability", "a"), ("false_alarm", "b")]
    assert [o.name for o in outputs_of(settings.replace(MODEL_OUTPUTS="false_alarm, memorability"))] == [
        "false_alarm", "memorability"]


@pytest.mark.parametrize("text, message", [("", "names no output"), ("hits", "names 'hits', which is no output"),
                                           ("false_alarm,false_alarm", "names an output twice")])
def test_a_bad_list_says_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        parse_outputs(text)


def test_a_tool_serves_one_bucket_as_the_output_its_model_json_names():
    base = config.settings()
    alone = serving_bucket(base, FALSE_BUCKET)
    assert (alone.MODEL_OUTPUTS, alone.FALSE_ALARM_BUCKET) == ("false_alarm", str(FALSE_BUCKET))
    assert (serving_bucket(base, BUCKET).MODEL_OUTPUTS, serving_bucket(base, BUCKET).MODEL_BUCKET) == (
        "memorability", str(BUCKET))


def test_stable_fields_are_each_outputs_mean_and_mirror_delta():
    row, mirror = np.float32([0.7, 0.1]), np.float32([0.6, 0.2])
    fields = prediction_fields(("memorability", "false_alarm"), row, mirror)
    assert list(fields) == ["memorability", "mirror_delta", "false_alarm", "false_alarm_mirror_delta"]
    assert fields["false_alarm"] == (float(row[1]) + float(mirror[1])) / 2
    assert fields["false_alarm_mirror_delta"] == float(row[1]) - float(mirror[1])
    assert prediction_fields(("memorability",), row[:1]) == {"memorability": float(row[0])}
    assert mirror_delta_field("memorability") == "mirror_delta"
