"""The service under test: a real gunicorn process on a free port, or the server at MAX_URL.

    make test-integration                              # starts `make run`'s server itself
    MAX_URL=http://localhost:5000 make test-integration  # tests a running container instead
"""
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.imagegen import ROOT

STARTUP_TIMEOUT = 180


@dataclass
class Service:
    url: str
    log: Path = None  # the server's own log, when this run started the server


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(url, process=None):
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before it was ready")
        try:
            if requests.get(f"{url}/model/metadata", timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # gunicorn accepts before the app is built
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} was not ready within {STARTUP_TIMEOUT} s")


@pytest.fixture(scope="session")
def service(tmp_path_factory):
    if os.environ.get("MAX_URL"):
        url = os.environ["MAX_URL"].rstrip("/")
        wait_until_ready(url)
        yield Service(url)
        return
    port = free_port()
    log = ROOT / "test-artifacts" / "server.log"
    log.parent.mkdir(exist_ok=True)
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1"}
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_ready(f"http://127.0.0.1:{port}", process)
        yield Service(f"http://127.0.0.1:{port}", log)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    assert code == 0, f"the server did not stop cleanly on SIGTERM (exit {code}); see {log}"


@pytest.fixture(scope="session")
def url(service):
    return service.url
