"""Contract (no model): the CI definitions agree. Travis (.travis.yml, the file MAX's layout names)
runs what .ci/run runs, as root in a container of the Debian release that the serving image's
base is built from (.ci/base-image.sh), with the Python 3.11 and venv that `make run` checks for."""
import re

import yaml

from tests.imagegen import ROOT


def test_travis_runs_ci_run_on_the_serving_images_debian():
    travis = yaml.safe_load((ROOT / ".travis.yml").read_text())
    (script,) = travis["script"]
    release = re.search(r"--include=\S+\s+(?:\\\s+)?(\w+)", (ROOT / ".ci" / "base-image.sh").read_text()).group(1)
    assert f" debian:{release} " in script and "--privileged" in script  # podman inside it
    assert script.rstrip("'").endswith(".ci/run")
    assert {"make", "python3", "python3-venv"} <= set(script.split())
    assert "make test" in (ROOT / ".ci" / "run").read_text()
