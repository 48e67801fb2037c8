"""`python -m score --url`: the same rows through a real server, through 503s and dropped connections."""
import shutil

import pytest

from tests.imagegen import REFERENCE, ROOT, SAMPLES
from tests.score.conftest import DroppingProxy, check_rows, read_rows, run_score
from benchmarks.server_process import free_port, running_server


@pytest.fixture(scope="module")
def busy_server(tmp_path_factory):
    """A `make run` server whose queue holds 1 image: concurrent requests get 503 + Retry-After."""
    log = ROOT / "test-artifacts" / "score-server.log"
    log.parent.mkdir(exist_ok=True)
    with running_server(log, MAX_QUEUE_IMAGES=1, BATCH_SIZE=1) as (url, _):
        yield url, log


def test_url_writes_the_rows_of_an_in_process_run(collection, tmp_path, busy_server):
    url, _ = busy_server
    out = tmp_path / "remote.csv"
    done = run_score(collection, "--out", out, "--url", url, "--concurrency", "4", "--max-files", "2")
    assert done.returncode == 1, done.stderr
    check_rows(read_rows(out), collection)
    assert "scored 4, failed 2" in done.stdout


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
        assert abs(float(row["memorability"]) - REFERENCE[row["path"].rsplit("-", 1)[1]]) < 0.002, row
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
    assert read_rows(out) == []
