"""Contract (the tiny bucket): `python -m score` on a disk shaped like a researcher's: a symlink
loop, a 6 GB sparse file, a FIFO, names that are not UTF-8 or hold newlines, commas, quotes or a
formula, and a notes file. Every run must end by itself (a timeout fails it), write one row per real
file and keep its memory near that of an ordinary run; a rerun writes nothing twice."""
import json
import os
import resource
import shutil
import signal

import pytest

from tests.expected import SCORES
from tests.imagegen import SAMPLES
from tests.score.conftest import read_rows, run_score
from tests.settings import BUCKET, CACHE

SPARSE = 6 * 2**30
NOT_UTF8 = os.fsdecode(b"caf\xe9-\xff\xfe.jpg")  # Latin-1 bytes, as an old disk or a zip holds them
ODD = {"two\nlines.jpg": "chelsea.jpg", 'a, "quoted".jpg': "coffee.jpg", "=HYPERLINK(1).jpg": "rocket.jpg",
       NOT_UTF8: "coffee.jpg"}


def make_disk(root, sparse=True):
    (root / "sub").mkdir(parents=True)
    shutil.copy(SAMPLES / "astronaut.jpg", root / "astronaut.jpg")
    shutil.copy(SAMPLES / "rocket.jpg", root / "sub" / "rocket.jpg")
    os.symlink("..", root / "sub" / "loop")  # sub/loop/sub/loop/... for ever, if followed
    os.symlink(root / "astronaut.jpg", root / "sub" / "link.jpg")  # a link to a file: scored
    os.mkfifo(root / "pipe.jpg")
    (root / "README.txt").write_text("stimuli for experiment 2\n")
    for name, sample in ODD.items():
        shutil.copy(SAMPLES / sample, os.path.join(root, name))
    if sparse:
        with open(root / "sparse.jpg", "wb") as stream:
            stream.write(b"\xff\xd8\xff")  # a JPEG by its first bytes, refused by its size
            stream.truncate(SPARSE)  # 6 GB on paper, nothing on disk
    return root


def rows_by_name(out, root):
    return {os.path.relpath(row["path"], root): row for row in read_rows(out)}


def test_a_hostile_disk_gives_one_row_per_file_its_memory_stays_flat_and_a_rerun_writes_nothing_twice(tmp_path):
    """CSV here; JSON Lines' escapes are held by tests/unit/test_results.py."""
    root = make_disk(tmp_path / "disk")
    out = tmp_path / "scores.csv"
    done = run_score(root, "--out", out, "--summary-json", tmp_path / "summary.json", timeout=300)
    assert done.returncode == 1, done.stderr  # the FIFO and the sparse file claim to be photos
    rows = rows_by_name(out, root)
    assert sorted(rows) == sorted(["astronaut.jpg", "pipe.jpg", "README.txt", "sparse.jpg", "sub/link.jpg",
                                   "sub/rocket.jpg", *ODD])
    assert rows["pipe.jpg"]["error"] == "pipe.jpg is not a regular file: it is a named pipe (FIFO)"
    assert rows["sparse.jpg"]["error"] == (f"sparse.jpg is {SPARSE} bytes, over the limit of {400 * 2**20} "
                                           "bytes (MAX_IMAGE_BYTES)")
    assert rows["README.txt"]["error"] == "README.txt is not an image (JPEG, PNG, GIF, BMP, TIFF or WebP)"
    for name, sample in {**ODD, "sub/link.jpg": "astronaut.jpg", "sub/rocket.jpg": "rocket.jpg"}.items():
        assert rows[name]["error"] is None, rows[name]
        assert float(rows[name]["memorability"]) == pytest.approx(SCORES[sample], abs=1e-5), name
    assert os.fsencode(next(row["path"] for row in read_rows(out) if row["path"].endswith(NOT_UTF8))).endswith(
        b"caf\xe9-\xff\xfe.jpg")  # the name's own bytes come back
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert (summary["scored"], summary["failed"], summary["not_images"]) == (7, 2, 1)
    assert b"caf\xe9-\xff\xfe.jpg" in out.read_bytes()  # the name's own bytes

    size = out.stat().st_size
    again = run_score(root, "--out", out, timeout=300)
    assert again.returncode == 1 and "scored 0, failed 0, skipped 10 already" in again.stdout
    assert "1 file met in the walk is not an image" in again.stdout
    assert out.stat().st_size == size

    # The same folder without the 6 GB file: the peak RSS is the same, within 100 MB.
    (root / "sparse.jpg").unlink()
    plain = run_score(root, "--out", tmp_path / "plain.csv", "--summary-json", tmp_path / "plain.json", timeout=300)
    assert plain.returncode == 1, plain.stderr
    peaks = [json.loads((tmp_path / name).read_text())["peak_rss_mb"] for name in ("summary.json", "plain.json")]
    assert peaks[0] - peaks[1] < 100, peaks  # 6 GB were never read


def test_a_fifo_named_or_listed_gets_its_row_and_follow_links_ends_a_loop(tmp_path):
    root = make_disk(tmp_path / "disk", sparse=False)
    out = tmp_path / "named.csv"
    listing = tmp_path / "list.txt"
    listing.write_bytes(os.fsencode(root / "pipe.jpg") + b"\n" + os.fsencode(os.path.join(root, NOT_UTF8)) + b"\n")
    done = run_score(root / "pipe.jpg", "--from-list", listing, "--out", out, timeout=120)
    assert done.returncode == 1
    rows = read_rows(out)
    assert [os.path.basename(row["path"]) for row in rows] == ["pipe.jpg", NOT_UTF8]
    assert rows[0]["error"] == "pipe.jpg is not a regular file: it is a named pipe (FIFO)"
    assert float(rows[1]["memorability"]) == pytest.approx(SCORES["coffee.jpg"], abs=1e-5)

    # A relative name that a spreadsheet would run: written with a leading ', read back without.
    formula = tmp_path / "formula.csv"
    for _ in range(2):
        done = run_score("--from-list", "-", "--out", formula, stdin="=HYPERLINK(1).jpg\n+2.txt\n", cwd=root,
                         MODEL_BUCKET=BUCKET, MODEL_CACHE=CACHE, timeout=120)
    assert done.returncode == 1 and "skipped 2 already" in done.stdout
    raw = formula.read_text()
    assert "\n'=HYPERLINK(1).jpg,," in raw and "\n'+2.txt,,,,,,'+2.txt cannot be read" in raw
    rows = read_rows(formula)
    assert [row["path"] for row in rows] == ["'=HYPERLINK(1).jpg", "'+2.txt"]  # as a spreadsheet shows
    assert float(rows[0]["memorability"]) == pytest.approx(SCORES[ODD["=HYPERLINK(1).jpg"]], abs=1e-5)

    followed = run_score(root, "--out", tmp_path / "followed.csv", "--follow-links", timeout=300)
    assert followed.returncode == 1  # the loop was entered and ended: each real folder once
    assert len(read_rows(tmp_path / "followed.csv")) == 9  # no sparse file on this disk


def test_a_notes_file_beside_the_samples_is_no_failure():
    """`make score IMAGES=samples`: LICENSES.md is not an image, and that is not an error."""
    done = run_score(SAMPLES, "--out", "/dev/null/never", timeout=120)
    assert done.returncode == 2  # an output that cannot be made is a set-up error
    done = run_score(SAMPLES, "--out", SAMPLES.parent / "test-artifacts" / "samples.csv", "--overwrite", timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 file met in the walk is not an image" in done.stdout


def no_file_past(size):
    """A preexec_fn: the child cannot write a file past ``size`` bytes (RLIMIT_FSIZE): write() fails
    with EFBIG, as it fails with ENOSPC on a full disk or EDQUOT over a quota, with no root and no
    small filesystem to mount. SIGXFSZ, which would kill the child instead, is ignored."""
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return limit


def test_a_full_disk_exits_4_with_whole_rows_and_the_same_command_resumes(tmp_path):
    """Issue 40: a full disk ended in a traceback, exit 1 (the status of failed inputs) and half a row."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for copy in range(3):
        for sample in sorted(SAMPLES.glob("*.jpg")):
            shutil.copy(sample, photos / f"{copy}-{sample.name}")
    out = tmp_path / "scores.csv"
    row = len(f"{photos}/0-astronaut.jpg,,0.123456789012345678,0.123456789012345678,512,512,\n")
    full = run_score(photos, "--out", out, "--batch-size", "1", preexec_fn=no_file_past(60 + 2 * row + row // 2))
    assert full.returncode == 4, full.stdout + full.stderr
    assert "no room to write" in full.stderr and "run the same command again" in full.stderr, full.stderr
    assert "Traceback" not in full.stderr
    written = read_rows(out)
    assert out.read_bytes().endswith(b"\n") and 1 <= len(written) < 12  # whole rows only
    assert all(row["error"] is None and row["memorability"] for row in written)

    resumed = run_score(photos, "--out", out, "--batch-size", "1")
    assert resumed.returncode == 0 and f"skipped {len(written)}" in resumed.stdout, resumed.stderr
    rows = read_rows(out)
    assert [row["path"] for row in rows] == sorted(str(path) for path in photos.iterdir())
    for row in rows:
        sample = os.path.basename(row["path"]).split("-", 1)[1]
        assert float(row["memorability"]) == pytest.approx(SCORES[sample], abs=1e-5)


def test_a_full_disk_while_writing_maps_exits_4_and_leaves_no_map_cut_short(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("astronaut.jpg", "rocket.jpg"):
        shutil.copy(SAMPLES / name, photos / name)
    out, maps = tmp_path / "scores.csv", tmp_path / "maps"
    full = run_score(photos, "--out", out, "--maps", maps, preexec_fn=no_file_past(64 * 1024))  # no overlay fits
    assert full.returncode == 4 and "no room to write" in full.stderr, full.stdout + full.stderr
    assert not [path for path in maps.rglob("*") if path.is_file()]  # no map cut short, no .partial
    assert read_rows(out) == []  # the batch whose maps failed has no rows: it is scored again

    resumed = run_score(photos, "--out", out, "--maps", maps)
    assert resumed.returncode == 0, resumed.stderr
    assert len(read_rows(out)) == 2 and len(list(maps.glob("*.overlay.png"))) == 2
