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
from tests.integration.oip import INFER, binary_body, json_body, outputs_of
from tests.settings import open_model

NAMES = ("astronaut.jpg", "coffee.jpg", "rocket.jpg")
PHOTOS = [sample_bytes(name) for name in NAMES]


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
# (where, field): each object of a request (0 the request, 1 its input, 2 its parameters, 3 its
# input's parameters) with the fields it has, and one it has not.
FIELDS = st.sampled_from([(0, key) for key in ("id", "parameters", "inputs", "outputs", "model_name", "x")]
                         + [(1, key) for key in ("name", "shape", "datatype", "data", "parameters", "x")]
                         + [(2, key) for key in ("stable", "binary_data_output", "x")]
                         + [(3, key) for key in ("binary_data_size", "x")])


def mutated(body, key, value, where):
    """A valid request with the field ``key`` of one of its objects (``where``: the request, its
    input, its parameters, its input's parameters) set to ``value``."""
    tensor = body["inputs"][0]
    places = [body, tensor, body.setdefault("parameters", {}), tensor.setdefault("parameters", {})]
    places[where][key] = value
    return body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(place=FIELDS, value=JSON, binary=st.booleans(), whole=st.booleans(), off=st.sampled_from([0, 0, 0, -1, 1, 9]))
def test_no_request_is_answered_with_a_500(client, place, value, binary, whole, off):
    (where, key), photo = place, PHOTOS[1] if whole else PHOTOS[1][:2000]  # whole, or a cut JPEG
    if binary:
        raw, length = binary_body([photo])
        header = json.loads(raw[:length])
        head = json.dumps(mutated(header, key, value, where)).encode()
        raw, length = head + raw[length:], max(0, len(head) + off)  # a header length mostly right, or short or long
        response = client.post(INFER, data=raw, headers={"Inference-Header-Content-Length": str(length)})
    else:
        response = client.post(INFER, data=json.dumps(mutated(json_body([photo]), key, value, where)))
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.data[:300]
    if response.status_code != 200:
        assert set(response.get_json()) == {"error"}
