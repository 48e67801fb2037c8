"""Only the HTTP methods of RFC 9110 (and PATCH, RFC 5789) reach the app. gunicorn accepts any
short upper-case token as a method, and the request metrics are labelled by method: 2,000 made-up
methods grew /metrics from 19 KB to 4 MB, every new series kept for the life of the process. So
any other method gets a JSON 405 here, in front of Flask and its metrics, and adds no series."""
import json

from api.errors import shaped

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})


def refuse_unknown_methods(app):
    """Wrap ``app.wsgi_app`` so that a method outside KNOWN_METHODS is answered 405 before Flask."""
    inner = app.wsgi_app

    def guarded(environ, start_response):
        method = environ.get("REQUEST_METHOD", "")
        if method in KNOWN_METHODS:
            return inner(environ, start_response)
        # The methods this path does take, for the Allow header (RFC 9110: a 405 lists them).
        allowed = sorted(app.url_map.bind_to_environ(environ).allowed_methods())
        message = f"the method {method[:20]!r} is not an HTTP method this service knows"
        body = json.dumps(shaped({"status": "error", "message": message}, environ.get("PATH_INFO", ""))).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        start_response("405 METHOD NOT ALLOWED", headers + ([("Allow", ", ".join(allowed))] if allowed else []))
        return [body]

    app.wsgi_app = guarded
