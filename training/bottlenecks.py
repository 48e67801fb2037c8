"""Bottlenecks: a network's frozen features, computed once and cached, to retrain only a head
(MemNet's fc6-fc8 in training/train.py, a head on ResMem in training/finetune.py).

The cache file is keyed by the md5 of the weights that compute the features and of the image
list, so a change in either computes the features again, and a resumed run reuses them. Keras
and TensorFlow are imported only to compute features: a run that finds them cached (a second
fine-tune on the same photos) never loads them.
"""
import hashlib
import logging
import math
from pathlib import Path

import numpy as np
from tqdm import tqdm

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


def _key(weights_id, layers, entries, mirror, view=None):
    """Digest of what decides the features: the weights (``weights_id``), the layers' names, the
    mirror flag or the view, and each image's path, size and modification time (a replaced photo
    is seen)."""
    digest = hashlib.md5(usedforsecurity=False)
    seen = f" view={tuple(view)}" if view is not None else ""
    digest.update(f"{weights_id}\n{','.join(layers)} mirror={mirror}{seen}\n".encode())
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


def outputs(model, layers, entries, pipeline, folder, batch=32, mirror=False, desc="features", weights_id=None,
            view=None):
    """``{layer: N x D float32}``: the outputs of ``model``'s ``layers`` for the centre crop of each
    of ``entries`` [(path, score)] (of the photo mirrored left-right, with ``mirror``; or the
    ``view`` (top, left, flip) of training.pipeline.image_dataset), computed once and cached in
    ``folder``, keyed by the view too. With ``weights_id`` (a verified bucket's md5s), ``model`` is
    a function that builds the network, called only when the features are not cached."""
    key = _key(weights_digest(model, layers) if weights_id is None else weights_id, layers, entries, mirror, view)
    path = Path(folder) / f"{desc}-{key}.npz"
    if path.is_file():
        log.info("%s of the %d photos read from %s", desc, len(entries), path)
        with np.load(path) as cached:
            return {name: cached[name] for name in layers}
    import keras

    from training.pipeline import image_dataset

    if weights_id is not None:
        model = model()  # a builder: only now is the network needed
    extractor = keras.Model(model.input, [model.get_layer(name).output for name in layers])
    data = image_dataset(entries, pipeline, batch, mirror=mirror, view=view)
    parts = [extractor.predict_on_batch(images) for images, _ in
             tqdm(data, total=math.ceil(len(entries) / batch), desc=desc, unit="batch")]
    parts = [part if isinstance(part, (list, tuple)) else [part] for part in parts]
    result = {name: np.concatenate([np.reshape(part[i], (len(part[i]), -1)) for part in parts]).astype(np.float32)
              for i, name in enumerate(layers)}
    Path(folder).mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("tmp-" + path.name)
    with open(tmp, "wb") as file:
        np.savez(file, **result)
    tmp.rename(path)
    return result


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
