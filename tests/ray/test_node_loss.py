"""Contract (the tiny bucket): a worker node lost mid-run does not fail the job nor lose or double a
row (`make test-slow`)."""
import json
import os
import subprocess
import sys

import pytest

from tests.imagegen import ROOT, sample_bytes
from tests.ray.conftest import read_parquet
from tests.ray.test_ray_job import PHOTOS
from tests.wait import wait_for


@pytest.mark.slow
def test_a_lost_worker_node(cluster, tmp_path):
    ray_cluster, _ = cluster
    doomed = ray_cluster.add_node(num_cpus=2)  # a third worker, so the session's two stay whole
    ray_cluster.wait_for_nodes()
    folder = tmp_path / "photos"
    folder.mkdir()
    for index in range(24):
        for name in PHOTOS:
            (folder / f"{index:02d}-{name}").write_bytes(sample_bytes(name))
    out, summary = tmp_path / "scores", tmp_path / "summary.json"
    job = subprocess.Popen([sys.executable, "-m", "score", folder, "--ray", ray_cluster.address, "--out", out,
                            "--quiet", "--actors", "3", "--summary-json", summary], cwd=ROOT,
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: list(out.glob("*.parquet")), what="a first Parquet file",
                 unless=lambda: job.poll() is not None)
        ray_cluster.remove_node(doomed)  # its raylet, its actor, its tasks and objects: gone
        output = job.communicate(timeout=400)[0]
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode == 0, output[-3000:]
    paths = [row["path"] for row in read_parquet(out)]
    assert len(paths) == len(set(paths)) == 96
    report = json.loads(summary.read_text())
    assert report["missing"] == 0
