"""The model behind the API: loads a verified bucket and scores batches of images.

``ModelWrapper.predict(images)`` is the one entry point; it chains the three stages of
maxfw's ``MAXModelWrapper``, each of which takes and returns a whole batch:

    _pre_process   uploads (bytes) or PIL images -> float32 array N x H x W x 3 (core/images.py);
                   one image is decoded at a time, so a batch never holds N full-size photos;
                   an item that ``prepare`` made already (a float32 array) passes through, so
                   a caller can decode in its own threads (core/scorer.py)
    _predict       array -> N scores, through core/batcher.py: one worker runs the passes of
                   all requests, gathered into batches of at most batch_size images, on the
                   runtime MODEL_PRECISION picks (core/runtimes.py)
    _post_process  scores -> [{"memorability": float}, ...]
"""
import logging
import os
import time

import numpy as np
from maxfw.model import MAXModelWrapper
from PIL import Image

from core.batcher import Batcher
from core.bucket import open_bucket
from core.images import decode_image, preprocess, to_rgb
from core.runtimes import PRECISIONS, load_forward

log = logging.getLogger(__name__)


class ModelWrapper(MAXModelWrapper):
    """A memorability model loaded from a bucket (see core/bucket.py)."""

    def __init__(self, path, batch_size=8, max_pixels=64_000_000, precision="fp32",
                 max_wait=0.005, max_queue=64, cache_dir=".cache/models", threads=None,
                 jpeg_draft=True, convert=True):
        super().__init__(path)
        if precision not in PRECISIONS:
            raise ValueError(f"MODEL_PRECISION must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        # Only TensorFlow, or a conversion, reads the bucket's weights; the runtimes pin their own.
        self.bucket = open_bucket(path, weights_optional=precision != "tf-fp32")
        self.MODEL_META_DATA = self.bucket.metadata
        self.spec = self.bucket.preprocessing
        self.precision = precision
        self.batch_size = batch_size
        self.max_pixels = max_pixels
        # Decode big JPEGs at no less than twice the resize: the resized pixels barely change.
        self.draft_size = tuple(2 * side for side in self.spec.resize) if jpeg_draft else None
        # A missing tier is converted in a child process (convert=False raises instead).
        forward = load_forward(self.bucket, precision, cache_dir, threads or os.cpu_count() or 1, convert)
        size = self.spec.crop
        forward(np.zeros([batch_size, size, size, 3], np.float32))  # warm-up at the largest batch
        begin = time.perf_counter()
        forward(np.zeros([1, size, size, 3], np.float32))  # and at one: neither on a request
        # One worker runs every forward pass: concurrent requests share passes instead of
        # fighting over the same cores (core/batcher.py). Its Retry-After starts from this pass.
        self.batcher = Batcher(forward, batch_size, max_wait, max_queue,
                               seconds_per_image=time.perf_counter() - begin)
        log.info("loaded %s (%s, %s) from %s", self.MODEL_META_DATA["name"],
                 self.bucket.architecture, precision, path)

    def prepare(self, image, name="image 1"):
        """One upload (bytes) or PIL image -> the network's input, float32 H x W x 3; bad bytes
        raise core.images.ImageError with a message that calls the upload ``name``."""
        if isinstance(image, Image.Image):
            image = to_rgb(image)
        else:
            image = decode_image(image, self.max_pixels, name, self.draft_size)
        return preprocess(image, self.spec)

    def predict(self, images):
        """maxfw's three stages; while this request decodes, a forward pass waits for it."""
        with self.batcher.expecting() as submit:
            scores = submit(np.asarray(self._pre_process(images), np.float32))
        return self._post_process(scores)

    def _pre_process(self, images):
        """Decode (raising core.images.ImageError for a bad upload) and preprocess each image."""
        return np.stack([image if isinstance(image, np.ndarray) else self.prepare(image, f"image {number}")
                         for number, image in enumerate(images, 1)])

    def _predict(self, x):
        return self.batcher.submit(np.asarray(x, np.float32))

    def close(self):
        """Stop the forward-pass worker, so that the model can be freed."""
        self.batcher.close()

    def _post_process(self, scores):
        return [{"memorability": float(score)} for score in scores]
