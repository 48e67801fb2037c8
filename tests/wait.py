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
