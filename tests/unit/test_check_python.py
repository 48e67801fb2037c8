"""Contract (no model): `make run` on a machine without Python 3.11, or without its venv module,
stops at once with a message that says what to install (bin/check-python.sh, the first step of
the Makefile's venv rule). Each machine is a PATH of its own: a folder holding the python3 it
has, or none; the venv goes to a temporary folder, so that nothing here is built."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.imagegen import ROOT

MAKE = shutil.which("make")


def interpreter(folder, script):
    """A python3 in ``folder`` that answers as ``script`` (sh) says."""
    folder.mkdir(exist_ok=True)
    path = folder / "python3"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return folder


MACHINES = {
    "no python3": ("", "python3 is not on PATH: make run needs Python 3.11 with its venv module"),
    "Python 3.12": ('echo 3.12\n', "python3 is Python 3.12: make run needs Python 3.11"),
    "Python 3.11 without venv": (  # Debian's python3 without python3-venv: no ensurepip
        'case "$2" in *ensurepip*) echo "No module named ensurepip" >&2; exit 1;; esac\necho 3.11\n',
        "no working venv module (ensurepip is missing)"),
}


@pytest.mark.parametrize("machine", MACHINES)
def test_make_run_stops_at_once_and_says_what_to_install(machine, tmp_path):
    script, message = MACHINES[machine]
    path = interpreter(tmp_path / "bin", script) if script else tmp_path
    venv = tmp_path / "venv"
    done = subprocess.run([MAKE, "--no-print-directory", "run", f"VENV={venv}"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PATH": str(path)})
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr, done.stderr
    assert "apt-get install" in done.stderr  # what to install
    assert not venv.exists()  # nothing was built before it stopped


def test_a_python_3_11_with_venv_passes(tmp_path):
    real = Path(getattr(sys, "_base_executable", sys.executable))  # this run's own Python 3.11
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "python3").symlink_to(real)
    done = subprocess.run([str(ROOT / "bin" / "check-python.sh"), "python3"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PATH": str(folder)})
    assert sys.version_info[:2] == (3, 11)
    assert (done.returncode, done.stderr) == (0, "")
