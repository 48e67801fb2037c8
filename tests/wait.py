"""Waiting for an event seen from outside (a metric, a file, a log line), never for a fixed time.

The deadline only stops a test that would otherwise hang: it is generous, and no test asserts on
how long the wait took."""
import time


def wait_for(happened, what, timeout=240, every=0.02, unless=None):
    """Poll ``happened()`` until it is true. Fails (with ``what``) at the deadline, or as soon as
    ``unless()`` is true (e.g. the process that should make it happen has exited)."""
    deadline = time.monotonic() + timeout
    while not happened():
        if unless is not None and unless():
            raise AssertionError(f"gave up waiting for {what}: it can no longer happen")
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(every)


class SteppedClock:
    """Real time plus the steps a test takes (``step(31)``): a pass has "run for 31 s" without
    31 s of waiting, for code that takes its clock as an argument (core.model.batcher.Batcher)."""

    def __init__(self):
        self.ahead = 0.0

    def __call__(self):
        return time.perf_counter() + self.ahead

    def step(self, seconds):
        self.ahead += seconds
