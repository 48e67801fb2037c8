"""Contract (the tiny bucket): `python -m score` on a folder that holds a video: one row per sampled
frame, with its time; resume per video; the maps of its moments; the same rows through a running
service. A video that cannot be read, or any exception met on one input, is that input's error
row, and the run goes on to the next."""
import os
import shutil

import pytest

from tests.expected import SCORES, scores_of
from tests.imagegen import ROOT, SAMPLES
from tests.score.conftest import read_rows, run_score
from tests.videogen import clip, frame_of, without_sps

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
        assert float(a["memorability"]) == pytest.approx(frame.scores["memorability"], abs=1e-6)


@pytest.fixture(scope="module")
def poisoned(tmp_path_factory):
    """A clip, an H.264 MPEG-TS without its SPS (PyAV: 0x0 frames; it was a ZeroDivisionError that
    ended the run, and a 500 by --url, on every resume) and a photo."""
    root = tmp_path_factory.mktemp("poisoned")
    (root / "clip.mp4").write_bytes(clip(NAMES, seconds=1))
    (root / "poison.ts").write_bytes(without_sps(clip(NAMES, seconds=2, container="mpegts", size=(160, 128))))
    shutil.copy(SAMPLES / "rocket.jpg", root / "still.jpg")
    return root


def check_poisoned(done, out, folder):
    assert done.returncode == 1, done.stderr
    rows = read_rows(out)
    assert [row["path"] for row in rows] == [str(folder / "clip.mp4")] * 3 + [str(folder / name)
                                                                             for name in ("poison.ts", "still.jpg")]
    assert all(row["error"] is None and row["memorability"] is not None for row in rows[:3] + rows[4:])
    assert rows[3]["memorability"] is None
    assert rows[3]["error"].startswith("poison.ts has frames of unknown size (0x0)"), rows[3]
    assert "scored 2, failed 1" in done.stdout


def test_a_video_that_cannot_be_read_gets_its_error_row_and_the_run_goes_on(poisoned, tmp_path):
    out = tmp_path / "scores.csv"
    check_poisoned(run_score(poisoned, "--out", out), out, poisoned)
    again = run_score(poisoned, "--out", out)  # resumes: nothing left to do, the error row stands
    assert again.returncode == 1 and "skipped 3 already" in again.stdout and "(1 of them failed)" in again.stdout


def test_through_a_service_it_is_an_error_row_too(poisoned, tmp_path, busy_server):
    out = tmp_path / "scores.csv"
    check_poisoned(run_score(poisoned, "--out", out, "--url", busy_server[0]), out, poisoned)


def test_any_exception_on_one_input_is_its_error_row_with_the_traceback_logged(poisoned, tmp_path):
    """A bug met on one input (injected here: RuntimeError while clip.mp4 is scored) is that
    input's row, "<name> could not be scored: <type>: <message>", its traceback is in the log,
    and the next inputs are scored."""
    (tmp_path / "inject").mkdir()
    (tmp_path / "inject" / "sitecustomize.py").write_text(
        "import core.analyses.video\n"
        "def timeline(self, *args, **kwargs):\n"
        "    raise RuntimeError(f'injected while scoring {self.name}')\n"
        "core.analyses.video.VideoReader.timeline = timeline\n")
    out = tmp_path / "scores.csv"
    done = run_score(poisoned, "--out", out, PYTHONPATH=os.pathsep.join([str(tmp_path / "inject"), str(ROOT)]))
    assert done.returncode == 1, done.stderr
    rows = read_rows(out)
    assert [os.path.basename(row["path"]) for row in rows] == ["clip.mp4", "poison.ts", "still.jpg"]
    assert rows[0]["error"] == "clip.mp4 could not be scored: RuntimeError: injected while scoring clip.mp4"
    assert rows[0]["memorability"] is None and rows[0]["time"] is None
    assert rows[2]["error"] is None and float(rows[2]["memorability"]) == pytest.approx(SCORES["rocket.jpg"], abs=1e-5)
    assert "Traceback" in done.stderr and "RuntimeError: injected while scoring clip.mp4" in done.stderr
