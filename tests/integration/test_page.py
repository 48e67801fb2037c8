"""Contract (the tiny bucket): the /app page in a real browser: Debian's Chromium, headless,
driven by Playwright. One fidelity test (ResMem) shows the page against the API on real photos.

Playwright's own browser download is never used: `make test` installs the chromium package.
A screenshot of the page with two scored photos is saved to test-artifacts/app.png.
"""
import base64
import csv
import io
import re
import time

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import config
from tests.expected import SCORES, STABLE_SCORES
from tests.imagegen import ROOT, SAMPLES, STABLE_REFERENCE, encode, sample_rgb
from tests.integration.browser import ARTIFACTS, WORK, requests_to, scores_on

SETTINGS = config.settings()  # the defaults the server under test runs with

def test_the_page_is_served_by_the_app_itself(url):
    response = requests.get(f"{url}/app", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    assert "Access-Control-Allow-Origin" not in response.headers  # same origin: no CORS needed
    assert requests.get(f"{url}/app/limits.json", timeout=10).json()["max_bytes"] == SETTINGS.MAX_CONTENT_LENGTH


def test_two_photos_are_scored_sorted_and_mapped(resmem_page):
    """Fidelity: the page shows ResMem's golden scores (`make reference`), sorted."""
    page = resmem_page
    # rocket first, so that the page has to reorder: astronaut is the more memorable.
    page.set_input_files("#files", [SAMPLES / "rocket.jpg", SAMPLES / "astronaut.jpg"])
    expect(page.locator(".card")).to_have_count(2)
    expect(page.locator(".card .score.pending")).to_have_count(0, timeout=WORK)
    assert page.locator(".card .name").all_inner_texts() == ["astronaut.jpg", "rocket.jpg"]
    shown = scores_on(page)  # the stable mode: the mean of each photo and its mirror image
    assert shown == pytest.approx([STABLE_REFERENCE["astronaut.jpg"], STABLE_REFERENCE["rocket.jpg"]], abs=0.0015)
    width = page.locator(".card .bar > div").first.evaluate("e => e.style.width")
    assert width == f"{STABLE_REFERENCE['astronaut.jpg'] * 100:.1f}%"

    first = page.locator(".card").first
    photo = first.locator("img").get_attribute("src")
    assert photo.startswith("blob:")
    first.get_by_role("button", name="Show map").click()
    expect(first.locator("img")).to_have_attribute("src", re.compile(r"^data:image/png;base64,"), timeout=WORK)
    assert first.locator("img").evaluate("img => img.decode().then(() => img.naturalWidth)") == 512
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    page.screenshot(path=ROOT / "test-artifacts" / "app.png", full_page=True)
    first.get_by_role("button", name="Hide map").click()
    assert first.locator("img").get_attribute("src") == photo


def test_a_text_file_and_an_oversized_file_show_readable_errors(page, tmp_path):
    photo = {"name": "chelsea.jpg", "mimeType": "image/jpeg", "buffer": (SAMPLES / "chelsea.jpg").read_bytes()}
    page.set_input_files("#files", [photo,
                                    {"name": "notes.txt", "mimeType": "text/plain",
                                     "buffer": b"these are my holiday notes, not a photo\n"}])
    error = page.locator(".card .error:not([hidden])")
    expect(error).to_have_count(1, timeout=WORK)
    expect(error).to_contain_text("not an image")
    expect(page.locator(".card .score.pending")).to_have_count(0, timeout=WORK)
    # The photo that scored comes first; the failed file sinks to the end.
    assert page.locator(".card .name").all_inner_texts() == ["chelsea.jpg", "notes.txt"]

    big = tmp_path / "huge.jpg"  # by path: Playwright hands a 32 MB buffer over in base64 (15 s)
    with open(big, "wb") as stream:
        stream.write(b"\xff\xd8")
        stream.truncate(SETTINGS.MAX_CONTENT_LENGTH + 2)
    page.set_input_files("#files", [big])
    expect(page.locator(".card .error:not([hidden])")).to_have_count(2, timeout=WORK)
    expect(page.locator(".card", has_text="huge.jpg").locator(".error")).to_contain_text(
        f"at most {SETTINGS.MAX_CONTENT_LENGTH / 1024 / 1024:.1f} MB")


def test_a_photo_dropped_on_the_page_is_scored(page):
    photo = base64.b64encode((SAMPLES / "coffee.jpg").read_bytes()).decode()
    transfer = page.evaluate_handle("""(data) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], "coffee.jpg", { type: "image/jpeg" }));
        return transfer;
    }""", photo)
    page.dispatch_event("#drop", "dragover", {"dataTransfer": transfer})
    expect(page.locator("#drop")).to_have_class(re.compile(r"\bover\b"))
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
    expect(page.locator(".card")).to_have_count(1)
    expect(page.locator(".card .score.pending")).to_have_count(0, timeout=WORK)
    assert scores_on(page) == pytest.approx([STABLE_SCORES["coffee.jpg"]], abs=0.0015)
    expect(page.locator("#drop")).not_to_have_class(re.compile(r"\bover\b"))


def twelve_photos():
    """12 distinct real photos: the 4 samples, and each mirrored and turned (other pixels, other scores)."""
    from PIL import Image, ImageOps

    photos = []
    for name in sorted(SCORES):
        image = Image.open(SAMPLES / name)
        variants = (("", image), ("mirrored-", ImageOps.mirror(image)), ("turned-", image.rotate(90, expand=True)))
        for label, variant in variants:
            buffer = io.BytesIO()
            variant.convert("RGB").save(buffer, "JPEG", quality=92)
            photos.append({"name": f"{label}{name}", "mimeType": "image/jpeg", "buffer": buffer.getvalue()})
    return photos


def test_twelve_photos_are_scored_in_one_batched_request_and_removed_cleared_and_downloaded(page, url):
    photos = twelve_photos()
    files = [("image", (p["name"], p["buffer"], "image/jpeg")) for p in photos]
    start = time.monotonic()
    direct = requests.post(f"{url}/model/predict", files=files, data={"stable": "true"}, timeout=120)
    one_batch = time.monotonic() - start
    expected = {p["name"]: r["memorability"] for p, r in zip(photos, direct.json()["predictions"])}
    familiar = {p["name"]: r["false_alarm"] for p, r in zip(photos, direct.json()["predictions"])}

    predicts, explains = requests_to(page, "/model/predict"), requests_to(page, "/model/explain")
    start = time.monotonic()
    page.set_input_files("#files", photos)
    expect(page.locator(".card")).to_have_count(12)
    expect(page.locator(".card .score.pending")).to_have_count(0, timeout=WORK)
    shown_after = time.monotonic() - start
    assert len(predicts) == 1 and not explains  # 12 <= MAX_FILES: one batched request, no maps
    names = page.locator(".card .name").all_inner_texts()
    assert scores_on(page) == pytest.approx([expected[n] for n in names], abs=0.0015)
    assert scores_on(page) == sorted(scores_on(page), reverse=True)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "page-timing.txt").write_text(
        f"12 photos: all scores shown {shown_after:.2f} s after the drop; one batched "
        f"/model/predict of the same photos took {one_batch:.2f} s ({shown_after / one_batch:.2f}x)\n")
    page.screenshot(path=ARTIFACTS / "app-twelve.png", full_page=True)

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert [r["name"] for r in rows] == names
    assert [float(r["memorability"]) for r in rows] == pytest.approx(scores_on(page), abs=5e-4)
    assert [float(r["false_alarm"]) for r in rows] == pytest.approx([familiar[n] for n in names], abs=5e-4)

    # Both outputs: the false-alarm rate is said in plain words, shown on each card, and sorts.
    expect(page.locator("#false-alarm-words")).to_contain_text("never saw it who would still say they had")
    assert page.locator(".card .false-alarm").first.inner_text().startswith("false alarms ")
    page.get_by_label("Sort by").select_option("false_alarm")
    by_false_alarm = page.locator(".card .name").all_inner_texts()
    assert [familiar[n] for n in by_false_alarm] == pytest.approx(sorted(familiar.values(), reverse=True), abs=1e-3)
    page.get_by_label("Sort by").select_option("memorability")
    assert page.locator(".card .name").all_inner_texts() == names

    page.get_by_role("button", name=f"Remove {names[0]}").click()
    expect(page.locator(".card")).to_have_count(11)
    assert names[0] not in page.locator(".card .name").all_inner_texts()
    page.get_by_role("button", name="Clear all").click()
    expect(page.locator(".card")).to_have_count(0)
    expect(page.locator("#toolbar")).to_be_hidden()


def test_a_bad_file_in_a_batch_fails_alone(page):
    """One bad file fails a batched request; the page sends the photos again one by one."""
    photo = {"name": "coffee.jpg", "mimeType": "image/jpeg", "buffer": (SAMPLES / "coffee.jpg").read_bytes()}
    text = {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a photo"}
    page.set_input_files("#files", [photo, text])
    expect(page.locator(".card .score.pending")).to_have_count(0, timeout=WORK)
    first = page.locator(".card").first
    assert float(first.locator(".score").inner_text()) == pytest.approx(STABLE_SCORES["coffee.jpg"], abs=0.0015)
    expect(page.locator(".card", has_text="notes.txt").locator(".error")).to_contain_text("not an image")


def test_the_map_is_fetched_when_asked_for_and_its_legend_is_in_score_units(page):
    explains = requests_to(page, "/model/explain")
    page.set_input_files("#files", [SAMPLES / "astronaut.jpg"])
    expect(page.locator(".card .score.pending")).to_have_count(0, timeout=WORK)
    assert not explains  # maps follow only when asked for
    page.get_by_role("button", name="Show map").click()
    expect(page.locator(".card img")).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
    assert len(explains) == 1
    scale = f"{SETTINGS.EXPLAIN_EFFECT_SCALE:.2f}"
    expect(page.locator("#legend-low")).to_have_text(f"\u2212{scale}")
    expect(page.locator("#legend-high")).to_have_text(f"+{scale}")
    expect(page.locator(".legend figcaption")).to_contain_text("score's own units")
    page.screenshot(path=ARTIFACTS / "app-map.png", full_page=True)
    page.get_by_role("button", name="Hide map").click()
    expect(page.locator(".card img")).to_have_attribute("src", re.compile(r"^blob:"))


def test_a_photo_and_its_mirror_are_too_close_to_call_and_photos_far_apart_are_not(page, url):
    """The page scores in the stable mode, so a photo and its mirror image score the same and
    are one tie group; the sample that scores highest stands alone, far above the lowest."""
    from PIL import ImageOps

    low, high = sorted(STABLE_SCORES, key=STABLE_SCORES.get)[::len(STABLE_SCORES) - 1]
    assert STABLE_SCORES[high] - STABLE_SCORES[low] > 0.2  # far apart on the served model
    lowest = sample_rgb(low)
    photos = [{"name": "low.png", "mimeType": "image/png", "buffer": encode(lowest, "PNG")},
              {"name": "low-mirrored.png", "mimeType": "image/png", "buffer": encode(ImageOps.mirror(lowest), "PNG")},
              {"name": high, "mimeType": "image/jpeg", "buffer": (SAMPLES / high).read_bytes()}]
    page.set_input_files("#files", photos)
    expect(page.locator(".card .score.pending")).to_have_count(0, timeout=WORK)
    assert page.locator(".card .name").all_inner_texts() == [high, "low.png", "low-mirrored.png"]
    shown = scores_on(page)
    assert shown[1] == shown[2] and shown[0] - shown[1] > 0.2
    threshold = requests.get(f"{url}/app/limits.json", timeout=10).json()["tie_threshold"]
    assert threshold == SETTINGS.TIE_THRESHOLD
    cards = page.locator(".card")
    expect(cards.nth(1).locator(".tie")).to_have_text("Too close to call with low-mirrored.png")
    expect(cards.nth(2).locator(".tie")).to_have_text("Too close to call with low.png")
    expect(cards.nth(0).locator(".tie")).to_be_hidden()
    band = cards.nth(0).locator(".bar .band").evaluate("e => e.style.width")
    assert float(band.rstrip("%")) == pytest.approx(threshold * 100, abs=0.05)  # the noise band's width
    page.screenshot(path=ARTIFACTS / "app-tie.png", full_page=True)

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(download.value.path().read_text()))}
    assert rows["low.png"]["tie_group"] == rows["low-mirrored.png"]["tie_group"] == "2"
    assert rows[high]["tie_group"] == "1"
    assert float(rows["low.png"]["mirror_delta"]) == pytest.approx(-float(rows["low-mirrored.png"]["mirror_delta"]),
                                                                     abs=2e-6)


def test_no_serious_or_critical_accessibility_violation(page):
    photo = {"name": "chelsea.jpg", "mimeType": "image/jpeg", "buffer": (SAMPLES / "chelsea.jpg").read_bytes()}
    page.set_input_files("#files", [photo, {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a photo"}])
    expect(page.locator(".card .score.pending")).to_have_count(0, timeout=WORK)
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, results.generate_report()


def test_a_dropped_video_shows_its_timeline_moments_and_best_clip(page, url):
    from tests.videogen import clip

    data = clip(["astronaut.jpg", "coffee.jpg", "rocket.jpg"], container="webm", codec="libvpx-vp9",
                options={"crf": "10", "b": "0"})
    expected = requests.post(f"{url}/model/video", files={"video": ("clip.webm", data, "video/webm")},
                             data={"fps": "1", "top": "3", "clip": "3"}, timeout=120).json()
    videos, explains = requests_to(page, "/model/video"), requests_to(page, "/model/explain")
    page.set_input_files("#files", [{"name": "clip.webm", "mimeType": "video/webm", "buffer": data}])
    card = page.locator(".card.video")
    expect(card.locator(".timeline")).to_be_visible(timeout=WORK)
    assert len(videos) == 1
    points = card.locator(".timeline circle.point")
    shown = [(float(p.get_attribute("data-time")), float(p.get_attribute("data-memorability")))
             for p in points.all()]
    assert shown == [(p["time"], pytest.approx(p["memorability"], abs=1e-9)) for p in expected["timeline"]]
    clip_box = card.locator(".timeline rect.clip")
    assert float(clip_box.get_attribute("data-start")) == expected["clip"]["start"]
    moments = card.locator("button.moment")
    expect(moments).to_have_count(3)
    expect(card.locator(".score")).to_contain_text(f"{expected['mean']:.3f} on average, 6 frames")

    moments.first.click()
    expect(moments.first.locator("img")).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
    assert len(explains) == 1
    page.screenshot(path=ARTIFACTS / "app-video.png", full_page=True)

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert [(float(r["time"]), float(r["memorability"])) for r in rows] == [
        (p["time"], pytest.approx(p["memorability"], abs=1e-6)) for p in expected["timeline"]]
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, results.generate_report()
