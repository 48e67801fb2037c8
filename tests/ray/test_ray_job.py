"""Contract (the tiny bucket): `python -m score --ray`: the rows of the in-process command, from
object storage and folders, on a real multi-node Ray; every input once; a kill and a rerun; storage
that cannot be used."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from collection.parquet_output import ParquetOutput
from tests.imagegen import ROOT, sample_bytes, truncated
from tests.ray.conftest import read_parquet
from tests.score.conftest import run_score
from tests.videogen import clip
from tests.wait import wait_for

MAX_BYTES = 2_000_000  # MAX_IMAGE_BYTES of these runs: big.jpg is over it
PHOTOS = ("astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg")


def collection_files():
    """{key: bytes}: photos in nested prefixes, each of the kinds of bad input, a video, a hidden file."""
    files = {f"{group}/{name}": sample_bytes(name) for group in ("a", "b/c", "d") for name in PHOTOS}
    files.update({"b/cut.jpg": truncated(sample_bytes("coffee.jpg")), "notes.txt": b"stimulus list\n",
                  "empty.jpg": b"", "big.jpg": sample_bytes() + bytes(MAX_BYTES), ".hidden.jpg": sample_bytes(),
                  "d/clip.mp4": clip(["astronaut.jpg", "rocket.jpg"], seconds=1, fps=5)})
    return files


@pytest.fixture(scope="module")
def stimuli(s3, tmp_path_factory):
    """The collection in the bucket ``photos`` under ``set/``, and the same files in a folder."""
    files = collection_files()
    s3.put("photos", {f"set/{key}": data for key, data in files.items()})
    folder = tmp_path_factory.mktemp("stimuli")
    for key, data in files.items():
        (folder / key).parent.mkdir(parents=True, exist_ok=True)
        (folder / key).write_bytes(data)
    return folder


@pytest.fixture(scope="module")
def in_process(stimuli, tmp_path_factory):
    """The in-process command's rows of the folder, by relative name: what --ray must give."""
    from tests.score.conftest import read_rows

    out = tmp_path_factory.mktemp("in-process") / "scores.csv"
    done = run_score(stimuli, "--out", out, "--quiet", MAX_IMAGE_BYTES=MAX_BYTES)
    assert done.returncode == 1, done.stderr  # the bad inputs fail
    return {(os.path.relpath(row["path"], stimuli), row["time"]): row for row in read_rows(out)}


def check_same_rows(rows, expected, prefix):
    """``rows`` (of --ray) are the in-process rows: each input's rows once, scores to 1e-6,
    sizes, the same errors; ``prefix`` is what a row's path starts with."""
    keyed = {}
    for row in rows:
        assert row["path"].startswith(prefix), row
        key = (row["path"][len(prefix):], None if row["time"] is None else str(row["time"]))
        assert key not in keyed, f"{key} twice"
        keyed[key] = row
    assert set(keyed) == {(name, None if time is None else str(float(time))) for name, time in expected}
    for (name, time), want in expected.items():
        got = keyed[(name, None if time is None else str(float(time)))]
        assert got["error"] == want["error"], (name, got, want)
        if want["memorability"] is not None:
            for output in ("memorability", "false_alarm"):  # both outputs, as in process
                assert abs(got[output] - float(want[output])) <= 1e-6, (name, output, got, want)
            assert (got["width"], got["height"]) == (int(want["width"]), int(want["height"]))


def test_s3_to_s3_on_two_nodes(s3, cluster, stimuli, in_process, tmp_path):
    """The issue's command, against the moto server: every input once, the in-process scores to
    1e-6, each bad input its own message, the video a row per frame, and work on both workers."""
    ray_cluster, _ = cluster
    summary = tmp_path / "summary.json"
    done = run_score("s3://photos/set/", "--ray", ray_cluster.address, "--out", "s3://photos/scores/",
                     "--summary-json", summary, "--quiet", **s3.env, MAX_IMAGE_BYTES=MAX_BYTES)
    assert done.returncode == 1, done.stderr  # some inputs fail, as in-process
    assert "Traceback" not in done.stderr
    check_same_rows(read_parquet("s3://photos/scores/", s3), in_process, "s3://photos/set/")
    report = json.loads(summary.read_text())
    assert (report["scored"], report["failed"], report["not_images"], report["missing"]) == (13, 3, 1, 0)
    assert len(report["ray"]["rows_by_node"]) == 2, report["ray"]  # an actor on each worker scored rows
    # The secret was in the driver's environment: Ray must not have it (its logs hold each job's
    # runtime_env in plain text, and the job's info shows it).
    secret = s3.env["AWS_SECRET_ACCESS_KEY"].encode()
    logs = Path(ray_cluster.head_node.get_session_dir_path()) / "logs"
    leaked = [path.name for path in logs.rglob("*") if path.is_file() and secret in path.read_bytes()]
    assert not leaked, f"the secret is in Ray's {leaked}"


def whole(file):
    """Whether a Parquet file has its footer: one being written has not, yet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pq.read_metadata(file)
        return True
    except (OSError, pa.ArrowInvalid):
        return False


@pytest.mark.slow  # 45 s: two jobs over 64 photos; `make test` resumes a --ray run from a CSV, not after a kill
def test_kill_and_resume(s3, cluster, tmp_path):
    """Kill the driver once the first rows are written; the same command scores only the rest:
    nothing doubled, nothing lost, and no photo already scored is downloaded again."""
    ray_cluster, _ = cluster
    s3.put("photos", {f"many/{index:03d}-{name}": sample_bytes(name) for index in range(16) for name in PHOTOS})
    out, log = tmp_path / "scores", tmp_path / "first.log"
    command = [sys.executable, "-m", "score", "s3://photos/many/", "--ray", ray_cluster.address, "--out", out,
               "--quiet", "--actors", "1"]
    env = {**os.environ, **s3.env, "PYTHONPATH": str(ROOT)}
    with open(log, "w") as stream:
        first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stream, stderr=stream, start_new_session=True)
    wait_for(lambda: any(map(whole, out.glob("*.parquet"))), what="a whole Parquet file",
             unless=lambda: first.poll() is not None)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    # as the rerun reads it: a file the kill cut short is dropped
    before = ParquetOutput(str(out), outputs=("memorability", "false_alarm")).done
    assert 0 < len(before) < 64, f"the kill came after all rows were written: {log.read_text()[-2000:]}"
    moto_log = s3.log_path.read_text(errors="replace")
    second = run_score("s3://photos/many/", "--ray", ray_cluster.address, "--out", out, "--quiet", "--summary-json",
                       tmp_path / "summary.json", **s3.env)
    assert second.returncode == 0, second.stderr
    rows = read_parquet(out)
    paths = [row["path"] for row in rows]
    assert len(paths) == len(set(paths)) == 64 and all(row["error"] is None for row in rows)
    assert json.loads((tmp_path / "summary.json").read_text())["skipped"] == len(before)
    fetched_again = s3.log_path.read_text(errors="replace")[len(moto_log):]
    for path in before:
        assert f"GET /photos/{path.split('photos/', 1)[1]} " not in fetched_again, path


def csv_rows(out):
    """The rows of a CSV output, typed as Parquet's are."""
    from tests.score.conftest import read_rows

    return [{**row,
             **{k: (float(row[k]) if row[k] is not None else None) for k in ("memorability", "false_alarm", "time")},
             **{k: (int(row[k]) if row[k] is not None else None) for k in ("width", "height")}}
            for row in read_rows(out)]


def test_a_folder_on_a_local_ray_to_csv_inside_it_resumed_with_the_outputs_the_other_way_round(
        stimuli, in_process, tmp_path):
    """A Ray started for the job on this machine (RAY_ADDRESS=local: not the test cluster, which
    --ray alone would join, as ray.init does); a folder in, a CSV out inside that folder, which
    holds the rows of a/ from an earlier run; MODEL_OUTPUTS=false_alarm,memorability. The same rows,
    by column name, none of them the output's own (issue 40, item 3: the output inside the walked
    folder got a row of its own), and the summary of memorability over the rows written and those
    skipped (it was keyed by the first output, and score stopped on a KeyError; the rows skipped
    were read by the first output)."""
    import csv
    import shutil

    from collection.results import distribution

    folder, summary = tmp_path / "stimuli", tmp_path / "summary.json"
    shutil.copytree(stimuli, folder)
    out = folder / "scores.csv"
    columns = ["path", "time", "false_alarm", "memorability", "width", "height", "error"]
    earlier = [{**row, "path": f"{folder}/{name}"} for (name, _), row in in_process.items() if name.startswith("a/")]
    with open(out, "w", newline="") as stream:
        writer = csv.DictWriter(stream, columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(earlier)
    done = run_score(folder, "--ray", "--out", out, "--summary-json", summary, "--quiet", MAX_IMAGE_BYTES=MAX_BYTES,
                     RAY_ADDRESS="local", MODEL_OUTPUTS="false_alarm,memorability")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr  # the bad inputs fail, as in process
    rows = csv_rows(out)
    assert not [row for row in rows if row["path"].endswith("scores.csv")]
    check_same_rows(rows, in_process, f"{folder}/")
    report = json.loads(summary.read_text())
    expected = distribution([float(row["memorability"]) for row in in_process.values() if row["memorability"]])
    assert report["skipped"] == len(earlier) == 4 and report["memorability"] == pytest.approx(expected, abs=1e-6)


def test_manifest_of_uris(s3, cluster, stimuli, tmp_path):
    """--from-list with a CSV manifest of URIs, one of them missing: each its row."""
    ray_cluster, _ = cluster
    manifest = tmp_path / "list.csv"
    manifest.write_text("path,label\ns3://photos/set/a/rocket.jpg,1\ns3://photos/set/nothere.jpg,2\n"
                        "s3://photos/set/a/rocket.jpg,1\n")
    out = tmp_path / "scores"
    done = run_score("--from-list", manifest, "--ray", ray_cluster.address, "--out", out, "--quiet", **s3.env)
    assert done.returncode == 1, done.stderr
    rows = {row["path"]: row for row in read_parquet(out)}
    assert len(rows) == 2
    assert rows["s3://photos/set/nothere.jpg"]["error"] == "nothere.jpg cannot be read (no such object)"
    assert rows["s3://photos/set/a/rocket.jpg"]["error"] is None


@pytest.mark.parametrize("case", ["no bucket", "empty prefix", "wrong secret", "no output bucket"])
def test_storage_that_cannot_be_used(s3, stimuli, tmp_path, case):
    """A clear message and exit 2, before any Ray starts: never a traceback, never a hang."""
    source, out, env = "s3://photos/set/", "s3://photos/out/", dict(s3.env)
    expected = {"no bucket": "no such bucket: nosuchbucket", "empty prefix": "s3://photos/nothing/ holds no files",
                "wrong secret": "cannot list s3://photos/set/", "no output bucket": "no such bucket: gone"}[case]
    if case == "no bucket":
        source = "s3://nosuchbucket/set/"
    elif case == "empty prefix":
        source = "s3://photos/nothing/"
    elif case == "wrong secret":
        env["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"  # noqa: S105 -- a wrong key for the local moto server
    else:
        out = "s3://gone/scores/"
    done = run_score(source, "--ray", "--out", out, "--quiet", timeout=120, **env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert expected in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_actors_that_cannot_be_placed_fail_fast_with_a_message(cluster, stimuli, tmp_path):
    """An actor larger than any node: the job fails in seconds (Ray's wait for actors, shortened
    here as its variable allows), with exit 3 and what was asked, instead of waiting in silence."""
    ray_cluster, _ = cluster
    done = run_score(stimuli, "--ray", ray_cluster.address, "--actor-cpus", "3", "--out", tmp_path / "scores",
                     "--quiet", timeout=120, RAY_DATA_DEFAULT_WAIT_FOR_MIN_ACTORS_S=5)
    assert done.returncode == 3, done.stderr
    assert "Timed out while starting actors" in done.stderr
    assert "1 actor of 3 CPU (--actors, --actor-cpus) and read tasks of 0.25, on a cluster of 4 CPUs" in done.stderr


def test_a_resume_deletes_only_a_local_file_cut_short(s3, tmp_path, monkeypatch):
    """On a disk a kill leaves a file cut short: it is removed. In object storage a file is whole
    or absent, so one that Arrow cannot read stops the run and stays, and an error of the store
    (here a wrong secret: AccessDenied) deletes nothing either."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from collection.results import OutputError

    rows = pa.table({"path": ["a.jpg"], "memorability": [0.5], "width": [1], "height": [1], "error": [None],
                     "time": [None]}).select(["path", "time", "memorability", "width", "height", "error"])
    local = tmp_path / "local"
    local.mkdir()
    pq.write_table(rows, local / "whole.parquet")
    (local / "cut.parquet").write_bytes((local / "whole.parquet").read_bytes()[:-20])
    assert ParquetOutput(str(local)).done == {"a.jpg"}
    assert sorted(p.name for p in local.iterdir()) == ["whole.parquet"]

    s3.put("resume", {"out/whole.parquet": (local / "whole.parquet").read_bytes(), "out/odd.parquet": b"not parquet"})
    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(OutputError, match="odd.parquet in --out is not a Parquet file Arrow can read"):
        ParquetOutput("s3://resume/out/")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with pytest.raises(OutputError, match="cannot use --out s3://resume/out/"):
        ParquetOutput("s3://resume/out/")
    keys = [item["Key"] for item in s3.client().list_objects_v2(Bucket="resume")["Contents"]]
    assert sorted(keys) == ["out/odd.parquet", "out/whole.parquet"]  # nothing deleted
