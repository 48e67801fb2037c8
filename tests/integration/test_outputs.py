"""Contract (the tiny buckets): MODEL_OUTPUTS chooses what a server loads and answers. The
default serves memorability and false_alarm; MODEL_OUTPUTS=memorability serves ResMem's output
alone, with today's answers: the same fields, the same values. A bucket loaded for the wrong
output, or a bad list, stops the start with a message that names it."""
import os
import subprocess
import sys

import pytest
import requests

from core.model.bucket import open_bucket
from tests.imagegen import ROOT, sample_bytes
from tests.server_process import running_server
from tests.settings import BUCKET

FILES = [("image", (name, sample_bytes(name), "image/jpeg")) for name in ("coffee.jpg", "rocket.jpg")]


@pytest.fixture(scope="module")
def memorability_only():
    with running_server(MODEL_OUTPUTS="memorability") as (url, _):
        yield url


def post(url, route, **form):
    response = requests.post(f"{url}/model/{route}", files=FILES[:1] if route != "predict" else FILES,
                             data=form, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("form", [{}, {"stable": "true"}])
def test_memorability_alone_answers_as_before_two_outputs(memorability_only, url, form):
    one, both = post(memorability_only, "predict", **form), post(url, "predict", **form)
    fields = ["memorability", "mirror_delta"] if form else ["memorability"]
    assert [list(p) for p in one["predictions"]] == [fields, fields]
    assert one["predictions"] == [{k: p[k] for k in fields} for p in both["predictions"]]  # the same floats
    assert [list(p) for p in both["predictions"]][0] == (
        ["memorability", "mirror_delta", "false_alarm", "false_alarm_mirror_delta"] if form else
        ["memorability", "false_alarm"])


def test_memorability_alone_names_one_model(memorability_only):
    meta = requests.get(f"{memorability_only}/model/metadata", timeout=10).json()
    assert [m["output"] for m in meta["outputs"]] == ["memorability"]
    assert meta["id"] == open_bucket(BUCKET).metadata["id"]


@pytest.mark.parametrize("env, message", [
    ({"MODEL_OUTPUTS": "false_alarm,memorability,x"}, "MODEL_OUTPUTS names 'x', which is no output"),
    ({"FALSE_ALARM_BUCKET": str(BUCKET)}, "predicts memorability, not false_alarm (MODEL_OUTPUTS)"),
])
def test_a_bad_list_or_a_bucket_of_another_output_stops_the_start(env, message):
    started = subprocess.run([sys.executable, "-c", "import app; app.create_app()"], cwd=ROOT, capture_output=True,
                             text=True, timeout=300, env={**os.environ, **env})
    assert started.returncode != 0 and message in started.stderr, started.stderr[-2000:]


def without_false_alarm(value):
    """An answer with every false_alarm field, and the regions of the other outputs, left out."""
    if isinstance(value, dict):
        return {k: without_false_alarm(v) for k, v in value.items()
                if not k.startswith("false_alarm") and k != "outputs"}
    if isinstance(value, list):
        return [without_false_alarm(v) for v in value]
    return value


@pytest.mark.parametrize("route, form", [
    ("explain", {"stable": "true"}),
    ("regions", {"regions": '[{"name": "left", "box": [0, 0, 0.5, 1]}, {"name": "top", "box": [0, 0, 1, 0.4]}]'}),
    ("crops", {"ratios": "1:1,16:9", "top": "2", "boxes": "[[0, 0, 300, 300]]"}),
])
def test_every_analysis_answers_memorability_alone_as_before(memorability_only, url, route, form):
    """The analyses give memorability's answer unchanged beside false_alarm's: the same fields and
    the same values, whether the server predicts one output or two."""
    one, both = post(memorability_only, route, **form), post(url, route, **form)
    assert one == without_false_alarm(both) and one != both
