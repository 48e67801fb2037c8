"""The request a thread is working for: its class, its deadline and whether its client is still
there. Every wait a request makes (for its share of the pixel budget, for admission to the
model's queue, for its passes) reads them here, so that one deadline, counted from the request's
arrival, covers every wait, and a request whose client has hung up stops at its next wait.

    with deadline.request(HEAVY, timeout=120, gone=client_gone):
        ...  # core/inputs/budget.py and core/model/batcher.py call current().check() while they wait

A request that makes progress (a video's chunk scored, a crop search's round) has its deadline
renewed: a long video goes on chunk by chunk, a stuck one ends at its next wait.
"""
import contextlib
import contextvars
import time
from dataclasses import dataclass, field

LIGHT, HEAVY = 0, 1  # a request's class; lower is served first
POLL = 1.0  # seconds between two looks at a waiting request's client


class DeadlineExceeded(RuntimeError):
    """The request waited past its deadline (REQUEST_TIMEOUT): a 503 with Retry-After."""

    def __init__(self, timeout, retry_after, what="the model"):
        super().__init__(f"the request waited {timeout:g} s for {what} (REQUEST_TIMEOUT) and was "
                         f"stopped; retry in {retry_after} s, or send less at once")
        self.retry_after = retry_after


class Abandoned(RuntimeError):
    """Whoever asked is gone (a client that hung up): the work stopped."""


class Stopped(RuntimeError):
    """The server is draining (a rolling update): long work in flight ends at its next wait, with
    a 503 and Retry-After, rather than be cut off by the stop (the client retries elsewhere)."""

    def __init__(self):
        super().__init__("the server is draining (a rolling update) and stopped this request at its next "
                         "wait; retry, another replica will answer")
        self.retry_after = 1


@dataclass
class Request:
    """One client request: its class, how long each of its waits may last from its arrival or its
    last progress (None: no bound), whether it is admitted, and ``gone()``: its client hung up."""
    priority: int = LIGHT
    timeout: float = None
    admitted: bool = False
    gone: object = None
    stopping: object = None  # () -> True once the server drains: long work stops at its next wait
    deadline: float = field(default=None)

    def __post_init__(self):
        if self.timeout and self.deadline is None:
            self.deadline = time.monotonic() + self.timeout

    def left(self):
        """Seconds to the deadline (None: no deadline)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def progressed(self):
        """Work of the request is done: its next wait may last the timeout again."""
        if self.timeout:
            self.deadline = time.monotonic() + self.timeout

    def watched(self):
        """Whether a wait must wake up to look (a deadline, or a client to check)."""
        return self.deadline is not None or self.gone is not None or self.stopping is not None

    def check(self, retry_after=1, what="the model"):
        """Abandoned when its client is gone, Stopped while the server drains, DeadlineExceeded
        past its deadline; else nothing."""
        if self.gone is not None and self.gone():
            raise Abandoned("the client hung up: the request was stopped")
        if self.stopping is not None and self.stopping():
            raise Stopped()
        left = self.left()
        if left is not None and left <= 0:
            raise DeadlineExceeded(self.timeout, retry_after, what)

    def wait_step(self):
        """How long one wait may block before it looks again (None: until woken)."""
        if not self.watched():
            return None
        left = self.left()
        return POLL if left is None else max(0.0, min(POLL, left))


_current = contextvars.ContextVar("current_request", default=None)


def current():
    """The Request of this thread's request, or None (a batch job: no deadline, nobody to lose)."""
    return _current.get()


@contextlib.contextmanager
def request(priority=LIGHT, timeout=None, gone=None, stopping=None):
    token = _current.set(Request(priority, timeout or None, gone=gone, stopping=stopping))
    try:
        yield _current.get()
    finally:
        _current.reset(token)
