"""Fidelity (ResMem): the Keras port against the original PyTorch ResMem, through
ModelWrapper.predict()."""
import keras
import numpy as np
import pytest

from core.inputs.images import ImageError
from tests.imagegen import REFERENCE, ROOT, sample_bytes


def test_golden_scores_of_the_original_are_reproduced(resmem):
    names = sorted(REFERENCE)
    assert len(names) >= 3
    scores = [p["memorability"] for p in resmem.predict([sample_bytes(n) for n in names])]
    for name, score in zip(names, scores):
        # The default runtime is exact up to float rounding (1e-5; the API rounds to 0.002).
        assert score == pytest.approx(REFERENCE[name], abs=1e-5), name


def test_each_branch_matches_the_original_intermediate_outputs(keras_resmem):
    """If the score drifts, this says which branch the port error is in."""
    reference = np.load(ROOT / "tests/reference/resmem_branches.npz")
    model = keras_resmem
    probe = keras.Model(model.input, [model.get_layer("pool5").output,
                                      model.get_layer("features_fc").output])
    memnet, logits = (t.numpy()[0] for t in probe(reference["input"][None], training=False))
    np.testing.assert_allclose(memnet, reference["memnet_pool5"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(logits, reference["resnet_logits"], rtol=1e-4, atol=2e-3)


def test_a_batch_equals_the_singles_in_upload_order(resmem):
    names = sorted(REFERENCE) * 3  # 12 images: more than one chunk of batch_size 8
    batch = resmem.predict([sample_bytes(n) for n in names])
    singles = {n: resmem.predict([sample_bytes(n)])[0]["memorability"] for n in REFERENCE}
    assert [p["memorability"] for p in batch] == pytest.approx([singles[n] for n in names], abs=1e-5)


def test_the_warm_up_measures_a_pass_and_changes_no_score():
    """A server warms up (its Retry-After starts from a measured pass); a batch job does not, and
    its first pass is measured instead. Both score alike."""
    from tests.settings import open_resmem

    photo = sample_bytes("rocket.jpg")
    for warm_up in (True, False):
        model = open_resmem(warm_up=warm_up, MODEL_PRECISION="lite-int8")
        assert (model.batcher.seconds_per_image is not None) == warm_up
        (result,) = model.predict([photo])
        assert result["memorability"] == pytest.approx(REFERENCE["rocket.jpg"], abs=0.01)
        assert model.batcher.seconds_per_image > 0
        model.close()


def test_post_process_shape_and_metadata(resmem):
    (prediction,) = resmem.predict([sample_bytes()])
    assert set(prediction) == {"memorability"} and 0.0 <= prediction["memorability"] <= 1.0
    meta = resmem.MODEL_META_DATA
    assert set(meta) == {"id", "name", "description", "type", "source", "license", "outputs"}
    assert meta["id"] == "resmem" and "Non-commercial" in meta["license"]
    assert meta["outputs"] == [{"output": "memorability", **{k: v for k, v in meta.items() if k != "outputs"}}]


def test_each_output_is_a_field_of_each_prediction_from_one_pass(model):
    """The default outputs: memorability and false_alarm, each from its own bucket, in the same
    forward pass; stable gives each its mean and its own mirror delta."""
    from prometheus_client import REGISTRY

    def passes():
        return REGISTRY.get_sample_value("memorability_batch_size_count")

    assert model.outputs == ("memorability", "false_alarm")
    before = passes()
    (plain,), (stable,) = model.predict([sample_bytes()]), model.predict([sample_bytes()], stable=True)
    assert passes() == before + 2  # a pass a request: both networks on the same batch
    assert list(plain) == ["memorability", "false_alarm"] and plain["memorability"] != plain["false_alarm"]
    assert list(stable) == list(stable.mirror_delta) == ["memorability", "false_alarm"] and plain.mirror_delta is None
    assert [m["id"] for m in model.MODEL_META_DATA["outputs"]] == ["tiny-resmem", "tiny-falseresmem"]
    assert model.MODEL_META_DATA["name"] == "Tiny ResMem (test bucket) and Tiny FalseResMem (test bucket)"

def test_a_bad_image_in_a_batch_is_named_and_nothing_is_scored(resmem):
    with pytest.raises(ImageError, match="image 2 is not an image"):
        resmem.predict([sample_bytes(), b"hello", sample_bytes()])
