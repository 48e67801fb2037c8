"""Contract (the tiny bucket): the page's regions and crops tools in Chromium: a box drawn with the
mouse and one typed, measured as /model/regions measures them; the crops of each ratio outlined, one
moved with the keyboard and scored as /model/crops scores that box; both exported; no serious axe
violation. The dialog's screenshot is docs/design.png."""
import json
import re

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.imagegen import ROOT, SAMPLES
from tests.integration.browser import WORK


def open_tools(page):
    page.set_input_files("#files", [SAMPLES / "rocket.jpg"])
    expect(page.locator(".card .score.pending")).to_have_count(0, timeout=WORK)
    page.get_by_role("button", name="Regions and crops").click()
    expect(page.locator("#design")).to_be_visible()
    expect(page.locator("#stage-img")).to_have_js_property("complete", True)


def test_regions_drawn_and_typed_are_measured_as_the_api_measures_them(page, url):
    open_tools(page)
    box = page.locator("#stage-img").bounding_box()
    page.mouse.move(box["x"] + 0.35 * box["width"], box["y"] + 0.1 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.5 * box["height"], steps=5)
    page.mouse.move(box["x"] + 0.65 * box["width"], box["y"] + 0.9 * box["height"], steps=5)
    page.mouse.up()
    expect(page.locator("#region-list li")).to_have_count(1)
    page.get_by_label("Name of region 1").fill("rocket")
    page.get_by_label("Name of region 1").dispatch_event("change")
    form = page.locator("#region-form")
    form.get_by_label("Name").fill("sky")
    for field, value in (("x0", "0"), ("y0", "0"), ("x1", "1"), ("y1", "0.3")):
        form.get_by_label(field).fill(value)
    form.get_by_role("button", name="Add region").click()
    expect(page.locator("#marks rect.region")).to_have_count(2)
    page.get_by_role("button", name="Measure regions").click()
    expect(page.locator("#region-results li")).to_have_count(2, timeout=WORK)

    drawn = json.loads(page.evaluate("JSON.stringify(design.regions)"))
    assert [r["name"] for r in drawn] == ["rocket", "sky"] and drawn[1]["box"] == [0, 0, 1, 0.3]
    assert drawn[0]["box"] == pytest.approx([0.35, 0.1, 0.65, 0.9], abs=0.01)
    expected = requests.post(f"{url}/model/regions",
                             files={"image": ("rocket.jpg", (SAMPLES / "rocket.jpg").read_bytes())},
                             data={"regions": json.dumps(drawn), "stable": "true"}, timeout=120).json()
    texts = page.locator("#region-results li > p:first-child").all_inner_texts()
    for text, region in zip(texts, expected["regions"]):
        verb = "lowers" if region["effect"] >= 0 else "raises"
        assert text.startswith(f"hiding {region['name']} {verb} the score by {abs(region['effect']):.2f} ± "
                               f"{region['spread']:.2f}"), text
        assert ("no clear effect" in text) == (region["verdict"] == "no clear effect")
        assert not re.search(r"attention|looks at|gaze", text, re.I)
    together = expected["all_hidden"]["effect"]  # a fall; the page says which way the score moves, unsigned
    expect(page.locator("#region-results")).to_contain_text(
        f"All 2 hidden at once: the score {'falls' if together > 0 else 'rises'} by {abs(together):.3f}")
    familiar = expected["outputs"][0]["regions"]  # the false-alarm rate's effects, said beside each region
    notes = page.locator("#region-results li > p:nth-child(3)").all_inner_texts()
    for text, region in zip(notes, familiar):
        assert "false-alarm rate" in text and f"{abs(region['effect']):.3f}" in text, text

    for ratio in ("4:5 feed", "16:9 banner", "9:16 story"):
        page.get_by_label(ratio).uncheck()
    page.get_by_role("button", name="Find crops").click()
    expect(page.locator("#crop-results section")).to_have_count(1, timeout=WORK)
    page.locator(".crop-choice").first.click()
    page.set_viewport_size({"width": 1100, "height": 1300})
    page.locator("#design").screenshot(path=ROOT / "test-artifacts" / "design-regions.png")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export JSON").click()
    exported = json.loads(download.value.path().read_text())
    assert exported["measured"]["regions"][0]["effect"] == pytest.approx(expected["regions"][0]["effect"], abs=1e-6)


def test_crops_are_outlined_moved_by_keyboard_and_scored(page, url):
    open_tools(page)
    page.get_by_label("9:16 story").uncheck()
    page.get_by_role("button", name="Find crops").click()
    expect(page.locator("#crop-results section")).to_have_count(3, timeout=WORK)
    expect(page.locator("#marks rect.crop")).to_have_count(3)
    expect(page.locator("#crop-results")).to_contain_text("Compare scores within a ratio only")
    first = page.locator(".crop-choice").first
    assert re.search(r"\d\.\d{3} \([+−]\d\.\d{3} vs centre\)", first.inner_text())
    first.click()
    selected = page.locator("#marks rect.selected")
    expect(selected).to_have_count(1)
    before = json.loads(page.evaluate("JSON.stringify(design.selected.box)"))
    selected.focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#own-crop")).to_contain_text("Your 1:1 crop at", timeout=WORK)
    after = json.loads(page.evaluate("JSON.stringify(design.selected.box)"))
    assert after[1:] == before[1:] and (after[0] > before[0] or before[0] + before[2] == 640)
    expected = requests.post(f"{url}/model/crops",
                             files={"image": ("rocket.jpg", (SAMPLES / "rocket.jpg").read_bytes())},
                             data={"boxes": json.dumps([after]), "stable": "true"}, timeout=120).json()
    expect(page.locator("#own-crop")).to_contain_text(f": {expected['boxes'][0]['memorability']:.3f} ")

    page.screenshot(path=ROOT / "test-artifacts" / "design.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    lines = download.value.path().read_text().splitlines()
    assert lines[0] == "kind,name,box,memorability,false_alarm,effect,false_alarm_effect,spread,verdict,tie"
    assert sum(line.startswith("crop,") for line in lines) >= 3 and lines[-1].startswith("own crop,1:1,")

    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, results.generate_report()
