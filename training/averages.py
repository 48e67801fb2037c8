"""Averages of a deep candidate's weights (training/deep.py), each served as one network of the
same size, so neither costs a pass more than the candidate it averages:

- ``snapshots``: the mean of the weights at the end of each epoch the run trained (stochastic
  weight averaging, Izmailov et al. 2018, "Averaging Weights Leads to Wider Optima and Better
  Generalization", UAI), the epochs past the best one included: what the run went through, not a
  second choice on val.
- ``seeds``: the mean of the best epochs' weights of runs with different seeds (the order of the
  photos, their views, dropout) from the same base weights (a uniform model soup, Wortsman et al.
  2022, "Model soups: averaging weights of multiple fine-tuned models improves accuracy without
  increasing inference time", ICML). ``finetune --seeds S`` trains each deep part S times.

Both are candidates chosen on val by the same rule as every other (training/candidates.py).
BatchNorm statistics are frozen in every part (training/deep.py), so an average of weights needs
no new statistics.
"""
import numpy as np

MIN_SNAPSHOTS = 2


class RunningMean:
    """The mean of arrays added one set at a time, held as one set (float32), updated an array at a
    time: no second copy of a part's weights is made to add one."""

    def __init__(self, arrays=None, count=0):
        self.arrays, self.count = (list(arrays) if arrays is not None else None), count

    def add(self, values):
        """Add one set (Keras variables or arrays, in the same order every time)."""
        self.count += 1
        if self.arrays is None:
            self.arrays = [np.array(value, np.float32) for value in values]
            return
        for mean, value in zip(self.arrays, values, strict=True):
            mean += (np.asarray(value, np.float32) - mean) / np.float32(self.count)

    def is_average(self):
        """Whether it averages two sets or more (the mean of one is that one)."""
        return self.count >= MIN_SNAPSHOTS
