"""Contract (the tiny bucket): a tiny LaMem-format dataset made from real photos and labelled by
the teacher (the tiny ResMem: tests/settings.py), and a MemNet bucket trained on it for one short
epoch from the teacher's conv weights, through the stage's own command lines. The fine-tuning
tests that serve a tuned ResMem exactly start from ResMem itself (RESMEM)."""
import contextlib
import hashlib
import importlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from core.model.checksums import file_digest
from tests.imagegen import ROOT, SAMPLES
from tests.settings import BUCKET as TEACHER
from tests.settings import CACHE

# The tests' MemNets: fc6 and fc7 of 256 units instead of 4096, conv1-conv5 from the teacher's
# (the tiny ResMem's: narrow too), keep every stage's path (conv weights from a ResMem,
# checkpoints, export, conversion) at under 2 MB of weights instead of 225 MB.
WIDTH = ("--width", "256", "--resmem", str(TEACHER))
# TensorFlow's deterministic ops: the tests' training runs write the same bucket each time, so that
# its runtimes are found converted in MODEL_CACHE by weights md5 instead of converted (and kept)
# anew each run. Not in training.train itself: it makes tf.data's map run serially. Set here, before
# this process imports TensorFlow: the stages run in it (stage).
DETERMINISTIC = {"TF_DETERMINISTIC_OPS": "1"}
QUIET = {"TF_CPP_MIN_LOG_LEVEL": "3"}
os.environ.update({**QUIET, **DETERMINISTIC})


def stage(*args, check=True, process=False):
    """Run ``python -m training.<args>`` and return the completed process: its ``main(argv)`` in
    this process, its stdout, stderr and logs captured and its exit status returned as a child's
    would be (the same code, without a TensorFlow import, 4.5 s of a core, a call); with
    ``process``, a child process, as a user runs it."""
    if process:
        result = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                                env={**os.environ, **QUIET, **DETERMINISTIC}, timeout=600)
    else:
        result = in_process(*args)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result


def in_process(module, *argv):
    """``python -m module argv`` as ``module.main(argv)`` here. An exception that main lets through
    is raised, as a child's traceback would end the test."""
    out, err = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(err)  # what main's logging.basicConfig would print (pytest's handlers are there)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root, level = logging.getLogger(), logging.getLogger().level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), contextlib.chdir(ROOT):
            try:
                code = importlib.import_module(module).main(list(argv))
            except SystemExit as exit:  # argparse's usage errors
                code = exit.code
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    code = code if isinstance(code, int) else (0 if code is None else 1)
    return subprocess.CompletedProcess([sys.executable, "-m", module, *argv], code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="session")
def photos(tmp_path_factory):
    """The 4 sample photos, plus the left, right and lower halves of each: 16 real photos."""
    folder = tmp_path_factory.mktemp("photos")
    for path in sorted(SAMPLES.glob("*.jpg")):
        shutil.copy(path, folder / path.name)
        with Image.open(path) as image:
            w, h = image.size
            for part, box in (("left", (0, 0, w // 2, h)), ("right", (w // 2, 0, w, h)),
                              ("low", (0, h // 2, w, h))):
                image.crop(box).save(folder / f"{path.stem}-{part}.jpg", quality=95)
    (folder / "LICENSES.md").write_text("not a photo: label skips it\n")
    return folder


@pytest.fixture(scope="session")
def dataset(photos, tmp_path_factory):
    data = tmp_path_factory.mktemp("lamem") / "data"
    stage("training.label", "--images", str(photos), "--out", str(data), "--teacher", str(TEACHER),
          "--val", "0.25", "--test", "0.25", "--seed", "0")
    return data


@pytest.fixture(scope="session")
def bucket(dataset, tmp_path_factory):
    """MemNet trained for one epoch from the teacher's conv weights, with augmentation."""
    out = tmp_path_factory.mktemp("buckets") / "memnet"
    stage("training.train", "--data", str(dataset), "--split", "1", "--out", str(out), "--resmem", str(TEACHER),
          "--epochs", "1", "--batch", "4", "--learning-rate", "1e-5", *WIDTH)
    return out


def facts(bucket):
    return json.loads((bucket / "model.json").read_text())


LAB = ("--n", "120", "--val", "0.25", "--test", "0.25", "--seed", "1")


@pytest.fixture(scope="session")
def lab():
    """120 crops of the sample photos with a magenta rectangle: 'people' score the rectangle's
    share (training/synthetic.py); 60 train, 30 val, 30 test, with the halves of the participants.
    Made once into the checkout's cache, keyed by the generator, the photos and its arguments, so
    that a warm run finds its ResMem features cached and its tuned bucket's runtimes converted."""
    digest = hashlib.md5(" ".join(LAB).encode(), usedforsecurity=False)  # a cache key
    for path in [ROOT / "training" / "synthetic.py", *sorted(SAMPLES.glob("*.jpg"))]:
        digest.update(file_digest(path).encode())
    data = ROOT / ".cache" / "tests" / f"lab-{digest.hexdigest()[:16]}"
    if not (data / "splits").is_dir():
        data.parent.mkdir(parents=True, exist_ok=True)
        made = Path(tempfile.mkdtemp(dir=data.parent, prefix="making-")) / "data"
        stage("training.synthetic", "--photos", str(SAMPLES), "--out", str(made), *LAB)
        os.replace(made, data)  # whole or absent: a killed run leaves only its making- folder
        shutil.rmtree(made.parent)
    return data


@pytest.fixture(scope="session")
def tuned(lab, tmp_path_factory):
    """The fine-tuned bucket of the tiny ResMem (the teacher) on ``lab``, written with its --report
    beside it: what finetune records and reports (test_finetune, test_report). Its features are
    cached in the checkout's cache, so that a warm run reads them."""
    out = tmp_path_factory.mktemp("buckets") / "tuned"
    run = stage("training.finetune", "--data", str(lab), "--split", "1", "--out", str(out), "--base", str(TEACHER),
                "--cache", str(ROOT / ".cache" / "features"), "--report", str(out.parent / "report"))
    return out, run


@pytest.fixture(scope="session")
def tuned_resmem(lab, tmp_path_factory):
    """The fine-tuned bucket of ResMem itself on ``lab`` (fidelity: the slow tier's tests that compare
    it with ResMem and serve it exactly), its runtimes converted once (fp32 and lite-int8, one child)
    into this checkout's cache, where the server, `score` and `evaluate` find them."""
    out = tmp_path_factory.mktemp("buckets") / "tuned-resmem"
    run = stage("training.finetune", "--data", str(lab), "--split", "1", "--out", str(out),
                "--cache", str(ROOT / ".cache" / "features"))
    stage("training.runtimes", "--bucket", str(out), "--cache", str(CACHE), "--precisions", "fp32", "lite-int8")
    return out, run
