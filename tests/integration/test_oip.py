"""Contract (the tiny bucket): the Open Inference Protocol's routes (api/oip/), by requests written by
hand: the server's and the model's metadata and probes, /infer's numbers against /model/predict's
in JSON and in binary, and every error case a 4xx ``{"error": ...}``, never a 500. Every bad
photo that /model/predict refuses is refused here with its status and its message."""
import base64
import json

import pytest
import requests

import config
from tests.imagegen import (
    NOT_IMAGES,
    encode,
    jpeg_claiming_size,
    png_claiming_size,
    sample_bytes,
    sample_rgb,
    truncated,
)
from tests.integration.oip import INFER, assert_error, binary_body, infer, json_body, outputs_of
from tests.integration.test_api import predict
from tests.videogen import clip

SETTINGS = config.settings()
NAMES = ("astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg")
PHOTOS = [sample_bytes(name) for name in NAMES]


def predicted(url, stable=None):
    """/model/predict's answer for the samples, as {field: [value, ...]}."""
    data = {} if stable is None else {"stable": str(stable).lower()}
    response = requests.post(f"{url}/model/predict", files=[("image", (n, p)) for n, p in zip(NAMES, PHOTOS)],
                             data=data, timeout=120)
    assert response.status_code == 200, response.text
    rows = response.json()["predictions"]
    return {name: [row[name] for row in rows] for name in rows[0]}


def assert_same(got, expected):
    assert list(got) == list(expected)
    for name in expected:
        assert got[name] == pytest.approx(expected[name], abs=1e-6), name


def test_the_server_says_what_it_is_and_that_it_is_live_and_ready(url):
    assert requests.get(f"{url}/v2", timeout=10).json() == {
        "name": "max-image-memorability", "version": config.API_VERSION,
        "extensions": ["binary_tensor_data", "model_configuration"]}
    assert requests.get(f"{url}/v2/health/live", timeout=10).json() == {"live": True}
    assert requests.get(f"{url}/v2/health/ready", timeout=10).json() == {"ready": True}
    assert requests.get(f"{url}/v2/models/memorability/ready", timeout=10).json() == {
        "name": "memorability", "ready": True}


def test_the_model_configuration_is_tritons_with_the_batch_as_the_one_dimension(url):
    """perf_analyzer reads it: no batching axis of the model's own, the input's dimension is the batch."""
    config_ = requests.get(f"{url}/v2/models/memorability/config", timeout=10).json()
    metadata = requests.get(f"{url}/v2/models/memorability", timeout=10).json()
    assert (config_["name"], config_["max_batch_size"]) == ("memorability", 0)
    assert config_["input"] == [{"name": "image", "data_type": "TYPE_STRING", "dims": [-1]}]
    assert config_["output"] == [{"name": output["name"], "data_type": "TYPE_FP32", "dims": [-1]}
                                 for output in metadata["outputs"]]


def test_the_model_names_its_input_and_the_outputs_a_request_gets(url):
    outputs = requests.get(f"{url}/model/metadata", timeout=10).json()["outputs"]
    served = [output["output"] for output in outputs]
    metadata = requests.get(f"{url}/v2/models/memorability", timeout=10).json()
    # What a request of no parameters gets; the mirror deltas too where the server's default is stable.
    deltas = SETTINGS.stable_by_default
    tensors = [tensor for name in served
               for tensor in (name, "mirror_delta" if name == "memorability" else f"{name}_mirror_delta")[:1 + deltas]]
    assert metadata["name"] == "memorability" and metadata["platform"] in ("openvino", "litert")
    assert metadata["inputs"] == [{"name": "image", "datatype": "BYTES", "shape": [-1]}]
    assert metadata["outputs"] == [{"name": name, "datatype": "FP32", "shape": [-1]} for name in tensors]


@pytest.mark.parametrize("stable", [None, True, False])
def test_infer_in_json_gives_predicts_numbers(url, stable):
    extra = {} if stable is None else {"parameters": {"stable": stable}}
    response = infer(url, json_body(PHOTOS, id="request-7", **extra))
    assert response.headers["Content-Type"] == "application/json"
    header = response.json()
    assert header["model_name"] == "memorability" and header["id"] == "request-7"
    assert header["parameters"] == {"stable": bool(stable if stable is not None else SETTINGS.stable_by_default)}
    got = outputs_of(response)
    assert_same(got, predicted(url, stable))


@pytest.mark.parametrize("stable", [False, True])
def test_infer_in_binary_gives_predicts_numbers(url, stable):
    raw, length = binary_body(PHOTOS, parameters={"stable": stable})
    response = infer(url, raw=raw, header_length=length, headers={"Content-Type": "application/octet-stream"})
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert int(response.headers["Inference-Header-Content-Length"]) < len(response.content)
    assert_same(outputs_of(response), predicted(url, stable))


def test_the_outputs_asked_for_come_back_in_that_order_each_in_its_own_form(url):
    raw, length = binary_body(PHOTOS, outputs_binary=False, parameters={"stable": True}, outputs=[
        {"name": "mirror_delta", "parameters": {"binary_data": True}}, {"name": "memorability"}])
    response = infer(url, raw=raw, header_length=length)
    header = json.loads(response.content[:int(response.headers["Inference-Header-Content-Length"])])
    assert [(o["name"], "data" in o) for o in header["outputs"]] == [("mirror_delta", False), ("memorability", True)]
    expected = predicted(url, True)
    assert_same(outputs_of(response), {name: expected[name] for name in ("mirror_delta", "memorability")})


def test_a_batch_as_n_by_1_and_nested_data_is_the_same_batch(url):
    body = json_body(PHOTOS[:2])
    body["inputs"][0].update(shape=[2, 1], data=[[element] for element in body["inputs"][0]["data"]])
    assert_same(outputs_of(infer(url, body)), outputs_of(infer(url, json_body(PHOTOS[:2]))))


# What /model/predict refuses, /infer refuses the same way: the status, and the message naming the photo.
BAD_PHOTOS = {**{kind: data for kind, (_, _, data) in NOT_IMAGES.items()},
              "empty": b"", "truncated-jpeg": truncated(sample_bytes("coffee.jpg")),
              "truncated-png": truncated(encode(sample_rgb(), "PNG"), 0.3),
              "png-40000x40000": png_claiming_size(40000, 40000), "jpeg-40000x40000": jpeg_claiming_size(40000, 40000),
              "video": clip(["coffee.jpg"], seconds=1, fps=2)}


@pytest.mark.parametrize("kind", sorted(BAD_PHOTOS))
def test_a_bad_photo_is_refused_as_predict_refuses_it(url, kind):
    photos = [PHOTOS[0], BAD_PHOTOS[kind]]
    refused = predict(url, ("a.jpg", photos[0]), ("b.jpg", photos[1]))
    assert refused.status_code == 400 and "image 2" in refused.json()["message"], refused.text
    assert_error(infer(url, json_body(photos)), 400, refused.json()["message"])
    raw, length = binary_body(photos)
    assert_error(infer(url, raw=raw, header_length=length), 400, refused.json()["message"])


def test_more_images_than_max_files_are_refused(url):
    photos = [PHOTOS[0]] * (SETTINGS.MAX_FILES + 1)
    assert_error(infer(url, json_body(photos)), 400, f"{SETTINGS.MAX_FILES + 1} images sent",
                 f"at most {SETTINGS.MAX_FILES}")


@pytest.mark.parametrize("path", [INFER, INFER + "?debug=1"])
def test_a_body_over_the_size_limit_gets_413_in_the_protocols_shape(url, path):
    raw = b"{" + b" " * (SETTINGS.MAX_CONTENT_LENGTH + 1024) + b"}"
    assert_error(infer(url, raw=raw, path=path), 413, "over the limit")


def _tensor(**change):
    body = json_body(PHOTOS[:1])
    body["inputs"][0].update(change)
    return body


# (what is wrong, the body, the fragment of the error): each a 400.
BAD_REQUESTS = [
    ("not json", b"{", "not valid JSON"), ("empty body", b"", "the body is empty"),
    ("nested past the parser", b"[" * 100_000 + b"]" * 100_000, "JSON values or more"),
    ("a list", [], "must be a JSON object"), ("unknown field", json_body(PHOTOS[:1], priority=1), "'priority'"),
    ("unknown parameter", json_body(PHOTOS[:1], parameters={"stabel": True}), "'stabel'"),
    ("stable as text", json_body(PHOTOS[:1], parameters={"stable": "yes"}), "stable must be true or false"),
    ("id a number", json_body(PHOTOS[:1], id=7), "id must be a string"),
    ("no inputs", {"parameters": {}}, "inputs must be a list of one input"),
    ("two inputs", {"inputs": json_body(PHOTOS[:1])["inputs"] * 2}, "a list of one input"),
    ("another input name", _tensor(name="input0"), "named 'image'"),
    ("another datatype", _tensor(datatype="UINT8"), "the datatype BYTES"),
    ("shape 2-d", _tensor(shape=[1, 2]), "[N] or [N, 1]"), ("shape -1", _tensor(shape=[-1]), "whole numbers"),
    ("shape empty", _tensor(shape=[]), "whole numbers"), ("shape text", _tensor(shape="1"), "whole numbers"),
    ("shape 0", _tensor(shape=[0], data=[]), "at least one"),
    ("shape not the data", _tensor(shape=[2]), "holds 1 elements; its shape says 2"),
    ("data past the shape", _tensor(data=["AA=="] * 3), "holds more than 1 elements; its shape says 1"),
    ("no data", {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1]}]}, "'image' has no data"),
    ("a number as data", _tensor(data=[7]), "must be a string"),
    ("not base64", _tensor(data=["***"]), "is not base64"),
    ("unknown output", json_body(PHOTOS[:1], outputs=[{"name": "aesthetics"}]), "no output named 'aesthetics'"),
    ("delta without stable", json_body(PHOTOS[:1], parameters={"stable": False}, outputs=[{"name": "mirror_delta"}]),
     "only sent with the parameter stable"),
    ("output twice", json_body(PHOTOS[:1], outputs=[{"name": "memorability"}] * 2), "asked for twice"),
    ("output parameter", json_body(PHOTOS[:1], outputs=[{"name": "memorability", "parameters": {"classification": 2}}]),
     "'classification'"),
    ("another model named", json_body(PHOTOS[:1], model_name="resnet"), "names the model 'resnet'"),
    # 8 MiB of "{}," parsed was 190 MiB and seconds of the GIL: now refused before it is parsed
    ("a JSON bomb", b'{"x": [' + b"{}," * (8 << 18) + b"{}]}", "JSON values or more"),
    # 40,000 outputs took 14 s of CPU in a quadratic duplicate check before any refusal
    ("40,000 outputs", json.dumps(json_body(PHOTOS[:1], outputs=[{"name": f"m{i}"} for i in range(40_000)])).encode(),
     "JSON values or more"),
    ("17 outputs", json_body(PHOTOS[:1], outputs=[{"name": f"m{i}"} for i in range(17)]), "name 1 to 16"),
    ("no outputs", json_body(PHOTOS[:1], outputs=[]), "outputs names 0 outputs"),
    ("a number past 4300 digits", b'{"id": 1' + b"0" * 5000 + b"}", "a number too long to read"),
    ("data a bare string", _tensor(data="AA=="), "must be a list"),
]


@pytest.mark.parametrize("body, fragment", [case[1:] for case in BAD_REQUESTS], ids=[case[0] for case in BAD_REQUESTS])
def test_a_malformed_request_is_a_400_naming_what_is_wrong(url, body, fragment):
    response = infer(url, raw=body) if isinstance(body, bytes) else infer(url, body)
    assert_error(response, 400, fragment)


def _framed(photo_bytes=None, size=None, header_length=None, data=False, after=b""):
    raw = b"\x05\x00\x00\x00" + b"abcde" if photo_bytes is None else photo_bytes
    tensor = {"name": "image", "datatype": "BYTES", "shape": [1],
              "parameters": {"binary_data_size": len(raw) if size is None else size}}
    if data:
        tensor["data"] = ["YQ=="]
    head = json.dumps({"inputs": [tensor]}).encode()
    return head + raw + after, len(head) if header_length is None else header_length


BAD_BINARY = [
    ("header length past the body", _framed(header_length=10**6), "at most the body's"),
    ("header length not a number", (b"{}", "twelve"), "must be the length of the JSON header"),
    ("size not the bytes after", _framed(size=3), "binary_data_size of 'image' is 3; 9 bytes follow"),
    ("data and binary", _framed(data=True), "both data and binary_data_size"),
    ("cut inside a length", _framed(b"\x05\x00"), "ends inside the length of element 1"),
    ("an element longer than its bytes", _framed(b"\x50\x00\x00\x00abc"), "says 80 bytes; 3 are left"),
    ("two elements for a shape of one", _framed(b"\x01\x00\x00\x00a\x01\x00\x00\x00b"), "more than 1 elements"),
    # a million empty elements were all walked (3.4 s, +128 MiB at 32 MiB) before the count was compared
    ("a million elements for a shape of one", _framed(b"\x00" * 4_000_000), "more than 1 elements"),
    ("a header length of '²'", _framed(header_length="²"), "must be the length of the JSON header"),
    ("a header length of 4301 digits", _framed(header_length="9" * 4301), "must be the length of the JSON header"),
]


@pytest.mark.parametrize("raw, length", [case[1] for case in BAD_BINARY], ids=[case[0] for case in BAD_BINARY])
def test_a_malformed_binary_request_is_a_400(url, raw, length):
    fragment = next(case[2] for case in BAD_BINARY if case[1] == (raw, length))
    assert_error(infer(url, raw=raw, header_length=length), 400, fragment)


def test_bytes_after_a_json_request_with_no_binary_input_are_refused(url):
    head = json.dumps(json_body(PHOTOS[:1])).encode()
    assert_error(infer(url, raw=head + b"extra", header_length=len(head)), 400, "5 bytes follow the JSON header")


def test_a_compressed_body_is_a_415(url):
    assert_error(infer(url, json_body(PHOTOS[:1]), headers={"Content-Encoding": "gzip"}), 415, "Content-Encoding")


@pytest.mark.parametrize("method, path, status, fragment", [
    ("POST", "/v2/models/resnet/infer", 404, "no model named 'resnet'"),
    ("GET", "/v2/models/resnet", 404, "no model named 'resnet'"),
    ("GET", "/v2/models/memorability/versions/1", 404, "has no versions"),
    ("POST", "/v2/models/memorability/versions/1/infer", 404, "has no versions"),
    ("GET", "/v2/repository/index", 404, ""), ("GET", INFER, 405, ""), ("DELETE", "/v2/health/ready", 405, ""),
    ("BREW", INFER, 405, "not an HTTP method")])
def test_wrong_paths_and_methods_are_the_protocols_errors(url, method, path, status, fragment):
    response = requests.request(method, f"{url}{path}", data=json.dumps(json_body(PHOTOS[:1])), timeout=30)
    assert_error(response, status, fragment)
    if status == 405 and method != "BREW":
        assert method not in response.headers["Allow"]


def test_the_json_element_is_base64_of_the_photo_not_its_text(url):
    """A client that sends the photo's bytes as text (what binary_data=False does with raw bytes) is told how."""
    body = _tensor(data=[base64.b64encode(PHOTOS[0]).decode() + "!"])
    assert_error(infer(url, body), 400, "in JSON each element is the photo's bytes in base64")
