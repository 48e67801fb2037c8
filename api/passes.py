"""Each request's place in the model's passes (core/model/batcher.py): its class, its deadline, its
client, and the room that heavy requests leave to the rest.

``/model/predict`` (and the Open Inference Protocol's ``/infer``, api/oip/routes.py) is light: its
decodes and passes go before those of the heavy routes (explain, video, regions, crops), which take
turns. Every route that scores has one deadline, counted from
its arrival at the app (once its body is received, api/worker.py) and renewed by progress, for
every wait (core/inputs/deadline.py): its turn in the pixel budget, its admission, its passes; past it,
a 503. A heavy request whose client has hung up stops at its next wait (499 in the log, nobody
reads it).

At most MAX_HEAVY_REQUESTS heavy requests are in flight (default WORKER_THREADS // 2): one more
gets a 503 with Retry-After at once, so that predictions and the probes always find a thread,
and the heavy images a server holds stay within docs/deployment.md's formula. While the server
drains (DRAIN_FILE exists, a rolling update), a new heavy request gets a 503 with Retry-After:
it would run longer than the pod has left, and one in flight gets it at its next wait (within a
pass and a second), well inside the stop's graceful_timeout; a prediction still answers.
"""
import select
import socket
import threading

from flask import current_app, g, request

from api.errors import Unavailable
from api.health import draining
from core.inputs.deadline import HEAVY, LIGHT
from core.model.metrics import IN_PROGRESS

PRIORITY = {"/model/predict": LIGHT, "/model/explain": HEAVY, "/model/video": HEAVY,
            "/model/regions": HEAVY, "/model/crops": HEAVY}
ENDPOINTS = {"oip.infer": LIGHT}  # the Open Inference Protocol's /infer is a prediction (api/oip/routes.py)


def client_gone():
    """Whether the client hung up: its socket (gunicorn hands it over in the environ) reads as
    closed. Asked between chunks, so that a long video stops when nobody waits for it. poll, not
    select: select raises for a descriptor of 1024 or more, which a busy server hands out. An
    error means "cannot tell", not "gone": the work goes on; a reset connection is gone."""
    sock = request.environ.get("gunicorn.socket")
    if sock is None:
        return False
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLHUP | select.POLLERR)
        events = poller.poll(0)
        if any(flags & (select.POLLHUP | select.POLLERR) for _, flags in events):
            return True
        return bool(events) and sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except (OSError, ValueError):
        return False


def heavy_limit(settings):
    return settings.MAX_HEAVY_REQUESTS or max(1, settings.WORKER_THREADS // 2)


def register_passes(app):
    settings = app.extensions["max_settings"]
    heavy = threading.BoundedSemaphore(heavy_limit(settings))

    @app.before_request
    def enter():
        priority = PRIORITY.get(request.path.rstrip("/"), ENDPOINTS.get(request.endpoint))
        if priority is None or request.method != "POST":
            return
        batcher = current_app.extensions["max_model"].batcher
        if priority == HEAVY:
            if draining(settings):
                raise Unavailable("the server is draining (a rolling update): a heavy request would outlast it; "
                                  "retry, another replica will answer", 1)
            if not heavy.acquire(blocking=False):
                retry = batcher.retry_after(HEAVY)
                raise Unavailable(f"the server is busy: {heavy_limit(settings)} heavy requests (maps, videos, "
                                  "regions, crops) are in flight, the most it runs at once (MAX_HEAVY_REQUESTS); "
                                  f"retry after {retry} s", retry)
            g.heavy = True
        IN_PROGRESS.inc()
        g.in_progress = True
        # A heavy request looks for its client and the drain at each wait; a prediction is short,
        # and a client that half-closes after sending (shutdown SHUT_WR) must still get it.
        gone, stopping = (client_gone, lambda: draining(settings)) if priority == HEAVY else (None, None)
        g.passes = batcher.request(priority, settings.REQUEST_TIMEOUT, gone=gone, stopping=stopping)
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
