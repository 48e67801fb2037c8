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
    head; the head alone is checkpointed by the same code), killed after its first epoch and
    after its last but one."""
    part, kills = "stage", ("first", "last but one")
    network, options, features, n, y_train, y_val, weights = inputs
    read = [array for layer in deep.reads(part, options) for array in features[layer]]
    digest = key(weights, part, "float32", 0, deep.settings(part, "float32"), y_train, y_val, read)

    def run(checkpoint):
        return deep.train(network(), part, features, n, y_train, y_val, options, epochs=6, checkpoint=checkpoint)

    whole = run(EpochCheckpoint(tmp_path / "whole", part, digest))
    last = len(whole[4]) - 1  # the epochs it ran: all, or until PATIENCE epochs without a better val rho
    for when in kills:
        killed_after, folder = 1 if when == "first" else max(1, last - 1), tmp_path / when
        assert killed_after < last, whole[4]
        with pytest.raises(Killed):
            run(KilledAfter(folder, part, digest, killed_after))
        saved = EpochCheckpoint(folder, part, digest).load()
        assert saved["epoch"] == killed_after and not saved["finished"] and saved["optimizer"]
        score, epoch, model, names, history = run(EpochCheckpoint(folder, part, digest))
        assert (score, epoch, names, history) == (whole[0], whole[1], whole[3], whole[4]), when
        for mine, theirs in zip(model.get_weights(), whole[2].get_weights(), strict=True):
            np.testing.assert_array_equal(mine, theirs)
        finished = EpochCheckpoint(folder, part, digest).load()
        assert finished["finished"] and finished["weights"] == [] and finished["optimizer"] == []
    again = run(EpochCheckpoint(folder, part, digest))  # a finished candidate is not trained again
    assert again[4] == whole[4] and again[1] == whole[1]


def test_the_key_changes_with_what_decides_the_training(inputs):
    _, options, features, _, y_train, y_val, weights = inputs
    read = [array for layer in deep.reads("head", options) for array in features[layer]]
    base = key(weights, "head", "float32", 0, deep.settings("head", "float32"), y_train, y_val, read)
    assert key(weights, "head", "float32", 1, deep.settings("head", "float32"), y_train, y_val, read) != base
    assert key(weights, "head", "bfloat16", 0, deep.settings("head", "bfloat16"), y_train, y_val, read) != base
    assert key(weights, "head", "float32", 0, deep.settings("head", "float32"), y_train[::-1], y_val, read) != base
    assert key(weights + "x", "head", "float32", 0, deep.settings("head", "float32"), y_train, y_val, read) != base
