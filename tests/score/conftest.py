"""Contract (the tiny bucket): a real collection on disk, and `python -m score` run as a user runs
it: a subprocess. The rows hold the served model's own in-process scores (tests/expected.py)."""
import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import threading

import pytest

from tests.expected import FALSE_SCORES, SCORES
from tests.imagegen import ROOT, SAMPLES, encode, sample_bytes, sample_rgb, truncated, with_orientation
from tests.server_process import running_server

# The folder's rows in walk order: (relative path, the sample it scores as or None, displayed size, error).
EXPECTED = [
    ("astronaut.jpg", "astronaut.jpg", (512, 512), None),
    ("nested/chelsea.png", "chelsea.jpg", (451, 300), None),  # lossless: same pixels
    ("nested/deeper/cut.jpg", None, None, "cut.jpg could not be decoded; it is truncated or corrupt"),
    ("nested/deeper/rotated.png", "chelsea.jpg", (451, 300), None),  # EXIF 6, stored 300x451
    ("nested/notes.txt", None, None, "notes.txt is not an image (JPEG, PNG, GIF, BMP, TIFF or WebP)"),
    ("rocket.jpg", "rocket.jpg", (640, 427), None),
]


@pytest.fixture(scope="session")
def collection(tmp_path_factory):
    """A folder with nested subfolders, a text file, a truncated JPEG, a PNG, an EXIF-rotated
    photo and a hidden file, all made from the sample photos."""
    root = tmp_path_factory.mktemp("stimuli")
    (root / "nested" / "deeper").mkdir(parents=True)
    shutil.copy(SAMPLES / "astronaut.jpg", root / "astronaut.jpg")
    shutil.copy(SAMPLES / "rocket.jpg", root / "rocket.jpg")
    shutil.copy(SAMPLES / "coffee.jpg", root / ".hidden.jpg")  # hidden: not an input
    (root / "nested" / "chelsea.png").write_bytes(encode(sample_rgb("chelsea.jpg"), "PNG"))
    (root / "nested" / "notes.txt").write_text("stimulus list, not a photo\n")
    (root / "nested" / "deeper" / "cut.jpg").write_bytes(truncated(sample_bytes("coffee.jpg")))
    (root / "nested" / "deeper" / "rotated.png").write_bytes(with_orientation(sample_rgb("chelsea.jpg"), 6))
    return root


def run_score(*args, stdin=None, timeout=300, cwd=ROOT, preexec_fn=None, **env):
    """`python -m score ARGS` from ``cwd`` (the repository root); the CompletedProcess, text mode."""
    return subprocess.run([sys.executable, "-m", "score", *map(str, args)], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=timeout, preexec_fn=preexec_fn,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **{k: str(v) for k, v in env.items()}})


def read_rows(path):
    """The rows of a CSV or JSON Lines output, as dicts of strings/numbers/None."""
    path = str(path)
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as stream:
        if path.endswith(".jsonl"):
            return [json.loads(line) for line in stream]
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(stream)]


def check_rows(rows, folder, tolerance=0.002):
    """``rows`` are EXPECTED for ``folder``: order, scores, sizes and error messages."""
    assert [row["path"] for row in rows] == [str(folder / name) for name, *_ in EXPECTED]
    for row, (name, sample, size, error) in zip(rows, EXPECTED):
        if error is None:
            assert row["error"] is None, row
            assert abs(float(row["memorability"]) - SCORES[sample]) < tolerance, (name, row)
            assert abs(float(row["false_alarm"]) - FALSE_SCORES[sample]) < tolerance, (name, row)
            assert (int(row["width"]), int(row["height"])) == size, (name, row)
        else:
            assert row["memorability"] is None and row["false_alarm"] is None and row["width"] is None, row
            assert row["error"].startswith(error), (name, row)


class DroppingProxy:
    """A TCP proxy to ``port`` that cuts the first ``drops`` connections without a byte, as a
    restarting pod or a flaky network does; it forwards the rest both ways."""

    def __init__(self, port, drops):
        self.target, self.drops, self.dropped = port, drops, 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.dropped < self.drops:
                self.dropped += 1
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.server.close()


@pytest.fixture(scope="session")
def busy_server(tmp_path_factory):
    """A `make run` server whose queue holds 1 image: concurrent requests get 503 + Retry-After."""
    log = ROOT / "test-artifacts" / "score-server.log"
    log.parent.mkdir(exist_ok=True)
    with running_server(log, MAX_QUEUE_IMAGES=1, BATCH_SIZE=1) as (url, _):
        yield url, log
