"""Every setting of the service, each overridable by an environment variable of the same name.

MAXApp loads the upper-case names of this module into ``app.config``; gunicorn.conf.py reads
the server settings from here too.
"""
import os


def _int(name, default):
    return int(os.environ.get(name, default))


def _bool(name, default):
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


# --- Server -------------------------------------------------------------------------------------
HOST = os.environ.get("HOST", "0.0.0.0")  # nosec B104: a container must listen on all interfaces
PORT = _int("PORT", 5000)
WORKER_THREADS = _int("WORKER_THREADS", 8)  # concurrent requests; their images share forward passes
REQUEST_TIMEOUT = _int("REQUEST_TIMEOUT", 120)  # seconds before gunicorn restarts a stuck worker
LOG_LEVEL = os.environ.get("LOG_LEVEL", "info")
DRAIN_FILE = os.environ.get("DRAIN_FILE", "/tmp/max-draining")  # GET /ready is 503 while it exists

# --- Model --------------------------------------------------------------------------------------
MODEL_BUCKET = os.environ.get("MODEL_BUCKET", "assets/resmem")
BATCH_SIZE = _int("BATCH_SIZE", 8)  # most images per forward pass, from one request or several
BATCH_WAIT_MS = _int("BATCH_WAIT_MS", 5)  # how long a pass waits for other requests to join it
MAX_QUEUE_IMAGES = _int("MAX_QUEUE_IMAGES", 64)  # images waiting for a pass, else 503 + Retry-After
# fp32 (exact, OpenVINO) | lite-int8 (fast) | bf16 | lite-fp32 | tf-fp32: core/runtimes.py
MODEL_PRECISION = os.environ.get("MODEL_PRECISION", "fp32")
JPEG_DRAFT = _bool("JPEG_DRAFT", True)  # decode big JPEGs at reduced size (false: full decode)
MODEL_CACHE = os.environ.get("MODEL_CACHE", ".cache/models")  # each runtime's files, by weights md5
# Threads of a forward pass; match the container's CPU limit (TF_INTRA_OP_THREADS: the old name).
MODEL_THREADS = _int("MODEL_THREADS", _int("TF_INTRA_OP_THREADS", os.cpu_count() or 1))

# --- Memorability maps (POST /model/explain) ----------------------------------------------------
# Occlusion grid n: n*n windows, one pass each. 0: the tier's (2; 3 on lite-int8, whose passes
# are 3x faster: core/explain.py's grid_for).
EXPLAIN_GRID = _int("EXPLAIN_GRID", 0)
# true: (n-1)^2 more windows on the grid's inner corners. Off: the plain grid passed more of the
# deletion and the insertion tests of `make bench-explain`, in fewer passes (README).
EXPLAIN_OFFSET_WINDOWS = _bool("EXPLAIN_OFFSET_WINDOWS", False)
# How a window hides its region: grey | blur | mean (the photo's mean colour) | grey+blur (both,
# averaged). Measured by the deletion and insertion tests of `make bench-explain`: grey.
EXPLAIN_BASELINE = os.environ.get("EXPLAIN_BASELINE", "grey")
EXPLAIN_HEATMAP_SIZE = _int("EXPLAIN_HEATMAP_SIZE", 64)  # cells along the longer side of the map
EXPLAIN_OVERLAY_SIZE = _int("EXPLAIN_OVERLAY_SIZE", 512)  # pixels along the overlay's longer side
# Score units drawn in full colour on the overlay and the page's legend (a fixed, diverging scale).
EXPLAIN_EFFECT_SCALE = float(os.environ.get("EXPLAIN_EFFECT_SCALE", "0.05"))

# --- Limits on uploads --------------------------------------------------------------------------
MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 32 * 1024 * 1024)  # bytes per request, else 413
MAX_FILES = _int("MAX_FILES", 16)  # images per request, else 400
MAX_IMAGE_PIXELS = _int("MAX_IMAGE_PIXELS", 64_000_000)  # width x height per image, else 400
MAX_FORM_PARTS = _int("MAX_FORM_PARTS", 100)  # multipart parts per request (Flask's), else 413

# --- API ----------------------------------------------------------------------------------------
API_TITLE = "MAX Image Memorability"
API_DESC = ("Predicts how memorable a photo is: the chance, from 0 to 1, that a person "
            "remembers it after one glance.")
API_VERSION = "1.0.0"
RESTX_MASK_SWAGGER = False  # no X-Fields mask header in the API documentation
ERROR_INCLUDE_MESSAGE = False  # our error handler writes {"status", "message"} itself
# CORS_ENABLE=true is read by maxfw's MAXApp from the environment, as in every MAX model.
