"""The service under test: a real gunicorn process on a free port, or the server at MAX_URL.

    make test-integration                              # starts `make run`'s server itself
    MAX_URL=http://localhost:5000 make test-integration  # tests a running container instead
"""
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.imagegen import ROOT
from benchmarks.server_process import running_server, wait_until_ready


@dataclass
class Service:
    url: str
    log: Path = None  # the server's own log, when this run started the server


@pytest.fixture(scope="session")
def service(tmp_path_factory):
    if os.environ.get("MAX_URL"):
        url = os.environ["MAX_URL"].rstrip("/")
        wait_until_ready(url)
        yield Service(url)
        return
    log = ROOT / "test-artifacts" / "server.log"
    log.parent.mkdir(exist_ok=True)
    with running_server(log) as (url, process):
        yield Service(url, log)
    assert process.returncode == 0, (
        f"the server did not stop cleanly on SIGTERM (exit {process.returncode}); see {log}")


@pytest.fixture(scope="session")
def url(service):
    return service.url
