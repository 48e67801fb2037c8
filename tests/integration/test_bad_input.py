"""Contract (the tiny bucket): bad input gets a JSON 4xx that says what was wrong, never a 500, and
the server lives on.

Each single-file case is sent to both endpoints that take images: /model/predict and /model/explain.
"""
import pytest
import requests

import config
from tests.expected import SCORES
from tests.imagegen import (
    NOT_IMAGES,
    encode,
    jpeg_claiming_size,
    png_claiming_size,
    sample_bytes,
    sample_rgb,
    tiny_png,
    truncated,
)
from tests.integration.test_api import predict

SETTINGS = config.settings()  # the defaults the server under test runs with


def assert_error(response, status, *fragments):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "error"
    for fragment in fragments:
        assert fragment in body["message"], body["message"]


@pytest.fixture(params=["predict", "explain"])
def endpoint(request, url):
    return f"{url}/model/{request.param}"


def post_one(endpoint, name, data, content_type=None):
    return requests.post(endpoint, files={"image": (name, data, content_type)}, timeout=120)


def test_no_image_field(endpoint):
    assert_error(requests.post(endpoint, timeout=30), 400, "no file in the form field 'image'")


def test_a_wrong_field_name_is_named_in_the_answer(endpoint):
    response = requests.post(endpoint, files={"file": ("a.jpg", sample_bytes())}, timeout=30)
    assert_error(response, 400, "unknown form field 'file'", "only files in the field 'image'")


def test_a_field_beside_image_is_refused_by_name_not_ignored(endpoint):
    """A typo or an option the API does not have must not pass silently."""
    files = [("image", ("a.jpg", sample_bytes(), "image/jpeg")), ("imagee", ("b.jpg", sample_bytes(), "image/jpeg"))]
    assert_error(requests.post(endpoint, files=files, timeout=30), 400, "unknown form field 'imagee'")
    response = requests.post(endpoint, files=files[:1], data={"grid": "3", "format": "csv"}, timeout=30)
    assert_error(response, 400, "unknown form fields 'format', 'grid'")


@pytest.mark.parametrize("route", ["predict", "explain", "crops", "regions", "video"])
def test_a_field_whose_name_is_not_text_is_refused_too(url, route):
    """A part whose quoted name cannot be read (it ends in a backslash, which escapes the closing
    quote: werkzeug names it None): a 400, as any unknown field (the fuzzer found a 500 here)."""
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"".encode() + b"field\\"
            + f"\"\r\n\r\n{{}}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
              f"filename=\"a.jpg\"\r\n\r\n".encode() + sample_bytes() + f"\r\n--{boundary}--\r\n".encode())
    response = requests.post(f"{url}/model/{route}", data=body, timeout=30,
                             headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert_error(response, 400, "without a readable name")


def test_a_form_of_too_many_parts_gets_its_own_message(endpoint):
    """werkzeug's limit on form parts is not the body-size limit, and says so (MAX_FORM_PARTS)."""
    response = requests.post(endpoint, files={f"f{i}": (None, "x") for i in range(2000)}, timeout=30)
    assert_error(response, 413, f"the form has more than {SETTINGS.MAX_FORM_PARTS} parts")


@pytest.mark.parametrize("method, path, allowed", [
    ("GET", "/model/predict", "POST"), ("PUT", "/model/predict", "POST"), ("DELETE", "/model/explain", "POST"),
    ("POST", "/model/metadata", "GET"), ("PATCH", "/app/limits.json", "GET")])
def test_a_405_says_which_methods_are_allowed(url, method, path, allowed):
    response = requests.request(method, f"{url}{path}", timeout=30)
    assert response.status_code == 405
    allow = [m.strip() for m in response.headers["Allow"].split(",")]  # RFC 9110, 15.5.6
    assert allowed in allow and method not in allow
    assert response.json()["status"] == "error"


def test_json_instead_of_a_form(endpoint):
    response = requests.post(endpoint, json={"image": "astronaut.jpg"}, timeout=30)
    assert_error(response, 400, "multipart/form-data")


def test_an_empty_file(endpoint):
    assert_error(post_one(endpoint, "empty.jpg", b""), 400, "is empty")


def test_the_empty_file_is_named_in_a_batch(url):
    assert_error(predict(url, ("empty.jpg", b"")), 400, "image 1 is empty")


@pytest.mark.parametrize("kind", sorted(NOT_IMAGES))
def test_things_posing_as_images(endpoint, kind):
    name, content_type, data = NOT_IMAGES[kind]
    expected = {"icon": "is a ICO file", "jpeg_magic_then_noise": "could not be decoded"}
    assert_error(post_one(endpoint, name, data, content_type), 400, expected.get(kind, "is not an image"))


@pytest.mark.parametrize("make", [lambda: truncated(sample_bytes("coffee.jpg")),
                                  lambda: truncated(encode(sample_rgb(), "PNG"), 0.3),
                                  lambda: truncated(encode(sample_rgb(), "WEBP"), 0.5)],
                         ids=["jpeg", "png", "webp"])
def test_truncated_files(endpoint, make):
    assert_error(post_one(endpoint, "cut.img", make()), 400, "truncated or corrupt")


@pytest.mark.parametrize("make", [lambda: png_claiming_size(40000, 40000),
                                  lambda: jpeg_claiming_size(40000, 40000),
                                  lambda: png_claiming_size(9000, 9000)],
                         ids=["png-40000x40000", "jpeg-40000x40000", "png-81-megapixels"])
def test_decompression_bombs(endpoint, make):
    assert_error(post_one(endpoint, "bomb.png", make()), 400, "too many pixels")


def test_one_bad_file_in_a_batch_is_named(url):
    response = predict(url, ("a.jpg", sample_bytes()), ("b.jpg", b"<html></html>"))
    assert_error(response, 400, "image 2 is not an image")


def test_too_many_files(url):
    files = [(f"{i}.png", tiny_png()) for i in range(SETTINGS.MAX_FILES + 1)]
    assert_error(predict(url, *files), 400, f"{SETTINGS.MAX_FILES + 1} images sent", f"at most {SETTINGS.MAX_FILES}")


def test_the_most_files_allowed_are_scored(url):
    files = [(f"{i}.png", tiny_png(colour=(i * 10, 0, 0))) for i in range(SETTINGS.MAX_FILES)]
    assert len(scores := predict(url, *files).json()["predictions"]) == SETTINGS.MAX_FILES, scores


def test_explain_takes_one_image(url):
    files = [("image", ("a.jpg", sample_bytes())), ("image", ("b.jpg", sample_bytes()))]
    response = requests.post(f"{url}/model/explain", files=files, timeout=30)
    assert_error(response, 400, "2 images sent", "one image per request")


def test_a_body_over_the_size_limit_gets_413(endpoint):
    body = b"\xff\xd8" + b"\x00" * (SETTINGS.MAX_CONTENT_LENGTH + 1024)
    assert_error(post_one(endpoint, "huge.jpg", body), 413, "over the limit")


def test_unknown_routes_and_methods_get_json_errors(url):
    assert_error(requests.get(f"{url}/model/nothing-here", timeout=10), 404)
    assert_error(requests.delete(f"{url}/model/metadata", timeout=10), 405)


def test_the_server_still_answers_after_all_of_that(url):
    response = predict(url, ("chelsea.jpg", sample_bytes("chelsea.jpg")))
    assert response.status_code == 200
    assert response.json()["predictions"][0]["memorability"] == pytest.approx(SCORES["chelsea.jpg"], abs=0.002)
