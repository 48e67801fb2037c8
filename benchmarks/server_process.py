"""Start the service as `make run` does (gunicorn, gunicorn.conf.py) on a free port, for the
benchmarks, and for the integration, score and training tests (tests import benchmarks' helpers,
never the other way round)."""
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent

STARTUP_TIMEOUT = 180


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
