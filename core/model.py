"""The model behind the API: loads a verified bucket and scores batches of images.

``ModelWrapper.predict(images)`` is the one entry point; it chains the three stages of
maxfw's ``MAXModelWrapper``, each of which takes and returns a whole batch:

    _pre_process   list of RGB PIL images -> float32 array N x H x W x 3 (core/images.py)
    _predict       array -> N scores, through one compiled tf.function, in bounded chunks
    _post_process  scores -> [{"memorability": float}, ...]
"""
import logging

import numpy as np
import tensorflow as tf
from maxfw.model import MAXModelWrapper

from core.bucket import open_bucket
from core.images import preprocess
from core.networks import ARCHITECTURES

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

    def __init__(self, path, batch_size=8, verify=True):
        super().__init__(path)
        self.bucket = open_bucket(path, verify=verify)
        self.MODEL_META_DATA = self.bucket.metadata
        self.spec = self.bucket.preprocessing
        self.batch_size = batch_size
        size = self.spec.crop
        build = ARCHITECTURES.get(self.bucket.architecture)
        if build is None:
            raise ValueError(f"{path}: unknown architecture {self.bucket.architecture!r}; "
                             f"known: {', '.join(sorted(ARCHITECTURES))}")
        self.model = build(size)
        self.model.load_weights(self.bucket.weights_path)
        # A compiled function with a fixed signature: traced once, no per-call Keras overhead.
        self._forward = tf.function(
            lambda x: self.model(x, training=False),
            input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)])
        self._forward(tf.zeros([1, size, size, 3]))  # warm-up: trace now, not on the first request
        log.info("loaded %s (%s) from %s", self.MODEL_META_DATA["name"],
                 self.bucket.architecture, path)

    def _pre_process(self, images):
        return np.stack([preprocess(image, self.spec) for image in images])

    def _predict(self, x):
        scores = [self._forward(tf.constant(x[start:start + self.batch_size])).numpy()
                  for start in range(0, len(x), self.batch_size)]
        return np.concatenate(scores).reshape(-1)

    def _post_process(self, scores):
        return [{"memorability": float(score)} for score in scores]
