"""Score a collection of photos: the Python API behind `python -m score`.

    with Scorer() as scorer:                       # the bucket and runtime of config.py
        for result in scorer.score(paths):         # paths, bytes or PIL images, any number
            print(result.path, result.memorability, result.error)

In-process, a small thread pool reads, decodes and preprocesses the photos ahead of the model,
while the calling thread runs the forward passes in batches, through ModelWrapper.predict and
its batcher, on the runtime that MODEL_PRECISION picks. With ``url=`` the photos go to a
running service instead (core/remote.py), and the results are the same.

``score`` is a generator that holds a bounded window of photos, so memory stays flat whatever
the collection's size, and it yields one Result per input, in input order. A photo that cannot
be scored gets a Result with ``error`` (the service's own message) instead of stopping the run.
"""
import collections
import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image

import config
from core.images import ImageError, decode_sized, to_rgb
from core.inputs import Input


@dataclass
class Result:
    index: int  # position in the input
    path: str = None  # the input's path; None for bytes and PIL images
    memorability: float = None
    width: int = None  # the photo as displayed (EXIF orientation applied), full size
    height: int = None
    error: str = None  # why it could not be scored; None when it was
    name: str = None  # a relative name for its map files (core.inputs.map_name)
    heatmap: np.ndarray = None  # with maps=True: /model/explain's heatmap grid
    overlay: bytes = None  # with maps=True: /model/explain's overlay, as PNG bytes


def describe(index, item):
    """(Result, what to read, the name its error messages give it) of one input item."""
    if isinstance(item, Input):
        return Result(index, item.path, name=item.name), item.path, os.path.basename(item.path)
    if isinstance(item, (str, os.PathLike)):
        path = os.fspath(item)
        return Result(index, path, name=os.path.basename(path)), path, os.path.basename(path)
    if isinstance(item, (bytes, bytearray, memoryview, Image.Image)):
        return Result(index, name=f"image-{index + 1}"), item, f"image {index + 1}"
    raise TypeError(f"cannot score a {type(item).__name__}: give a path, bytes or a PIL image")


def read_bytes(source, label):
    """The bytes of a path (ImageError if it cannot be read) or of a bytes-like input."""
    if isinstance(source, str):
        try:
            with open(source, "rb") as stream:
                return stream.read()
        except OSError as error:
            raise ImageError(f"{label} cannot be read ({error.strerror or error})") from None
    return bytes(source)


def ordered_map(pool, function, items, ahead):
    """``function(*item)`` for each item on ``pool``, yielded in input order, with at most
    ``ahead`` items submitted and not yet yielded; no pool runs them inline."""
    if pool is None:
        yield from itertools.starmap(function, items)
        return
    pending = collections.deque()
    try:
        for item in items:
            pending.append(pool.submit(function, *item))
            if len(pending) >= ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:  # the consumer stopped early: drop what has not started
        for future in pending:
            future.cancel()


def chunks(iterable, size):
    """Lists of ``size`` consecutive items (the last may be shorter)."""
    iterator = iter(iterable)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class Scorer:
    """Scores photos with the model of ``bucket`` in this process, or through the service at
    ``url``. Every setting left as None takes its value from config.py (and so from the same
    environment variables as the service)."""

    def __init__(self, bucket=None, precision=None, *, url=None, batch_size=None, workers=2,
                 jpeg_draft=None, max_pixels=None, threads=None, maps=False, explain_grid=None,
                 concurrency=4, max_files=None, max_bytes=None, retries=5, timeout=300):
        from core.explain import check_settings

        self.maps = maps
        self.explain_grid = config.EXPLAIN_GRID if explain_grid is None else explain_grid
        check_settings(self.explain_grid, config.EXPLAIN_BASELINE)
        self.model = self.remote = None
        if url:
            from core.remote import RemoteScorer

            self.remote = RemoteScorer(url, concurrency=concurrency, retries=retries, timeout=timeout,
                                       max_files=max_files or config.MAX_FILES,
                                       max_bytes=max_bytes or config.MAX_CONTENT_LENGTH, maps=maps)
            self.description = f"the service at {url}"
            return
        from core.model import ModelWrapper

        self.workers = workers
        self.batch_size = batch_size or config.BATCH_SIZE
        threads = threads or config.MODEL_THREADS
        self.model = ModelWrapper(
            bucket or config.MODEL_BUCKET, batch_size=self.batch_size,
            max_pixels=max_pixels or config.MAX_IMAGE_PIXELS, precision=precision or config.MODEL_PRECISION,
            cache_dir=config.MODEL_CACHE, threads=threads,
            jpeg_draft=config.JPEG_DRAFT if jpeg_draft is None else jpeg_draft)
        self.description = f"{self.model.MODEL_META_DATA['name']} ({self.model.precision}) in this process"

    def score(self, items):
        """One Result per item (a path, core.inputs.Input, bytes or PIL image), in order."""
        if self.remote:
            yield from self.remote.score(items)
            return
        pool = ThreadPoolExecutor(self.workers, "decode") if self.workers else None
        try:
            # Enough read-ahead that the next batch is decoded while this one runs.
            loaded = ordered_map(pool, self._load, enumerate(items), ahead=2 * self.batch_size)
            for batch in chunks(loaded, self.batch_size):
                yield from self._forward(batch)
        finally:
            if pool:
                pool.shutdown(cancel_futures=True)

    def _load(self, index, item):
        """(Result with the size or the error, the network's input or None); runs in the pool."""
        result, source, label = describe(index, item)
        try:
            if isinstance(source, Image.Image):
                image, size = to_rgb(source), source.size
            else:
                data = read_bytes(source, label)
                image, size = decode_sized(data, self.model.max_pixels, label, self.model.draft_size)
        except ImageError as error:
            result.error = str(error)
            return result, None
        result.width, result.height = size
        x = self.model.prepare(image)
        if self.maps:  # the overlay needs the photo, but no larger than it is drawn
            image = image.copy()
            image.thumbnail((config.EXPLAIN_OVERLAY_SIZE,) * 2, Image.Resampling.LANCZOS)
            return result, (x, image)
        return result, (x, None)

    def _forward(self, batch):
        good = [(result, payload) for result, payload in batch if payload is not None]
        if good and self.maps:
            from core.explain import explain_prepared, grid_for
            from core.heatmap import effects_grid, heatmap_grid, overlay_png

            grid = grid_for(self.model.precision, self.explain_grid)
            for result, (x, photo) in good:
                found = explain_prepared(self.model, x, grid, config.EXPLAIN_OFFSET_WINDOWS,
                                         config.EXPLAIN_BASELINE)
                result.memorability = found.memorability
                result.heatmap = heatmap_grid(found.frame, (result.width, result.height),
                                              config.EXPLAIN_HEATMAP_SIZE)
                effects = effects_grid(found.frame, (result.width, result.height), config.EXPLAIN_HEATMAP_SIZE)
                result.overlay = overlay_png(photo, effects, config.EXPLAIN_EFFECT_SCALE,
                                             config.EXPLAIN_OVERLAY_SIZE)
        elif good:
            predictions = self.model.predict([x for _, (x, _) in good])
            for (result, _), prediction in zip(good, predictions):
                result.memorability = prediction["memorability"]
        return [result for result, _ in batch]

    def close(self):
        if self.model is not None:
            self.model.close()
            self.model = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

