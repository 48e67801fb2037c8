"""Contract (the tiny bucket): `python -m score --url` against the service under test (also a
container, by MAX_URL)."""
from tests.score.conftest import check_rows, collection, read_rows, run_score  # noqa: F401 -- a fixture


def test_score_url_writes_the_golden_rows(url, collection, tmp_path):  # noqa: F811 -- the fixture
    out = tmp_path / "scores.csv"
    done = run_score(collection, "--out", out, "--url", url, "--max-files", "3")
    assert done.returncode == 1, done.stderr  # a text file and a truncated JPEG
    check_rows(read_rows(out), collection)
    assert "scored 4, failed 1, skipped 0" in done.stdout  # notes.txt is no failure: not an image
    assert "1 file met in the walk is not an image" in done.stdout
