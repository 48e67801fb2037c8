"""Each request's place in the model's passes (core/batcher.py): its class and its deadline.

``/model/predict`` is light: its passes go before those of the heavy routes (explain, video,
regions, crops), which take turns. Every route that scores waits for passes at most
REQUEST_TIMEOUT seconds at a time (each of its waits: a video's chunk, a crop search's round); past
it, the request gets a 503 and its queued images are dropped.
"""
from flask import current_app, g, request

from core.batcher import HEAVY, LIGHT
from core.metrics import IN_PROGRESS

PRIORITY = {"/model/predict": LIGHT, "/model/explain": HEAVY, "/model/video": HEAVY,
            "/model/regions": HEAVY, "/model/crops": HEAVY}


def register_passes(app):
    @app.before_request
    def enter():
        priority = PRIORITY.get(request.path.rstrip("/"))
        if priority is not None:
            IN_PROGRESS.inc()
            g.in_progress = True
            batcher = current_app.extensions["max_model"].batcher
            g.passes = batcher.request(priority, current_app.extensions["max_settings"].REQUEST_TIMEOUT)
            g.passes.__enter__()

    @app.teardown_request
    def leave(_error):
        if g.pop("in_progress", False):
            IN_PROGRESS.dec()
        passes = g.pop("passes", None)
        if passes is not None:
            passes.__exit__(None, None, None)
