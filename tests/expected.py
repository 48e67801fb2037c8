"""What the contract tests expect: the contract bucket's own scores of the sample photos,
computed in-process on the served tier (fp32), where the fidelity tests expect the original
package's (tests/imagegen.REFERENCE, made by `make reference`). A contract test asserts that every
way in (HTTP, the page, `score`, Ray) gives what the model gives in-process, to the tolerance it
held against the golden values.

The mappings are filled on first read, so that importing a test module loads no model.
"""
from collections.abc import Mapping
from functools import cache

from PIL import ImageOps

from tests.imagegen import REFERENCE, sample_bytes, sample_rgb

NAMES = tuple(sorted(REFERENCE))  # the sample photos


@cache
def _model():
    """The contract bucket on the served tier, loaded once per test process."""
    from tests.settings import open_model

    return open_model()


def scores_of(images, output="memorability"):
    """The contract buckets' in-process scores of ``images`` (anything ModelWrapper.predict takes)."""
    return [p[output] for p in _model().predict(list(images))]


@cache
def _scores(output="memorability"):
    """{name: (score of the JPEG, score of its decoded pixels mirrored)} on the contract buckets."""
    plain = scores_of((sample_bytes(n) for n in NAMES), output)
    mirrored = scores_of((ImageOps.mirror(sample_rgb(n)) for n in NAMES), output)
    return {n: (p, m) for n, p, m in zip(NAMES, plain, mirrored)}


class _Scores(Mapping):
    def __init__(self, value, output="memorability"):
        self._value, self._output = value, output

    def __getitem__(self, name):
        return self._value(*_scores(self._output)[name])

    def __iter__(self):
        return iter(NAMES)

    def __len__(self):
        return len(NAMES)


SCORES = _Scores(lambda plain, mirrored: plain)  # as REFERENCE, on the contract bucket
MIRROR_SCORES = _Scores(lambda plain, mirrored: mirrored)  # as MIRROR_REFERENCE
STABLE_SCORES = _Scores(lambda plain, mirrored: (plain + mirrored) / 2)  # as STABLE_REFERENCE
FALSE_SCORES = _Scores(lambda plain, mirrored: plain, "false_alarm")  # as FALSE_REFERENCE
FALSE_STABLE_SCORES = _Scores(lambda plain, mirrored: (plain + mirrored) / 2, "false_alarm")
