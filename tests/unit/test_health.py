"""Contract (the tiny bucket): GET /live sees the model, and a request waits for a hung model no
longer than REQUEST_TIMEOUT. The runtime is the tiny bucket's, behind a gate that the test holds
shut: a forward pass that hangs, as a stuck runtime does."""
import io
import threading

from app import create_app
from tests.imagegen import sample_bytes


def test_live_is_green_on_a_working_model(model):
    response = create_app(model=model).test_client().get("/live")
    assert (response.status_code, response.get_json()) == (200, {"status": "alive"})


def test_a_hung_pass_turns_live_red_and_requests_end_at_their_deadline(hung):
    model, gated = hung
    client = create_app(model=model, REQUEST_TIMEOUT=1).test_client()
    first = {}
    stuck = threading.Thread(target=lambda: first.update(
        response=client.post("/model/predict", data={"image": (io.BytesIO(sample_bytes()), "a.jpg")})))
    stuck.start()
    assert gated.entered.wait(60)  # its pass runs, and hangs
    assert client.get("/live").status_code == 200  # not yet past PASS_TIMEOUT
    model.batcher.clock.step(31)  # the pass has run 31 s, as far as liveness can tell
    red = client.get("/live")
    assert red.status_code == 503 and "the runtime looks hung" in red.get_json()["message"]
    stuck.join(60)  # REQUEST_TIMEOUT (1 s) ends it while the pass still hangs
    response = first["response"]
    assert response.status_code == 503 and int(response.headers["Retry-After"]) >= 1
    assert "waited 1 s for the model (REQUEST_TIMEOUT)" in response.get_json()["message"]
    assert client.get("/model/metadata").status_code == 200  # what needs no pass still answers
