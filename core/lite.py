"""The faster runtimes of a bucket: LiteRT (TFLite) with XNNPACK, in fp32 or dynamic-range int8.

``MODEL_PRECISION`` picks the runtime:
    fp32         the Keras model through one compiled tf.function (exact; the default)
    lite-fp32    the same weights through LiteRT + XNNPACK (same scores to about 1e-6)
    lite-int8    LiteRT with int8 weights and activations quantised per inference
                 ("dynamic range" post-training quantisation, XNNPACK's qd8 kernels)

Quantisation hurts some layers far more than others. Measured on ResMem and 305 real photos,
quantising everything moved scores by up to 0.036; the 7x7 stem convolution alone caused 0.029
of that. So for ResMem only ResNet-152's layer2 to layer4 (most of the arithmetic) run in
int8, and the stem, layer1, the MemNet branch and the head stay in float: max |diff| 0.011.
Each part is its own LiteRT model, and the Keras model is freed once they are converted.

The LiteRT models are converted from the bucket's Keras model the first time they are asked
for, and cached under ``MODEL_CACHE`` in files named by the bucket's weights md5, the precision
and the TensorFlow version, so a changed bucket or converter never reuses a stale file.
"""
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "lite-fp32", "lite-int8")
# The span (first tensor in, last tensor out) that runs in int8, per architecture; the rest of
# the network stays in float. An architecture not listed is quantised whole.
INT8_SPANS = {"resmem": ("features_layer1_2_out", "features_avgpool")}


def _rebuild(model, known, output):
    """Re-apply ``model``'s layers to new inputs: ``known`` maps id(original tensor) -> new one."""
    values = dict(known)
    for layer in model.layers:
        node = layer._inbound_nodes[0]
        out = node.output_tensors[0]
        if id(out) in values or not node.input_tensors:
            continue
        if all(id(t) in values for t in node.input_tensors):
            args = [values[id(t)] for t in node.input_tensors]
            values[id(out)] = layer(args if len(args) > 1 else args[0])
    return values[id(output)]


def split(model, start, end):
    """Three models sharing ``model``'s layers: image -> start; start -> end; (image, end) -> score."""
    import keras

    first, last = model.get_layer(start).output, model.get_layer(end).output
    middle_in = keras.Input(first.shape[1:], name="middle")
    image, features = keras.Input(model.input.shape[1:], name="image"), keras.Input(last.shape[1:], name="features")
    return (keras.Model(model.input, first),
            keras.Model(middle_in, _rebuild(model, {id(first): middle_in}, last)),
            keras.Model([image, features], _rebuild(model, {id(model.input): image, id(last): features},
                                                    model.output)))


def convert(model, quantise):
    """LiteRT flatbuffer bytes of a Keras ``model`` (one or more inputs), for a batch of one."""
    import keras

    inputs = model.inputs
    with tempfile.TemporaryDirectory() as tmp:
        archive = keras.export.ExportArchive()  # Keras 3's path to a SavedModel for the converter
        archive.track(model)
        archive.add_endpoint(
            "serve", lambda *xs: model(list(xs) if len(xs) > 1 else xs[0], training=False),
            input_signature=[tf.TensorSpec([1, *t.shape[1:]], tf.float32) for t in inputs])
        archive.write_out(tmp, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=["serve"])
        if quantise:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]  # no dataset: dynamic range
        return converter.convert()


def _write(path, blob, cache_dir):
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
            tmp.write(blob)
        os.replace(tmp.name, path)
    except OSError as error:  # a read-only cache: keep the model for this process only
        log.warning("cannot cache the LiteRT model in %s (%s)", cache_dir, error)
        path = Path(tempfile.mkdtemp()) / path.name
        path.write_bytes(blob)
    return path


def cached_models(bucket, build, precision, cache_dir):
    """Paths of the LiteRT parts of ``bucket`` at ``precision``, converting them once if needed.

    ``build()`` returns the loaded Keras model; it is only called on a cache miss.
    """
    span = INT8_SPANS.get(bucket.architecture) if precision == "lite-int8" else None
    parts = ("front", "int8", "back") if span else ("whole",)
    stem = f"{bucket.architecture}-{bucket.weights_md5}-{precision}-tf{tf.__version__}"
    paths = [Path(cache_dir) / f"{stem}-{part}.tflite" for part in parts]
    if all(path.is_file() for path in paths):
        return paths
    log.info("converting %s to LiteRT %s (once; cached in %s)", bucket.path, precision, cache_dir)
    model = build()
    models = split(model, *span) if span else (model,)
    quantised = [part == "int8" or (part == "whole" and precision == "lite-int8") for part in parts]
    return [_write(path, convert(m, q), cache_dir) for path, m, q in zip(paths, models, quantised)]


class LiteForward:
    """Scores a batch one image at a time through its LiteRT parts (with XNNPACK): a whole
    model, or front -> int8 middle -> back, where the back also reads the image."""

    def __init__(self, paths, threads):
        from ai_edge_litert.interpreter import Interpreter

        self.parts = []
        for path in paths:
            interpreter = Interpreter(model_path=str(path), num_threads=threads)
            interpreter.allocate_tensors()
            inputs = interpreter.get_input_details()
            self.parts.append((interpreter, inputs, interpreter.get_output_details()[0]["index"]))

    @staticmethod
    def _run(part, *arrays):
        interpreter, inputs, output = part
        for array in arrays:  # inputs are told apart by their shape: image or features
            (detail,) = [d for d in inputs if tuple(d["shape"][1:]) == array.shape[1:]]
            interpreter.set_tensor(detail["index"], np.ascontiguousarray(array, np.float32))
        interpreter.invoke()
        return interpreter.get_tensor(output)

    def __call__(self, batch):
        scores = np.empty(len(batch), np.float32)
        for i, image in enumerate(batch):
            x = image[None]
            if len(self.parts) == 1:
                y = self._run(self.parts[0], x)
            else:
                y = self._run(self.parts[2], x, self._run(self.parts[1], self._run(self.parts[0], x)))
            scores[i] = y.reshape(-1)[0]
        return scores
