"""Contract (the tiny bucket): POST /model/explain: a faithful map over the whole photo, and an
overlay to show it."""
import base64
import io

import numpy as np
import pytest
import requests
from PIL import Image

from benchmarks.deletion import greyed_pair
from tests.expected import SCORES
from tests.imagegen import encode, sample_bytes, sample_rgb, with_orientation
from tests.integration.test_api import predict, scores

SAMPLE_NAMES = sorted(SCORES)


def explain(url, name, data):
    response = requests.post(f"{url}/model/explain", files={"image": (name, data)}, timeout=120)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    return body


@pytest.fixture(scope="module")
def explained(url):
    return {name: explain(url, name, sample_bytes(name)) for name in SAMPLE_NAMES}


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_the_score_is_the_one_predict_gives(explained, name):
    assert explained[name]["memorability"] == pytest.approx(SCORES[name], abs=1e-4)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_the_heatmap_covers_the_photo_with_its_aspect_ratio(explained, name):
    heatmap = np.asarray(explained[name]["heatmap"])
    width, height = sample_rgb(name).size
    assert max(heatmap.shape) == 64
    assert heatmap.shape == (round(64 * height / max(width, height)), round(64 * width / max(width, height)))
    assert heatmap.min() >= 0 and heatmap.max() <= 1
    # Scaled per photo: the region with the strongest effect, either way, reaches 0 or 1.
    assert np.abs(heatmap - 0.5).max() == pytest.approx(0.5, abs=0.01)
    # ResMem never sees the border outside its centre crop (14 of 256 px a side): it is neutral.
    assert np.all(heatmap[0] == 0.5) and np.all(heatmap[:, -1] == 0.5)


def test_the_overlay_is_a_png_of_the_photo(explained):
    overlay = Image.open(io.BytesIO(base64.b64decode(explained["rocket.jpg"]["overlay"])))
    assert overlay.format == "PNG" and overlay.mode == "RGB"
    width, height = sample_rgb("rocket.jpg").size
    assert max(overlay.size) == min(512, max(width, height))
    assert overlay.width / overlay.height == pytest.approx(width / height, abs=0.01)


def test_the_map_follows_the_exif_orientation(url, explained):
    rotated = explain(url, "turned.png", with_orientation(sample_rgb("rocket.jpg"), 6))
    expected = np.asarray(explained["rocket.jpg"]["heatmap"])
    assert np.asarray(rotated["heatmap"]).shape == expected.shape
    # The same pixels as the JPEG, up to its PNG re-encoding: the same map within rounding.
    assert np.abs(np.asarray(rotated["heatmap"]) - expected).max() < 0.05


def test_greying_the_hottest_fifth_lowers_the_score_more_than_the_coldest(url, explained):
    """The deletion test on every sample photo; `make bench-explain` runs it on many more."""
    passed = {}
    for name in SAMPLE_NAMES:
        hot, cold = greyed_pair(sample_rgb(name), explained[name]["heatmap"])
        hot_score, cold_score = scores(predict(url, ("hot.png", encode(hot, "PNG")),
                                               ("cold.png", encode(cold, "PNG"))))
        passed[name] = (hot_score < cold_score, round(hot_score, 4), round(cold_score, 4))
    assert sum(ok for ok, *_ in passed.values()) > len(passed) / 2, passed


def test_swagger_documents_explain(url):
    spec = requests.get(f"{url}/swagger.json", timeout=10).json()
    operation = spec["paths"]["/model/explain"]["post"]
    assert [(p["name"], p["type"]) for p in operation["parameters"]] == [
        ("image", "file"), ("stable", "boolean"), ("output", "string")]
    schema = spec["definitions"]["ModelExplainResponse"]["properties"]
    assert set(schema) == {"status", "memorability", "mirror_delta", "false_alarm", "false_alarm_mirror_delta",
                           "heatmap", "effects", "effect_scale", "overlay"}


def test_output_false_alarm_maps_what_feels_familiar_and_scores_both(url, explained):
    """The map of the false-alarm rate, from passes that score both outputs: each score is
    predict's, and the map is another than memorability's."""
    name = "rocket.jpg"
    response = requests.post(f"{url}/model/explain", files={"image": (name, sample_bytes(name))},
                             data={"output": "false_alarm"}, timeout=120)
    assert response.status_code == 200, response.text
    familiar, memorable = response.json(), explained[name]
    (prediction,) = predict(url, (name, sample_bytes(name))).json()["predictions"]
    for answer in (familiar, memorable):
        assert answer["memorability"] == pytest.approx(prediction["memorability"], abs=1e-5)
        assert answer["false_alarm"] == pytest.approx(prediction["false_alarm"], abs=1e-5)
    assert np.abs(np.asarray(familiar["effects"]) - np.asarray(memorable["effects"])).max() > 1e-4
    refused = requests.post(f"{url}/model/explain", files={"image": (name, sample_bytes(name))},
                            data={"output": "hits"}, timeout=60)
    assert refused.status_code == 400 and "output must be one of the outputs this server predicts " \
        "(memorability, false_alarm), not 'hits'" in refused.json()["message"]
