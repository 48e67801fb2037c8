"""Bottlenecks: a network's frozen features, computed once and cached, to retrain only a head
(MemNet's fc6-fc8 in training/train.py, a head on ResMem in training/finetune.py).

The cache is a folder of one .npy file a layer, keyed by the md5 of the weights that compute the
features, the image list, the view and the compute type, so a change in any computes the
features again, and a resumed run reuses them. Keras
and TensorFlow are imported only to compute features: a run that finds them cached (a second
fine-tune on the same photos) never loads them.
"""
import contextlib
import hashlib
import logging
import math
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from training.views import described

log = logging.getLogger("bottlenecks")

HEAD_LAYERS = ("fc6", "fc6_dropout", "fc7", "fc7_dropout", "fc8")


def feature_model(model):
    """MemNet up to its flattened conv5 features (9216 values)."""
    import keras

    return keras.Model(model.input, model.get_layer("flatten").output, name="memnet_features")


def head_model(model):
    """fc6-fc8 of ``model`` as a model of their own; it trains the very same layer objects."""
    import keras

    features = keras.Input(feature_model(model).output.shape[1:], name="features")
    x = features
    for name in HEAD_LAYERS:
        x = model.get_layer(name)(x)
    return keras.Model(features, x, name="memnet_head")


def _key(weights_id, layers, entries, mirror, view=None, dtype="float32", half=(), decoding=""):
    """Digest of what decides the features: the weights (``weights_id``), the layers' names, the
    mirror flag or the view, the compute type and the layers stored in float16, the decoding's
    settings (the JPEG draft changes the pixels), and each image's path, size and modification
    time (a replaced photo is seen)."""
    digest = hashlib.md5(usedforsecurity=False)
    seen = (f" view={described(view)}" if view is not None else "") \
        + (f" dtype={dtype}" if dtype != "float32" else "") + (f" half={','.join(sorted(half))}" if half else "")
    digest.update(f"{weights_id}\n{','.join(layers)} mirror={mirror}{seen} {decoding}\n".encode())
    for path, _ in entries:
        stat = Path(path).stat()
        digest.update(f"{path} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def weights_digest(model, layers):
    """The md5 of ``model``'s weights up to ``layers``: a weights_id for a network built in memory."""
    import keras

    digest = hashlib.md5(usedforsecurity=False)
    for weights in keras.Model(model.input, [model.get_layer(n).output for n in layers]).get_weights():
        digest.update(np.ascontiguousarray(weights).tobytes())
    return digest.hexdigest()


def with_policy(model, policy, dropout=None):
    """A copy of ``model`` (its layers new, its weights copied) computing in Keras's dtype
    ``policy`` ("mixed_bfloat16": bfloat16, the weights float32; 1.3-1.4x faster where the CPU
    has AVX-512 BF16 or AMX), but for its local response norms: TensorFlow's has no bfloat16
    kernel, so they stay float32 (Keras casts their inputs). For a part that is to be trained
    apart from ``model``; computing() changes a model in place, without a copy. ``dropout``
    {layer name: rate}: a Dropout after each of those layers (Keras's clone_model call_function)."""
    import keras

    def call(layer, *args, **kwargs):
        out = layer(*args, **kwargs)
        rate = (dropout or {}).get(layer.name)
        return out if rate is None else keras.layers.Dropout(rate, name=f"{layer.name}_dropout", dtype=policy)(out)

    def clone(layer):
        config = layer.get_config()
        if not _kept_float32(layer):
            config["dtype"] = policy
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone, call_function=call if dropout else None)
    copy.set_weights(model.get_weights())
    return copy


def _kept_float32(layer):
    """TensorFlow's local response norm has no bfloat16 kernel; an input layer computes nothing."""
    import keras

    from core.model.networks import LocalResponseNorm

    return isinstance(layer, (LocalResponseNorm, keras.layers.InputLayer))


def layers_of(model):
    """Every layer of ``model``, nested models' too."""
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from layers_of(layer)


def set_policy(model, policy):
    """Make ``model``'s layers compute in Keras's dtype ``policy`` (its local response norms stay
    float32, as with_policy's), their variables the same: no copy of the weights. Returns each
    layer's policy before. A tf.function already traced keeps the policy it was traced with."""
    saved = [(layer, layer.dtype_policy) for layer in layers_of(model) if not _kept_float32(layer)]
    for layer, _ in saved:
        layer.dtype_policy = policy
    return saved


@contextlib.contextmanager
def computing(model, policy):
    """Inside the block, ``model`` computes in ``policy`` (set_policy); after it, as before."""
    saved = set_policy(model, policy)
    try:
        yield model
    finally:
        for layer, before in saved:
            layer.dtype_policy = before


def outputs(model, layers, entries, pipeline, folder, batch=32, mirror=False, desc="features", weights_id=None,
            view=None, half=(), dtype="float32"):
    """``{layer: N x D}``: the outputs of ``model``'s ``layers`` for the centre crop of each of
    ``entries`` [(path, score)] (of the photo mirrored left-right, with ``mirror``; or the ``view``
    (top, left, flip) of training.pipeline.image_dataset), computed once and cached in ``folder``,
    keyed by the view too. With ``weights_id`` (a verified bucket's md5s), ``model`` is a function
    that builds the network, called only when the features are not cached.

    Each layer is a ``.npy`` file, written a batch at a time and read back memory-mapped: a cache
    larger than memory (a ResNet stage's input for thousands of photos and views) is never held
    whole. The layers named in ``half`` are stored in float16 (half the disk and page cache; they
    must stay below float16's maximum, which is checked), the others in float32. ``dtype``
    "bfloat16" computes them in bfloat16 (computing), cached under another key."""
    key = _key(weights_digest(model, layers) if weights_id is None else weights_id, layers, entries, mirror, view,
               dtype, half, f"draft={pipeline.draft_size} max_pixels={pipeline.max_pixels}")
    path = Path(folder) / f"{desc}-{key}"
    if path.is_dir():
        log.info("%s of the %d photos read from %s", desc, len(entries), path)
        return _read(path, layers)
    import keras

    if weights_id is not None:
        model = model()  # a builder: only now is the network needed
    extractor = keras.Model(model.input, [model.get_layer(name).output for name in layers])
    Path(folder).mkdir(parents=True, exist_ok=True)
    remove_orphans(folder)
    # Its own folder, named by this process: another run may write the same features at once.
    tmp = Path(tempfile.mkdtemp(prefix=f"tmp-{path.name}-{os.getpid()}-", dir=folder))
    try:  # in bfloat16, the very network computing so for this pass: no copy of its 529 MB
        with computing(extractor, "mixed_bfloat16" if dtype == "bfloat16" else "float32"):
            _write(extractor, entries, pipeline, batch, mirror, view, layers, half, tmp, desc)
    except BaseException:  # a failure, or Ctrl-C: its several GB go with it
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        tmp.rename(path)
    except OSError:  # another run finished the same features first: read its
        shutil.rmtree(tmp)
    return _read(path, layers)


def _write(extractor, entries, pipeline, batch, mirror, view, layers, half, tmp, desc):
    from training.pipeline import image_dataset

    files, row = {}, 0
    for images, _ in tqdm(image_dataset(entries, pipeline, batch, mirror=mirror, view=view),
                          total=math.ceil(len(entries) / batch), desc=desc, unit="batch"):
        parts = extractor.predict_on_batch(images)
        for name, part in zip(layers, parts if isinstance(parts, (list, tuple)) else [parts]):
            part = np.reshape(np.asarray(part, np.float32), (len(part), -1))
            if name not in files:
                stored = np.float16 if name in half else np.float32
                files[name] = np.lib.format.open_memmap(tmp / f"{name}.npy", "w+", stored,
                                                        (len(entries), part.shape[1]))
            if name in half and np.abs(part).max(initial=0) > np.finfo(np.float16).max:
                raise ValueError(f"{name}'s outputs exceed float16's range: it cannot be cached in half precision")
            files[name][row:row + len(part)] = part
        row += len(part)
    for file in files.values():
        file.flush()


def remove_orphans(folder):
    """Remove the temporary folders and files of runs that were killed (their process is gone)
    while they wrote features or checkpoints (training/deep_checkpoint.py) into ``folder``: a
    SIGKILL runs no cleanup, and each can hold several GB. Their names end in -PID-SOMETHING."""
    for tmp in Path(folder).glob("tmp-*"):
        match = re.search(r"-(\d+)-[^-]+$", tmp.name)
        if match and not _alive(int(match.group(1))):
            log.info("removing %s, left by a run that was killed", tmp)
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        pass
    return True


def _read(path, layers):
    return {name: np.load(path / f"{name}.npy", mmap_mode="r") for name in layers}


def features(model, entries, pipeline, folder, batch=32):
    """Centre-crop conv features of ``entries`` [(path, score)], from the cache when it has them."""
    return outputs(model, ["flatten"], entries, pipeline, folder, batch, desc="bottlenecks")["flatten"]


def start_output_at_mean(model, scores, sigmoid):
    """Set the output bias so the untrained network predicts the mean score, not 0.5 or 0."""
    mean = float(np.clip(np.mean(scores), 1e-3, 1 - 1e-3))
    layer = model.get_layer("fc8")
    kernel, bias = layer.get_weights()
    bias[:] = math.log(mean / (1 - mean)) if sigmoid else mean
    layer.set_weights([kernel, bias])
