"""Contract (the tiny bucket): the page sends each file where the server says it belongs (POST
/model/kind, from its first bytes), not by its name or MIME type, in Chromium: a video named
.jpg gets a timeline, a photo named .mp4 a score."""
import pytest
import requests
from playwright.sync_api import expect

from tests.imagegen import SAMPLES
from tests.integration.browser import WORK, requests_to
from tests.videogen import clip


def test_a_video_named_jpg_and_a_photo_named_mp4_each_go_where_their_bytes_say(page, url):
    video = clip(["astronaut.jpg", "rocket.jpg"], seconds=2)
    photo = (SAMPLES / "coffee.jpg").read_bytes()
    expected = requests.post(f"{url}/model/predict", files={"image": ("coffee.jpg", photo)}, data={"stable": "true"},
                             timeout=60).json()["predictions"][0]["memorability"]
    kinds, videos, predictions = (requests_to(page, path) for path in ("/model/kind", "/model/video", "/model/predict"))
    page.set_input_files("#files", [{"name": "holiday.jpg", "mimeType": "image/jpeg", "buffer": video},
                                    {"name": "coffee.mp4", "mimeType": "video/mp4", "buffer": photo}])
    card = page.locator(".card.video")
    expect(card.locator(".timeline")).to_be_visible(timeout=WORK)
    expect(card.locator(".name")).to_have_text("holiday.jpg")
    expect(card.locator(".score")).to_contain_text("on average, 4 frames")
    photo_card = page.locator(".card:not(.video)")
    expect(photo_card.locator(".score.pending")).to_have_count(0, timeout=WORK)
    expect(photo_card.locator(".name")).to_have_text("coffee.mp4")
    assert float(photo_card.locator(".score").inner_text()) == pytest.approx(expected, abs=0.0015)
    assert page.locator(".card .error:not([hidden])").count() == 0
    assert (len(kinds), len(videos), len(predictions)) == (1, 1, 1)
