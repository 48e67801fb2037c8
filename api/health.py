"""GET /ready: the readiness probe ("send me traffic"). 503 once DRAIN_FILE exists, so that an
orchestrator stops sending new requests before it stops the server: the Kubernetes manifest's
preStop hook creates the file, waits until the probe has failed, and only then the pod gets
SIGTERM, whose graceful stop finishes the requests in flight. Predict keeps answering while
draining; a new heavy request gets a 503 (api/passes.py). /ready is also 503 while the model
cannot serve (the batcher's health, as /live sees it): no traffic is sent to a pod that would
answer every request with a 503.

GET /live: the liveness probe ("restart me" when it fails). 503 when the model's batcher cannot
serve: its worker thread died, or a forward pass has run past PASS_TIMEOUT (a hung runtime). It
asks the batcher, not the model: a liveness probe must not queue behind the passes it watches."""
from pathlib import Path

from flask import jsonify


def draining(settings):
    """Whether the server drains (DRAIN_FILE exists): /ready fails, heavy work is refused and stops."""
    return Path(settings.DRAIN_FILE).exists()


def liveness(app):
    """(alive, why): whether the model's batcher can serve (asked of the batcher, never queued)."""
    return app.extensions["max_model"].batcher.health()


def readiness(app):
    """(ready, why): not draining, and alive. The MAX and the Open Inference Protocol probes both ask this."""
    if draining(app.extensions["max_settings"]):
        return False, "draining"
    # A dead batcher or a hung pass: no request can be answered, so none must be routed here
    # (each would wait for its 503) while liveness has not yet restarted the pod.
    return liveness(app)


def register_health(app):
    @app.get("/live")
    def live():
        alive, why = liveness(app)
        return (jsonify(status="alive"), 200) if alive else (jsonify(status="error", message=why), 503)

    @app.get("/ready")
    def ready():
        ok, why = readiness(app)
        if ok:
            return jsonify(status="ready"), 200
        return (jsonify(status="draining"), 503) if why == "draining" else (jsonify(status="error", message=why), 503)
