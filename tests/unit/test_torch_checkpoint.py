"""Fidelity (ResMem's checkpoint format; no model): the restricted reader of PyTorch checkpoints:
reads tensors, refuses to run anything else."""
import io
import os
import pickle
import zipfile

import numpy as np
import pytest

from training.convert_resmem import fc6_row_order
from training.torch_checkpoint import UnsafeCheckpointError, load_state_dict


def checkpoint_with_pickle(path, payload, storages=()):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", payload)
        for key, raw in storages:
            archive.writestr(f"archive/data/{key}", raw)
    return path


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_a_pickle_that_calls_a_function_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    path = checkpoint_with_pickle(tmp_path / "evil.pt", pickle.dumps({"w": _Evil(marker)}))
    with pytest.raises(UnsafeCheckpointError, match="refusing to load global posix.mkdir"):
        load_state_dict(path)
    assert not marker.exists()


def _named_function(module, name):
    """A stand-in function that pickles as the global ``module.name``."""
    fn = lambda *args: None  # noqa: E731
    fn.__module__, fn.__qualname__, fn.__name__ = module, name, name
    return fn


def test_a_torch_style_tensor_is_rebuilt_with_its_strides(tmp_path, monkeypatch):
    """Write a checkpoint the way torch.save does (persistent storage ids, the rebuild global)."""
    import sys
    import types

    rebuild = _named_function("torch._utils", "_rebuild_tensor_v2")
    float_storage = _named_function("torch", "FloatStorage")
    # Only the *writer* resolves these names; the reader never imports torch.
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(FloatStorage=float_storage))
    monkeypatch.setitem(sys.modules, "torch._utils", types.SimpleNamespace(_rebuild_tensor_v2=rebuild))
    storage = object()

    class Tensor:
        def __reduce__(self):  # a 2x3 tensor stored transposed: shape (3, 2), strides (1, 3)
            return (rebuild, (storage, 0, (3, 2), (1, 3), False, None))

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", float_storage, "0", "cpu", 6) if obj is storage else None

    buffer = io.BytesIO()
    Pickler(buffer, protocol=2).dump({"w": Tensor()})
    values = np.arange(6, dtype="<f4")
    path = checkpoint_with_pickle(tmp_path / "ok.pt", buffer.getvalue(), [("0", values.tobytes())])
    monkeypatch.undo()
    state = load_state_dict(path)
    np.testing.assert_array_equal(state["w"], values.reshape(2, 3).T)


def test_fc6_rows_follow_torch_channel_major_flattening():
    order = fc6_row_order(channels=2, side=2)
    # Keras flattens (h, w, c): index 1 is h=0, w=0, c=1, which torch stores at c*4 + 0 = 4.
    assert order.tolist() == [0, 4, 1, 5, 2, 6, 3, 7]
