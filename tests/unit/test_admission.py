"""Contract (the tiny bucket): the room heavy requests leave (api/passes.py), draining and
readiness. Heavy requests in flight are bounded (MAX_HEAVY_REQUESTS), so that predictions and the
probes always find a thread and the heavy images held stay within docs/deployment.md's formula;
a drain refuses new heavy work; /ready follows the model's health. The runtime is the tiny
bucket's behind a gate the test holds shut (tests/unit/test_health.py's), so a request is surely
in flight: every wait is for an event."""
import io
import threading

from app import create_app
from tests.imagegen import sample_bytes

PHOTO = sample_bytes("rocket.jpg")


def post(client, route, **fields):
    return client.post(f"/model/{route}", data={"image": (io.BytesIO(PHOTO), "a.jpg"), **fields})


def test_heavy_requests_past_the_limit_get_a_503_at_once_and_light_ones_still_answer(hung):
    """Issue 40, items 8 and 15: every thread could hold a heavy request, and an admitted heavy
    request's later submits were never refused (8 x 208 images against the formula's 0.55 GB)."""
    model, gated = hung
    client = create_app(model=model, MAX_HEAVY_REQUESTS=1).test_client()
    first = {}
    busy = threading.Thread(target=lambda: first.update(response=post(client, "crops", ratios="1:1")))
    busy.start()
    assert gated.entered.wait(60)  # its passes run, and hang
    refused = post(client, "regions", regions='[{"name": "a", "box": [0, 0, 0.5, 0.5]}]')
    assert refused.status_code == 503 and int(refused.headers["Retry-After"]) >= 1
    assert "1 heavy requests (maps, videos, regions, crops) are in flight" in refused.get_json()["message"]
    assert client.get("/live").status_code == 200
    gated.gate.set()
    busy.join(60)
    assert first["response"].status_code == 200
    assert post(client, "explain").status_code == 200  # its room is free again


def test_while_draining_a_new_heavy_request_gets_a_503_and_a_prediction_answers(model, tmp_path):
    """Issue 40, item 13: a rollout's SIGTERM gave a heavy request 30 s (graceful_timeout) while a
    video or a crop search runs for minutes."""
    drain = tmp_path / "draining"
    drain.touch()
    client = create_app(model=model, DRAIN_FILE=str(drain)).test_client()
    refused = post(client, "crops")
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    assert "draining" in refused.get_json()["message"]
    assert post(client, "predict").status_code == 200
    assert client.get("/ready").status_code == 503


def test_ready_is_503_while_the_model_cannot_serve(hung):
    """Issue 40, item 14: with a hung pass or a dead batcher the pod stayed Ready, and each request
    routed to it waited for its 503 until liveness restarted it."""
    model, gated = hung
    client = create_app(model=model).test_client()
    assert client.get("/ready").get_json() == {"status": "ready"}
    stuck = threading.Thread(target=lambda: post(client, "predict"))
    stuck.start()
    assert gated.entered.wait(60)
    model.batcher.clock.step(31)  # past PASS_TIMEOUT (30 s here), as far as health can tell
    red = client.get("/ready")
    assert red.status_code == 503 and "the runtime looks hung" in red.get_json()["message"]
    gated.gate.set()
    stuck.join(60)


def test_a_heavy_request_in_flight_when_the_drain_begins_ends_at_its_next_wait_with_a_503(hung, tmp_path):
    """Issue 40, item 13: it would otherwise run on for minutes and be cut off by the stop."""
    model, gated = hung
    drain = tmp_path / "draining"
    client = create_app(model=model, DRAIN_FILE=str(drain)).test_client()
    answer = {}
    busy = threading.Thread(target=lambda: answer.update(response=post(client, "crops", ratios="1:1")))
    busy.start()
    assert gated.entered.wait(60)  # in flight: its pass runs, and hangs
    drain.touch()
    busy.join(60)  # it stops at its next look (a second), while the pass still hangs
    response = answer["response"]
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert "draining" in response.get_json()["message"]
    gated.gate.set()
