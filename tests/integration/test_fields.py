"""Contract (the tiny bucket): what swagger.json says each field of each operation takes is what the
route takes. Read from the served document alone, for every declared parameter:
- each value its schema allows (boolean, enum, minimum, maximum, default, x-example) is answered
  200, and its default sent is answered as the field left out;
- each value it forbids (past a bound, of another type, not in the enum, empty: Swagger 2.0's
  allowEmptyValue is false) is a 400 that names the field; so is the field left out when required,
  sent twice, sent where it is not declared (the query string, a file for a text field, text for
  a file field);
- a field no operation declares, in the form or in the query string, is a 400 that names it (strict).
Only what a `file` is cannot come from the document: an `image` is a photo, a `video` a clip (and
/model/kind's `file` anything)."""
import json
import math

import pytest
import requests

from tests.imagegen import encode, sample_rgb
from tests.videogen import clip

UNKNOWN = "colour"


@pytest.fixture(scope="module")
def spec(url):
    return requests.get(f"{url}/swagger.json", timeout=10).json()


@pytest.fixture(scope="module")
def files():
    """A valid upload of each file field: a photo at least 64 px a side (the x-example of boxes) and
    a 1-second clip (clip's allowed values are under a second)."""
    photo = ("rocket.png", encode(sample_rgb("rocket.jpg").resize((160, 107)), "PNG"), "image/png")
    return {"image": photo, "video": ("clip.mp4", clip(["rocket.jpg"], seconds=1, size=(160, 96)), "video/mp4"),
            "file": photo}  # /model/kind's: any file


def operations(spec):
    for path, methods in sorted(spec["paths"].items()):
        for method, operation in sorted(methods.items()):
            if method in ("get", "post", "put", "delete", "patch"):
                yield path, method, operation.get("parameters", [])


def text(value):
    return json.dumps(value) if isinstance(value, bool) else str(value)


def allowed(param):
    """Values the parameter's schema allows, as a form carries them."""
    kind, low, high = param["type"], param.get("minimum"), param.get("maximum")
    values = [param[key] for key in ("default", "x-example") if key in param]
    if kind == "boolean":
        values += [True, False]
    elif "enum" in param:
        values += param["enum"]
    elif kind in ("integer", "number"):
        if low is not None:
            values.append(low + (1 if kind == "integer" else 0.5) if param.get("exclusiveMinimum") else low)
        if high is not None:
            values.append(high)
    return list(dict.fromkeys(text(v) for v in values))


def forbidden(param):
    """Values the parameter's schema forbids."""
    kind, low, high = param["type"], param.get("minimum"), param.get("maximum")
    values = [""]  # allowEmptyValue is false unless said
    if kind == "boolean":
        values += ["1", "0", "on", "True", "yes"]
    elif "enum" in param:
        values.append("not-" + param["enum"][0])
    elif kind in ("integer", "number"):
        values += ["x", "nan", "inf"] + (["1.5"] if kind == "integer" else [])
        if low is not None:
            values.append(low if param.get("exclusiveMinimum") else low - (1 if kind == "integer" else 0.5))
        if high is not None:
            values.append(high + 1)
    return [text(v) for v in values]


def send(url, path, method, form=(), uploads=(), query=None):
    """``form``: (name, text) pairs; ``uploads``: (name, (filename, bytes, type)) pairs."""
    parts = [(name, (None, value)) for name, value in form] + list(uploads)
    if method == "get":
        return requests.get(f"{url}{path}", params=query, timeout=120)
    return requests.post(f"{url}{path}", files=parts or None, params=query, timeout=300)


def base(params, files):
    """The least a valid request of the operation sends: each required field."""
    form = [(p["name"], allowed(p)[0]) for p in params if p.get("required") and p["type"] != "file"]
    uploads = [(p["name"], files[p["name"]]) for p in params if p.get("required") and p["type"] == "file"]
    return form, uploads


def without(pairs, name):
    return [(key, value) for key, value in pairs if key != name]


def refusal(response, name):
    """None when ``response`` is a JSON 400 that names ``name``, else what it is."""
    body = response.json() if response.headers.get("Content-Type", "").startswith("application/json") else {}
    if response.status_code == 400 and body.get("status") == "error" and name in body.get("message", ""):
        return None
    return f"{response.status_code} {response.text[:200]}"


def close(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, abs_tol=1e-6)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(close, a, b))
    return a == b


def test_swagger_documents_every_operation_with_what_a_valid_request_needs(spec):
    for path, _, params in operations(spec):
        for param in params:
            assert param["in"] == "formData", (path, param)
            assert param["type"] == "file" or allowed(param), f"{path} {param['name']}: no value Swagger allows"
    assert {path for path, _, _ in operations(spec)} == {
        "/model/metadata", "/model/predict", "/model/explain", "/model/regions", "/model/crops", "/model/video",
        "/model/kind"}


def test_every_value_swagger_allows_is_taken_and_a_default_is_the_field_left_out(url, spec, files):
    wrong = []
    for path, method, params in operations(spec):
        form, uploads = base(params, files)
        plain = send(url, path, method, form, uploads)
        assert plain.status_code == 200, (path, plain.text)
        for param in (p for p in params if p["type"] != "file"):
            for value in allowed(param):
                response = send(url, path, method, without(form, param["name"]) + [(param["name"], value)], uploads)
                is_default = "default" in param and value == text(param["default"])
                if response.status_code != 200:
                    wrong.append(f"{path} {param['name']}={value!r}: {response.status_code} {response.text[:200]}")
                elif is_default and not close(response.json(), plain.json()):
                    wrong.append(f"{path} {param['name']}={value!r}: the default sent is not the field left out")
    assert not wrong, "\n".join(wrong)


def test_every_value_or_place_swagger_forbids_is_a_400_that_names_the_field(url, spec, files):
    wrong = []
    for path, method, params in operations(spec):
        form, uploads = base(params, files)
        for param in params:
            name, good = param["name"], (allowed(param) or ["x"])[0]
            others = without(form, name), without(uploads, name)
            cases = {"in the query string": send(url, path, method, *others, query={name: good})}
            if param["type"] == "file":
                cases["as a text field"] = send(url, path, method, others[0] + [(name, "x")], others[1])
            else:
                cases["as a file"] = send(url, path, method, others[0], others[1] + [(name, ("f.txt", good.encode()))])
                cases["twice"] = send(url, path, method, others[0] + [(name, good)] * 2, others[1])
                for value in forbidden(param):
                    cases[repr(value)] = send(url, path, method, others[0] + [(name, value)], others[1])
            if param.get("required"):
                cases["left out"] = send(url, path, method, *others)
            wrong += [f"{path} {name} {case}: {problem}" for case, response in cases.items()
                      if (problem := refusal(response, name))]
        places = {"query": send(url, path, method, form, uploads, query={UNKNOWN: "red"})}
        if method != "get":
            places["form"] = send(url, path, method, form + [(UNKNOWN, "red")], uploads)
        for place, response in places.items():
            if problem := refusal(response, UNKNOWN):
                wrong.append(f"{path} an unknown field in the {place}: {problem}")
    assert not wrong, "\n".join(wrong)
