"""Unit: training/averages.py's running mean, the average of a deep candidate's weights."""
import numpy as np

from training.averages import RunningMean


def test_the_running_mean_is_the_mean_of_the_sets_added_in_place():
    rng = np.random.default_rng(0)
    sets = [[rng.normal(size=(64, 32)).astype(np.float32), rng.normal(size=32).astype(np.float32)]
            for _ in range(7)]
    mean = RunningMean()
    assert not mean.is_average()
    mean.add(sets[0])
    held = [id(array) for array in mean.arrays]
    assert not mean.is_average() and mean.arrays[0] is not sets[0][0]  # a copy: the weights go on changing
    for values in sets[1:]:
        mean.add(values)
    assert mean.is_average() and mean.count == 7 and [id(array) for array in mean.arrays] == held
    for got, layer in zip(mean.arrays, zip(*sets), strict=True):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, np.mean(layer, axis=0), atol=1e-6)
    resumed = RunningMean([array.copy() for array in mean.arrays], mean.count)  # as a checkpoint gives it back
    resumed.add(sets[0])
    mean.add(sets[0])
    for mine, theirs in zip(resumed.arrays, mean.arrays, strict=True):
        np.testing.assert_array_equal(mine, theirs)
