"""The Keras callback of a training run: after each epoch it scores val, writes the checkpoint
files of training/checkpoints.py, and stops early."""
import json
from pathlib import Path

import keras
import numpy as np
from scipy.stats import spearmanr

from training.checkpoints import BEST, LAST, STATE, write_atomically


class SpearmanCheckpoint(keras.callbacks.Callback):
    """Scores the validation set after each epoch, checkpoints, and stops early.

    Training stops when val Spearman has not improved for ``patience`` epochs.
    """

    def __init__(self, folder, val_data, val_scores, settings, patience, state=None):
        super().__init__()
        self.folder = Path(folder)
        self.val_data, self.val_scores = val_data, np.asarray(val_scores)
        self.patience = patience
        self.state = state or {"settings": settings, "epochs_done": 0, "best_epoch": 0,
                               "best_spearman": None, "history": []}

    def on_epoch_end(self, epoch, logs=None):
        predicted = self.model.predict(self.val_data, verbose=0).reshape(-1)
        rho = float(spearmanr(predicted, self.val_scores).statistic)
        rho = rho if np.isfinite(rho) else -1.0  # a constant prediction has no rank order
        mse = float(np.mean((predicted - self.val_scores) ** 2))
        record = {"epoch": epoch + 1, "loss": float((logs or {}).get("loss", float("nan"))),
                  "val_spearman": rho, "val_mse": mse}
        print(f"epoch {epoch + 1}: loss {record['loss']:.5f}, val Spearman {rho:.4f}, "
              f"val MSE {mse:.5f}", flush=True)
        state = self.state
        state["history"].append(record)
        state["epochs_done"] = epoch + 1
        if state["best_spearman"] is None or rho > state["best_spearman"]:
            state["best_spearman"], state["best_epoch"] = rho, epoch + 1
            write_atomically(self.model.save_weights, self.folder / BEST)
        write_atomically(self.model.save, self.folder / LAST)
        write_atomically(lambda tmp: Path(tmp).write_text(json.dumps(state, indent=2) + "\n"),
                 self.folder / STATE)
        if epoch + 1 - state["best_epoch"] >= self.patience:
            print(f"stopping early: val Spearman has not improved for {self.patience} epochs",
                  flush=True)
            self.model.stop_training = True
