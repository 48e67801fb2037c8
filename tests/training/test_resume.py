"""Contract (the tiny bucket): a deep candidate's training (training/deep.py) killed after any
epoch resumes from its checkpoint (training/deep_checkpoint.py) and ends where a run never
stopped ends: the same val rho at every epoch, the same best epoch, the same weights."""
import numpy as np
import pytest

from tests.training.conftest import TEACHER
from tests.training.test_cleanup import pipeline_of
from training import bottlenecks, deep
from training.deep_checkpoint import EpochCheckpoint, key


class Killed(BaseException):
    """What a SIGKILL is to the run: it stops right there, after the checkpoint it just wrote."""


class KilledAfter(EpochCheckpoint):
    def __init__(self, folder, part, key, epoch):
        super().__init__(folder, part, key)
        self.epoch = epoch

    def save(self, epoch, *args, **kwargs):
        super().save(epoch, *args, **kwargs)
        if epoch == self.epoch:
            raise Killed


@pytest.fixture(scope="module")
def inputs(dataset, tmp_path_factory):
    """The frozen features deep.train reads, of the tiny dataset's train and val photos, cached."""
    from training.finetune import BaseNetwork, base_bucket
    from training.lamem import read_split

    bucket = base_bucket(str(TEACHER))
    network, pipeline, options = BaseNetwork(bucket), pipeline_of(bucket), bucket.architecture_options
    train, val = read_split(dataset, "train", 1), read_split(dataset, "val", 1)
    folder, weights = tmp_path_factory.mktemp("features"), f"{bucket.weights_md5} {bucket.checksums['model.json']}"
    centre = bottlenecks.outputs(network, deep.inputs(options), train + val, pipeline, folder, 4, weights_id=weights)
    features = deep.activations(network, train + val, pipeline, folder, 4, weights, bucket.preprocessing, options,
                                centre)
    return network, options, features, len(train), [s for _, s in train], [s for _, s in val], weights


def test_a_killed_training_resumes_and_ends_as_one_never_stopped(inputs, tmp_path):
    """On the stage (the part with the most state: a ResNet stage, its BatchNorms frozen, and the
    head; the head alone is checkpointed by the same code), killed after its first epoch, resumed
    and killed again after its last but one, then resumed to its end."""
    part = "stage"
    network, options, features, n, y_train, y_val, weights = inputs
    read = [array for layer in deep.reads(part, options) for array in features[layer]]
    digest = key(weights, part, "float32", 0, deep.settings(part, "float32"), y_train, y_val, read)

    def run(checkpoint):
        return deep.train(network(), part, features, n, y_train, y_val, options, epochs=6, checkpoint=checkpoint)

    whole = run(EpochCheckpoint(tmp_path / "whole", part, digest))
    last = len(whole.history) - 1  # the epochs it ran: all, or until PATIENCE epochs without a better val rho
    folder = tmp_path / "killed"
    for killed_after in (1, last - 1):  # PATIENCE 3 after epoch 0 at the earliest: last - 1 >= 2
        assert 1 <= killed_after < last, whole.history
        with pytest.raises(Killed):
            run(KilledAfter(folder, part, digest, killed_after))
        saved = EpochCheckpoint(folder, part, digest).load()
        assert saved["epoch"] == killed_after and not saved["finished"] and saved["optimizer_count"] > 0
    resumed = run(EpochCheckpoint(folder, part, digest))
    assert resumed[:2] == whole[:2] and resumed.names == whole.names and resumed.history == whole.history
    for mine, theirs in zip(resumed.model.get_weights(), whole.model.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    # the mean of its epochs' weights too (training/averages.py): the same epochs, the same mean
    assert resumed.snapshots[0] == whole.snapshots[0] and resumed.snapshots[2] == whole.snapshots[2] == last
    for mine, theirs in zip(resumed.snapshots[1], whole.snapshots[1], strict=True):
        np.testing.assert_array_equal(mine, theirs)
    finished = EpochCheckpoint(folder, part, digest).load()
    assert finished["finished"] and finished["weights_count"] == finished["optimizer_count"] == 0
    again = run(EpochCheckpoint(folder, part, digest))  # a finished candidate is not trained again
    assert again.history == whole.history and again.epoch == whole.epoch


def test_a_killed_training_with_dropout_resumes_drawing_the_masks_it_would_have_drawn(inputs, tmp_path):
    """--augment resmem's Dropout draws from a seed generator whose state is not among the
    model's weights: the checkpoint keeps it, so a run killed after its first epoch ends as one
    never stopped (on the head: the same code checkpoints the stage)."""
    part = "head"
    network, options, features, n, y_train, y_val, weights = inputs
    read = [array for layer in deep.reads(part, options) for array in features[layer]]
    digest = key(weights, part, "float32", 0, deep.settings(part, "float32", "resmem"), y_train, y_val, read)

    def run(checkpoint):
        return deep.train(network(), part, features, n, y_train, y_val, options, epochs=3, checkpoint=checkpoint,
                          augment="resmem")

    whole = run(EpochCheckpoint(tmp_path / "whole", part, digest))
    with pytest.raises(Killed):
        run(KilledAfter(tmp_path / "killed", part, digest, 1))
    assert EpochCheckpoint(tmp_path / "killed", part, digest).load()["random_count"] == 2  # after fc6 and fc7
    resumed = run(EpochCheckpoint(tmp_path / "killed", part, digest))
    assert resumed.history == whole.history and resumed.epoch == whole.epoch
    for mine, theirs in zip(resumed.snapshots[1], whole.snapshots[1], strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_the_key_changes_with_what_decides_the_training(inputs):
    _, options, features, _, y_train, y_val, weights = inputs
    read = [array for layer in deep.reads("head", options) for array in features[layer]]
    base = key(weights, "head", "float32", 0, deep.settings("head", "float32"), y_train, y_val, read)
    assert key(weights, "head", "float32", 1, deep.settings("head", "float32"), y_train, y_val, read) != base
    assert key(weights, "head", "bfloat16", 0, deep.settings("head", "bfloat16"), y_train, y_val, read) != base
    assert key(weights, "head", "float32", 0, deep.settings("head", "float32"), y_train[::-1], y_val, read) != base
    assert key(weights + "x", "head", "float32", 0, deep.settings("head", "float32"), y_train, y_val, read) != base


def test_bfloat16_training_holds_no_float32_twin_and_pulls_towards_the_base_itself(inputs):
    """Memory (issue 42): the part trained in bfloat16 is measured, and returned, computing in
    float32 on its own weights (no second copy), and L2-SP's anchors are the base's variables, not
    copies; the result equals a float32 model given the same weights, and the base is unchanged."""
    from training.bottlenecks import layers_of

    network, options, features, n, y_train, y_val, _ = inputs
    base = network()
    before = [np.array(w) for w in base.get_layer("fc6").get_weights()]
    model, _ = deep.trainable(base, "head", options, "bfloat16")
    anchors = deep.anchors_in(base, model)
    owners = {id(w): layer.name for layer in layers_of(model) for w in layer.trainable_weights}
    for weight, anchor in zip(model.trainable_weights, anchors, strict=True):
        if owners[id(weight)] == "fc12":  # recalibrated before training: its own start
            assert not any(anchor is w for w in base.weights)
        else:
            assert any(anchor is w for w in base.get_layer(owners[id(weight)]).weights), owners[id(weight)]

    score, _, trained, _, history, _ = deep.train(base, "head", features, n, y_train, y_val, options, epochs=2,
                                               dtype="bfloat16")
    assert {layer.dtype_policy.name for layer in layers_of(trained) if layer.weights} == {"float32"}
    twin, _ = deep.trainable(base, "head", options, "float32")
    twin.set_weights(trained.get_weights())
    shapes = [tuple(base.get_layer(name).output.shape[1:]) for name in deep.reads("head", options)]
    data = [features[name] for name in deep.reads("head", options)]
    rows = np.arange(n)
    np.testing.assert_array_equal(deep.predicted(trained, data, shapes, rows)[0],
                                  deep.predicted(twin, data, shapes, rows)[0])
    assert score == max(history)
    for mine, theirs in zip(base.get_layer("fc6").get_weights(), before, strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_a_pass_in_bfloat16_leaves_the_network_computing_as_before_even_when_it_fails(inputs):
    from training.bottlenecks import computing, layers_of

    network = inputs[0]()
    policies = [layer.dtype_policy.name for layer in layers_of(network)]
    with pytest.raises(KeyError), computing(network, "mixed_bfloat16"):
        assert network.get_layer("fc6").compute_dtype == "bfloat16"
        assert network.get_layer("features_conv1").compute_dtype == "bfloat16"
        raise KeyError("a failure inside the pass")
    assert [layer.dtype_policy.name for layer in layers_of(network)] == policies
