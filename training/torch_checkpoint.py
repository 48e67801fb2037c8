"""Read a PyTorch ``.pt`` state dict into NumPy arrays, without PyTorch.

A ``.pt`` file is a zip archive holding ``data.pkl`` and one raw file per storage. The pickle
names Python globals to call; a downloaded pickle must never be allowed to call arbitrary ones,
so the unpickler below admits only the tensor-rebuild globals and refuses everything else.
"""
import collections
import pickle
import zipfile

import numpy as np

# torch storage class name -> little-endian NumPy dtype of its raw bytes
STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": None, "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class UnsafeCheckpointError(pickle.UnpicklingError):
    """The checkpoint's pickle asks for a global outside the allowed set."""


class _StorageType:
    def __init__(self, name):
        if STORAGE_DTYPES.get(name) is None:
            raise UnsafeCheckpointError(f"unsupported storage type torch.{name}")
        self.dtype = np.dtype(STORAGE_DTYPES[name]).newbyteorder("<")


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None,
                       metadata=None):
    """NumPy twin of torch._utils._rebuild_tensor_v2: a strided view of a storage."""
    itemsize = storage.dtype.itemsize
    if not size:
        return np.array(storage[offset])
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=tuple(size), strides=tuple(s * itemsize for s in stride))
    return np.ascontiguousarray(view)


class _RestrictedUnpickler(pickle.Unpickler):
    ALLOWED = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    }

    def __init__(self, file, archive, prefix):
        super().__init__(file)
        self._archive, self._prefix = archive, prefix

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return self.ALLOWED[(module, name)]
        if module == "torch" and name.endswith("Storage"):
            return _StorageType(name)
        raise UnsafeCheckpointError(f"refusing to load global {module}.{name} from checkpoint")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, numel = pid
        if kind != "storage" or not isinstance(storage_type, _StorageType):
            raise UnsafeCheckpointError(f"unexpected persistent id {pid!r}")
        raw = self._archive.read(f"{self._prefix}data/{key}")
        array = np.frombuffer(raw, dtype=storage_type.dtype)
        if array.size != numel:
            raise pickle.UnpicklingError(f"storage {key} holds {array.size} values, expected {numel}")
        return array


def load_state_dict(path):
    """Return the ``{name: np.ndarray}`` state dict stored in the ``.pt`` file at ``path``."""
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise pickle.UnpicklingError(f"{path} is not a PyTorch zip checkpoint")
        prefix = pickles[0][: -len("data.pkl")]
        with archive.open(pickles[0]) as file:
            state = _RestrictedUnpickler(file, archive, prefix).load()
    if not isinstance(state, dict):
        raise pickle.UnpicklingError(f"{path} holds a {type(state).__name__}, not a state dict")
    return state
