"""Contract (the tiny bucket): a fine-tune fails early and leaves nothing behind. Every photo is
decoded before any pass over the network (training/overlap.py fingerprints them all), and every
unreadable one is named at once, in every split; a pass that fails removes its temporary folder,
and one left by a killed run is removed by the next."""
import os
import shutil
import subprocess
import sys

from tests.training.conftest import TEACHER, stage
from training import bottlenecks


def test_every_unreadable_photo_is_named_before_any_pass(dataset, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(dataset, data)
    names = {kind: (data / "splits" / f"{kind}_1.txt").read_text().split()[0] for kind in ("train", "val")}
    cut = data / "images" / names["train"]
    cut.write_bytes(cut.read_bytes()[:2000])  # truncated
    (data / "images" / names["val"]).write_bytes(b"a note, not a photo\n" * 30)
    features = tmp_path / "features"
    run = stage("training.finetune", "--data", str(data), "--split", "1", "--base", str(TEACHER),
                "--out", str(tmp_path / "b"), "--cache", str(features), check=False)
    assert run.returncode == 2, run.stderr[-3000:]
    assert "train_1: 1 of " in run.stderr and f"{names['train']} (could not be decoded; it is truncated" in run.stderr
    assert "val_1: 1 of " in run.stderr and f"{names['val']} (is not an image" in run.stderr
    assert not features.exists() and not (tmp_path / "b").exists()  # no pass began, nothing written


def pipeline_of(bucket):
    import config
    from core.inputs.pipeline import InputPipeline

    return InputPipeline.from_settings(bucket.preprocessing, config.settings())


def test_a_failed_pass_removes_its_folder_and_a_killed_runs_is_removed_next(dataset, tmp_path):
    from training.finetune import BaseNetwork, base_bucket

    bucket = base_bucket(str(TEACHER))
    network, pipeline = BaseNetwork(bucket), pipeline_of(bucket)
    photos = sorted((dataset / "images").glob("*.jpg"))[:3]
    bad = tmp_path / "gone.jpg"  # called alone, the pass meets it (finetune's fingerprints would name it first)
    bad.write_bytes(b"a note, not a photo\n" * 10)
    entries = [(str(p), 0.5) for p in photos] + [(str(bad), 0.5)]
    folder = tmp_path / "cache"
    weights = f"{bucket.weights_md5} {bucket.checksums['model.json']}"
    try:
        bottlenecks.outputs(network, ["flatten"], entries, pipeline, folder, batch=2, weights_id=weights)
        raise AssertionError("the pass over an unreadable photo did not fail")
    except Exception as error:  # noqa: BLE001 - whatever the pass raised, its folder must be gone
        assert "gone.jpg" in str(error) or "not an image" in str(error), error
    assert list(folder.iterdir()) == []
    # A run killed while it wrote (SIGKILL: no cleanup) leaves its folder, named by its process.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = folder / f"tmp-resmem-features-0123-{int(dead.stdout)}-abc_12"
    orphan.mkdir()
    (orphan / "flatten.npy").write_bytes(b"\0" * 1024)
    mine = folder / f"tmp-resmem-features-0123-{os.getpid()}-def_34"  # a live run's: kept
    mine.mkdir()
    bottlenecks.outputs(network, ["flatten"], entries[:3], pipeline, folder, batch=2, weights_id=weights)
    left = sorted(p.name for p in folder.iterdir())
    assert orphan.name not in left and mine.name in left and any(n.startswith("features-") for n in left), left
