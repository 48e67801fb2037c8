"""Each request's place in the model's passes (core/batcher.py): its class, its deadline, its
client, and the room that heavy requests leave to the rest.

``/model/predict`` is light: its decodes and passes go before those of the heavy routes (explain,
video, regions, crops), which take turns. Every route that scores has one deadline, counted from
its arrival at the app (once its body is received, api/worker.py) and renewed by progress, for
every wait (core/deadline.py): its turn in the pixel budget, its admission, its passes; past it,
a 503. A heavy request whose client has hung up stops at its next wait (499 in the log, nobody
reads it).

At most MAX_HEAVY_REQUESTS heavy requests are in flight (default WORKER_THREADS // 2): one more
gets a 503 with Retry-After at once, so that predictions and the probes always find a thread,
and the heavy images a server holds stay within docs/deployment.md's formula. While the server
drains (DRAIN_FILE exists, a rolling update), a new heavy request gets a 503 with Retry-After:
it would run longer than the pod has left, and one in flight gets it at its next wait (within a
pass and a second), well inside the stop's graceful_timeout; a prediction still answers.
"""
import threading
from pathlib import Path

from flask import current_app, g, request

from api.errors import Unavailable
from api.video import client_gone
from core.batcher import HEAVY, LIGHT
from core.metrics import IN_PROGRESS

PRIORITY = {"/model/predict": LIGHT, "/model/explain": HEAVY, "/model/video": HEAVY,
            "/model/regions": HEAVY, "/model/crops": HEAVY}


def heavy_limit(settings):
    return settings.MAX_HEAVY_REQUESTS or max(1, settings.WORKER_THREADS // 2)


def register_passes(app):
    settings = app.extensions["max_settings"]
    heavy = threading.BoundedSemaphore(heavy_limit(settings))

    @app.before_request
    def enter():
        priority = PRIORITY.get(request.path.rstrip("/"))
        if priority is None or request.method != "POST":
            return
        batcher = current_app.extensions["max_model"].batcher
        if priority == HEAVY:
            if Path(settings.DRAIN_FILE).exists():
                raise Unavailable("the server is draining (a rolling update): a heavy request would outlast it; "
                                  "retry, another replica will answer", 1)
            if not heavy.acquire(blocking=False):
                raise Unavailable(f"the server is busy: {heavy_limit(settings)} heavy requests (maps, videos, "
                                  "regions, crops) are in flight, the most it runs at once (MAX_HEAVY_REQUESTS); "
                                  f"retry after {batcher.retry_after(HEAVY)} s", batcher.retry_after(HEAVY))
            g.heavy = True
        IN_PROGRESS.inc()
        g.in_progress = True
        # A heavy request looks for its client and the drain at each wait; a prediction is short,
        # and a client that half-closes after sending (shutdown SHUT_WR) must still get it.
        heavy_only = (lambda check: check if priority == HEAVY else None)
        g.passes = batcher.request(priority, settings.REQUEST_TIMEOUT, gone=heavy_only(client_gone),
                                   stopping=heavy_only(lambda: Path(settings.DRAIN_FILE).exists()))
        g.passes.__enter__()

    @app.teardown_request
    def leave(_error):
        if g.pop("in_progress", False):
            IN_PROGRESS.dec()
        if g.pop("heavy", False):
            heavy.release()
        passes = g.pop("passes", None)
        if passes is not None:
            passes.__exit__(None, None, None)
