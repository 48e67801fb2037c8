"""Contract (the tiny buckets): the /app page of a server of MODEL_OUTPUTS=false_alarm alone, in
Chromium: a photo and its mirror (a tie), the map, the regions and crops dialog and a video each
show and export the false-alarm rates that the API answers, named by false_alarm; nothing the page
says (its text, labels, chart titles) or exports calls them memorability. A screenshot of the page
is saved to test-artifacts/app-false-alarm.png."""
import csv
import io
import json
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from PIL import ImageOps
from playwright.sync_api import expect

from tests.imagegen import encode, sample_rgb
from tests.integration.browser import ARTIFACTS, WORK, open_page, scores_on
from tests.integration.test_false_alarm_alone import names
from tests.integration.test_output_order import REGIONS, VIDEO, download, post

ROCKET = sample_rgb("rocket.jpg")
PHOTOS = {"rocket.png": encode(ROCKET, "PNG"), "mirrored.png": encode(ImageOps.mirror(ROCKET), "PNG")}
SHOWN = 6e-4  # the page shows 3 decimals


@pytest.fixture
def page(browser, false_alarm_url):
    yield from open_page(browser, false_alarm_url)


def said(page):
    """All that the page says: its visible text, its accessible labels, its images' and charts' titles."""
    return page.evaluate("""() => [document.body.innerText,
        ...[...document.querySelectorAll("[aria-label]")].map((e) => e.getAttribute("aria-label")),
        ...[...document.querySelectorAll("img[alt], svg title")].map((e) => e.alt ?? e.textContent)].join("\\n")""")


def check_not_memorability(page, where):
    text = said(page)
    assert "false-alarm rate" in text and not re.search(r"memorab", text, re.I), (where, text)


def test_every_view_shows_the_false_alarm_rate_and_never_calls_it_memorability(page, false_alarm_url):
    files = [("image", (name, data, "image/png")) for name, data in PHOTOS.items()]
    predicted = dict(zip(PHOTOS, post(false_alarm_url, "predict", {"stable": "true"}, files)["predictions"]))
    rocket = [("image", ("rocket.png", PHOTOS["rocket.png"], "image/png"))]

    page.set_input_files("#files", [{"name": n, "mimeType": "image/png", "buffer": d} for n, d in PHOTOS.items()])
    expect(page.locator(".card .score.pending")).to_have_count(0, timeout=WORK)
    expect(page).to_have_title(re.compile(r"^How familiar does this photo feel\?"))
    assert scores_on(page) == pytest.approx([p["false_alarm"] for p in predicted.values()], abs=SHOWN)
    card = page.locator(".card").first
    expect(card.get_by_role("meter")).to_have_accessible_name("false-alarm rate of rocket.png")
    expect(card.locator(".tie")).to_have_text("Too close to call with mirrored.png")  # a photo and its mirror
    rows = list(csv.DictReader(io.StringIO(download(page, "Download CSV"))))
    assert list(rows[0]) == ["name", "time", "false_alarm", "false_alarm_mirror_delta", "tie_group", "error"]
    for row in rows:
        assert float(row["false_alarm"]) == pytest.approx(predicted[row["name"]]["false_alarm"], abs=1e-6)
        assert row["tie_group"] == "1"

    card.get_by_role("button", name="Show map").click()
    expect(card.locator("img")).to_have_attribute("src", re.compile(r"^data:image/png;base64,"), timeout=WORK)
    assert card.locator("img").get_attribute("src").endswith(post(false_alarm_url, "explain", {}, rocket)["overlay"])
    expect(page.locator(".legend .scale")).to_have_accessible_name(re.compile("false-alarm rate"))
    check_not_memorability(page, "the photos and the map")

    card.get_by_role("button", name="Regions and crops").click()
    form = page.locator("#region-form")
    form.get_by_label("Name").fill(REGIONS[0]["name"])
    for name, value in zip(("x0", "y0", "x1", "y1"), REGIONS[0]["box"]):
        form.get_by_label(name).fill(str(value))
    form.get_by_role("button", name="Add region").click()
    page.get_by_role("button", name="Measure regions").click()
    expect(page.locator("#region-results li")).to_have_count(1, timeout=WORK)
    (region,) = post(false_alarm_url, "regions", {"regions": json.dumps(REGIONS[:1]), "stable": "true"},
                     rocket)["regions"]
    verb = "lowers" if region["effect"] >= 0 else "raises"
    expect(page.locator("#region-results li > p").first).to_contain_text(
        f"hiding left {verb} the false-alarm rate by {abs(region['effect']):.2f} ± {region['spread']:.2f}")
    for ratio in ("1:1 square", "4:5 feed", "9:16 story"):
        page.get_by_label(ratio).uncheck()
    page.get_by_role("button", name="Find crops").click()
    expect(page.locator("#crop-results section")).to_have_count(1, timeout=WORK)
    (ratio,) = post(false_alarm_url, "crops", {"ratios": "16:9", "stable": "true"}, rocket)["ratios"]
    best, delta = ratio["crops"][0], ratio["crops"][0]["false_alarm_delta_vs_center"]
    expect(page.locator("#crop-results h4")).to_have_text(f"16:9 (centre crop {ratio['center']['false_alarm']:.3f})")
    expect(page.locator(".crop-choice").first).to_contain_text(
        f"{best['false_alarm']:.3f} ({'+' if delta >= 0 else '−'}{abs(delta):.3f} vs centre)")
    page.locator(".crop-choice").first.click()
    page.locator("#marks rect.selected").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#own-crop")).to_contain_text("Your 16:9 crop at", timeout=WORK)
    moved = json.loads(page.evaluate("JSON.stringify(design.selected.box)"))
    (own,) = post(false_alarm_url, "crops", {"boxes": json.dumps([moved]), "stable": "true"}, rocket)["boxes"]
    expect(page.locator("#own-crop")).to_contain_text(f": {own['false_alarm']:.3f} ")
    check_not_memorability(page, "the regions and crops")
    exported = json.loads(download(page, "Export JSON"))
    assert "memorability" not in names(exported) and exported["own_crop"]["false_alarm"] == pytest.approx(
        own["false_alarm"], abs=1e-6)
    assert download(page, "Export CSV").splitlines()[0] == (
        "kind,name,box,false_alarm,false_alarm_effect,false_alarm_spread,false_alarm_verdict,tie")
    page.locator("#design-close").click()

    page.set_input_files("#files", [{"name": "clip.mp4", "mimeType": "video/mp4", "buffer": VIDEO}])
    video = page.locator(".card.video")
    expect(video.locator(".timeline")).to_be_visible(timeout=WORK)
    answer = post(false_alarm_url, "video", {"fps": "1", "top": "3", "clip": "3"},
                  [("video", ("clip.mp4", VIDEO, "video/mp4"))])
    points = [(float(p.get_attribute("data-time")), float(p.get_attribute("data-false_alarm")))
              for p in video.locator(".timeline circle.point").all()]
    assert points == [(p["time"], pytest.approx(p["false_alarm"], abs=1e-9)) for p in answer["timeline"]]
    expect(video.locator("figcaption")).to_contain_text("False-alarm rate (0 to 1) against time")
    expect(video.locator("figcaption")).to_contain_text(f"({answer['clip']['false_alarm']:.3f})")
    assert video.locator("button.moment").evaluate_all("buttons => buttons.map((b) => b.ariaLabel)") == [
        f"Show the map of the moment at {m['time']:.1f} s, {m['false_alarm']:.3f}" for m in answer["moments"]]
    frames = [r for r in csv.DictReader(io.StringIO(download(page, "Download CSV"))) if r["name"] == "clip.mp4"]
    assert [(float(r["time"]), float(r["false_alarm"])) for r in frames] == [
        (p["time"], pytest.approx(p["false_alarm"], abs=1e-6)) for p in answer["timeline"]]
    check_not_memorability(page, "the video")
    page.screenshot(path=ARTIFACTS / "app-false-alarm.png", full_page=True)
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, results.generate_report()
