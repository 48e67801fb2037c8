"""The /app page in a real browser: Debian's Chromium, headless, driven by Playwright.

Playwright's own browser download is never used: `make test` installs the chromium package.
A screenshot of the page with two scored photos is saved to test-artifacts/app.png.
"""
import base64
import os
import re

import pytest
import requests
from playwright.sync_api import expect, sync_playwright

import config
from tests.imagegen import REFERENCE, ROOT, SAMPLES

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# No background traffic: this machine's closed network refuses it, noisily.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, url):
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    page.goto(f"{url}/app")
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def scores_on(page):
    return [float(text) for text in page.locator(".card .score").all_inner_texts()]


def test_the_page_is_served_by_the_app_itself(url):
    response = requests.get(f"{url}/app", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    assert "Access-Control-Allow-Origin" not in response.headers  # same origin: no CORS needed
    assert requests.get(f"{url}/app/limits.json", timeout=10).json()["max_bytes"] == config.MAX_CONTENT_LENGTH


def test_two_photos_are_scored_sorted_and_mapped(page):
    # rocket first, so that the page has to reorder: astronaut is the more memorable.
    page.set_input_files("#files", [SAMPLES / "rocket.jpg", SAMPLES / "astronaut.jpg"])
    expect(page.locator(".card")).to_have_count(2)
    expect(page.locator(".card .score.pending")).to_have_count(0, timeout=60_000)
    assert page.locator(".card .name").all_inner_texts() == ["astronaut.jpg", "rocket.jpg"]
    shown = scores_on(page)
    assert shown == pytest.approx([REFERENCE["astronaut.jpg"], REFERENCE["rocket.jpg"]], abs=0.0015)
    width = page.locator(".card .bar > div").first.evaluate("e => e.style.width")
    assert width == f"{REFERENCE['astronaut.jpg'] * 100:.1f}%"

    first = page.locator(".card").first
    photo = first.locator("img").get_attribute("src")
    assert photo.startswith("blob:")
    first.get_by_role("button", name="Show map").click()
    expect(first.locator("img")).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
    assert first.locator("img").evaluate("img => img.decode().then(() => img.naturalWidth)") == 512
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    page.screenshot(path=ROOT / "test-artifacts" / "app.png", full_page=True)
    first.get_by_role("button", name="Hide map").click()
    assert first.locator("img").get_attribute("src") == photo


def test_a_text_file_and_an_oversized_file_show_readable_errors(page):
    photo = {"name": "chelsea.jpg", "mimeType": "image/jpeg", "buffer": (SAMPLES / "chelsea.jpg").read_bytes()}
    page.set_input_files("#files", [photo,
                                    {"name": "notes.txt", "mimeType": "text/plain",
                                     "buffer": b"these are my holiday notes, not a photo\n"}])
    error = page.locator(".card .error:not([hidden])")
    expect(error).to_have_count(1, timeout=60_000)
    expect(error).to_contain_text("not an image")
    expect(page.locator(".card .score.pending")).to_have_count(0, timeout=60_000)
    # The photo that scored comes first; the failed file sinks to the end.
    assert page.locator(".card .name").all_inner_texts() == ["chelsea.jpg", "notes.txt"]

    big = {"name": "huge.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8" + bytes(config.MAX_CONTENT_LENGTH)}
    page.set_input_files("#files", [big])
    expect(page.locator(".card .error:not([hidden])")).to_have_count(2, timeout=30_000)
    expect(page.locator(".card", has_text="huge.jpg").locator(".error")).to_contain_text(
        f"at most {config.MAX_CONTENT_LENGTH / 1024 / 1024:.1f} MB")


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
    expect(page.locator(".card .score.pending")).to_have_count(0, timeout=60_000)
    assert scores_on(page) == pytest.approx([REFERENCE["coffee.jpg"]], abs=0.0015)
    expect(page.locator("#drop")).not_to_have_class(re.compile(r"\bover\b"))
