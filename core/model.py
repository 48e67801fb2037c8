"""The model behind the API: loads a verified bucket and scores batches of images.

``ModelWrapper.predict(images)`` is the one entry point; it chains the three stages of
maxfw's ``MAXModelWrapper``, each of which takes and returns a whole batch:

    _pre_process   uploads (bytes) or PIL images -> float32 array N x H x W x 3 (core/images.py);
                   one image is decoded at a time, so a batch never holds N full-size photos
    _predict       array -> N scores, through one compiled tf.function, in bounded chunks
    _post_process  scores -> [{"memorability": float}, ...]
"""
import logging
import threading

import numpy as np
import tensorflow as tf
from maxfw.model import MAXModelWrapper
from PIL import Image

from core.bucket import open_bucket
from core.images import decode_image, preprocess, to_rgb
from core.metrics import BATCH_SIZE, FORWARD_SECONDS, QUEUE_DEPTH
from core.networks import build_network

log = logging.getLogger(__name__)


def configure_threads(intra_op, inter_op):
    """Size TF's thread pools; only possible before TF runs its first op in this process."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    except RuntimeError:
        log.warning("TensorFlow is already initialised; keeping its thread pools")


class ModelWrapper(MAXModelWrapper):
    """A memorability model loaded from a bucket (see core/bucket.py)."""

    def __init__(self, path, batch_size=8, max_pixels=64_000_000):
        super().__init__(path)
        self.bucket = open_bucket(path)
        self.MODEL_META_DATA = self.bucket.metadata
        self.spec = self.bucket.preprocessing
        self.batch_size = batch_size
        self.max_pixels = max_pixels
        # One forward pass at a time: concurrent passes only fight over the same cores.
        self._lock = threading.Lock()
        size = self.spec.crop
        self.model = build_network(self.bucket.architecture, size, self.bucket.architecture_options)
        self.model.load_weights(self.bucket.weights_path)
        # A compiled function with a fixed signature: traced once, no per-call Keras overhead.
        self._forward = tf.function(
            lambda x: self.model(x, training=False),
            input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)])
        self._forward(tf.zeros([1, size, size, 3]))  # warm-up: trace now, not on the first request
        log.info("loaded %s (%s) from %s", self.MODEL_META_DATA["name"],
                 self.bucket.architecture, path)

    def _pre_process(self, images):
        """Decode (raising core.images.ImageError for a bad upload) and preprocess each image."""
        arrays = []
        for number, image in enumerate(images, 1):
            if isinstance(image, Image.Image):
                image = to_rgb(image)
            else:
                image = decode_image(image, self.max_pixels, name=f"image {number}")
            arrays.append(preprocess(image, self.spec))
        return np.stack(arrays)

    def _predict(self, x):
        scores = []
        for start in range(0, len(x), self.batch_size):
            chunk = x[start:start + self.batch_size]
            QUEUE_DEPTH.inc()
            with self._lock:
                QUEUE_DEPTH.dec()
                BATCH_SIZE.observe(len(chunk))
                with FORWARD_SECONDS.time():
                    scores.append(self._forward(tf.constant(chunk)).numpy())
        return np.concatenate(scores).reshape(-1)

    def _post_process(self, scores):
        return [{"memorability": float(score)} for score in scores]
