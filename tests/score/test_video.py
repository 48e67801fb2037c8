"""Contract (the tiny bucket): `python -m score` on a folder that holds a video: one row per sampled
frame, with its time; resume per video; the maps of its moments; the same rows through a running
service."""
import os
import shutil

import pytest

from tests.expected import SCORES, scores_of
from tests.imagegen import SAMPLES
from tests.score.conftest import read_rows, run_score
from tests.videogen import clip, frame_of

NAMES = ["astronaut.jpg", "coffee.jpg", "rocket.jpg"]  # 2 s each


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("footage")
    (root / "clip.mp4").write_bytes(clip(NAMES))
    shutil.copy(SAMPLES / "rocket.jpg", root / "still.jpg")
    return root


def test_a_video_gets_a_row_per_frame_and_resumes_as_a_whole(folder, tmp_path):
    out, maps = tmp_path / "scores.csv", tmp_path / "maps"
    done = run_score(folder, "--out", out, "--fps", "2", "--maps", maps)
    assert done.returncode == 0, done.stderr
    rows = read_rows(out)
    frames = [row for row in rows if row["path"].endswith("clip.mp4")]
    assert [float(row["time"]) for row in frames] == [t / 2 for t in range(12)]
    assert all((row["width"], row["height"]) == ("512", "384") for row in frames)
    by_photo = {name: [float(r["memorability"]) for r in frames if int(float(r["time"]) // 2) == i]
                for i, name in enumerate(NAMES)}
    pictures = dict(zip(NAMES, scores_of(frame_of(name) for name in NAMES)))  # as the clip holds them
    best = max(NAMES, key=pictures.get)
    assert max(by_photo, key=lambda name: max(by_photo[name])) == best
    (still,) = [row for row in rows if row["path"].endswith("still.jpg")]
    assert still["time"] is None and float(still["memorability"]) == pytest.approx(SCORES["rocket.jpg"], abs=1e-5)
    overlays = sorted(name for name in os.listdir(maps) if name.startswith("clip.mp4.t"))
    assert len(overlays) == 6  # 3 moments, an overlay and a heatmap each
    seconds = 2 * NAMES.index(best)  # the best picture's first second in the clip
    assert any(name.startswith((f"clip.mp4.t{seconds}.", f"clip.mp4.t{seconds + 1}.")) for name in overlays)

    again = run_score(folder, "--out", out, "--fps", "2")
    assert again.returncode == 0 and "skipped 2 already" in again.stdout
    assert len(read_rows(out)) == len(rows)


def test_the_scorer_and_a_service_give_the_same_rows(folder, tmp_path, busy_server):
    from collection import Scorer

    with Scorer(fps=1) as scorer:
        (result,) = scorer.score([folder / "clip.mp4"])
    local = run_score(folder / "clip.mp4", "--out", tmp_path / "local.csv")
    remote = run_score(folder / "clip.mp4", "--out", tmp_path / "remote.csv", "--url", busy_server[0])
    assert local.returncode == remote.returncode == 0, remote.stderr
    rows = [read_rows(tmp_path / name) for name in ("local.csv", "remote.csv")]
    assert [(r["time"], r["width"]) for r in rows[0]] == [(r["time"], r["width"]) for r in rows[1]]
    for a, b, frame in zip(*rows, result.frames):
        assert float(a["memorability"]) == pytest.approx(float(b["memorability"]), abs=1e-6)
        assert float(a["memorability"]) == pytest.approx(frame.memorability, abs=1e-6)
