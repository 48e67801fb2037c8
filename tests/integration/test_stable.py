"""Contract (the tiny bucket): the stable mode over HTTP: each photo scored as the mean of it and
its mirror image, so a photo and its mirror score the same, and both as the served model scores
them in-process (tests/expected.py)."""
import pytest
import requests
from PIL import ImageOps

from tests.expected import MIRROR_SCORES, SCORES, STABLE_SCORES
from tests.imagegen import encode, sample_rgb


def post(url, path, files, **form):
    return requests.post(f"{url}{path}", files=[("image", (name, data, "image/png")) for name, data in files],
                         data=form, timeout=120)


@pytest.mark.parametrize("name", sorted(SCORES))
def test_a_photo_and_its_mirror_score_alike_the_mean_of_the_originals_two(url, name):
    rgb = sample_rgb(name)  # a PNG of the decoded JPEG: the pixels the original scored
    response = post(url, "/model/predict", [("photo.png", encode(rgb, "PNG")),
                                            ("mirror.png", encode(ImageOps.mirror(rgb), "PNG"))], stable="true")
    assert response.status_code == 200, response.text
    photo, mirror = response.json()["predictions"]
    assert photo["memorability"] == pytest.approx(mirror["memorability"], abs=1e-6)
    assert photo["memorability"] == pytest.approx(STABLE_SCORES[name], abs=1e-5)
    assert photo["mirror_delta"] == pytest.approx(SCORES[name] - MIRROR_SCORES[name], abs=2e-5)
    assert mirror["mirror_delta"] == pytest.approx(-photo["mirror_delta"], abs=1e-6)


def test_without_stable_the_score_is_resmems_own_and_has_no_delta(url):
    data = encode(sample_rgb("rocket.jpg"), "PNG")
    for form in ({}, {"stable": "false"}):
        (prediction,) = post(url, "/model/predict", [("rocket.png", data)], **form).json()["predictions"]
        assert set(prediction) == {"memorability", "false_alarm"}
        assert prediction["memorability"] == pytest.approx(SCORES["rocket.jpg"], abs=1e-5)


def test_explain_takes_stable_too_and_its_map_is_the_photos_own(url):
    data = encode(sample_rgb("chelsea.jpg"), "PNG")
    plain = post(url, "/model/explain", [("chelsea.png", data)]).json()
    stable = post(url, "/model/explain", [("chelsea.png", data)], stable="true").json()
    assert "mirror_delta" not in plain
    assert stable["memorability"] == pytest.approx(STABLE_SCORES["chelsea.jpg"], abs=1e-5)
    assert stable["mirror_delta"] == pytest.approx(SCORES["chelsea.jpg"] - MIRROR_SCORES["chelsea.jpg"], abs=2e-5)
    assert stable["effects"] == plain["effects"]


@pytest.mark.parametrize("value", ["yes", "1", "True", ""])
def test_stable_takes_only_true_or_false(url, value):
    response = post(url, "/model/predict", [("rocket.png", encode(sample_rgb("rocket.jpg"), "PNG"))], stable=value)
    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": f"stable must be true or false, not {value!r}"}
