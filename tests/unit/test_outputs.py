"""Contract: the outputs as data (core/model/outputs.py): their names, their buckets, their fields."""
import json

import numpy as np
import pytest

import config
from core.model.outputs import (
    default_output,
    field,
    fields_of,
    outputs_of,
    parse_outputs,
    scores_from,
    scores_of,
    serving_bucket,
)
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


def test_a_bucket_chosen_with_the_mirror_average_is_scored_so_by_a_tool_and_the_server_says_so(tmp_path, caplog):
    """training/finetune.py writes "tta": "mirror" where it chose the mirror average: evaluate and
    the tools of one bucket score it so; a server with MODEL_TTA=off serves it, and warns."""
    import shutil

    from core.model.bucket import write_facts
    from core.model.checksums import write_md5sums
    from tests.settings import open_model

    bucket = tmp_path / "mirrored"
    shutil.copytree(BUCKET, bucket)
    facts = json.loads((bucket / "model.json").read_text())
    write_facts(bucket, {**facts, "tta": "mirror"})
    write_md5sums(bucket, [facts["weights"], "model.json"])
    assert serving_bucket(config.settings(), bucket).MODEL_TTA == "mirror"
    assert serving_bucket(config.settings(), BUCKET).MODEL_TTA == "off"
    with caplog.at_level("WARNING", logger="core.model.wrapper"):
        open_model(MODEL_BUCKET=str(bucket), MODEL_OUTPUTS="memorability", MODEL_TTA="off").close()
    assert "scores as measured with MODEL_TTA=mirror (or stable=true); MODEL_TTA is off" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="core.model.wrapper"):
        open_model(MODEL_BUCKET=str(bucket), MODEL_OUTPUTS="memorability", MODEL_TTA="mirror").close()
    assert "MODEL_TTA" not in caplog.text


@pytest.mark.parametrize("tta", ["Mirror", True, ["mirror"], "mirror ", None, "", 0])
def test_a_tta_that_is_not_mirror_is_refused_by_the_server_and_the_tools(tmp_path, tta):
    """Read once (core.model.bucket.chosen_mirrored): any other value was taken as no mirror, and
    the bucket served, in silence, unlike how it was measured."""
    import shutil

    from core.model.bucket import BucketError, open_bucket, write_facts
    from core.model.checksums import write_md5sums

    bucket = tmp_path / "typo"
    shutil.copytree(BUCKET, bucket)
    facts = json.loads((bucket / "model.json").read_text())
    write_facts(bucket, {**facts, "tta": tta})
    write_md5sums(bucket, [facts["weights"], "model.json"])
    message = f'"tta" is {tta!r}; the only one known is \'mirror\''
    for read in (lambda: open_bucket(bucket), lambda: serving_bucket(config.settings(), bucket)):
        with pytest.raises(BucketError) as refused:
            read()
        assert message in str(refused.value)


def test_a_model_json_that_is_not_an_object_is_refused_as_a_bucket(tmp_path):
    from core.model.bucket import BucketError, open_bucket

    (tmp_path / "model.json").write_text("[]")
    (tmp_path / "md5sums.txt").write_text("")
    with pytest.raises(BucketError, match="model.json is not a JSON object"):
        open_bucket(tmp_path)


def test_stable_scores_are_each_outputs_mean_and_mirror_delta_and_named_only_at_the_edge():
    row, mirror = np.float32([0.7, 0.1]), np.float32([0.6, 0.2])
    scores = scores_of(("memorability", "false_alarm"), row, mirror)
    assert scores["false_alarm"] == (float(row[1]) + float(mirror[1])) / 2
    assert scores.mirror_delta == {"memorability": float(row[0]) - float(mirror[0]),
                                   "false_alarm": float(row[1]) - float(mirror[1])}
    fields = fields_of(scores)  # the JSON and CSV names
    assert list(fields) == ["memorability", "mirror_delta", "false_alarm", "false_alarm_mirror_delta"]
    assert scores_from(("memorability", "false_alarm"), fields) == scores  # read back by score --url
    plain = scores_of(("memorability",), row[:1])
    assert fields_of(plain) == {"memorability": float(row[0])} and plain.mirror_delta is None
    assert [field("memorability", "delta_vs_center"), field("false_alarm", "effect")] == [
        "delta_vs_center", "false_alarm_effect"]


@pytest.mark.parametrize("outputs, default", [(("memorability", "false_alarm"), "memorability"),
                                              (("false_alarm", "memorability"), "memorability"),
                                              (("false_alarm",), "false_alarm")])
def test_the_default_output_is_memorability_where_it_is_served_whatever_the_order(outputs, default):
    assert default_output(outputs) == default
