"""The faster runtimes of a bucket: LiteRT (TFLite) with XNNPACK, in fp32 or dynamic-range int8.

``MODEL_PRECISION`` picks the runtime:
    fp32         the Keras model through one compiled tf.function (exact; the default)
    lite-fp32    the same weights through LiteRT + XNNPACK (same scores to about 1e-6)
    lite-int8    LiteRT with int8 weights and activations quantised per inference
                 ("dynamic range" post-training quantisation, XNNPACK's qd8 kernels)

The LiteRT model is converted from the bucket's Keras model the first time it is asked for,
and cached under ``MODEL_CACHE`` in a file named by the bucket's weights md5, the precision and
the TensorFlow version, so a changed bucket or converter never reuses a stale file.
"""
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "lite-fp32", "lite-int8")


def convert(model, size, precision):
    """LiteRT flatbuffer bytes of a Keras ``model`` taking one size x size x 3 image."""
    import keras

    with tempfile.TemporaryDirectory() as tmp:
        archive = keras.export.ExportArchive()  # Keras 3's path to a SavedModel for the converter
        archive.track(model)
        archive.add_endpoint("serve", lambda x: model(x, training=False),
                             input_signature=[tf.TensorSpec([1, size, size, 3], tf.float32)])
        archive.write_out(tmp, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=["serve"])
        if precision == "lite-int8":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]  # no dataset: dynamic range
        return converter.convert()


def cached_model(bucket, build, precision, cache_dir):
    """Path of the LiteRT model of ``bucket`` at ``precision``, converting it once if needed.

    ``build()`` returns the loaded Keras model; it is only called on a cache miss.
    """
    name = f"{bucket.architecture}-{bucket.weights_md5}-{precision}-tf{tf.__version__}.tflite"
    path = Path(cache_dir) / name
    if path.is_file():
        return path
    log.info("converting %s to LiteRT %s (once; cached as %s)", bucket.path, precision, path)
    blob = convert(build(), bucket.preprocessing.crop, precision)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
            tmp.write(blob)
        os.replace(tmp.name, path)
    except OSError as error:  # a read-only cache: keep the model for this process only
        log.warning("cannot cache the LiteRT model in %s (%s)", cache_dir, error)
        path = Path(tempfile.mkdtemp()) / name
        path.write_bytes(blob)
    return path


class LiteForward:
    """Scores a batch one image at a time through a LiteRT interpreter with XNNPACK."""

    def __init__(self, path, threads):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.interpreter.allocate_tensors()
        self._input = self.interpreter.get_input_details()[0]["index"]
        self._output = self.interpreter.get_output_details()[0]["index"]

    def __call__(self, batch):
        scores = np.empty(len(batch), np.float32)
        for i, image in enumerate(batch):
            self.interpreter.set_tensor(self._input, np.ascontiguousarray(image[None], np.float32))
            self.interpreter.invoke()
            scores[i] = self.interpreter.get_tensor(self._output).reshape(-1)[0]
        return scores
