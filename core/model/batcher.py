"""Gathers the images of concurrent requests into shared forward passes, fairly, with deadlines.

One worker thread owns the model. A request hands in its preprocessed images and waits. Each
pass takes at most ``max_batch`` images:

- **Light before heavy.** A LIGHT request (``/model/predict``, ``score``) is served whenever its
  queue holds anything, so a prediction waits for the running pass at most, never for a HEAVY
  request's (maps, regions, crops, video) hundreds of images (Triton's priority levels). Heavy
  passes hold half a batch, and heavy requests take turns, one pass each (round-robin).
- **Sharing.** While other requests are still decoding (``expecting``), a pass waits at most
  ``max_wait`` seconds for them; a lone request never waits; a large one runs in chunks.
- **Admission.** At most ``max_queue`` images may wait: past that, a request's first ``submit``
  raises ``Overloaded`` at once (a 503 with Retry-After: the work ahead at the measured seconds
  per image), so a burst cannot pile up memory. An admitted request is never refused halfway.
- **Deadlines.** Inside ``request(priority, timeout)`` (REQUEST_TIMEOUT; core/inputs/deadline.py)
  one deadline from arrival covers every wait (the pixel budget, admission, passes), renewed by
  progress (each chunk scored); past it, ``DeadlineExceeded`` and its queued images are dropped
  (TorchServe's response timeout). A request whose client hung up (``gone``) stops at its next
  wait (``Abandoned``).
- **Liveness.** ``health()``: the worker is alive and no pass has run past ``pass_timeout`` (on
  ``clock``, the passes' own); a hung runtime turns ``GET /live`` red.
"""
import collections
import contextlib
import math
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

import numpy as np

from core.inputs.deadline import HEAVY, LIGHT, Abandoned, DeadlineExceeded, Request, Stopped, current
from core.inputs.deadline import request as request_context
from core.model.metrics import BATCH_SIZE, FORWARD_SECONDS, QUEUE_DEPTH
from core.model.refusals import Closed, Overloaded


@dataclass(eq=False)
class _Job:
    """The images of one ``submit``, scored chunk by chunk."""
    images: np.ndarray
    future: Future
    priority: int
    taken: int = 0  # images handed to passes
    scores: list = field(default_factory=list)
    cancelled: bool = False


class Batcher:
    def __init__(self, forward, max_batch, max_wait, max_queue, seconds_per_image, pass_timeout=60.0,
                 clock=time.perf_counter, max_waiting=4):
        self.forward, self.max_batch, self.max_wait, self.max_queue = forward, max_batch, max_wait, max_queue
        # A heavy pass holds at most half a batch: a prediction that arrives during it waits for
        # half a full pass at most, for a little less throughput of the heavy work.
        self.heavy_batch = max(1, max_batch // 2)
        self.max_waiting = max_waiting  # heavy requests that may wait for admission at once
        self._admitting = collections.deque()  # their tokens, first come first served
        # Measured (None: not yet, the first pass sets it); for Retry-After: how soon the queue drains.
        self.seconds_per_image = seconds_per_image
        self.pass_timeout, self.clock = pass_timeout, clock
        self._queues = {LIGHT: collections.deque(), HEAVY: collections.deque()}  # of _Job
        self._backlog = {LIGHT: 0, HEAVY: 0}  # images waiting, not yet in a pass, by class
        self._running = 0  # images of the pass that is running
        self._pass_began = None  # self.clock() when the running pass began
        self._coming = 0  # requests decoding their images, about to submit them
        self._closed = False
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._work, name="batcher", daemon=True)
        self._thread.start()

    def request(self, priority=LIGHT, timeout=None, gone=None, stopping=None):
        """Around one client request (core.inputs.deadline.request): its passes have ``priority``; each
        of its waits ends ``timeout`` seconds after its arrival or its last answered submit
        (None: no bound), or once ``gone()``; admitted once, never refused halfway."""
        return request_context(priority, timeout, gone, stopping)

    def retry_after(self, priority=HEAVY):
        """Seconds until the work ahead of a request of ``priority`` is done (for Retry-After)."""
        with self._ready:
            return self._retry_after(priority)

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

    @property
    def _queued(self):
        return self._backlog[LIGHT] + self._backlog[HEAVY]

    def _retry_after(self, priority=HEAVY):
        """Seconds until the work ahead of a request of ``priority`` is done: the running pass,
        and the light queue (a light request) or both queues. Lock held."""
        ahead = self._backlog[LIGHT] if priority == LIGHT else self._queued
        return max(1, math.ceil((ahead + self._running) * (self.seconds_per_image or 0)))

    def _no_room(self, priority, count):
        """Whether ``count`` more images of ``priority`` would pass MAX_QUEUE_IMAGES (an empty
        queue takes any request, however large). Lock held."""
        return self._backlog[priority] and self._backlog[priority] + count > self.max_queue

    def _admit(self, request, count):
        """Admission of a request's first images, the lock held. Each class has MAX_QUEUE_IMAGES
        of its own, so that heavy work never fills the room of a prediction. A light request
        that does not fit is refused at once (503, Retry-After). A heavy one waits its turn, first
        come first served, until its deadline, its preprocessed images held meanwhile; at most
        ``max_waiting`` wait at once (more get a 503), so that they leave the server's threads
        to predictions."""
        backlog = self._backlog
        if request.priority == LIGHT:
            if self._no_room(LIGHT, count):
                raise Overloaded(backlog[LIGHT], self.max_queue, self._retry_after(LIGHT))
            return
        if not self._admitting and not self._no_room(HEAVY, count):
            return
        if len(self._admitting) >= self.max_waiting:
            raise Overloaded(backlog[HEAVY], self.max_queue, self._retry_after(), waiters=self.max_waiting)
        token = object()
        self._admitting.append(token)
        try:
            while self._admitting[0] is not token or self._no_room(HEAVY, count):
                request.check(self._retry_after())
                self._ready.wait(request.wait_step())
                if self._closed:
                    raise Closed()
        finally:
            self._admitting.remove(token)
            self._ready.notify_all()

    def submit(self, images, announced=None):
        """Scores of ``images`` (N x H x W x 3), computed in shared passes; blocks until done,
        or raises Overloaded, DeadlineExceeded or Closed."""
        request = current() or Request()
        if not len(images):
            return np.zeros(0, np.float32)
        job = _Job(images, Future(), request.priority)
        with self._ready:
            self._arrived(announced)
            if self._closed:
                raise Closed()
            request.check(self._retry_after(request.priority))  # past its deadline already, or gone
            if not request.admitted:
                self._admit(request, len(images))
            request.admitted = True
            self._queues[request.priority].append(job)
            self._backlog[request.priority] += len(images)
            QUEUE_DEPTH.set(self._queued)
            self._ready.notify_all()
        seen = 0  # chunks of this job scored: each one is progress, and renews the deadline
        while True:
            try:
                scores = job.future.result(timeout=request.wait_step())
                request.progressed()
                return scores
            except FutureTimeout:
                with self._ready:
                    if job.future.done():  # it arrived just now
                        continue
                    if len(job.scores) > seen:
                        seen = len(job.scores)
                        request.progressed()
                    try:
                        request.check()
                    except DeadlineExceeded:
                        self._cancel(job)  # then the time of the work ahead, its own dropped
                        raise DeadlineExceeded(request.timeout, self._retry_after()) from None
                    except (Abandoned, Stopped):
                        self._cancel(job)
                        raise

    def _cancel(self, job):
        """Drop what ``job`` still has queued; the lock is held."""
        job.cancelled = True
        self._backlog[job.priority] -= len(job.images) - job.taken
        job.taken = len(job.images)
        for queue in self._queues.values():
            if job in queue:
                queue.remove(job)
        QUEUE_DEPTH.set(self._queued)
        self._ready.notify_all()

    def close(self):
        """Stop the worker once the requests already queued are done (it holds the model); a
        submit from now on fails at once."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        self._thread.join()

    def health(self):
        """(True, "alive"), or (False, why): the worker died, or a pass has run too long."""
        if not self._thread.is_alive() and not self._closed:
            return False, "the batcher's worker thread is dead"
        began = self._pass_began
        if began is not None and self.clock() - began > self.pass_timeout:
            return False, (f"a forward pass has run {self.clock() - began:.0f} s, over "
                           f"{self.pass_timeout:g} s (PASS_TIMEOUT): the runtime looks hung")
        return True, "alive"

    def wait_until(self, predicate):
        """Block until ``predicate(queued images, images in the running pass)`` holds: for
        tests and benchmarks, an event to wait for instead of a sleep."""
        with self._ready:
            self._ready.wait_for(lambda: predicate(self._queued, self._running))

    def _take(self):
        """The next pass: slices (job, start, end) of at most max_batch images, light jobs
        first, heavy ones in turn; None once closed and empty."""
        with self._ready:
            while not any(self._queues.values()):
                if self._closed:
                    return None
                self._ready.wait()
            chunk, count = [], 0
            deadline = time.monotonic() + self.max_wait
            priority = LIGHT if self._queues[LIGHT] else HEAVY
            queue, limit = self._queues[priority], self.max_batch if priority == LIGHT else self.heavy_batch
            while count < limit:
                if not queue:
                    left = deadline - time.monotonic()
                    if not self._coming or left <= 0:
                        break
                    self._ready.wait(left)
                    continue
                job = queue[0]
                take = min(len(job.images) - job.taken, limit - count)
                chunk.append((job, job.taken, job.taken + take))
                job.taken += take
                count += take
                queue.popleft()
                if job.taken < len(job.images):  # more to do: its next chunk after the others' turn
                    queue.append(job)
                    if priority == HEAVY:
                        break  # one heavy chunk a pass: light requests arriving now go next
            for job, start, end in chunk:  # queued until the pass is formed, as the metric shows
                self._backlog[job.priority] -= end - start
            self._running = count
            QUEUE_DEPTH.set(self._queued)
            self._ready.notify_all()
            return chunk

    def _measured(self, seconds_per_image):
        """A moving average of the passes' seconds per image, from the first pass."""
        if self.seconds_per_image is None:
            self.seconds_per_image = seconds_per_image
        else:
            self.seconds_per_image += 0.2 * (seconds_per_image - self.seconds_per_image)

    def _work(self):
        while (chunk := self._take()) is not None:
            try:  # anything that fails here fails this pass's requests, never the worker
                batch = np.concatenate([job.images[start:end] for job, start, end in chunk])
                BATCH_SIZE.observe(len(batch))
                self._pass_began = begin = self.clock()  # one clock for the metric and for health
                scores = np.asarray(self.forward(batch))
                # A score an image (a runtime's N x 1 as N), or a row of them (several outputs).
                scores = scores.reshape(len(scores), -1) if scores.ndim > 1 else scores
                scores = scores[:, 0] if scores.ndim > 1 and scores.shape[1] == 1 else scores
                if len(scores) != len(batch):
                    raise RuntimeError(f"the runtime gave {len(scores)} scores for {len(batch)} images")
            except Exception as error:  # noqa: BLE001 -- handed to the waiting requests, never lost
                self._pass_began = None
                with self._ready:
                    self._running = 0
                    for job, _, _ in chunk:
                        if not job.future.done():
                            self._cancel(job)
                            job.future.set_exception(error)
                    self._ready.notify_all()
                continue
            seconds = self.clock() - begin
            self._pass_began = None
            FORWARD_SECONDS.observe(seconds)
            self._measured(seconds / len(batch))
            with self._ready:
                self._running = 0
                self._ready.notify_all()
            offset = 0
            for job, start, end in chunk:
                job.scores.append(scores[offset:offset + end - start])
                offset += end - start
                if end == len(job.images) and not job.cancelled and not job.future.done():
                    job.future.set_result(np.concatenate(job.scores))
