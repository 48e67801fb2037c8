"""Contract (the tiny bucket): a rolling update drains the pod: the manifest's preStop creates
DRAIN_FILE, GET /ready turns 503 so that no new request is routed here, and the SIGTERM that follows
lets the requests in flight finish. This test starts its own server (also when MAX_URL points at a
container)."""
import http.client
import json
import signal
from urllib.parse import urlsplit

import pytest
import requests
from pytest import approx

from tests.expected import FALSE_SCORES, SCORES
from tests.imagegen import sample_bytes
from tests.integration.oip import infer, json_body, outputs_of
from tests.integration.test_metrics import samples, value
from tests.server_process import running_server
from tests.wait import wait_for


@pytest.fixture(scope="module")
def draining_server(tmp_path_factory):
    """One server for both tests: the drain check leaves it serving, the SIGTERM test stops it."""
    drain = tmp_path_factory.mktemp("drain") / "draining"
    with running_server(DRAIN_FILE=drain) as (url, process):
        yield url, process, drain


def test_ready_fails_while_draining_and_predict_still_answers(draining_server):
    url, _, drain = draining_server
    assert requests.get(f"{url}/ready", timeout=10).json() == {"status": "ready"}
    drain.touch()
    response = requests.get(f"{url}/ready", timeout=10)
    assert (response.status_code, response.json()) == (503, {"status": "draining"})
    files = [("image", ("coffee.jpg", sample_bytes("coffee.jpg"), "image/jpeg"))]
    predicted = requests.post(f"{url}/model/predict", files=files, timeout=60)
    assert predicted.status_code == 200
    # The Open Inference Protocol's probes mean the same: not ready, still live; /infer answers.
    response = requests.get(f"{url}/v2/health/ready", timeout=10)
    assert (response.status_code, response.json()) == (503, {"ready": False, "error": "draining"})
    assert requests.get(f"{url}/v2/health/live", timeout=10).json() == {"live": True}
    assert requests.get(f"{url}/v2/models/memorability/ready", timeout=10).json() == {"name": "memorability",
                                                                                      "ready": True}
    assert outputs_of(infer(url, json_body([sample_bytes("coffee.jpg")]))) == {
        "memorability": [approx(SCORES["coffee.jpg"], abs=1e-6)],
        "false_alarm": [approx(FALSE_SCORES["coffee.jpg"], abs=1e-6)]}
    drain.unlink()
    assert requests.get(f"{url}/ready", timeout=10).status_code == 200
    assert requests.get(f"{url}/v2/health/ready", timeout=10).json() == {"ready": True}


def test_sigterm_lets_the_requests_in_flight_finish(draining_server):
    """The SIGTERM comes while the request is surely in flight: its upload is half sent (the
    server is receiving it, as its gauge says: a request is read whole before it takes a thread,
    api/worker.py), and the other half follows the signal."""
    url, process, _ = draining_server
    names = sorted(SCORES) * 4  # 16 images: several forward passes
    files = [("image", (name, sample_bytes(name), "image/jpeg")) for name in names]
    upload = requests.Request("POST", f"{url}/model/predict", files=files).prepare()
    half = len(upload.body) // 2
    connection = http.client.HTTPConnection(urlsplit(url).netloc, timeout=120)
    connection.putrequest("POST", "/model/predict")
    for header, content in upload.headers.items():
        connection.putheader(header, content)
    connection.endheaders(upload.body[:half])
    wait_for(lambda: value(samples(url), "memorability_requests_receiving") == 1, what="the upload being received")
    process.send_signal(signal.SIGTERM)
    connection.send(upload.body[half:])
    response = connection.getresponse()
    answer = response.read()
    assert process.wait(timeout=60) == 0
    assert response.status == 200, answer
    scores = [p["memorability"] for p in json.loads(answer)["predictions"]]
    assert scores == pytest.approx([SCORES[n] for n in names], abs=1e-5)


def test_a_drain_file_left_from_the_containers_last_life_does_not_keep_the_new_one_unready(tmp_path):
    """preStop runs before a liveness restart too, and /tmp is the pod's emptyDir: the file it made
    outlives the container, and the new server was never Ready again (the attack review)."""
    drain = tmp_path / "draining"
    drain.touch()
    with running_server(DRAIN_FILE=drain) as (url, _):
        assert requests.get(f"{url}/ready", timeout=10).json() == {"status": "ready"}
    assert not drain.exists()
