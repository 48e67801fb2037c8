"""config.Settings for the tests: the process's settings with this checkout's bucket and runtimes,
so that a test does not depend on the directory it runs from."""
import config
from tests.imagegen import ROOT

BUCKET = ROOT / "assets" / "resmem"
CACHE = ROOT / ".cache" / "models"


def settings(**overrides):
    """config.settings() on this checkout's ResMem bucket and runtime cache, with ``overrides``."""
    return config.settings().replace(**{"MODEL_BUCKET": str(BUCKET), "MODEL_CACHE": str(CACHE), **overrides})


def open_model(convert=False, warm_up=False, **overrides):
    """A core.model.ModelWrapper of ``settings(**overrides)``; tiers are converted ahead by `make weights`.
    Loaded as a batch job loads it, without the server's warm-up passes (test_model.py holds them)."""
    from core.model import ModelWrapper

    return ModelWrapper.from_settings(settings(**overrides), convert=convert, warm_up=warm_up)
