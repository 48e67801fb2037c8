"""Contract (the tiny bucket): the deep candidates' views (training/views.py). ``--augment resmem``
gives each photo its own random window and flip in each random pass, cached under its own key,
and trains the head with dropout 0.5 after fc6 and fc7, as ResMem trained; ``fixed`` stays
one window for every photo (issue 42, item 6)."""
import numpy as np
import pytest

from tests.training.conftest import TEACHER
from tests.training.test_cleanup import pipeline_of
from training import deep
from training.lamem import read_split
from training.views import described, views


@pytest.fixture(scope="module")
def base():
    from training.finetune import BaseNetwork, base_bucket

    bucket = base_bucket(str(TEACHER))
    return bucket, BaseNetwork(bucket)


def test_resmem_views_give_each_photo_its_own_window_and_flip_from_the_seed(base):
    spec = base[0].preprocessing
    fixed = views(spec, 50)
    assert fixed[1][:2] == fixed[0][:2] and fixed[1][2] and len(fixed) == deep.VIEWS
    assert all(isinstance(view, tuple) for view in fixed)  # one window for every photo
    own = views(spec, 50, recipe="resmem")
    assert own[:2] == fixed[:2]  # the centre crop and its mirror, as before
    windows = own[2]
    assert windows.shape == (50, 3) and windows.dtype == np.int32
    assert windows[:, 0].max() <= spec.resize[1] - spec.crop and windows[:, 1].max() <= spec.resize[0] - spec.crop
    assert len({tuple(w[:2]) for w in windows}) > 40 and 10 < windows[:, 2].sum() < 40  # per photo, mirrored at random
    np.testing.assert_array_equal(views(spec, 50, recipe="resmem")[2], windows)
    assert not np.array_equal(views(spec, 50, recipe="resmem", seed=1)[2], windows)
    assert described(windows) != described(views(spec, 50, recipe="resmem", seed=1)[2])
    with pytest.raises(ValueError, match="--augment must be one of fixed, resmem"):
        views(spec, 50, recipe="random")


def test_augment_takes_the_recipes_in_order_each_once_and_names_a_wrong_one(capsys):
    from training.finetune import main
    from training.views import recipes

    assert recipes("resmem,fixed") == ("resmem", "fixed") and recipes("fixed, fixed") == ("fixed",)
    for wrong, named in (("fixed,", "''"), ("fixed,random", "'random'"), ("", "''")):
        with pytest.raises(ValueError, match=f"^{named}: the recipes of views are fixed, resmem$"):
            recipes(wrong)
    with pytest.raises(SystemExit) as usage:  # argparse prints the message, not its own "invalid value"
        main(["--data", "x", "--split", "1", "--out", "x", "--augment", "fixed,"])
    assert usage.value.code == 2 and "--augment: '': the recipes of views are fixed, resmem" in capsys.readouterr().err


def test_each_photo_is_cut_at_its_own_window(base, dataset):
    from training.pipeline import image_dataset, normalise

    bucket, _ = base
    spec, pipeline = bucket.preprocessing, pipeline_of(bucket)
    entries = read_split(dataset, "train", 1)[:5]
    windows = np.array([[0, 0, 0], [29, 29, 1], [3, 17, 0], [11, 2, 1], [29, 0, 0]], np.int32)
    windows[:, :2] = np.minimum(windows[:, :2], [spec.resize[1] - spec.crop, spec.resize[0] - spec.crop])
    [(images, _)] = list(image_dataset(entries, pipeline, 5, view=windows))
    for (path, _), (top, left, flip), image in zip(entries, windows, images.numpy(), strict=True):
        pixels = pipeline.resized(str(path))[top:top + spec.crop, left:left + spec.crop]
        expected = normalise(pixels[:, ::-1] if flip else pixels, spec).numpy()
        np.testing.assert_array_equal(image, expected)
    with pytest.raises(ValueError, match="a view for each of 5 photos"):
        image_dataset(entries, pipeline, 5, view=windows[:4])


@pytest.mark.parametrize("part", ["head", "stage"])
def test_resmem_trains_with_dropout_after_fc6_and_fc7_and_serves_without(base, part):
    import keras

    bucket, network = base
    options = bucket.architecture_options
    model, names = deep.trainable(network(), part, options, augment="resmem")
    dropouts = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert [(layer.name, layer.rate) for layer in dropouts] == [("fc6_dropout", 0.5), ("fc7_dropout", 0.5)]
    plain, plain_names = deep.trainable(network(), part, options)
    assert not [layer for layer in plain.layers if isinstance(layer, keras.layers.Dropout)]
    assert names == plain_names  # the weights written are the same layers'
    x = [np.random.default_rng(0).normal(size=(4, *inp.shape[1:])).astype(np.float32) for inp in model.inputs]
    x = x if len(x) > 1 else x[0]
    np.testing.assert_allclose(model(x, training=False), plain(x, training=False), rtol=1e-6, atol=1e-6)
    assert not np.allclose(model(x, training=True), plain(x, training=True))
    assert deep.settings(part, "float32", "resmem")["dropout"] == 0.5 and deep.settings(part, "float32")["dropout"] == 0
