"""Checkpoints of a training run, each epoch, so that ``--resume`` after a kill loses at most one.

``OUT/checkpoints/`` holds:
    last.keras         the model being trained, with its optimizer state (Keras' own format)
    best.weights.h5    its weights at the epoch with the best validation Spearman so far
    state.json         the run's settings, the epochs done and the history of val metrics

Each file is written to a temporary name and renamed into place, and ``state.json`` last, so a
kill at any moment leaves the previous epoch's checkpoint whole. Reading them needs no Keras, so
that a run refused for its checkpoint is refused before TensorFlow is imported
(training/epoch_checkpoint.py writes them).
"""
import json
import os
from pathlib import Path

STATE = "state.json"
LAST = "last.keras"
BEST = "best.weights.h5"


def write_atomically(write, path):
    """``write(tmp)`` a file beside ``path``, then rename it into place."""
    path = Path(path)
    tmp = path.with_name("tmp-" + path.name)  # keeps the suffix Keras insists on (.keras, .weights.h5)
    write(tmp)
    os.replace(tmp, path)


def read_state(folder):
    path = Path(folder) / STATE
    return json.loads(path.read_text()) if path.is_file() else None
