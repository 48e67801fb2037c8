"""The faster runtimes of a bucket: LiteRT (TFLite) with XNNPACK, in fp32 or dynamic-range int8.

``MODEL_PRECISION`` picks the runtime:
    fp32         the Keras model through one compiled tf.function (exact; the default)
    lite-fp32    the same weights through LiteRT + XNNPACK (same scores to about 1e-6)
    lite-int8    LiteRT with int8 weights and activations quantised per inference
                 ("dynamic range" post-training quantisation, XNNPACK's qd8 kernels)

Quantisation hurts some layers far more than others. Measured on ResMem and 305 real photos,
quantising everything moved scores by up to 0.036; the 7x7 stem convolution alone caused 0.029
of that. So ResMem's ResNet-152 stem and layer1 stay in float (a LiteRT fp32 model), and all
the rest runs in int8 (a second model, which also reads the image for the MemNet branch):
max |diff| 0.009, and faster than quantising everything. The Keras model is freed once both
are converted.

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
# Per architecture, the layer up to which the network stays in float under lite-int8; after
# it, everything is int8. An architecture not listed is quantised whole.
FLOAT_UNTIL = {"resmem": "features_layer1_2_out"}


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


def split(model, until):
    """Two models sharing ``model``'s layers: image -> the output of layer ``until``, and
    (image, that output) -> score."""
    import keras

    cut = model.get_layer(until).output
    image, features = keras.Input(model.input.shape[1:], name="image"), keras.Input(cut.shape[1:], name="features")
    rest = _rebuild(model, {id(model.input): image, id(cut): features}, model.output)
    return keras.Model(model.input, cut), keras.Model([image, features], rest)


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
    until = FLOAT_UNTIL.get(bucket.architecture) if precision == "lite-int8" else None
    parts = ("front", "rest") if until else ("whole",)
    stem = f"{bucket.architecture}-{bucket.weights_md5}-{precision}-tf{tf.__version__}"
    paths = [Path(cache_dir) / f"{stem}-{part}.tflite" for part in parts]
    if all(path.is_file() for path in paths):
        return paths
    log.info("converting %s to LiteRT %s (once; cached in %s)", bucket.path, precision, cache_dir)
    model = build()
    models = split(model, until) if until else (model,)
    quantised = [part != "front" and precision == "lite-int8" for part in parts]
    return [_write(path, convert(m, q), cache_dir) for path, m, q in zip(paths, models, quantised)]


class LiteForward:
    """Scores a batch one image at a time through its LiteRT parts (with XNNPACK): a whole
    model, or a float front and the rest, which reads the image and the front's output."""

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
                y = self._run(self.parts[1], x, self._run(self.parts[0], x))
            scores[i] = y.reshape(-1)[0]
        return scores
