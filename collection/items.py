"""What the local and the remote scorer share: the inputs they take, the Result they give, the
protocol they both follow, and the ordered, bounded streaming they both do.

Neither scorer imports the other; collection/cli.py chooses one, and writes the same rows from either.
"""
import collections
import itertools
import logging
import os
from dataclasses import dataclass
from typing import Iterable, Iterator, Protocol

import numpy as np
from PIL import Image

from collection.inputs import Input


@dataclass
class Result:
    index: int  # position in the input
    path: str = None  # the input's path; None for bytes and PIL images
    scores: object = None  # core.model.outputs.Scores: each output's score by name (result.scores["false_alarm"])
    width: int = None  # the photo as displayed (EXIF orientation applied), full size
    height: int = None
    error: str = None  # why it could not be scored; None when it was
    not_image: bool = False  # a file met in a walk that is no image by name or bytes: not a failure
    time: float = None  # always None for the input itself; a video's rows take their frames' times
    frames: list = None  # a video: Frame of each sampled time, in order (one row each)
    name: str = None  # a relative name for its map files (collection.inputs.map_name)
    heatmap: np.ndarray = None  # with maps: /model/explain's heatmap grid
    overlay: bytes = None  # with maps: /model/explain's overlay, as PNG bytes
    moments: list = None  # a video with maps: (time, heatmap, overlay) of its most memorable frames
    extra: dict = None  # --crops and --regions: their columns (collection/design.py)


@dataclass
class Frame:
    """One sampled frame of a video: its presentation time and its scores (as Result's)."""
    time: float
    scores: object = None


class Scorer(Protocol):
    """A scorer of collections: collection.local.LocalScorer or collection.remote.RemoteScorer."""
    description: str  # what scores the photos, for the run's summary

    def score(self, items: Iterable) -> Iterator[Result]:
        """One Result per item (a path, collection.inputs.Input, bytes or PIL image), in input
        order, holding only a bounded window of photos at a time."""

    def close(self) -> None:
        """Free the model or the connections."""


@dataclass(frozen=True)
class Fetched(Input):
    """An input whose bytes were read elsewhere: by the Ray job's read stage (collection/cluster.py)
    from object storage or a disk. ``data`` is None when ``error`` says why they could not be."""
    data: bytes = None


def describe(index, item):
    """(Result, what to read, the name its error messages give it) of one input item."""
    if isinstance(item, Input):
        source = item.data if isinstance(item, Fetched) else item.path
        return Result(index, item.path, name=item.name, error=item.error), source, _basename(item.path)
    if isinstance(item, (str, os.PathLike)):
        path = os.fspath(item)
        return Result(index, path, name=os.path.basename(path)), path, os.path.basename(path)
    if isinstance(item, (bytes, bytearray, memoryview, Image.Image)):
        return Result(index, name=f"image-{index + 1}"), item, f"image {index + 1}"
    raise TypeError(f"cannot score a {type(item).__name__}: give a path, bytes or a PIL image")


def _basename(path):
    """The last part of a path or a URI (s3://bucket/a/b.jpg: b.jpg), as messages name it."""
    return path.rstrip("/").rsplit("/", 1)[-1] if "://" in path else os.path.basename(path)


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


log = logging.getLogger(__name__)
NO_SCORE = ("scores", "width", "height", "frames", "heatmap", "overlay", "moments", "extra")


def failure_message(label, error):
    """The row's error for an unexpected exception on one input: ``<name> could not be scored:
    <type>: <message>`` (the local and remote scorers, and the Ray job's read stage)."""
    return f"{label} could not be scored: {type(error).__name__}: {error}"


def failed(result, label, error):
    """An unexpected exception on one input: its row says so, without a score, and the log has
    its traceback. Returns ``result``."""
    log.error("%s could not be scored", label, exc_info=(type(error), error, error.__traceback__))
    for name in NO_SCORE:
        setattr(result, name, None)
    result.error, result.not_image = failure_message(label, error), False
    return result

