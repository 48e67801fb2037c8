"""MODEL_PRECISION=lite-int8: ResMem through LiteRT with dynamic-range int8, converted once and
cached by the weights' md5, scores the samples close to the original package."""
import time

import pytest

from core.model import ModelWrapper
from tests.imagegen import REFERENCE, ROOT, sample_bytes


def test_lite_int8_is_cached_by_md5_and_scores_close_to_the_original(resmem):
    cache = ROOT / ".cache" / "models"
    model = ModelWrapper(ROOT / "assets" / "resmem", precision="lite-int8", cache_dir=cache)
    assert model.model is None  # the Keras model is freed once converted
    cached = sorted(p.name.rsplit("-", 1)[1] for p in
                    cache.glob(f"resmem-{resmem.bucket.weights_md5}-lite-int8-tf*.tflite"))
    assert cached == ["front.tflite", "rest.tflite"]  # a float stem and layer1, then int8
    for name, reference in REFERENCE.items():
        (result,) = model.predict([sample_bytes(name)])
        assert result["memorability"] == pytest.approx(reference, abs=0.01)  # 0.009 on 305 photos
    start = time.monotonic()
    again = ModelWrapper(ROOT / "assets" / "resmem", precision="lite-int8", cache_dir=cache)
    assert time.monotonic() - start < 20  # no second conversion
    assert again.predict([sample_bytes("coffee.jpg")]) == model.predict([sample_bytes("coffee.jpg")])


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="MODEL_PRECISION must be one of fp32, lite-fp32, lite-int8"):
        ModelWrapper(ROOT / "assets" / "resmem", precision="int4")
