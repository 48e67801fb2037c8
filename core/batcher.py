"""Gathers the images of concurrent requests into shared forward passes.

One worker thread owns the model. A request hands in its preprocessed images and waits. The
worker takes the oldest request, then, while other requests are still decoding (announced by
``expecting``), waits at most ``max_wait`` seconds for them, until it holds ``max_batch``
images, and runs them in one pass. A lone request never waits. A request larger than ``max_batch``
runs in chunks of that size. At most ``max_queue`` images may wait: past that, ``submit``
raises ``Overloaded`` at once (the API answers 503 with Retry-After), so a burst cannot pile
up memory. Retry-After is how long the queue takes to drain at the measured forward time per
image (a moving average of the passes so far), so it tracks the runtime and the machine.
"""
import collections
import contextlib
import math
import threading
import time
from concurrent.futures import Future

import numpy as np

from core.metrics import BATCH_SIZE, FORWARD_SECONDS, QUEUE_DEPTH


class Overloaded(RuntimeError):
    """The queue is full; the client should retry after ``retry_after`` seconds."""

    def __init__(self, queued, limit, retry_after):
        super().__init__(f"the server is busy: {queued} images are waiting (the limit is {limit}); "
                         f"retry in {retry_after} s")
        self.retry_after = retry_after


class Batcher:
    def __init__(self, forward, max_batch, max_wait, max_queue, seconds_per_image):
        self.forward, self.max_batch, self.max_wait, self.max_queue = forward, max_batch, max_wait, max_queue
        # Measured (None: not yet, the first pass sets it); for Retry-After: how soon the queue drains.
        self.seconds_per_image = seconds_per_image
        self._pending = collections.deque()  # (images, future)
        self._queued = 0
        self._coming = 0  # requests decoding their images, about to submit them
        self._closed = False
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._work, name="batcher", daemon=True)
        self._thread.start()

    @contextlib.contextmanager
    def expecting(self):
        """Around a request's decoding and ``submit``: a pass that starts while it decodes
        waits (max_wait at most) for its images. Yields the ``submit`` to call."""
        announced = [True]
        with self._ready:
            self._coming += 1
        try:
            yield lambda images: self.submit(images, announced)
        finally:
            with self._ready:  # decoding failed before submit: no longer on its way
                self._arrived(announced)
                self._ready.notify_all()

    def _arrived(self, announced):
        """An announced request is queued, or gave up; the lock is held."""
        if announced and announced[0]:
            announced[0] = False
            self._coming -= 1

    def submit(self, images, announced=None):
        """Scores of ``images`` (N x H x W x 3), computed in shared passes; blocks until done."""
        future = Future()
        with self._ready:
            if self._queued and self._queued + len(images) > self.max_queue:
                retry = max(1, math.ceil(self._queued * (self.seconds_per_image or 0)))
                raise Overloaded(self._queued, self.max_queue, retry)
            self._pending.append((images, future))
            self._queued += len(images)
            QUEUE_DEPTH.set(self._queued)
            self._arrived(announced)
            self._ready.notify_all()
        return future.result()

    def close(self):
        """Stop the worker once the requests already queued are done (it holds the model)."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        self._thread.join()

    def _take(self):
        """The next group of requests: the oldest, plus those arriving within max_wait; None
        once closed and empty."""
        with self._ready:
            while not self._pending:
                if self._closed:
                    return None
                self._ready.wait()
            group = [self._pending.popleft()]
            count = len(group[0][0])
            deadline = time.monotonic() + self.max_wait
            while count < self.max_batch:
                if not self._pending:
                    left = deadline - time.monotonic()
                    if not self._coming or left <= 0:
                        break
                    self._ready.wait(left)
                    continue
                if count + len(self._pending[0][0]) > self.max_batch:
                    break
                images, future = self._pending.popleft()
                group.append((images, future))
                count += len(images)
            self._queued -= count
            QUEUE_DEPTH.set(self._queued)
            return group

    def _measured(self, seconds_per_image):
        """A moving average of the passes' seconds per image, from the first pass."""
        if self.seconds_per_image is None:
            self.seconds_per_image = seconds_per_image
        else:
            self.seconds_per_image += 0.2 * (seconds_per_image - self.seconds_per_image)

    def _work(self):
        while (group := self._take()) is not None:
            try:
                batch = np.concatenate([images for images, _ in group])
                scores = []
                for start in range(0, len(batch), self.max_batch):
                    chunk = batch[start:start + self.max_batch]
                    BATCH_SIZE.observe(len(chunk))
                    begin = time.perf_counter()
                    scores.append(self.forward(chunk))
                    seconds = time.perf_counter() - begin
                    FORWARD_SECONDS.observe(seconds)
                    self._measured(seconds / len(chunk))
                scores = np.concatenate(scores).reshape(-1)
            except Exception as error:  # noqa: BLE001 - handed to the waiting requests, never lost
                for _, future in group:
                    future.set_exception(error)
                continue
            offset = 0
            for images, future in group:
                future.set_result(scores[offset:offset + len(images)])
                offset += len(images)
