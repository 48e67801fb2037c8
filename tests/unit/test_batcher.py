"""Contract (no model: a forward of its own): core/batcher.py with real threads: concurrent requests
share passes, each gets its own scores back, a full queue is refused at once, and a failed pass
fails only its requests."""
import threading
import time

import numpy as np
import pytest

from core.batcher import Batcher, Overloaded


class GatedForward:
    """Scores each image by its sum; the first pass waits until the test opens the gate."""

    def __init__(self):
        self.gate, self.entered, self.sizes = threading.Event(), threading.Event(), []

    def __call__(self, batch):
        self.sizes.append(len(batch))
        self.entered.set()
        self.gate.wait(10)
        return batch.reshape(len(batch), -1).sum(axis=1)


def images(*values):
    return np.stack([np.full((2, 2, 3), v, np.float32) for v in values])


def submit_in_thread(batcher, batch, results, key):
    def run():
        try:
            results[key] = batcher.submit(batch)
        except Exception as error:  # noqa: BLE001 - the test inspects it
            results[key] = error
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_for_queue(batcher, count):
    deadline = time.monotonic() + 5
    while batcher._queued != count and time.monotonic() < deadline:
        time.sleep(0.001)
    assert batcher._queued == count


def test_requests_that_wait_together_share_one_pass_and_get_their_own_scores():
    forward = GatedForward()
    batcher = Batcher(forward, max_batch=8, max_wait=0.05, max_queue=64, seconds_per_image=0.25)
    results = {}
    threads = [submit_in_thread(batcher, images(1), results, "first")]
    assert forward.entered.wait(5)  # the first pass is running, and blocked
    threads += [submit_in_thread(batcher, images(v, v + 1), results, v) for v in (10, 20, 30)]
    wait_for_queue(batcher, 6)
    forward.gate.set()
    for thread in threads:
        thread.join(5)
    assert forward.sizes == [1, 6]  # three requests, one pass
    assert results["first"].tolist() == [12.0]
    for v in (10, 20, 30):
        assert results[v].tolist() == [12.0 * v, 12.0 * (v + 1)]


def test_a_request_larger_than_a_batch_runs_in_chunks():
    forward = GatedForward()
    forward.gate.set()
    batcher = Batcher(forward, max_batch=4, max_wait=0.001, max_queue=64, seconds_per_image=0.25)
    scores = batcher.submit(images(*range(10)))
    assert scores.tolist() == [12.0 * v for v in range(10)]
    assert forward.sizes == [4, 4, 2]


def test_a_full_queue_is_refused_at_once_with_a_retry_time():
    forward = GatedForward()
    batcher = Batcher(forward, max_batch=2, max_wait=0.001, max_queue=3, seconds_per_image=0.5)
    results = {}
    threads = [submit_in_thread(batcher, images(1), results, "running")]
    assert forward.entered.wait(5)
    threads.append(submit_in_thread(batcher, images(2, 3), results, "queued"))
    wait_for_queue(batcher, 2)
    with pytest.raises(Overloaded, match="2 images are waiting \\(the limit is 3\\)") as refused:
        batcher.submit(images(4, 5))
    assert refused.value.retry_after == 1
    forward.gate.set()
    for thread in threads:
        thread.join(5)
    assert results["queued"].tolist() == [24.0, 36.0]
    assert batcher.submit(images(4, 5)).tolist() == [48.0, 60.0]  # room again


def test_a_failed_pass_fails_its_requests_and_the_next_pass_still_runs():
    calls = []

    def forward(batch):
        calls.append(len(batch))
        if len(calls) == 1:
            raise RuntimeError("out of memory")
        return batch.reshape(len(batch), -1).sum(axis=1)

    batcher = Batcher(forward, max_batch=4, max_wait=0.001, max_queue=64, seconds_per_image=0.25)
    with pytest.raises(RuntimeError, match="out of memory"):
        batcher.submit(images(1))
    assert batcher.submit(images(2)).tolist() == [24.0]


def test_close_stops_the_worker_after_the_queued_requests():
    forward = GatedForward()
    forward.gate.set()
    batcher = Batcher(forward, max_batch=4, max_wait=0.001, max_queue=64, seconds_per_image=0.25)
    assert batcher.submit(images(1)).tolist() == [12.0]
    batcher.close()
    assert not batcher._thread.is_alive()


def test_retry_after_follows_the_measured_forward_time():
    """Seeded with 10 s per image, Retry-After falls to what the passes really take (0.05 s)."""
    forward = GatedForward()
    forward.gate.set()
    slow = lambda batch: (time.sleep(0.05 * len(batch)), forward(batch))[1]  # noqa: E731
    batcher = Batcher(slow, max_batch=1, max_wait=0.001, max_queue=20, seconds_per_image=10.0)
    for value in range(30):
        batcher.submit(images(value))
    assert 0.04 < batcher.seconds_per_image < 0.2
    forward.gate.clear()
    forward.entered.clear()
    results = {}
    threads = [submit_in_thread(batcher, images(1), results, "running")]
    assert forward.entered.wait(5)
    threads.append(submit_in_thread(batcher, images(*range(19)), results, "queued"))
    wait_for_queue(batcher, 19)
    with pytest.raises(Overloaded) as refused:
        batcher.submit(images(2, 3))
    assert refused.value.retry_after == 1 + int(19 * batcher.seconds_per_image)  # not 19 x 10 s
    forward.gate.set()
    for thread in threads:
        thread.join(10)


def test_a_lone_request_never_waits_for_company():
    forward = GatedForward()
    forward.gate.set()
    batcher = Batcher(forward, max_batch=8, max_wait=30, max_queue=64, seconds_per_image=0.25)
    start = time.monotonic()
    assert batcher.submit(images(1)).tolist() == [12.0]
    assert time.monotonic() - start < 10  # far under max_wait: nobody else was decoding


def test_a_pass_waits_for_a_request_that_is_still_decoding():
    forward = GatedForward()
    forward.gate.set()
    batcher = Batcher(forward, max_batch=8, max_wait=30, max_queue=64, seconds_per_image=0.25)
    decoded, results = threading.Event(), {}

    def second():
        with batcher.expecting() as submit:
            decoded.wait(10)  # decoding
            results["second"] = submit(images(2))

    late = threading.Thread(target=second)
    late.start()
    while not batcher._coming:
        time.sleep(0.001)
    first = submit_in_thread(batcher, images(1), results, "first")
    wait_for_queue(batcher, 1)
    decoded.set()
    first.join(10)
    late.join(10)
    assert forward.sizes == [2]  # one pass for both
    assert results["first"].tolist() == [12.0] and results["second"].tolist() == [24.0]
    assert batcher._coming == 0
