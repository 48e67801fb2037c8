"""gunicorn settings for `make run` and the container: one worker (the model is large), threads
for concurrent uploads, one access-log line per request, graceful stop on SIGTERM."""
import config

# Read and validated once, here, at start: a bad value stops gunicorn with the variable's name.
# (Not named "config": that name is itself a gunicorn setting.)
try:
    service = config.settings()
except config.SettingsError as error:
    raise SystemExit(f"error: {error}") from None
del config

bind = f"{service.HOST}:{service.PORT}"
workers = 1  # each worker holds its own copy of the models (2,159 MiB resident in fp32: docs/deployment.md)
# gthread, with each request read whole in the worker's event loop before it takes a thread: a
# slow client never holds one (api/worker.py, docs/deployment.md).
worker_class = "api.worker.BufferingWorker"
threads = service.WORKER_THREADS
timeout = service.REQUEST_TIMEOUT
graceful_timeout = 30
loglevel = service.LOG_LEVEL
accesslog = "-"
errorlog = "-"
# method, path, status and milliseconds, e.g.: 127.0.0.1 "POST /model/predict HTTP/1.1" 200 143ms
access_log_format = '%(h)s "%(r)s" %(s)s %(M)sms'


def on_starting(server):
    """A drain file left by the container's last life (preStop creates it before a liveness or
    startup restart too, and /tmp is the pod's emptyDir, not the container's) would keep the new
    server unready forever: it goes before the server starts."""
    import os

    try:
        os.remove(service.DRAIN_FILE)
    except FileNotFoundError:
        pass
