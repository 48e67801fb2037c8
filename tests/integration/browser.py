"""The page tests' browser: Debian's Chromium, headless, driven by Playwright (its own browser
download is never used: `make test` installs the chromium package), and what the tests read of a
page. The fixtures that open it (``browser``, ``page``, ``resmem_page``) are in conftest.py."""
import os

from playwright.sync_api import expect

from tests.imagegen import ROOT

ARTIFACTS = ROOT / "test-artifacts"
# How long the page may take to show the server's answer: a guard against a hang, not a speed
# check (a busy CI machine once took over 60 s for three ratios' crops).
WORK = 300_000
# Every expect() waits that long too: an answer of the server (a map, an error) is an event, and a
# busy machine may take over Playwright's 5 s default to give it.
expect.set_options(timeout=WORK)

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# No background traffic: this machine's closed network refuses it, noisily.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def open_page(browser, url):
    """The page of the server at ``url`` in a new browser context; no JavaScript error at the end."""
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    page.goto(f"{url}/app")
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def requests_to(page, path):
    """A list that fills with the page's POST requests to ``path``, as they are sent."""
    sent = []
    page.on("request", lambda request: sent.append(request) if request.method == "POST"
            and request.url.endswith(path) else None)
    return sent


def scores_on(page):
    return [float(text) for text in page.locator(".card .score").all_inner_texts()]
