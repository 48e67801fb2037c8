"""The model behind the API: loads a verified bucket and scores batches of images.

``ModelWrapper.predict(images)`` is the one entry point; it chains the three stages of
maxfw's ``MAXModelWrapper``, each of which takes and returns a whole batch:

    _pre_process   inputs -> float32 array N x H x W x 3, through the one input pipeline
                   (core/pipeline.py); one image is decoded at a time, so a batch never holds N
                   full-size photos; a core.pipeline.Photo that a caller prepared already (in
                   its own threads: collection/local.py) passes through
    _predict       array -> N scores (``scores``), through core/batcher.py: one worker runs the
                   passes of all requests, gathered into batches of at most BATCH_SIZE images,
                   on the runtime of the tier MODEL_PRECISION names (core/tiers.py)
    _post_process  scores -> [{"memorability": float}, ...]

Build it with ``ModelWrapper.from_settings(settings)`` (config.Settings).
"""
import logging
import time

import numpy as np
from maxfw.model import MAXModelWrapper

from core.batcher import Batcher
from core.bucket import open_bucket
from core.checksums import DigestMemo
from core.pipeline import InputPipeline, Photo
from core.runtimes import load_forward
from core.tiers import TIERS

log = logging.getLogger(__name__)


class ModelWrapper(MAXModelWrapper):
    """A memorability model loaded from a bucket (see core/bucket.py)."""

    def __init__(self, settings, convert=True, warm_up=True):
        """The bucket at ``settings.MODEL_BUCKET`` on the tier ``settings.MODEL_PRECISION``; a
        missing tier is converted in a child process (``convert=False`` raises instead).
        ``warm_up`` runs two passes on zeros, so that a server's first request is as fast as
        the rest and Retry-After starts from a measured pass; a batch job (``score``, a Ray
        actor, evaluate) skips them: its first batch warms up the runtime just as well."""
        path, precision = settings.MODEL_BUCKET, settings.MODEL_PRECISION
        super().__init__(path)
        self.settings = settings
        # Only TensorFlow, or a conversion, reads the bucket's weights; the runtimes pin their own.
        self.bucket = open_bucket(path, weights_optional=TIERS[precision].runtime != "tensorflow",
                                  memo=DigestMemo(settings.MODEL_CACHE))
        self.MODEL_META_DATA = self.bucket.metadata
        self.spec = self.bucket.preprocessing
        self.precision = precision
        self.pipeline = InputPipeline.from_settings(self.spec, settings)
        batch_size = settings.BATCH_SIZE
        forward = load_forward(self.bucket, precision, settings.MODEL_CACHE, settings.MODEL_THREADS, convert)
        seconds_per_image = self._warm_up(forward, batch_size) if warm_up else None
        # One worker runs every forward pass: concurrent requests share passes instead of
        # fighting over the same cores (core/batcher.py). Its Retry-After starts from the warm-up.
        self.batcher = Batcher(forward, batch_size, settings.BATCH_WAIT_MS / 1000, settings.MAX_QUEUE_IMAGES,
                               seconds_per_image=seconds_per_image, pass_timeout=settings.PASS_TIMEOUT,
                               max_waiting=max(1, settings.WORKER_THREADS // 2))
        log.info("loaded %s (%s, %s) from %s", self.MODEL_META_DATA["name"],
                 self.bucket.architecture, precision, path)

    def _warm_up(self, forward, batch_size):
        """A pass at the largest batch, then one at one image, neither on a request: the
        seconds of the second."""
        size = self.spec.crop
        forward(np.zeros([batch_size, size, size, 3], np.float32))
        begin = time.perf_counter()
        forward(np.zeros([1, size, size, 3], np.float32))
        return time.perf_counter() - begin

    @classmethod
    def from_settings(cls, settings, convert=True, warm_up=True):
        return cls(settings, convert, warm_up)

    def predict(self, images, stable=None):
        """maxfw's three stages; while this request decodes, a forward pass waits for it.
        ``stable`` (default: MODEL_TTA=mirror) scores each photo as the mean of it and its
        mirror image, the two in the same pass, and adds their signed difference."""
        stable = self.settings.MODEL_TTA == "mirror" if stable is None else stable
        with self.batcher.expecting() as submit:
            scores = submit(self._pre_process(images, stable))
        return self._post_process(scores, stable)

    def _pre_process(self, images, stable=False):
        """Each input through the pipeline (core.images.ImageError for a bad one, named by its
        place: "image 2 ..."), written into the network's batch; stable: each then its mirror.
        One photo is decoded at a time and only its network input is kept: a request of sixteen
        64-megapixel PNGs holds one decoded picture at a time, not sixteen (256 MB each)."""
        images, size, views = list(images), self.spec.crop, 2 if stable else 1
        batch = np.empty((len(images) * views, size, size, 3), np.float32)
        for number, image in enumerate(images, 1):
            photo = image if isinstance(image, Photo) else self.pipeline.prepare(
                image, f"image {number}", stable, keep_image=False)
            batch[(number - 1) * views] = photo.x
            if stable:
                batch[(number - 1) * views + 1] = self.pipeline.with_mirror(photo).x_mirror
            del photo  # the decoded picture goes before the next one is decoded
        return batch

    def scores(self, batch):
        """Scores of network inputs that are prepared already (N x H x W x 3), in shared passes:
        for callers that change the input before scoring it, such as occlusion maps."""
        return self.batcher.submit(np.asarray(batch, np.float32))

    def _predict(self, x):
        return self.scores(x)

    def close(self):
        """Stop the forward-pass worker, so that the model can be freed."""
        self.batcher.close()

    def _post_process(self, scores, stable=False):
        if not stable:
            return [{"memorability": float(score)} for score in scores]
        # (a + b) / 2 in float64 of float32 scores: the same for a photo and its mirror, exactly.
        return [{"memorability": (float(a) + float(b)) / 2, "mirror_delta": float(a) - float(b)}
                for a, b in np.asarray(scores).reshape(-1, 2)]
