"""Loads a bucket on the runtime of its tier (core/model/tiers.py), and finds and verifies the tier's files.

The files of a tier are converted from the bucket once, by training/runtimes.py: `make weights`
and the Dockerfile's build stage run it. They live in ``<MODEL_CACHE>/<architecture>-<weights
md5>/``, pinned by that folder's ``md5sums.txt``, and are verified before each load like the
bucket (each version of a file hashed once: core.model.checksums.DigestMemo, in MODEL_CACHE).
Nothing here imports TensorFlow unless the tier is tf-fp32, so the server stays small.
"""
import importlib.util
import logging
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from core.model.bucket import CHECKSUM_FILE
from core.model.checksums import ChecksumError, DigestMemo, read_md5sums
from core.model.tiers import TIERS

log = logging.getLogger(__name__)

# LiteRT runs a batch in chunks of at most this many images: on 2 cores, chunks of 2-4 ran 7%
# more photos/s than chunks of 8 (XNNPACK's working set; measured with lite-int8 on 60 photos).
LITE_CHUNK = 4


class RuntimeMissing(RuntimeError):
    """A tier's files are absent or do not match their checksums."""


def runtime_dir(bucket, cache_dir):
    """Where ``bucket``'s converted runtimes live: named by its weights, so never stale."""
    return Path(cache_dir) / f"{bucket.architecture}-{bucket.weights_md5}"


def verified_files(bucket, precision, cache_dir):
    """Paths of the tier's files, each checked against the folder's md5sums.txt."""
    folder = runtime_dir(bucket, cache_dir)
    names = TIERS[precision].files_for(bucket.architecture)
    listed = read_md5sums(folder / CHECKSUM_FILE) if (folder / CHECKSUM_FILE).is_file() else {}
    memo = DigestMemo(cache_dir)
    for name in names:
        if name not in listed or not (folder / name).is_file():
            raise RuntimeMissing(f"{precision} runtime of {bucket.path} is not in {folder} "
                                 "(`make weights` converts it)")
        if memo.digest(folder / name) != listed[name]:
            raise ChecksumError(f"{folder / name} does not match {folder / CHECKSUM_FILE}: delete "
                                f"{folder} and convert again (`make weights`)")
    return [folder / name for name in names]


def convert_in_child(bucket, precision, cache_dir):
    """Convert a missing tier in a child process, so that its memory (3-4 GB with TensorFlow)
    goes back to the system when it ends, instead of staying in the server."""
    if importlib.util.find_spec("tensorflow") is None or importlib.util.find_spec("training") is None:
        raise RuntimeMissing(f"the {precision} runtime of {bucket.path} is not in {cache_dir}, and this "
                             "install cannot convert it (no TensorFlow: the serving image carries the "
                             "fp32, bf16 and lite-int8 tiers of its own bucket only)")
    log.warning("converting %s to %s in a child process (once; about a minute)", bucket.path, precision)
    begin = time.monotonic()
    command = [sys.executable, "-m", "training.runtimes", "--bucket", str(bucket.path),
               "--cache", str(cache_dir), "--precisions", precision]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 -- our own module, no shell
    if done.returncode:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise RuntimeMissing(f"the {precision} runtime of {bucket.path} is missing and converting "
                             f"it failed (exit {done.returncode}):\n{tail}")
    log.info("converted %s in %.0f s", precision, time.monotonic() - begin)


def load_forward(bucket, precision, cache_dir, threads, convert=True):
    """A function: float32 batch N x H x W x 3 -> N scores, on ``precision``'s runtime."""
    tier = TIERS[precision]
    if tier.runtime == "tensorflow":
        return TensorFlowForward(bucket, threads)
    try:
        paths = verified_files(bucket, precision, cache_dir)
    except RuntimeMissing:
        if not convert:
            raise
        convert_in_child(bucket, precision, cache_dir)
        paths = verified_files(bucket, precision, cache_dir)
    if tier.runtime == "openvino":
        return OpenVINOForward(paths[0], threads, tier.inference_precision)
    return LiteForward(paths, threads)


class OpenVINOForward:
    """One compiled OpenVINO model with a dynamic batch, tuned for latency (one stream): the
    batcher already gathers concurrent requests into shared passes."""

    def __init__(self, xml, threads, inference_precision="f32"):
        import openvino as ov

        core = ov.Core()
        self.compiled = core.compile_model(core.read_model(xml), "CPU", {
            "PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads,
            "INFERENCE_PRECISION_HINT": inference_precision})
        self.request = self.compiled.create_infer_request()

    def __call__(self, batch):
        result = self.request.infer({0: np.ascontiguousarray(batch, np.float32)})
        return np.array(result[0], np.float32).reshape(-1)


class LiteForward:
    """LiteRT parts with a resizable batch: a whole model, or a float front and the rest, which
    reads the image and the front's output. Resizing to a size seen before costs under a ms."""

    def __init__(self, paths, threads):
        from ai_edge_litert.interpreter import Interpreter

        self.parts = [Interpreter(model_path=str(path), num_threads=threads) for path in paths]
        self.sizes = [None] * len(self.parts)

    def _run(self, index, *arrays):
        interpreter = self.parts[index]
        if self.sizes[index] != len(arrays[0]):
            for detail in interpreter.get_input_details():
                interpreter.resize_tensor_input(detail["index"], [len(arrays[0]), *detail["shape"][1:]])
            interpreter.allocate_tensors()
            self.sizes[index] = len(arrays[0])
        inputs = interpreter.get_input_details()
        for array in arrays:  # inputs are told apart by their shape: image or features
            (detail,) = [d for d in inputs if tuple(d["shape"][1:]) == array.shape[1:]]
            interpreter.set_tensor(detail["index"], np.ascontiguousarray(array, np.float32))
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])

    def __call__(self, batch):
        return np.concatenate([self._chunk(batch[i:i + LITE_CHUNK]) for i in range(0, len(batch), LITE_CHUNK)])

    def _chunk(self, batch):
        if len(self.parts) == 1:
            return self._run(0, batch).reshape(-1)
        # The float front runs image by image: its output (57 x 57 x 256 floats, 3.3 MB an
        # image) stays in cache that way, and batching it made it slower (9.4 -> 11.6 ms an
        # image); the int8 rest gains from the batch (43 -> 34 ms). benchmarks/profile_parts.py
        features = np.concatenate([self._run(0, image[None]) for image in batch])
        return self._run(1, batch, features).reshape(-1)


class TensorFlowForward:
    """The Keras model through one compiled tf.function with a None batch dimension."""

    def __init__(self, bucket, threads):
        import tensorflow as tf

        from core.model.networks import build_network

        try:  # only possible before TensorFlow runs its first op in this process
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            log.warning("TensorFlow is already initialised; keeping its thread pools")
        size = bucket.preprocessing.crop
        self.model = build_network(bucket.architecture, size, bucket.architecture_options)
        self.model.load_weights(bucket.weights_path)
        compiled = tf.function(lambda x: self.model(x, training=False),
                               input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)])
        self._forward = lambda x: compiled(tf.constant(x)).numpy().reshape(-1)

    def __call__(self, batch):
        return self._forward(np.asarray(batch, np.float32))
