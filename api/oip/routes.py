"""The Open Inference Protocol's REST routes (KServe's V2 protocol: kserve/open-inference-protocol,
specification/protocol/inference_rest.md), beside the MAX routes and on the same pipeline:
the clients, load tools and platforms of Triton, KServe, OVMS and MLServer talk to this service.

    GET  /v2                          the server: name, version, extensions (binary_tensor_data)
    GET  /v2/health/live              /live's meaning: {"live": true}, or 503
    GET  /v2/health/ready             /ready's meaning: {"ready": true}, or 503 (draining, or no model)
    GET  /v2/models/memorability      the model: its input `image` (BYTES, [-1]) and outputs (FP32, [-1])
    GET  /v2/models/memorability/ready
    GET  /v2/models/memorability/config  Triton's model configuration (perf_analyzer reads it)
    POST /v2/models/memorability/infer

One model, ``memorability``: what the service predicts, a recognition-memory test's rates, with an
output each of MODEL_OUTPUTS (``memorability``, ``false_alarm``) and, with ``stable``, their
mirror deltas. /infer calls ModelWrapper.predict, as /model/predict does, under the same limits:
MAX_FILES images, MAX_CONTENT_LENGTH bytes, the pixel budget, REQUEST_TIMEOUT, and the place of a
prediction in the passes (api/passes.py). Its model is not versioned: a path with /versions/ is a 404.
Every error is ``{"error": ...}`` with a 4xx (or a 503 with Retry-After when the server is busy).
"""
from flask import Blueprint, Response, current_app, jsonify, request

import config
from api.health import liveness, readiness
from api.oip.tensors import HEADER_LENGTH, INPUT, ProtocolError, encode, parse
from api.uploads import served_outputs
from core.model.outputs import field
from core.model.tiers import TIERS

MODEL = "memorability"
SERVER = "max-image-memorability"
EXTENSIONS = ["binary_tensor_data", "model_configuration"]  # Triton's names: tritonclient and perf_analyzer ask
oip = Blueprint("oip", __name__, url_prefix="/v2")


def _model(name):
    if name != MODEL:
        raise ProtocolError(f"no model named {name[:80]!r}: this server serves one, {MODEL!r}", 404)
    return current_app.extensions["max_model"]


def tensors_of(outputs, stable):
    """(tensor name, output, measure) of every output tensor: each output's score, and with
    ``stable`` its mirror delta after it, in MODEL_OUTPUTS' order, named as /model/predict's
    fields (core.model.outputs.field)."""
    measures = (None, "mirror_delta") if stable else (None,)
    return [(field(name, measure), name, measure) for name in outputs for measure in measures]


@oip.get("")
def server_metadata():
    return jsonify(name=SERVER, version=config.API_VERSION, extensions=EXTENSIONS)


@oip.get("/health/live")
def live():
    alive, why = liveness(current_app)
    return (jsonify(live=True), 200) if alive else (jsonify(live=False, error=why), 503)


@oip.get("/health/ready")
def ready():
    ok, why = readiness(current_app)
    return (jsonify(ready=True), 200) if ok else (jsonify(ready=False, error=why), 503)


@oip.get("/models/<name>")
def model_metadata(name):
    model = _model(name)
    tensor = {"datatype": "FP32", "shape": [-1]}
    return jsonify(name=MODEL, platform=TIERS[model.precision].runtime,
                   inputs=[{"name": INPUT, "datatype": "BYTES", "shape": [-1]}],
                   outputs=[{"name": tensor_name, **tensor} for tensor_name in default_tensors()])


def default_tensors():
    """The outputs of a request that sets no parameter: what the metadata lists, since clients
    (perf_analyzer) ask for every output listed. The mirror deltas come with stable: true, and
    are listed where the server's default is stable (MODEL_TTA=mirror)."""
    settings = current_app.extensions["max_settings"]
    return [tensor_name for tensor_name, _, _ in tensors_of(served_outputs(), settings.stable_by_default)]


@oip.get("/models/<name>/config")
def model_config(name):
    """Triton's model configuration extension: no batching axis of its own (max_batch_size 0), so
    the input's one dimension is the batch, as in the metadata: perf_analyzer's --shape image:N."""
    model = _model(name)
    tensor = {"data_type": "TYPE_FP32", "dims": [-1]}
    return jsonify(name=MODEL, platform=TIERS[model.precision].runtime, max_batch_size=0,
                   input=[{"name": INPUT, "data_type": "TYPE_STRING", "dims": [-1]}],
                   output=[{"name": tensor_name, **tensor} for tensor_name in default_tensors()])


@oip.get("/models/<name>/ready")
def model_ready(name):
    _model(name)
    alive, why = liveness(current_app)  # the model can serve; a draining server's model still can
    return (jsonify(name=MODEL, ready=True), 200) if alive else (jsonify(name=MODEL, ready=False, error=why), 503)


@oip.route("/models/<name>/versions/<version>", methods=["GET"])
@oip.route("/models/<name>/versions/<version>/ready", methods=["GET"])
@oip.route("/models/<name>/versions/<version>/infer", methods=["POST"])
def versioned(name, version):
    _model(name)
    raise ProtocolError(f"{MODEL!r} has no versions: leave /versions/{version[:40]} out of the path", 404)


@oip.post("/models/<name>/infer")
def infer(name):
    """Score the photos of the input ``image``: /model/predict's numbers, as FP32 tensors."""
    model = _model(name)
    settings = current_app.extensions["max_settings"]
    if request.headers.get("Content-Encoding", "identity").lower() != "identity":
        raise ProtocolError("the request body must not be compressed (Content-Encoding): photos are compressed "
                            "already", 415)
    call = parse(request.get_data(cache=False), request.headers.get(HEADER_LENGTH), settings.MAX_FILES)
    if call.model_name not in (None, MODEL):
        raise ProtocolError(f"the request names the model {call.model_name[:80]!r}; the path names {MODEL!r}")
    stable = settings.stable_by_default if call.stable is None else call.stable
    tensors = _wanted(call, model.outputs, stable)
    scores = model.predict(call.images, stable=stable)  # the one path, as /model/predict's
    header = {"model_name": MODEL, **({"id": call.id} if call.id is not None else {}),
              "parameters": {"stable": stable}}
    body, headers = encode(header, [
        (tensor_name, [one[output] if measure is None else one.mirror_delta[output] for one in scores], binary)
        for tensor_name, output, measure, binary in tensors])
    return Response(body, 200, headers)


def _wanted(call, outputs, stable):
    """(tensor name, output, measure, binary) of each output tensor to send, in the request's order."""
    known = {tensor_name: (output, measure) for tensor_name, output, measure in tensors_of(outputs, stable)}
    if call.outputs is None:
        return [(tensor_name, *known[tensor_name], call.binary_output) for tensor_name in known]
    wanted = []
    for tensor_name, binary in call.outputs:
        if tensor_name not in known:
            deltas = {tensor_name for tensor_name, _, measure in tensors_of(outputs, True) if measure}
            raise ProtocolError(f"the output {tensor_name[:80]!r} is only sent with the parameter stable: true"
                                if tensor_name in deltas else
                                f"no output named {tensor_name[:80]!r}; this server's are {', '.join(known)}")
        wanted.append((tensor_name, *known[tensor_name], call.binary_output if binary is None else binary))
    return wanted
