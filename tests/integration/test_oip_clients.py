"""Contract (the tiny bucket): the Open Inference Protocol's real clients, tritonclient.http (with
the binary tensor extension, its default, and without) and the kserve SDK's REST client, get
/model/predict's numbers from /v2, its probes and metadata, and its errors as their own.

They run in .venv-clients (requirements-clients.txt; `make test-integration` builds it), by
tests/oip/clients.py in a subprocess: their pins and TensorFlow's cannot share one venv."""
import json
import subprocess

import pytest

from tests.imagegen import ROOT
from tests.integration.test_oip import NAMES, assert_same, predicted

CLIENTS = ROOT / ".venv-clients" / "bin" / "python"
PATHS = [str(ROOT / "samples" / name) for name in NAMES]


def run_client(url, client, *args, photos=PATHS):
    assert CLIENTS.exists(), f"{CLIENTS} is missing: `make .venv-clients/.installed` makes it"
    done = subprocess.run([str(CLIENTS), str(ROOT / "tests" / "oip" / "clients.py"), "--client", client,
                           "--url", url, *args, *photos], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("client, form", [("triton", []), ("triton", ["--json"]), ("kserve", []),
                                          ("kserve", ["--json"])],
                         ids=["triton-binary", "triton-json", "kserve-binary", "kserve-json"])
def test_each_client_gets_predicts_numbers(url, client, form):
    answer = run_client(url, client, *form, "--id", "batch-1")
    assert "error" not in answer, answer
    assert (answer["live"], answer["ready"], answer["model_ready"]) == (True, True, True)
    assert answer["id"] == "batch-1"
    expected = predicted(url)
    assert_same(answer["outputs"], expected)
    if client == "triton":  # what tritonclient read of the model and the server
        assert [o["name"] for o in answer["metadata"]["outputs"]] == list(expected)
        assert "binary_tensor_data" in answer["server"]["extensions"]


@pytest.mark.parametrize("client", ["triton", "kserve"])
def test_stable_and_the_outputs_asked_for_through_each_client(url, client):
    answer = run_client(url, client, "--stable", "true", "--output", "mirror_delta", "--output", "memorability")
    assert answer["parameters"] == {"stable": True}
    expected = predicted(url, stable=True)
    assert_same(answer["outputs"], {name: expected[name] for name in ("mirror_delta", "memorability")})


@pytest.mark.parametrize("client", ["triton", "kserve"])
def test_a_bad_photo_reaches_each_client_as_the_servers_message(url, client, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_bytes(b"this is just text, not a photo\n" * 20)
    answer = run_client(url, client, photos=[PATHS[0], str(bad)])
    assert int(answer["status"]) == 400
    assert "image 2 is not an image" in answer["error"], answer

