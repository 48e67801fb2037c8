"""Contract (the tiny bucket): the API as MAX's tests pin it: Swagger, metadata, and the scores of
real photos, which are the served model's own (in-process) in every form they are sent.
test_resmem.py holds ResMem's golden scores over HTTP."""
import pytest
import requests

from core.model.bucket import open_bucket
from tests.expected import SCORES
from tests.imagegen import encode, sample_bytes, sample_rgb, sixteen_bit_grey_png, with_orientation
from tests.settings import BUCKET, FALSE_BUCKET


def predict(url, *files):
    """POST files, each (name, bytes) or (name, bytes, content type), as `image` fields."""
    return requests.post(f"{url}/model/predict", files=[("image", f) for f in files], timeout=120)


def scores(response):
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    return [p["memorability"] for p in body["predictions"]]


def test_swagger_ui_and_document(url):
    page = requests.get(f"{url}/", timeout=10)
    assert page.status_code == 200 and "swagger-ui" in page.text
    doc = requests.get(f"{url}/swagger.json", timeout=10).json()
    assert doc["info"]["title"] == "MAX Image Memorability"
    assert {"/model/metadata", "/model/predict"} <= set(doc["paths"])
    post = doc["paths"]["/model/predict"]["post"]
    (image,) = [p for p in post["parameters"] if p["name"] == "image"]
    assert image["in"] == "formData" and image["type"] == "file" and image["required"] is True
    assert post["consumes"] == ["multipart/form-data"]
    assert {"200", "400", "413"} <= set(post["responses"])
    assert "memorability" in doc["definitions"]["Prediction"]["properties"]


def test_metadata(url):
    response = requests.get(f"{url}/model/metadata", timeout=10)
    assert response.status_code == 200
    meta = response.json()
    assert set(meta) == {"id", "name", "description", "type", "source", "license", "outputs"}
    models = [open_bucket(BUCKET).metadata, open_bucket(FALSE_BUCKET).metadata]  # the served buckets' model.json
    assert meta["outputs"] == [{"output": "memorability", **models[0]}, {"output": "false_alarm", **models[1]}]
    assert meta["name"] == f"{models[0]['name']} and {models[1]['name']}"
    assert all(model["license"] in meta["license"] for model in models)


@pytest.mark.parametrize("name", sorted(SCORES))
def test_the_score_of_a_real_photo_is_the_models_own(url, name):
    (score,) = scores(predict(url, (name, sample_bytes(name))))
    assert score == pytest.approx(SCORES[name], abs=0.002)


def test_a_batch_equals_the_singles_in_upload_order(url):
    names = ["coffee.jpg", "astronaut.jpg", "rocket.jpg", "chelsea.jpg"] * 2  # a batch of 8
    batch = scores(predict(url, *[(n, sample_bytes(n)) for n in names]))
    assert batch == pytest.approx([SCORES[n] for n in names], abs=0.002)
    singles = [scores(predict(url, (n, sample_bytes(n))))[0] for n in names[:4]]
    assert batch[:4] == pytest.approx(singles, abs=1e-5)
    assert batch[4:] == pytest.approx(singles, abs=1e-5)


def test_the_file_name_and_content_type_sent_do_not_matter(url):
    (score,) = scores(predict(url, ("notes.txt", sample_bytes("chelsea.jpg"), "text/plain")))
    assert score == pytest.approx(SCORES["chelsea.jpg"], abs=0.002)


def test_every_accepted_format_scores_the_same_pixels_the_same(url):
    rgb = sample_rgb("astronaut.jpg")
    jpeg_score = SCORES["astronaut.jpg"]
    lossless = [("a.png", encode(rgb, "PNG")), ("a.bmp", encode(rgb, "BMP")),
                ("a.tif", encode(rgb, "TIFF")), ("a.webp", encode(rgb, "WEBP", lossless=True)),
                ("a_alpha.png", encode(rgb.convert("RGBA"), "PNG")),
                ("a_rot.png", with_orientation(rgb, 6))]
    assert scores(predict(url, *lossless)) == pytest.approx([jpeg_score] * len(lossless), abs=0.002)
    lossy = [("a.gif", encode(rgb, "GIF")), ("a_cmyk.jpg", encode(rgb.convert("CMYK"), "JPEG", quality=95))]
    assert scores(predict(url, *lossy)) == pytest.approx([jpeg_score] * 2, abs=0.05)


def test_greyscale_in_eight_or_sixteen_bits_scores_the_same(url):
    grey = sample_rgb("coffee.jpg").convert("L")
    eight, sixteen = scores(predict(url, ("g8.png", encode(grey, "PNG")),
                                    ("g16.png", sixteen_bit_grey_png(grey))))
    assert sixteen == pytest.approx(eight, abs=1e-6)
