"""Contract (the tiny bucket): training.train writes a verified MemNet bucket, starts from a
ResMem's conv weights (the tiny teacher's), trains on cached bottlenecks, and resumes after a kill
with at most one epoch lost."""
import json
import re
import signal
import subprocess
import sys

import h5py
import numpy as np
import pytest

from core.model.bucket import open_bucket
from core.model.checksums import ChecksumError
from core.model.networks import build_network
from tests.imagegen import ROOT
from tests.training.conftest import TEACHER, WIDTH, facts, stage
from tests.wait import wait_for


def weights(bucket, layer):
    b = open_bucket(bucket)
    model = build_network(b.architecture, b.preprocessing.crop, b.architecture_options)
    model.load_weights(b.weights_path)
    return model.get_layer(layer).get_weights()


def test_the_bucket_passes_md5sum_and_says_what_it_is(bucket, dataset):
    assert sorted(p.name for p in bucket.iterdir()) == ["md5sums.txt", "memnet.weights.h5", "model.json"]
    check = subprocess.run(["md5sum", "-c", "md5sums.txt"], cwd=bucket, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == 2
    with h5py.File(bucket / "memnet.weights.h5") as weights_file:  # the weights, no optimizer state
        assert sorted(weights_file) == ["layers", "vars"]
    convs = facts(TEACHER)["architecture_options"]["memnet_convs"]  # the teacher's MemNet branch
    n_weights = build_network("memnet", 227, {"width": 256, "convs": convs}).count_params()
    assert (bucket / "memnet.weights.h5").stat().st_size < n_weights * 4 * 1.05 + 100_000  # weights, no more
    f = facts(bucket)
    assert (f["architecture"], f["architecture_options"], f["input_size"]) == (
        "memnet", {"sigmoid": True, "width": 256, "convs": convs}, 227)
    assert f["preprocessing"] == json.loads((TEACHER / "model.json").read_text())["preprocessing"]
    prov = f["provenance"]
    assert (prov["epochs_run"], prov["best_epoch"], prov["train_images"], prov["val_images"]) == (1, 1, 8, 4)
    assert prov["settings"]["data"] == str(dataset) and prov["settings"]["init"] == "resmem"
    assert prov["labels"]["teacher"] == facts(TEACHER)["id"]
    assert prov["init_weights_md5"] == open_bucket(TEACHER).weights_md5
    assert f["license"].endswith(facts(TEACHER)["license"])  # the teacher's licence


def test_bottlenecks_keep_resmem_convs_and_train_the_head(dataset, tmp_path):
    out = tmp_path / "head"
    stage("training.train", "--data", str(dataset), "--split", "1", "--out", str(out),
          "--epochs", "1", "--bottlenecks", "--loss", "euclidean", "--linear", *WIDTH)
    for layer in ("conv1", "conv5"):
        for ours, resmem in zip(weights(out, layer), weights(TEACHER, layer)):
            np.testing.assert_array_equal(ours, resmem)
    assert facts(out)["architecture_options"] == {"sigmoid": False, "width": 256,
                                                  "convs": facts(TEACHER)["architecture_options"]["memnet_convs"]}
    assert facts(out)["provenance"]["augmentation"] is None
    assert facts(out)["provenance"]["epochs_run"] == 1


def test_a_corrupted_bucket_is_refused_by_its_checksum(bucket, dataset, tmp_path):
    copy = tmp_path / "memnet"
    copy.mkdir()
    for file in bucket.iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    data = bytearray((copy / "memnet.weights.h5").read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the middle of the weights
    (copy / "memnet.weights.h5").write_bytes(data)
    with pytest.raises(ChecksumError, match=r"memnet\.weights\.h5 has md5 \w+, but .* pins"):
        open_bucket(copy)
    result = stage("training.evaluate", "--bucket", str(copy), "--data", str(dataset), "--split", "1",
                   check=False)
    assert result.returncode == 2 and "memnet.weights.h5 has md5" in result.stderr


@pytest.mark.slow  # 18 s of a core: two training processes, one killed; train.py's --resume is tested only here
def test_resume_after_a_kill_loses_at_most_one_epoch(dataset, tmp_path):
    """A full-width MemNet's conv1-conv5 from scratch (--init none): an epoch long enough to be
    killed after, as before the tests' MemNets took the tiny teacher's narrow convs."""
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "training.train", "--data", str(dataset), "--split", "1",
               "--out", str(out), "--epochs", "2", "--batch", "4", "--patience", "10",
               "--learning-rate", "1e-5", "--width", "256", "--init", "none"]
    state = out / "checkpoints" / "state.json"
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(state.is_file, what="the first epoch's checkpoint", unless=lambda: process.poll() is not None)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = json.loads(state.read_text())["epochs_done"]
    assert done == 1, "the kill came too late to test a resume"
    assert not (out / "model.json").exists()

    # never silently restarts, and says so before importing TensorFlow (-X importtime lists every import)
    again = subprocess.run([sys.executable, "-X", "importtime", *command[1:]], cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 2 and "pass --resume" in again.stderr, again.stderr[-2000:]
    assert not re.search(r"\|\s+(tensorflow|keras)$", again.stderr, re.M)
    resumed = stage("training.train", *command[3:], "--resume")
    assert "resuming after epoch 1 of 2" in resumed.stderr
    assert resumed.stdout.count("val Spearman") == 1  # only the epoch still to run
    assert facts(out)["provenance"]["epochs_run"] == 2
    assert not (out / "checkpoints").exists()


def test_bottlenecks_need_resmem_convs(dataset, tmp_path):
    result = stage("training.train", "--data", str(dataset), "--split", "1", "--out", str(tmp_path / "x"),
                   "--bottlenecks", "--init", "none", check=False)
    assert result.returncode == 2 and "--bottlenecks trains on frozen conv features" in result.stderr


def test_memnet_is_as_published_unless_narrowed(dataset, tmp_path):
    from core.model.networks import build_memnet

    assert [build_memnet().get_layer(name).units for name in ("fc6", "fc7")] == [4096, 4096]
    narrow = build_network("memnet", 227, {"sigmoid": True, "width": 256})
    assert narrow.get_layer("fc6").kernel.shape == (9216, 256) and narrow.count_params() < 5_000_000
    result = stage("training.train", "--data", str(dataset), "--split", "1", "--out", str(tmp_path / "x"),
                   "--width", "0", check=False)
    assert result.returncode == 2 and "--width must be at least 1, not 0" in result.stderr
    assert not (tmp_path / "x").exists()
