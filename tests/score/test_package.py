"""Contract (the tiny bucket): the project as an installed package (pyproject.toml, installed by
make's set-up): the `memorability-score` console script scores as `python -m score` does, from a
folder that is not the checkout, with no PYTHONPATH."""
import os
import subprocess
import sys
from pathlib import Path

from tests.expected import SCORES
from tests.imagegen import SAMPLES
from tests.score.conftest import read_rows


def test_the_console_script_scores_from_any_folder(tmp_path):
    script = Path(sys.executable).parent / "memorability-score"
    assert script.exists(), "the project is not installed: make's set-up runs pip install -e ."
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    done = subprocess.run([str(script), str(SAMPLES / "coffee.jpg"), "--out", "scores.csv", "--quiet"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    [row] = read_rows(tmp_path / "scores.csv")
    assert row["path"] == str(SAMPLES / "coffee.jpg") and row["error"] is None
    assert abs(float(row["memorability"]) - SCORES["coffee.jpg"]) < 0.002
    assert "usage: memorability-score" in subprocess.run([str(script), "--help"], env=env, capture_output=True,
                                                         text=True, timeout=60).stdout
