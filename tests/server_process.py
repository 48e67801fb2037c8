"""Start the service as `make run` does (gunicorn, gunicorn.conf.py) on a free port, for the
integration, score and training tests, and for the benchmarks (which import it from here)."""
import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests

from tests.wait import wait_for

ROOT = Path(__file__).resolve().parent.parent

STARTUP_TIMEOUT = 180


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url):
    """Whether ``url`` answers /model/metadata with a 200 now."""
    try:
        return requests.get(f"{url}/model/metadata", timeout=5).status_code == 200
    except (requests.ConnectionError, requests.Timeout):  # gunicorn accepts before the app is built
        return False


def wait_until_ready(url, process=None):
    """Until the server at ``url`` answers; fails at once if ``process`` exits first."""
    try:
        wait_for(lambda: answers(url), f"{url} to answer /model/metadata", timeout=STARTUP_TIMEOUT, every=0.05,
                 unless=None if process is None else lambda: process.poll() is not None)
    except AssertionError as error:
        exited = "" if process is None or process.poll() is None else f" (the server exited with {process.returncode})"
        raise RuntimeError(f"{error}{exited}") from None


@contextlib.contextmanager
def running_server(log_path=None, **env):
    """Yield ``(url, process)`` of a ready server with ``env`` added to its environment; stop
    it with SIGTERM at the end. Its output goes to ``log_path`` (else it is discarded)."""
    port = free_port()
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", **{k: str(v) for k, v in env.items()}}
    out = open(log_path, "w") if log_path else subprocess.DEVNULL
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    finally:
        if log_path:
            out.close()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, process)
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
