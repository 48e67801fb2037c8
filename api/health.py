"""GET /ready: the readiness probe. 503 once DRAIN_FILE exists, so that an orchestrator stops
sending new requests before it stops the server: the Kubernetes manifest's preStop hook creates
the file, waits until the probe has failed, and only then the pod gets SIGTERM, whose graceful
stop finishes the requests in flight. Predict and explain keep answering while draining."""
from pathlib import Path

from flask import jsonify


def register_health(app):
    @app.get("/ready")
    def ready():
        if Path(app.extensions["max_settings"].DRAIN_FILE).exists():
            return jsonify(status="draining"), 503
        return jsonify(status="ready")
