"""Contract (the tiny bucket): `python -m score --url`: the same rows through a real server, through
503s and dropped connections."""
import collections
import http.server
import re
import shutil
import threading

import pytest

from tests.expected import SCORES
from tests.imagegen import SAMPLES, pipeline_photos
from tests.score.conftest import DroppingProxy, check_rows, read_rows, run_score
from tests.server_process import free_port


def test_url_writes_the_rows_of_an_in_process_run(collection, tmp_path, busy_server):
    url, _ = busy_server
    out = tmp_path / "remote.csv"
    done = run_score(collection, "--out", out, "--url", url, "--concurrency", "4", "--max-files", "2")
    assert done.returncode == 1, done.stderr
    check_rows(read_rows(out), collection)
    assert "scored 4, failed 1" in done.stdout and "1 file met in the walk is not an image" in done.stdout


def test_503s_are_waited_out(tmp_path, busy_server):
    """Six single-photo requests at once against a queue of one: most are told to come back."""
    url, log = busy_server
    photos = tmp_path / "photos"
    photos.mkdir()
    for copy in range(3):
        for sample in SAMPLES.glob("*.jpg"):
            shutil.copy(sample, photos / f"{copy}-{sample.name}")
    out = tmp_path / "busy.csv"
    done = run_score(photos, "--out", out, "--url", url, "--concurrency", "6", "--max-files", "1")
    assert done.returncode == 0, done.stderr
    rows = read_rows(out)
    assert len(rows) == 12
    for row in rows:
        assert abs(float(row["memorability"]) - SCORES[row["path"].rsplit("-", 1)[1]]) < 0.002, row
    assert '"POST /model/predict HTTP/1.1" 503' in log.read_text()  # it was told to wait, and did


def test_dropped_connections_are_retried(collection, tmp_path, busy_server):
    url, _ = busy_server
    proxy = DroppingProxy(int(url.rsplit(":", 1)[1]), drops=3)
    try:
        out = tmp_path / "proxied.jsonl"
        done = run_score(collection, "--out", out, "--url", f"http://127.0.0.1:{proxy.port}",
                         "--concurrency", "1", "--retries", "4")
        assert done.returncode == 1, done.stderr
        assert proxy.dropped == 3
        check_rows(read_rows(out), collection)
    finally:
        proxy.close()


def test_an_unreachable_service_is_a_clear_error(collection, tmp_path):
    out = tmp_path / "nothing.csv"
    done = run_score(collection, "--out", out, "--url", f"http://127.0.0.1:{free_port()}", "--retries", "1")
    assert done.returncode == 2
    assert "/model/metadata failed 2 times; last: ConnectionError" in done.stderr
    assert not out.exists()  # its columns are the service's outputs: nothing is written without it


class AlwaysBusy(http.server.BaseHTTPRequestHandler):
    """A service that is up but always too busy: every POST is a 503 whose Retry-After (an hour)
    is longer than any --retry-for; it counts the POSTs of each photo."""
    posts = collections.Counter()

    def do_GET(self):
        self._answer(200, b'{"id": "busy"}', {})

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        AlwaysBusy.posts[re.search(rb'filename="([^"]+)"', body).group(1).decode()] += 1
        self._answer(503, b'{"status": "error", "message": "the server is busy"}', {"Retry-After": "3600"})

    def _answer(self, status, body, headers):
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_service_that_is_always_busy_ends_the_run_after_retry_for(tmp_path):
    """Retry-After is obeyed, cut to what is left of --retry-for: each photo is posted twice, once
    and once more when the budget is spent. A client deaf to Retry-After would retry on its own
    backoff (0, 1, 2 s: four posts in 3 s); one that waited the whole hour would not end before
    run_score's timeout. What is asserted is counted, not timed."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AlwaysBusy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        out = tmp_path / "busy.csv"
        done = run_score(SAMPLES / "astronaut.jpg", SAMPLES / "coffee.jpg", "--out", out, "--url",
                         f"http://127.0.0.1:{server.server_port}", "--retry-for", "3", "--max-files", "1",
                         timeout=60)
    finally:
        server.shutdown()
    assert done.returncode == 1, done.stderr
    rows = read_rows(out)
    assert [row["memorability"] for row in rows] == [None, None]
    for row in rows:
        assert row["error"] == (f"http://127.0.0.1:{server.server_port} still answered 503 after retrying "
                                "for 3 s (--retry-for): the server is busy"), row
    assert "scored 0, failed 2" in done.stdout
    assert AlwaysBusy.posts == {"astronaut.jpg": 2, "coffee.jpg": 2}


def test_score_its_maps_and_the_service_score_the_hard_photos_alike(tmp_path, busy_server):
    """A camera-sized JPEG and an EXIF-rotated one: the same score to 1e-6 from `score`,
    `score --maps` and `score --url` (the service's /model/predict and /model/explain)."""
    url, _ = busy_server
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, data in pipeline_photos().items():
        (photos / name).write_bytes(data)
    runs = {"score": [], "score --maps": ["--maps", tmp_path / "maps"], "--url": ["--url", url],
            "--url --maps": ["--url", url, "--maps", tmp_path / "url-maps"]}
    scores = {}
    for way, flags in runs.items():
        out = tmp_path / f"{len(scores)}.csv"
        done = run_score(photos, "--out", out, *flags)
        assert done.returncode == 0, (way, done.stderr)
        scores[way] = [float(row["memorability"]) for row in read_rows(out)]
    for way, values in scores.items():
        assert values == pytest.approx(scores["score"], abs=1e-6), way
    assert (tmp_path / "maps" / "rotated.jpg.overlay.png").is_file()
