"""A deep candidate's training (training/deep.py), checkpointed after every epoch, so that a
killed ``finetune`` resumes where it was: a candidate finished is not trained again, and one cut
short goes on from its last epoch, with the same result as a run never stopped.

A checkpoint is one ``.npz`` file in the features cache, written to a temporary name and renamed
into place (a kill leaves the last epoch's whole): the part's weights, Adam's variables (its
step count, moments and velocities), the dropout layers' random state, the best epoch's weights,
the mean of the epochs' weights (training/averages.py), and the epoch, the best val rho and
epoch, the history and the random generator's state as JSON. It is keyed by everything that
decides the training: the base's weights, the part, the compute type, the seed, the settings,
the labels and the cached features it reads. Once the candidate is finished only its best
weights and the mean of its epochs' are kept: two copies of the part on disk (680 MB for the
stage), a seed's each.
"""
import hashlib
import json
import logging
import os
import zipfile
from pathlib import Path

import numpy as np

log = logging.getLogger("finetune")


def key(weights_id, part, dtype, seed, settings, y_train, y_val, arrays):
    """The digest of what decides a deep candidate's training; ``arrays`` are the features it reads
    (the cached ones are memory-mapped: their files, which are keyed by their own inputs, name them)."""
    digest = hashlib.md5(usedforsecurity=False)
    digest.update(json.dumps([weights_id, part, dtype, seed, settings], sort_keys=True).encode())
    digest.update(np.asarray(y_train, np.float64).tobytes() + b"|" + np.asarray(y_val, np.float64).tobytes())
    for array in arrays:
        name = getattr(array, "filename", None)
        digest.update(str(name).encode() if name else np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


class EpochCheckpoint:
    """The checkpoint file of one deep candidate's training, in ``folder`` under ``key``."""

    def __init__(self, folder, part, key):
        self.path = Path(folder) / f"deep-{part}-{key}.npz"

    def load(self):
        """The saved state, or None: {"epoch", "best_score", "best_epoch", "history", "rng",
        "finished", "snapshots_averaged"}, and "best_weights" and "snapshots" (lists of arrays).
        The model's and Adam's arrays stay in the file until restore() puts them in place, one at
        a time."""
        if not self.path.is_file():
            return None
        with np.load(self.path, allow_pickle=False) as saved:
            state = json.loads(str(saved["state"]))
            for name in ("best_weights", "snapshots"):
                state[name] = [saved[f"{name}_{i}"] for i in range(state[f"{name}_count"])]
        log.info("%s: resumed from %s, epoch %d done", self.path.name.split("-")[1], self.path, state["epoch"])
        return state

    def save(self, epoch, model, optimizer, best, history, rng, snapshots, finished=False):
        """After ``epoch``: the model's and Adam's state (none once ``finished``), the best so far and
        the mean of the epochs' weights (``snapshots``, training/averages.py), written an array at a
        time (a whole copy of Adam's moments would be 2 x the part's weights)."""
        arrays = {"weights": [] if finished else model.weights,
                  "optimizer": [] if finished else optimizer.variables, "best_weights": best[2],
                  "snapshots": snapshots.arrays or [], "random": [] if finished else random_states(model)}
        state = {"epoch": epoch, "best_score": best[0], "best_epoch": best[1], "history": history,
                 "rng": rng.bit_generator.state, "finished": finished, "snapshots_averaged": snapshots.count,
                 **{f"{name}_count": len(values) for name, values in arrays.items()}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A killed run's is removed by the next (bottlenecks.remove_orphans: -PID-SOMETHING).
        tmp = self.path.with_name(f"tmp-{self.path.stem}-{os.getpid()}-partial")
        entries = [("state", lambda: np.array(json.dumps(state)))] + [
            (f"{name}_{i}", lambda value=value: np.asarray(value))
            for name, values in arrays.items() for i, value in enumerate(values)]
        try:
            with zipfile.ZipFile(tmp, "w", allowZip64=True) as archive:  # np.savez's format, read by np.load
                for name, array in entries:
                    with archive.open(f"{name}.npy", "w", force_zip64=True) as stream:
                        np.lib.format.write_array(stream, array(), allow_pickle=False)
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def restore(self, state, model, optimizer, rng):
        """Put a saved state back: the model's weights, Adam's variables (read from the file an
        array at a time), the dropout layers' random state, the generator's state."""
        optimizer.build(model.trainable_weights)
        with np.load(self.path, allow_pickle=False) as saved:
            for prefix, variables in (("weights", model.weights), ("optimizer", optimizer.variables),
                                      ("random", random_states(model))):
                if len(variables) != state[f"{prefix}_count"]:
                    raise ValueError(f"{self.path}: {state[f'{prefix}_count']} {prefix} saved, {len(variables)} here")
                for i, variable in enumerate(variables):
                    variable.assign(saved[f"{prefix}_{i}"])
        rng.bit_generator.state = state["rng"]


def random_states(model):
    """The state of each of ``model``'s random layers (the Dropout of ``--augment resmem``): not in
    ``model.weights``, and a resumed run must draw the masks the killed one would have drawn."""
    from training.bottlenecks import layers_of

    return [generator.state for layer in layers_of(model) for generator in getattr(layer, "_seed_generators", ())]
