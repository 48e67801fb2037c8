"""What the model's passes refuse, and why: a full queue (Overloaded, a 503 with Retry-After) and a
model shutting down (Closed, a 503 that sends the client to another replica). core/model/batcher.py
raises them; api/errors.py answers them."""


class Overloaded(RuntimeError):
    """The queue is full; the client should retry after ``retry_after`` seconds."""

    def __init__(self, queued, limit, retry_after, waiters=None):
        if waiters is None:
            busy = f"{queued} images are waiting (the limit is {limit})"
        else:
            busy = f"{waiters} heavy requests already wait their turn (at most {waiters} at once)"
        super().__init__(f"the server is busy: {busy}; retry in {retry_after} s")
        self.retry_after = retry_after


class Closed(RuntimeError):
    """The model is shutting down: nothing more is scored."""

    def __init__(self):
        super().__init__("the server is shutting down; retry on another replica")
