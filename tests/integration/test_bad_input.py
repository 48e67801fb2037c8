"""Bad input gets a JSON 4xx that says what was wrong, never a 500, and the server lives on."""
import pytest
import requests

import config
from tests.imagegen import (NOT_IMAGES, REFERENCE, encode, jpeg_claiming_size,
                            png_claiming_size, sample_bytes, sample_rgb, tiny_png, truncated)
from tests.integration.test_api import predict


def assert_error(response, status, *fragments):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "error"
    for fragment in fragments:
        assert fragment in body["message"], body["message"]


def test_no_image_field(url):
    assert_error(requests.post(f"{url}/model/predict", timeout=30), 400, "no file in the form field 'image'")


def test_a_wrong_field_name_is_named_in_the_answer(url):
    response = requests.post(f"{url}/model/predict", files={"file": ("a.jpg", sample_bytes())}, timeout=30)
    assert_error(response, 400, "'image'", "file fields sent: file")


def test_json_instead_of_a_form(url):
    response = requests.post(f"{url}/model/predict", json={"image": "astronaut.jpg"}, timeout=30)
    assert_error(response, 400, "multipart/form-data")


def test_an_empty_file(url):
    assert_error(predict(url, ("empty.jpg", b"")), 400, "image 1 is empty")


@pytest.mark.parametrize("kind", sorted(NOT_IMAGES))
def test_things_posing_as_images(url, kind):
    assert_error(predict(url, NOT_IMAGES[kind]), 400, "image 1")


@pytest.mark.parametrize("make", [lambda: truncated(sample_bytes("coffee.jpg")),
                                  lambda: truncated(encode(sample_rgb(), "PNG"), 0.3),
                                  lambda: truncated(encode(sample_rgb(), "WEBP"), 0.5)],
                         ids=["jpeg", "png", "webp"])
def test_truncated_files(url, make):
    assert_error(predict(url, ("cut.img", make())), 400, "truncated or corrupt")


@pytest.mark.parametrize("make", [lambda: png_claiming_size(40000, 40000),
                                  lambda: jpeg_claiming_size(40000, 40000),
                                  lambda: png_claiming_size(9000, 9000)],
                         ids=["png-40000x40000", "jpeg-40000x40000", "png-81-megapixels"])
def test_decompression_bombs(url, make):
    assert_error(predict(url, ("bomb.png", make())), 400, "too many pixels")


def test_one_bad_file_in_a_batch_is_named(url):
    response = predict(url, ("a.jpg", sample_bytes()), ("b.jpg", b"<html></html>"))
    assert_error(response, 400, "image 2 is not an image")


def test_too_many_files(url):
    files = [(f"{i}.png", tiny_png()) for i in range(config.MAX_FILES + 1)]
    assert_error(predict(url, *files), 400, f"{config.MAX_FILES + 1} images sent", f"at most {config.MAX_FILES}")


def test_the_most_files_allowed_are_scored(url):
    files = [(f"{i}.png", tiny_png(colour=(i * 10, 0, 0))) for i in range(config.MAX_FILES)]
    assert len(scores := predict(url, *files).json()["predictions"]) == config.MAX_FILES, scores


def test_a_body_over_the_size_limit_gets_413(url):
    body = b"\xff\xd8" + b"\x00" * (config.MAX_CONTENT_LENGTH + 1024)
    assert_error(predict(url, ("huge.jpg", body)), 413, "over the limit")


def test_unknown_routes_and_methods_get_json_errors(url):
    assert_error(requests.get(f"{url}/model/nothing-here", timeout=10), 404)
    assert_error(requests.delete(f"{url}/model/metadata", timeout=10), 405)


def test_the_server_still_answers_after_all_of_that(url):
    response = predict(url, ("chelsea.jpg", sample_bytes("chelsea.jpg")))
    assert response.status_code == 200
    assert response.json()["predictions"][0]["memorability"] == pytest.approx(REFERENCE["chelsea.jpg"], abs=0.002)
