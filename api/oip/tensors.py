"""The Open Inference Protocol's inference request and response bodies, in JSON and with the binary
tensor extension (``binary_tensor_data``), for this service's one input and its outputs.

A request's JSON header is the whole body, or, with ``Inference-Header-Content-Length: n``, its
first n bytes; each input whose ``parameters`` give ``binary_data_size`` then takes that many of
the bytes after it, in the order of ``inputs``. A BYTES tensor in binary is each element as a
4-byte little-endian length and its bytes (what tritonclient and the kserve SDK send); in JSON,
an element is a string, which here is the photo's bytes in base64 (JSON strings cannot hold
arbitrary bytes). An output asked for with ``binary_data`` (or every output, with the request's
``binary_data_output``) is sent after the response's JSON header as little-endian float32.

Everything a client sends is checked here, before a photo is decoded: a 400 (ProtocolError)
names the field that is wrong, and a field this service does not know is refused, not ignored.
"""
import base64
import binascii
import json
import struct
from collections import Counter
from dataclasses import dataclass

import numpy as np

HEADER_LENGTH = "Inference-Header-Content-Length"
INPUT = "image"  # the one input: encoded photos, as the MAX routes' field is named
REQUEST_KEYS = {"id", "parameters", "inputs", "outputs", "model_name"}  # model_name: the kserve SDK sends it
REQUEST_PARAMETERS = {"stable", "binary_data_output"}
INPUT_KEYS = {"name", "shape", "datatype", "parameters", "data"}
MOST_OUTPUTS = 16  # more than any model here has (two outputs and their mirror deltas)


def oip_path(path):
    """Whether a path (str, without its query) is one of the Open Inference Protocol's routes:
    their errors are ``{"error": ...}`` (api/errors.py, api/receiving.py)."""
    return path == "/v2" or path.startswith("/v2/")


class ProtocolError(ValueError):
    """A request the protocol or this model cannot take: a 4xx, ``{"error": ...}``."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


@dataclass
class InferRequest:
    images: list  # the photos' encoded bytes, in the tensor's order
    id: str = None
    stable: bool = None  # None: the server's default (MODEL_TTA)
    outputs: list = None  # (name, binary) asked for, in order; None: every output
    binary_output: bool = False  # the request's binary_data_output: every output in binary
    model_name: str = None  # as the request names it (the kserve SDK does), beside the path's


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _object(value, where, keys):
    if not isinstance(value, dict):
        raise ProtocolError(f"{where} must be a JSON object")
    unknown = sorted(set(value) - keys)
    if unknown:
        raise ProtocolError(f"{where} has the field {unknown[0][:40]!r}, which this model does not take; "
                            f"it takes {', '.join(sorted(keys))}")
    return value


def _flag(parameters, name, where):
    value = parameters.get(name)
    if value is not None and not isinstance(value, bool):
        raise ProtocolError(f"{where}.{name} must be true or false, not {_short(value)}")
    return value


def header_and_binary(body, header_length, most):
    """(the request's JSON object, a memoryview of the bytes after it) of ``body``;
    ``header_length`` is the Inference-Header-Content-Length header as sent, or None; ``most`` is
    MAX_FILES, which bounds how many JSON values a request may hold."""
    view = memoryview(body)  # the photos are views of it: a binary request is held once, not twice
    if header_length is None:
        header, binary = body, view[len(view):]  # JSON alone: parsed from the body itself, not a copy
    else:
        # isdecimal, not isdigit ('²' is a digit that int() refuses); 20 digits pass any body
        if not (header_length.isascii() and header_length.isdecimal() and len(header_length) <= 20) \
                or int(header_length) > len(body):
            raise ProtocolError(f"{HEADER_LENGTH} must be the length of the JSON header in bytes, at most the "
                                f"body's {len(body)}, not {header_length[:40]!r}")
        header, binary = bytes(view[:int(header_length)]), view[int(header_length):]
    if not header:
        raise ProtocolError("the body is empty: send an inference request, a JSON object with inputs")
    # A request of ``most`` photos is a few dozen JSON values; 32 MiB of "[{},{},...]" parsed is
    # 770 MiB and seconds of the GIL. Every value but a container's first follows a comma.
    values = header.count(b",") + header.count(b"{") + header.count(b"[")
    if values > 64 + 4 * most:
        raise ProtocolError(f"the request holds {values} JSON values or more; an inference request of at most "
                            f"{most} photos (MAX_FILES) holds a few dozen")
    try:
        request = json.loads(header)
    except json.JSONDecodeError as error:
        raise ProtocolError(f"the request is not valid JSON: {error.msg} at byte {error.pos}") from None
    except UnicodeDecodeError:
        raise ProtocolError("the request's JSON is not UTF-8") from None
    except ValueError:  # a number past the interpreter's 4300 digits
        raise ProtocolError("the request's JSON has a number too long to read") from None
    except RecursionError:  # arrays nested deeper than the parser goes
        raise ProtocolError("the request's JSON is nested too deep") from None
    return _object(request, "the request", REQUEST_KEYS), binary


def _short(value):
    """A short JSON rendering of ``value`` for a message: never the whole of a large one."""
    if isinstance(value, str):
        return json.dumps(value[:40])
    if isinstance(value, (list, dict)):
        return f"a {'list' if isinstance(value, list) else 'JSON object'} of {len(value)}"
    return json.dumps(value)[:40]


def _bytes_elements(raw, count):
    """The ``count`` elements of a BYTES tensor in binary: each a 4-byte length and its bytes."""
    elements, offset = [], 0
    while offset < len(raw) and len(elements) <= count:  # one past the shape is enough to refuse
        if offset + 4 > len(raw):
            raise ProtocolError(f"the binary data of {INPUT!r} ends inside the length of element {len(elements) + 1}")
        (size,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + size > len(raw):
            raise ProtocolError(f"element {len(elements) + 1} of {INPUT!r} says {size} bytes; "
                                f"{len(raw) - offset} are left in its binary data")
        elements.append(raw[offset:offset + size])  # a view of the body
        offset += size
    if len(elements) != count or offset < len(raw):
        held = f"more than {count}" if len(elements) > count or offset < len(raw) else f"{len(elements)}"
        raise ProtocolError(f"the binary data of {INPUT!r} holds {held} elements; its shape says {count}")
    return elements


def _json_elements(data, count):
    """The ``count`` elements of a BYTES tensor in JSON: base64 strings, flat or nested by row."""
    if not isinstance(data, list):
        raise ProtocolError(f"the data of {INPUT!r} must be a list: one base64 string a photo")
    flat, stack = [], [data]
    while stack and len(flat) <= count:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        else:
            flat.append(item)
    if len(flat) != count or stack:
        held = f"more than {count}" if len(flat) > count or stack else f"{len(flat)}"
        raise ProtocolError(f"the data of {INPUT!r} holds {held} elements; its shape says {count}")
    data.clear()  # each string is dropped once decoded: the photos are not held twice
    elements = []
    for number, item in enumerate(flat, 1):
        flat[number - 1] = None
        if not isinstance(item, str):
            raise ProtocolError(f"element {number} of {INPUT!r} must be a string: the photo's bytes in base64")
        try:
            elements.append(base64.b64decode(item, validate=True))
        except (binascii.Error, ValueError):
            raise ProtocolError(f"element {number} of {INPUT!r} is not base64: in JSON each element is the "
                                "photo's bytes in base64; send raw bytes with the binary extension") from None
    return elements


def _shape(shape, most):
    """N of a shape [N] or [N, 1], 1 <= N <= ``most`` (MAX_FILES)."""
    if not isinstance(shape, list) or not shape or not all(_is_int(side) and side >= 0 for side in shape):
        raise ProtocolError(f"the shape of {INPUT!r} must be a list of whole numbers, not {_short(shape)}")
    if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
        raise ProtocolError(f"the shape of {INPUT!r} must be [N] or [N, 1], a photo an element, not {shape}")
    if not 1 <= shape[0] <= most:
        raise ProtocolError(f"{shape[0]} images sent; at most {most} per request (MAX_FILES), and at least one")
    return shape[0]


def parse(body, header_length, most):
    """The InferRequest of a request ``body``; ``most`` is MAX_FILES."""
    request, binary = header_and_binary(body, header_length, most)
    parameters = _object(request.get("parameters", {}), "parameters", REQUEST_PARAMETERS)
    for key in ("id", "model_name"):
        if key in request and not isinstance(request[key], str):
            raise ProtocolError(f"{key} must be a string")
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1:
        raise ProtocolError(f"inputs must be a list of one input, {INPUT!r} (BYTES, shape [N]): the encoded photos")
    tensor = _object(inputs[0], "inputs[0]", INPUT_KEYS)
    if tensor.get("name") != INPUT:
        raise ProtocolError(f"the input is named {INPUT!r}, not {_short(tensor.get('name'))}")
    if tensor.get("datatype") != "BYTES":
        raise ProtocolError(f"{INPUT!r} has the datatype BYTES (encoded photos), "
                            f"not {_short(tensor.get('datatype'))}")
    count = _shape(tensor.get("shape"), most)
    size = _object(tensor.get("parameters", {}), f"{INPUT!r}'s parameters", {"binary_data_size"})
    size = size.get("binary_data_size")
    if size is not None:
        if not _is_int(size) or size < 0:
            raise ProtocolError(f"binary_data_size of {INPUT!r} must be a whole number of bytes")
        if "data" in tensor:
            raise ProtocolError(f"{INPUT!r} has both data and binary_data_size; send one")
        if size != len(binary):
            raise ProtocolError(f"binary_data_size of {INPUT!r} is {size}; {len(binary)} bytes follow the JSON header")
        images = _bytes_elements(binary, count)
    else:
        if binary:
            raise ProtocolError(f"{len(binary)} bytes follow the JSON header and no input gives binary_data_size")
        if "data" not in tensor:
            raise ProtocolError(f"{INPUT!r} has no data: give data, or binary_data_size with the binary extension")
        images = _json_elements(tensor["data"], count)
    return InferRequest(images, request.get("id"), _flag(parameters, "stable", "parameters"),
                        _requested(request.get("outputs")), bool(_flag(parameters, "binary_data_output", "parameters")),
                        request.get("model_name"))


def _requested(outputs):
    if outputs is None:
        return None
    if not isinstance(outputs, list):
        raise ProtocolError("outputs must be a list of {name, parameters}")
    if not outputs or len(outputs) > MOST_OUTPUTS:
        raise ProtocolError(f"outputs names {len(outputs)} outputs: name 1 to {MOST_OUTPUTS} of the model's, or leave "
                            "it out for every one")
    requested = []
    for number, output in enumerate(outputs):
        output = _object(output, f"outputs[{number}]", {"name", "parameters"})
        if not isinstance(output.get("name"), str):
            raise ProtocolError(f"outputs[{number}] needs a name")
        binary = _flag(_object(output.get("parameters", {}), f"outputs[{number}].parameters", {"binary_data"}),
                       "binary_data", f"outputs[{number}].parameters")
        requested.append((output["name"], binary))
    twice = sorted(name for name, times in Counter(name for name, _ in requested).items() if times > 1)
    if twice:
        raise ProtocolError(f"the output {twice[0]!r} is asked for twice")
    return requested


def encode(header, tensors):
    """(body, headers) of a response: ``header`` its JSON object less the outputs' data, and
    ``tensors`` (name, float32 array, binary) in order."""
    outputs, binary = [], []
    for name, values, in_binary in tensors:
        values = np.asarray(values, "<f4")
        output = {"name": name, "datatype": "FP32", "shape": [len(values)]}
        if in_binary:
            output["parameters"] = {"binary_data_size": values.nbytes}
            binary.append(values.tobytes())
        else:
            output["data"] = [float(value) for value in values]
        outputs.append(output)
    head = json.dumps({**header, "outputs": outputs}).encode()
    if not binary:
        return head, {"Content-Type": "application/json"}
    return head + b"".join(binary), {"Content-Type": "application/octet-stream", HEADER_LENGTH: str(len(head))}
