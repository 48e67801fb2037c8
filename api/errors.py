"""One JSON shape for every error: ``{"status": "error", "message": ...}``; on the Open Inference
Protocol's routes (/v2, api/oip/) the protocol's own, ``{"error": ...}``."""
import logging

from flask import current_app, jsonify, request
from flask_restx import fields
from maxfw.core import MAX_API
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, MethodNotAllowed, RequestEntityTooLarge

from api.oip.tensors import ProtocolError, oip_path
from core.analyses.video import VideoError
from core.inputs.deadline import Abandoned, DeadlineExceeded, Stopped
from core.inputs.images import ImageError
from core.model.refusals import Closed, Overloaded

log = logging.getLogger(__name__)

ERROR_SCHEMA = MAX_API.model("Error", {
    "status": fields.String(required=True, description='Always "error"', example="error"),
    "message": fields.String(required=True, description="What was wrong with the request"),
})


class Unavailable(RuntimeError):
    """No room for this request now (heavy requests in flight, or draining): a 503, Retry-After."""

    def __init__(self, message, retry_after):
        super().__init__(message)
        self.retry_after = retry_after


def upload_errors(bad_request):
    """Swagger's documentation of the errors every upload endpoint can answer with."""
    def document(method):
        for code, text in ((400, bad_request), (413, "The request body is over the size limit"),
                           (503, "Too many images are waiting for the model, or the request "
                                 "waited for it past REQUEST_TIMEOUT; retry after Retry-After seconds")):
            method = MAX_API.response(code, text, ERROR_SCHEMA)(method)
        return method
    return document


def describe(error):
    """The client-facing message of an HTTP error."""
    if isinstance(error, RequestEntityTooLarge):
        video = bool(request) and request.path.endswith("/video")
        # The request's own limit: MAX_VIDEO_BYTES for a video, MAX_CONTENT_LENGTH for the rest.
        limit = request.max_content_length if request else current_app.config["MAX_CONTENT_LENGTH"]
        if request and (request.content_length or 0) <= limit:  # werkzeug's form limits, not the body's
            return (f"the form has more than {current_app.config['MAX_FORM_PARTS']} parts, or a text "
                    f"field over {current_app.config['MAX_FORM_MEMORY_SIZE']} bytes; send only "
                    f"{'the file' if video else 'files'} in the field '{'video' if video else 'image'}'")
        return (f"the request body is over the limit of {limit} bytes ({limit / 2**20:.0f} MiB"
                f"{', MAX_VIDEO_BYTES' if video else ''}); send "
                f"{'a shorter or smaller video' if video else 'fewer or smaller images'}")
    data = getattr(error, "data", None) or {}
    return data.get("message") or error.description or error.name


def error_body(error):
    """(body, status, headers) for any exception: its own status for HTTP errors, 400 for an
    upload that is not a usable image (core.inputs.images.ImageError, from any endpoint), 503 with
    Retry-After when the model's queue is full (core.model.refusals.Overloaded), 500 for bugs."""
    if isinstance(error, Abandoned):  # nobody reads this answer; the log says why the work stopped
        log.warning("%s", error)
        return {"status": "error", "message": str(error)}, 499, {}
    if isinstance(error, (Overloaded, DeadlineExceeded, Unavailable, Stopped)):
        return {"status": "error", "message": str(error)}, 503, {"Retry-After": str(error.retry_after)}
    if isinstance(error, Closed):
        return {"status": "error", "message": str(error)}, 503, {}
    if isinstance(error, ProtocolError):
        return {"status": "error", "message": str(error)}, error.status, {}
    if isinstance(error, (ImageError, VideoError)):
        error = BadRequest(str(error))
    elif not isinstance(error, HTTPException):
        log.exception("unhandled error", exc_info=error)
        error = InternalServerError()
    body = {"status": "error", "message": describe(error)}
    if hasattr(error, "data"):
        error.data = body  # restx answers with error.data, when present, over the handler's body
    headers = {}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:  # RFC 9110: a 405 lists them
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return body, error.code, headers


def shaped(body, path):
    """``body`` in the shape of the route at ``path``: the protocol's ``{"error": ...}`` under /v2."""
    return {"error": body["message"]} if oip_path(path) else body


def register_error_handlers(app, api):
    """JSON errors from the API resources (via restx) and from plain Flask routes alike."""
    api.errorhandler(Exception)(error_body)

    @app.errorhandler(Exception)  # HTTP errors, and any other from a plain route: an image, a queue
    def flask_error(error):
        body, code, headers = error_body(error)
        return jsonify(shaped(body, request.path)), code, headers
