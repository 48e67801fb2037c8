"""One JSON shape for every error: ``{"status": "error", "message": ...}``."""
import logging

from flask import current_app, jsonify
from flask_restx import fields
from maxfw.core import MAX_API
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, RequestEntityTooLarge

from core.batcher import Overloaded
from core.images import ImageError

log = logging.getLogger(__name__)

ERROR_SCHEMA = MAX_API.model("Error", {
    "status": fields.String(required=True, description='Always "error"', example="error"),
    "message": fields.String(required=True, description="What was wrong with the request"),
})


def upload_errors(bad_request):
    """Swagger's documentation of the errors every upload endpoint can answer with."""
    def document(method):
        for code, text in ((400, bad_request), (413, "The request body is over the size limit"),
                           (503, "Too many images are waiting for the model; retry after "
                                 "Retry-After seconds")):
            method = MAX_API.response(code, text, ERROR_SCHEMA)(method)
        return method
    return document


def describe(error):
    """The client-facing message of an HTTP error."""
    if isinstance(error, RequestEntityTooLarge):
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        return (f"the request body is over the limit of {limit} bytes ({limit / 2**20:.0f} MiB); "
                "send fewer or smaller images")
    data = getattr(error, "data", None) or {}
    return data.get("message") or error.description or error.name


def error_body(error):
    """(body, status, headers) for any exception: its own status for HTTP errors, 400 for an
    upload that is not a usable image (core.images.ImageError, from any endpoint), 503 with
    Retry-After when the model's queue is full (core.batcher.Overloaded), 500 for bugs."""
    if isinstance(error, Overloaded):
        return {"status": "error", "message": str(error)}, 503, {"Retry-After": str(error.retry_after)}
    if isinstance(error, ImageError):
        error = BadRequest(str(error))
    elif not isinstance(error, HTTPException):
        log.exception("unhandled error", exc_info=error)
        error = InternalServerError()
    body = {"status": "error", "message": describe(error)}
    if hasattr(error, "data"):
        error.data = body  # restx answers with error.data, when present, over the handler's body
    return body, error.code, {}


def register_error_handlers(app, api):
    """JSON errors from the API resources (via restx) and from plain Flask routes alike."""
    api.errorhandler(Exception)(error_body)

    @app.errorhandler(HTTPException)
    def flask_error(error):
        body, code, headers = error_body(error)
        return jsonify(body), code, headers
