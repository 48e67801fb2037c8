"""Contract (the tiny bucket): the Open Inference Protocol's /infer (api/oip/) in process, on every
served tier: /model/predict's numbers to 1e-6 in JSON and in binary; and requests drawn at
random (hypothesis) are answered 200 or a 4xx {"error": ...}, never a 500."""
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import create_app
from core.model.tiers import TIERS
from tests.imagegen import sample_bytes
from tests.integration.oip import INFER, binary_body, json_body
from tests.settings import open_model

NAMES = ("astronaut.jpg", "coffee.jpg", "rocket.jpg")
PHOTOS = [sample_bytes(name) for name in NAMES]


def outputs_of(response):
    import numpy as np

    length = response.headers.get("Inference-Header-Content-Length")
    header = json.loads(response.data[:int(length)] if length else response.data)
    values, offset = {}, int(length or 0)
    for output in header["outputs"]:
        if "data" in output:
            values[output["name"]] = output["data"]
        else:
            size = output["parameters"]["binary_data_size"]
            values[output["name"]] = np.frombuffer(response.data[offset:offset + size], "<f4").tolist()
            offset += size
    return values


@pytest.mark.parametrize("tier", [name for name, tier in TIERS.items() if tier.served])
def test_infer_gives_predicts_numbers_on_every_tier(tier):
    model = open_model(MODEL_PRECISION=tier)
    try:
        client = create_app(model=model).test_client()
        for stable in (False, True):
            answer = client.post("/model/predict", data={"image": [(open(f"samples/{n}", "rb"), n) for n in NAMES],
                                                         "stable": str(stable).lower()})
            rows = answer.get_json()["predictions"]
            expected = {name: [row[name] for row in rows] for name in rows[0]}
            as_json = client.post(INFER, json=json_body(PHOTOS, parameters={"stable": stable}))
            raw, length = binary_body(PHOTOS, parameters={"stable": stable})
            as_binary = client.post(INFER, data=raw, headers={"Inference-Header-Content-Length": str(length)})
            for response in (as_json, as_binary):
                assert response.status_code == 200, response.data[:300]
                got = outputs_of(response)
                assert list(got) == list(expected)
                for name in expected:
                    assert got[name] == pytest.approx(expected[name], abs=1e-6), (tier, stable, name)
    finally:
        model.close()


@pytest.fixture(scope="module")
def client():
    model = open_model()
    yield create_app(model=model).test_client()
    model.close()


JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 20) | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=12)
KEYS = st.sampled_from(["id", "parameters", "inputs", "outputs", "model_name", "name", "shape", "datatype", "data",
                        "binary_data_size", "stable", "binary_data_output", "binary_data"])


def mutated(draw_body, key, value):
    """A valid request with one field, somewhere in it, replaced by ``value``."""
    places = [draw_body, draw_body["inputs"][0], draw_body.setdefault("parameters", {})]
    for place in places:
        if key in place or place is places[-1]:
            place[key] = value
            return draw_body
    return draw_body


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=KEYS, value=JSON, binary=st.booleans(), cut=st.integers(0, 40))
def test_no_request_is_answered_with_a_500(client, key, value, binary, cut):
    photo = PHOTOS[1][:2000] if cut % 2 else PHOTOS[1]  # half of them a cut JPEG
    if binary:
        raw, length = binary_body([photo])
        header = json.loads(raw[:length])
        head = json.dumps(mutated(header, key, value)).encode()
        raw, length = head + raw[length:], max(0, len(head) + cut - 20)  # a header length right, short or long
        response = client.post(INFER, data=raw, headers={"Inference-Header-Content-Length": str(length)})
    else:
        response = client.post(INFER, data=json.dumps(mutated(json_body([photo]), key, value)))
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.data[:300]
    if response.status_code != 200:
        assert set(response.get_json()) == {"error"}
