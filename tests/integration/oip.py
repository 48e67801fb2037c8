"""Requests of the Open Inference Protocol written by hand, for the tests of /v2 (api/oip/): the
body a client sends, in JSON (each photo base64) or with the binary tensor extension, and the
outputs read back from either form of answer."""
import base64
import json
import struct

import numpy as np
import requests

INFER = "/v2/models/memorability/infer"


def json_body(photos, **extra):
    """An inference request of ``photos`` (bytes) in JSON; ``extra`` adds or replaces its fields."""
    tensor = {"name": "image", "datatype": "BYTES", "shape": [len(photos)],
              "data": [base64.b64encode(photo).decode() for photo in photos]}
    return {"inputs": [tensor], **extra}


def binary_body(photos, outputs_binary=True, **extra):
    """(body, Inference-Header-Content-Length) of ``photos`` with the binary tensor extension."""
    raw = b"".join(struct.pack("<I", len(photo)) + photo for photo in photos)
    header = {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [len(photos)],
                          "parameters": {"binary_data_size": len(raw)}}], **extra}
    if outputs_binary:
        header.setdefault("parameters", {})["binary_data_output"] = True
    head = json.dumps(header).encode()
    return head + raw, len(head)


def infer(url, body=None, *, raw=None, header_length=None, headers=None, path=INFER):
    """POST a request: ``body`` as JSON, or ``raw`` bytes with their header length."""
    headers = dict(headers or {})
    if raw is None:
        raw = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    if header_length is not None:
        headers["Inference-Header-Content-Length"] = str(header_length)
    return requests.post(f"{url}{path}", data=raw, headers=headers, timeout=120)


def outputs_of(response):
    """{name: [value, ...]} of a 200 answer, JSON or binary (float32 after the JSON header): a
    requests response, or a Flask test client's."""
    content = response.content if hasattr(response, "content") else response.data
    assert response.status_code == 200, content[:300]
    length = response.headers.get("Inference-Header-Content-Length")
    header = json.loads(content[:int(length)] if length else content)
    values, offset = {}, int(length or 0)
    for output in header["outputs"]:
        assert output["datatype"] == "FP32" and len(output["shape"]) == 1
        if "data" in output:
            values[output["name"]] = output["data"]
        else:
            size = output["parameters"]["binary_data_size"]
            values[output["name"]] = np.frombuffer(content[offset:offset + size], "<f4").tolist()
            offset += size
        assert len(values[output["name"]]) == output["shape"][0]
    assert offset == len(content) or not length, "bytes left after the outputs"
    return values


def assert_error(response, status, *fragments):
    """The protocol's error: ``status``, JSON ``{"error": ...}`` holding each of ``fragments``."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"], str), body
    for fragment in fragments:
        assert fragment in body["error"], body["error"]
