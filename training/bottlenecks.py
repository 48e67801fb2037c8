"""Bottlenecks: MemNet's frozen conv features, computed once and cached, to retrain only its head.

The cache file is keyed by the md5 of the conv weights and of the image list, so a change in
either computes the features again, and a resumed run reuses them.
"""
import hashlib
import math

import keras
import numpy as np
from tqdm import tqdm

from training.pipeline import image_dataset

HEAD_LAYERS = ("fc6", "fc6_dropout", "fc7", "fc7_dropout", "fc8")


def feature_model(model):
    """MemNet up to its flattened conv5 features (9216 values)."""
    return keras.Model(model.input, model.get_layer("flatten").output, name="memnet_features")


def head_model(model):
    """fc6-fc8 of ``model`` as a model of their own; it trains the very same layer objects."""
    features = keras.Input(feature_model(model).output.shape[1:], name="features")
    x = features
    for name in HEAD_LAYERS:
        x = model.get_layer(name)(x)
    return keras.Model(features, x, name="memnet_head")


def _key(model, entries):
    digest = hashlib.md5(usedforsecurity=False)
    for weights in feature_model(model).get_weights():
        digest.update(np.ascontiguousarray(weights).tobytes())
    for path, _ in entries:
        digest.update(str(path).encode() + b"\n")
    return digest.hexdigest()


def features(model, entries, pipeline, folder, batch=32):
    """Centre-crop conv features of ``entries`` [(path, score)], from the cache when it has them."""
    path = folder / f"bottlenecks-{_key(model, entries)}.npy"
    if path.is_file():
        return np.load(path)
    extractor = feature_model(model)
    data = image_dataset(entries, pipeline, batch)
    out = [extractor.predict_on_batch(images) for images, _ in
           tqdm(data, total=math.ceil(len(entries) / batch), desc="bottlenecks", unit="batch")]
    result = np.concatenate(out).astype(np.float32)
    tmp = path.with_name("tmp-" + path.name)
    np.save(tmp, result)
    tmp.rename(path)
    return result


def start_output_at_mean(model, scores, sigmoid):
    """Set the output bias so the untrained network predicts the mean score, not 0.5 or 0."""
    mean = float(np.clip(np.mean(scores), 1e-3, 1 - 1e-3))
    layer = model.get_layer("fc8")
    kernel, bias = layer.get_weights()
    bias[:] = math.log(mean / (1 - mean)) if sigmoid else mean
    layer.set_weights([kernel, bias])
