"""Contract (the tiny bucket): `python -m score` on a real folder, as a researcher runs it: rows,
errors, resume, maps."""
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.expected import FALSE_STABLE_SCORES, MIRROR_SCORES, SCORES, STABLE_SCORES
from tests.imagegen import ROOT, SAMPLES, encode, sample_rgb
from tests.score.conftest import EXPECTED, check_rows, read_rows, run_score
from tests.wait import wait_for


def test_a_folder_gives_golden_rows_error_rows_and_maps(collection, tmp_path):
    out, maps = tmp_path / "scores.csv", tmp_path / "maps"
    done = run_score(collection, "--out", out, "--maps", maps)
    assert done.returncode == 1, done.stderr  # two inputs are not usable images
    check_rows(read_rows(out), collection)
    assert "scored 4, failed 1, skipped 0" in done.stdout and "1 file met in the walk is not an image" in done.stdout
    assert "memorability of the 4 scored photos: mean" in done.stdout

    for name, _, size, error in EXPECTED:
        overlay, heatmap = maps / f"{name}.overlay.png", maps / f"{name}.heatmap.npy"
        if error:
            assert not overlay.exists() and not heatmap.exists()
            continue
        with Image.open(overlay) as png:
            assert png.format == "PNG" and max(png.size) == min(512, max(size))
            assert abs(png.size[0] / png.size[1] - size[0] / size[1]) < 0.02
        grid = np.load(heatmap)
        assert max(grid.shape) == 64 and abs(grid.shape[1] / grid.shape[0] - size[0] / size[1]) < 0.05
        assert 0 <= grid.min() and grid.max() <= 1 and grid.std() > 0  # a real map, not a constant

    again = run_score(collection, "--out", out, "--maps", maps)
    assert again.returncode == 1  # the failures are still failures
    assert "scored 0, failed 0, skipped 6" in again.stdout and "(1 of them failed)" in again.stdout
    assert "1 file met in the walk is not an image" in again.stdout
    assert len(read_rows(out)) == len(EXPECTED)


def test_a_list_on_stdin_to_json_lines(tmp_path):
    listing = (f"{SAMPLES / 'coffee.jpg'}\n\n{SAMPLES / 'chelsea.jpg'}\n{tmp_path / 'gone.jpg'}\n"
               f"{SAMPLES / 'coffee.jpg'}\n")
    out = tmp_path / "scores.jsonl"
    done = run_score("--from-list", "-", "--out", out, "--workers", "0", stdin=listing)
    assert done.returncode == 1, done.stderr
    rows = read_rows(out)
    assert [row["path"] for row in rows] == [str(SAMPLES / "coffee.jpg"), str(SAMPLES / "chelsea.jpg"),
                                             str(tmp_path / "gone.jpg")]  # the repeat is dropped
    assert abs(rows[0]["memorability"] - SCORES["coffee.jpg"]) < 0.002
    assert (rows[1]["width"], rows[1]["height"]) == (451, 300)
    assert rows[2]["error"] == "gone.jpg cannot be read (No such file or directory)"

    overwritten = run_score(SAMPLES / "rocket.jpg", "--out", out, "--overwrite")
    assert overwritten.returncode == 0, overwritten.stderr
    assert [row["path"] for row in read_rows(out)] == [str(SAMPLES / "rocket.jpg")]


def test_a_run_killed_midway_resumes_with_every_path_once(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    names = []
    for copy in range(6):
        for sample in sorted(SAMPLES.glob("*.jpg")):
            names.append(f"{copy}-{sample.name}")
            shutil.copy(sample, photos / names[-1])
    out = tmp_path / "scores.csv"
    command = [sys.executable, "-m", "score", str(photos), "--out", str(out), "--batch-size", "2"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:  # killed once the header and two batches are on disk
        wait_for(lambda: out.exists() and out.read_text().count("\n") >= 1 + 4, "two batches written", timeout=180,
                 unless=lambda: process.poll() is not None)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    written = read_rows(out)
    assert process.returncode == -signal.SIGKILL and 4 <= len(written) < len(names), len(written)

    resumed = run_score(photos, "--out", out, "--batch-size", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert f"skipped {len(written)}" in resumed.stdout
    rows = read_rows(out)
    assert [row["path"] for row in rows] == [str(photos / name) for name in sorted(names)]
    for row in rows:
        golden = SCORES[os.path.basename(row["path"]).split("-", 1)[1]]
        assert row["error"] is None and abs(float(row["memorability"]) - golden) < 0.002, row


def test_usage_errors_exit_2_with_a_message(tmp_path):
    missing = run_score(tmp_path / "nowhere", "--out", tmp_path / "a.csv")
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    no_list = run_score("--from-list", tmp_path / "list.txt", "--out", tmp_path / "a.csv")
    assert no_list.returncode == 2 and "list.txt" in no_list.stderr
    nothing = run_score("--out", tmp_path / "a.csv")
    assert nothing.returncode == 2 and "give photos or folders" in nothing.stderr
    foreign = tmp_path / "notes.csv"
    foreign.write_text("name,value\nx,1\n")
    refused = run_score(SAMPLES, "--out", foreign)
    assert refused.returncode == 2 and "is not an output of this command" in refused.stderr
    assert foreign.read_text() == "name,value\nx,1\n"  # left as it was
    precision = run_score(SAMPLES, "--out", tmp_path / "b.csv", "--precision", "fp64")
    assert precision.returncode == 2 and "MODEL_PRECISION must be one of" in precision.stderr
    bucket = run_score(SAMPLES, "--out", tmp_path / "c.csv", MODEL_BUCKET=tmp_path)
    assert bucket.returncode == 2 and "is not a model bucket" in bucket.stderr


def test_help_documents_every_flag():
    # Wide enough that argparse never wraps the default bucket's path (CI's checkout is deeper).
    done = run_score("--help", COLUMNS="1000")
    assert done.returncode == 0
    for flag in ("--out", "--from-list", "--overwrite", "--maps", "--maps-format", "--quiet", "--bucket",
                 "--precision", "--batch-size", "--workers", "--jpeg-draft", "--max-pixels", "--url",
                 "--concurrency", "--max-files", "--retries", "--retry-for", "--summary-json", "--stable",
                 "--follow-links"):
        assert flag in done.stdout, flag
    assert "Exit status" in done.stdout and os.environ.get("MODEL_BUCKET", "assets/resmem") in done.stdout


def test_stable_rows_carry_the_mirror_delta_and_resume_only_as_they_were_written(tmp_path):
    """--stable: each score the mean of the photo and its mirror image (the original's two scores),
    a mirror_delta column, and a photo and its mirror as PNGs score alike; maps too."""
    from PIL import ImageOps

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("astronaut.jpg", "rocket.jpg"):
        shutil.copy(SAMPLES / name, photos / name)
    (photos / "rocket-mirrored.png").write_bytes(encode(ImageOps.mirror(sample_rgb("rocket.jpg")), "PNG"))
    out = tmp_path / "stable.csv"
    done = run_score(photos, "--out", out, "--stable", "--maps", tmp_path / "maps")
    assert done.returncode == 0, done.stderr
    rows = {os.path.basename(row["path"]): row for row in read_rows(out)}
    assert list(read_rows(out)[0]) == ["path", "time", "memorability", "false_alarm", "width", "height", "error",
                                       "mirror_delta", "false_alarm_mirror_delta"]
    for name in ("astronaut.jpg", "rocket.jpg"):
        assert float(rows[name]["memorability"]) == pytest.approx(STABLE_SCORES[name], abs=1e-5)
        assert float(rows[name]["mirror_delta"]) == pytest.approx(SCORES[name] - MIRROR_SCORES[name], abs=2e-5)
        assert float(rows[name]["false_alarm"]) == pytest.approx(FALSE_STABLE_SCORES[name], abs=1e-5)
    mirrored = rows["rocket-mirrored.png"]
    assert float(mirrored["memorability"]) == pytest.approx(float(rows["rocket.jpg"]["memorability"]), abs=1e-6)
    assert float(mirrored["mirror_delta"]) == pytest.approx(-float(rows["rocket.jpg"]["mirror_delta"]), abs=1e-6)
    assert (tmp_path / "maps" / "rocket.jpg.overlay.png").is_file()

    plain = run_score(photos, "--out", out)
    assert plain.returncode == 2 and "was written with --stable" in plain.stderr
    again = run_score(photos, "--out", out, "--stable")
    assert again.returncode == 0 and "skipped 3 already" in again.stdout


def test_a_file_that_is_not_an_output_is_never_written_not_even_with_overwrite(tmp_path):
    """Issue 40: `printf 'a,b\\n1,2' > notes.csv; score samples/ --out notes.csv` left `a,b\\n`, and
    --overwrite replaced it with scores. A JPEG as --out lost its last bytes."""
    notes, photo = tmp_path / "notes.csv", tmp_path / "photo.jsonl"
    notes.write_bytes(b"a,b\n1,2")
    photo.write_bytes((SAMPLES / "astronaut.jpg").read_bytes())
    for out in (notes, photo, tmp_path / "photo.csv"):
        if not out.exists():
            shutil.copy(SAMPLES / "rocket.jpg", out)
        data = out.read_bytes()
        for extra in ((), ("--overwrite",)):
            done = run_score(SAMPLES, "--out", out, *extra)
            assert done.returncode == 2 and "is not an output of this command" in done.stderr, done.stderr
            assert out.read_bytes() == data, (out, extra)
    assert "delete it yourself" in done.stderr


def test_two_folders_holding_the_same_name_get_a_map_each(tmp_path):
    """Issue 40: A/x.jpg and B/x.jpg gave one map, the second over the first."""
    for folder, sample in (("A", "astronaut.jpg"), ("B", "rocket.jpg")):
        (tmp_path / folder).mkdir()
        shutil.copy(SAMPLES / sample, tmp_path / folder / "x.jpg")
    maps = tmp_path / "maps"
    done = run_score(tmp_path / "A", tmp_path / "B", "--out", tmp_path / "scores.csv", "--maps", maps)
    assert done.returncode == 0, done.stderr
    overlays = sorted(path.relative_to(maps).as_posix() for path in maps.rglob("*.overlay.png"))
    assert overlays == ["A/x.jpg.overlay.png", "B/x.jpg.overlay.png"]
    assert (maps / "A/x.jpg.overlay.png").read_bytes() != (maps / "B/x.jpg.overlay.png").read_bytes()


def test_a_walk_skips_the_runs_own_output_maps_and_summary(tmp_path):
    """Issue 40: `score . --out scores.csv` gave scores.csv a row of its own, and the next run the
    maps and the summary. They are known by device and inode, not by name: a link to the output too."""
    from tests.settings import BUCKET, CACHE

    root = tmp_path / "photos"
    root.mkdir()
    for name in ("astronaut.jpg", "rocket.jpg"):
        shutil.copy(SAMPLES / name, root / name)
    for run in range(2):
        done = run_score(".", "--out", root / "scores.csv", "--maps", "maps", "--summary-json", "summary.json",
                         cwd=root, MODEL_BUCKET=BUCKET, MODEL_CACHE=CACHE)
        assert done.returncode == 0, done.stdout + done.stderr
        os.symlink("scores.csv", root / f"link-{run}.csv")
    assert "scored 0, failed 0, skipped 2" in done.stdout
    assert [row["path"] for row in read_rows(root / "scores.csv")] == ["./astronaut.jpg", "./rocket.jpg"]
    assert sorted(path.relative_to(root).as_posix() for path in (root / "maps").rglob("*.png")) == [
        "maps/astronaut.jpg.overlay.png", "maps/rocket.jpg.overlay.png"]


def test_a_summary_that_names_the_output_is_refused_before_anything_is_written(tmp_path):
    """--summary-json of the --out file would replace the rows with the summary (the attack review)."""
    out = tmp_path / "scores.jsonl"
    out.write_text('{"path": "a.jpg"}\n')
    done = run_score(SAMPLES, "--out", out, "--summary-json", out, "--quiet")
    assert done.returncode == 2 and "name the same file" in done.stderr
    assert out.read_text() == '{"path": "a.jpg"}\n'
