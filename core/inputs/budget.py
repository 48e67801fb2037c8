"""A process-wide budget of decoded pixels: how many pixels all the decodes running at once may
hold, across requests, threads and the score command's read-ahead (MAX_DECODE_PIXELS).

A decode asks for its pixels once the image's header has told how many it will decode (after a
JPEG draft), and gives them back when the photo is preprocessed. It waits while the budget is
spent, first come first served within its class, so that a large photo is not starved by small
ones; a prediction's decode (LIGHT) goes before a heavy request's (core/inputs/deadline.py), as its
passes do. The wait ends at the request's deadline (DeadlineExceeded, a 503) or when its client
hangs up (Abandoned); a decode outside a request (a batch job) waits as long as it takes. The unit
is an RGB pixel as Pillow holds it, 4 bytes: a decode reserves what its mode holds at its peak
(core.inputs.images.held_pixels), so the memory of all decodes at once is about 4 x MAX_DECODE_PIXELS
bytes (docs/deployment.md).
"""
import bisect
import contextlib
import itertools
import threading

from core.inputs.deadline import LIGHT, current


class PixelBudget:
    def __init__(self, limit):
        self.limit = limit
        self._used = 0
        self._waiting = []  # one (class, arrival) token per waiting lease, sorted: the first goes next
        self._arrivals = itertools.count()
        self._changed = threading.Condition()

    def acquire(self, pixels):
        """Wait for ``pixels`` (first come first served) and take them; the pixels taken, to give
        back with ``release``. A holder must not ask again before it gives back: the lease of a
        decode, or a video's chunk of frames, asks once."""
        pixels = min(pixels, self.limit)  # one photo over the budget runs alone, never forever waits
        request = current()
        with self._changed:
            token = (request.priority if request else LIGHT, next(self._arrivals))
            bisect.insort(self._waiting, token)
            self._changed.notify_all()  # for wait_until
            try:
                while self._waiting[0] != token or self._used + pixels > self.limit:
                    if request is not None:
                        request.check(what="its turn to decode")
                    self._changed.wait(request.wait_step() if request is not None else None)
                self._used += pixels
            finally:  # also when the wait is interrupted: the next in line must not wait for it
                self._waiting.remove(token)
                self._changed.notify_all()
        return pixels

    def release(self, pixels):
        with self._changed:
            self._used -= pixels
            self._changed.notify_all()

    @property
    def used(self):
        return self._used

    @property
    def waiting(self):
        """How many decodes wait for their pixels now."""
        with self._changed:
            return len(self._waiting)

    def wait_until(self, predicate):
        """Block until ``predicate(self)`` holds (for the tests: an event, never a sleep)."""
        with self._changed:
            self._changed.wait_for(lambda: predicate(self))

    @contextlib.contextmanager
    def lease(self):
        """A Lease that ``reserve(pixels)`` grows while one photo is decoded and preprocessed;
        all of it is given back at the end."""
        lease = Lease(self)
        try:
            yield lease
        finally:
            lease.shrink_to(0)


class Lease:
    """What one photo's decode holds of a budget: called with pixels, it takes them (waiting its
    turn); ``shrink_to`` gives back what the photo no longer needs (a picture shrunk for crops)."""

    def __init__(self, budget):
        self.budget, self.held = budget, 0

    def __call__(self, pixels):
        self.held += self.budget.acquire(pixels)

    def shrink_to(self, pixels):
        surplus = self.held - max(0, pixels)
        if surplus > 0:
            self.held -= surplus
            self.budget.release(surplus)


_SHARED = {}
_LOCK = threading.Lock()


def shared_budget(limit):
    """The process's budget of ``limit`` pixels: one for every pipeline of this process (the
    first also makes freed pictures go back to the system: return_freed_pictures)."""
    with _LOCK:
        if not _SHARED:
            return_freed_pictures()
        return _SHARED.setdefault(limit, PixelBudget(limit))


def return_freed_pictures():
    """Make glibc give a freed decoded picture back to the system. Its 16 MB blocks are mapped on
    their own only until the first is freed: glibc then raises its threshold for mappings (up to
    32 MB), and later pictures go to per-thread arenas that keep their pages, so that 4 threads
    decoding 64-megapixel PNGs one at a time held 1 GB, not 256 MB. Fixing the threshold at
    1 MiB (glibc's M_MMAP_THRESHOLD, as MALLOC_MMAP_THRESHOLD_ does) keeps every large block a
    mapping of its own. Elsewhere than glibc, nothing changes. Call it once, early, per process."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD = -3 in glibc's malloc.h
    except (OSError, AttributeError):  # not glibc
        pass
