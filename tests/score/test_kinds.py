"""Contract (the tiny bucket): `python -m score` tells photos, videos and other files apart by their
bytes, never their names, and counts "not an image, met in a walk" one way (core/inputs/kinds.py
and collection.inputs.Input.not_an_image), in-process, by --url and on resume alike."""
import json

import numpy as np
import pytest
from PIL import Image

from tests.expected import SCORES
from tests.imagegen import encode, sample_bytes
from tests.score.conftest import read_rows, run_score
from tests.videogen import clip

# name -> (bytes, what its row is): scored, a failure, or not an image (no failure).
FILES = {
    "README.txt": (b"the stimuli of the study, in the order shown\n", "not_image"),
    "photo.bin": (b"\xff\xd8\xff\xe0" + np.random.default_rng(0).bytes(4096), "failed"),  # a broken JPEG by its bytes
    "notes.mp4": (b"shot list, not a video\n", "failed"),  # its name claims a video
    "favicon.ico": (encode(Image.new("RGB", (16, 16), (0, 0, 255)), "ICO"), "failed"),  # an image not taken
    "clip.jpg": (clip(["coffee.jpg"], seconds=2), "scored"),  # a video named .jpg
    "photo.mp4": (sample_bytes("rocket.jpg"), "scored"),  # a photo named .mp4
}


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    root = tmp_path_factory.mktemp("walk")
    for name, (data, _) in FILES.items():
        (root / name).write_bytes(data)
    return root


def check(out, summary):
    rows = read_rows(out)
    by_name = {}
    for row in rows:
        by_name.setdefault(row["path"].rsplit("/", 1)[1], []).append(row)
    assert [row["time"] is not None for row in by_name["clip.jpg"]] == [True, True]  # one row a frame
    assert float(by_name["photo.mp4"][0]["memorability"]) == pytest.approx(SCORES["rocket.jpg"], abs=0.002)
    assert by_name["README.txt"][0]["error"] == "README.txt is not an image (JPEG, PNG, GIF, BMP, TIFF or WebP)"
    assert by_name["favicon.ico"][0]["error"].startswith("favicon.ico is a ICO file")
    expected = {status: sum(1 for _, wanted in FILES.values() if wanted == status)
                for status in ("scored", "failed", "not_image")}
    assert (summary["scored"], summary["failed"], summary["not_images"]) == (
        expected["scored"], expected["failed"], expected["not_image"])


@pytest.mark.parametrize("through", ["process", "url"])
def test_a_walk_counts_by_the_bytes_and_its_resume_counts_the_same(walk, tmp_path, request, through):
    url = ["--url", request.getfixturevalue("busy_server")[0]] if through == "url" else []
    out, summary = tmp_path / "scores.csv", tmp_path / "summary.json"
    done = run_score(walk, "--out", out, "--summary-json", summary, *url)
    assert done.returncode == 1, done.stderr  # three files are failures
    check(out, json.loads(summary.read_text()))
    assert "1 file met in the walk is not an image" in done.stdout

    again = run_score(walk, "--out", out, *url)
    assert again.returncode == 1 and "scored 0, failed 0, skipped 6" in again.stdout
    assert "(3 of them failed)" in again.stdout and "1 file met in the walk is not an image" in again.stdout
