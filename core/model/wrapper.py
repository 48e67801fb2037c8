"""The model behind the API: loads a verified bucket and scores batches of images.

``ModelWrapper.predict(images)`` is the one entry point; it chains the three stages of
maxfw's ``MAXModelWrapper``, each of which takes and returns a whole batch:

    _pre_process   inputs -> float32 array N x H x W x 3, through the one input pipeline
                   (core/inputs/pipeline.py); one image is decoded at a time, so a batch never holds N
                   full-size photos; a core.inputs.pipeline.Photo that a caller prepared already (in
                   its own threads: collection/local.py) passes through
    _predict       array -> N x K scores (``scores``), one column an output (core/model/outputs.py),
                   through core/model/batcher.py: one worker runs the passes of all requests, gathered
                   into batches of at most BATCH_SIZE images; each pass runs every output's
                   network, on the runtime of the tier MODEL_PRECISION names (core/model/tiers.py),
                   over the same preprocessed batch
    _post_process  scores -> [core.model.outputs.Scores, ...]: each photo's score of each output by
                   name ({"memorability": float, "false_alarm": float}); the API names the fields

Build it with ``ModelWrapper(settings)`` (config.Settings).
"""
import logging
import time

import numpy as np
from maxfw.model import MAXModelWrapper

from core.inputs.pipeline import InputPipeline, Photo
from core.model.batcher import Batcher
from core.model.bucket import BucketError, open_bucket
from core.model.checksums import DigestMemo
from core.model.outputs import output_of, outputs_of, scores_of
from core.model.runtimes import load_forward
from core.model.tiers import TIERS

log = logging.getLogger(__name__)


class ModelWrapper(MAXModelWrapper):
    """The outputs of MODEL_OUTPUTS, each loaded from its bucket (core/model/outputs.py, core/model/bucket.py)."""

    def __init__(self, settings, convert=True, warm_up=True):
        """Each output's bucket (MODEL_BUCKET for memorability, FALSE_ALARM_BUCKET for
        false_alarm) on the tier ``settings.MODEL_PRECISION``; a missing tier is converted in a
        child process (``convert=False`` raises instead). ``warm_up`` runs two passes on zeros,
        so that a server's first request is as fast as the rest and Retry-After starts from a
        measured pass; a batch job (``score``, a Ray actor, evaluate) skips them: its first
        batch warms up the runtime just as well."""
        precision = settings.MODEL_PRECISION
        outputs = outputs_of(settings)
        super().__init__(outputs[0].bucket)
        self.settings = settings
        # Only TensorFlow, or a conversion, reads the bucket's weights; the runtimes pin their own.
        memo = DigestMemo(settings.MODEL_CACHE)
        self.buckets = [open_bucket(output.bucket, weights_optional=TIERS[precision].runtime != "tensorflow",
                                    memo=memo) for output in outputs]
        self.outputs = tuple(output.name for output in outputs)
        self.bucket = self.buckets[0]
        self._check_outputs(outputs)
        for output, bucket in zip(outputs, self.buckets):
            if bucket.mirrored and not settings.stable_by_default:
                log.warning("%s (%s) was chosen scoring each photo as the mean of it and its mirror image: it "
                            "scores as measured with MODEL_TTA=mirror (or stable=true); MODEL_TTA is %s",
                            output.bucket, output.name, settings.MODEL_TTA)
        self.MODEL_META_DATA = metadata_of(self.outputs, self.buckets)
        self.spec = self.bucket.preprocessing
        self.precision = precision
        self.pipeline = InputPipeline.from_settings(self.spec, settings)
        batch_size = settings.BATCH_SIZE
        forwards = [load_forward(bucket, precision, settings.MODEL_CACHE, settings.MODEL_THREADS, convert)
                    for bucket in self.buckets]
        forward = forwards[0] if len(forwards) == 1 else all_outputs(forwards)
        seconds_per_image = self._warm_up(forward, batch_size) if warm_up else None
        # One worker runs every forward pass: concurrent requests share passes instead of
        # fighting over the same cores (core/model/batcher.py). Its Retry-After starts from the warm-up.
        self.batcher = Batcher(forward, batch_size, settings.BATCH_WAIT_MS / 1000, settings.MAX_QUEUE_IMAGES,
                               seconds_per_image=seconds_per_image, pass_timeout=settings.PASS_TIMEOUT,
                               max_waiting=max(1, settings.WORKER_THREADS // 2))
        for output, bucket in zip(outputs, self.buckets):
            log.info("loaded %s for %s (%s, %s) from %s", bucket.metadata["name"], output.name,
                     bucket.architecture, precision, output.bucket)

    def _check_outputs(self, outputs):
        """Each bucket predicts the output it is loaded for, and all take the same input."""
        for output, bucket in zip(outputs, self.buckets):
            predicts = output_of(bucket.facts)
            if predicts != output.name:
                raise BucketError(f"{output.bucket} predicts {predicts}, not {output.name} (MODEL_OUTPUTS)")
            if bucket.preprocessing != self.bucket.preprocessing:
                raise BucketError(f"{output.bucket} preprocesses its input unlike {outputs[0].bucket}: "
                                  "the outputs of one server share one input pipeline")

    def _warm_up(self, forward, batch_size):
        """A pass at the largest batch, then one at one image, neither on a request: the
        seconds of the second."""
        size = self.spec.crop
        forward(np.zeros([batch_size, size, size, 3], np.float32))
        begin = time.perf_counter()
        forward(np.zeros([1, size, size, 3], np.float32))
        return time.perf_counter() - begin

    def predict(self, images, stable=None):
        """maxfw's three stages; while this request decodes, a forward pass waits for it.
        ``stable`` (default: MODEL_TTA=mirror) scores each photo as the mean of it and its
        mirror image, the two in the same pass, and adds their signed difference."""
        stable = self.settings.stable_by_default if stable is None else stable
        with self.batcher.expecting() as submit:
            scores = submit(self._pre_process(images, stable))
        return self._post_process(scores, stable)

    def _pre_process(self, images, stable=False):
        """Each input through the pipeline (core.inputs.images.ImageError for a bad one, named by its
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
        N x K, a column for each of ``outputs``. For callers that change the input before
        scoring it, such as occlusion maps."""
        return self.batcher.submit(np.asarray(batch, np.float32)).reshape(len(batch), len(self.outputs))

    def _predict(self, x):
        return self.scores(x)

    def close(self):
        """Stop the forward-pass worker, so that the model can be freed."""
        self.batcher.close()

    def _post_process(self, scores, stable=False):
        """One Scores a photo: each output's score, and with ``stable`` each one's mirror delta."""
        if not stable:
            return [scores_of(self.outputs, row) for row in np.asarray(scores).reshape(-1, len(self.outputs))]
        return [scores_of(self.outputs, photo, mirror)
                for photo, mirror in np.asarray(scores).reshape(-1, 2, len(self.outputs))]


def all_outputs(forwards):
    """One forward of several networks over the same batch: N x K scores, in ``forwards``' order."""
    def forward(batch):
        return np.stack([np.asarray(one(batch), np.float32).reshape(len(batch)) for one in forwards], axis=1)
    return forward


def metadata_of(outputs, buckets):
    """/model/metadata: the first output's model at the top (its fields, as MAX's schema has them),
    or every model's joined when there are several, and ``outputs``: each output's model."""
    models = [bucket.metadata for bucket in buckets]
    top = dict(models[0]) if len(models) == 1 else {
        "id": "+".join(m["id"] for m in models), "name": " and ".join(m["name"] for m in models),
        "description": " ".join(f"{name}: {m['description']}" for name, m in zip(outputs, models)),
        "type": models[0]["type"], "source": "; ".join(m["source"] for m in models),
        "license": " ".join(f"{m['name']}: {m['license']}" for m in models)}
    return {**top, "outputs": [{"output": name, **m} for name, m in zip(outputs, models)]}
