"""Contract (no model: a forward of its own): core/model/batcher.py with real threads: concurrent requests
share passes, each gets its own scores back, a full queue is refused at once, a failed pass fails
only its requests, light requests go before heavy ones, an admitted request is never refused
halfway, a deadline ends a request's wait, and a hung pass fails the liveness check. Every test
waits for an event (a gated forward, the queue's state), never for a fixed time."""
import threading

import numpy as np
import pytest

from core.inputs.deadline import HEAVY, LIGHT
from core.model.batcher import Batcher
from core.model.refusals import Closed, Overloaded
from tests.unit.batching import GatedForward, images, submit_in_thread, wait_for_queue
from tests.wait import SteppedClock


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
    assert refused.value.retry_after == 2  # 3 images ahead (the running one too) at 0.5 s
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


def test_close_stops_the_worker_after_the_queued_requests_and_refuses_more_at_once():
    forward = GatedForward()
    forward.gate.set()
    batcher = Batcher(forward, max_batch=4, max_wait=0.001, max_queue=64, seconds_per_image=0.25)
    assert batcher.submit(images(1)).tolist() == [12.0]
    batcher.close()
    assert not batcher._thread.is_alive()
    with pytest.raises(Closed, match="shutting down"):  # at once: it used to wait forever
        batcher.submit(images(2))
    assert batcher.health() == (True, "alive")  # closed on purpose: not a dead worker


def test_a_light_request_goes_before_a_heavy_ones_queued_work():
    """A heavy request of 12 images (6 passes of half a batch) is running; a prediction that
    arrives gets the next pass, not the seventh; the heavy request still gets all its scores."""
    forward = GatedForward()
    batcher = Batcher(forward, max_batch=4, max_wait=0.001, max_queue=64, seconds_per_image=0.25)
    results = {}
    heavy = submit_in_thread(batcher, images(*range(100, 112)), results, "heavy", HEAVY)
    assert forward.entered.wait(60)  # its first pass runs, and blocks
    light = submit_in_thread(batcher, images(1), results, "light", LIGHT)
    wait_for_queue(batcher, 10 + 1)
    forward.gate.set()
    heavy.join(60)
    light.join(60)
    assert forward.passes == [[100, 101], [1], [102, 103], [104, 105], [106, 107], [108, 109], [110, 111]]
    assert results["light"].tolist() == [12.0]
    assert results["heavy"].tolist() == [12.0 * v for v in range(100, 112)]


def test_heavy_requests_take_turns_pass_by_pass():
    forward = GatedForward()
    batcher = Batcher(forward, max_batch=4, max_wait=0.001, max_queue=64, seconds_per_image=0.25)
    results = {}
    threads = [submit_in_thread(batcher, images(0), results, "first", HEAVY)]
    assert forward.entered.wait(60)
    threads.append(submit_in_thread(batcher, images(10, 11, 12, 13), results, "a", HEAVY))
    wait_for_queue(batcher, 4)
    threads.append(submit_in_thread(batcher, images(20, 21, 22, 23), results, "b", HEAVY))
    wait_for_queue(batcher, 8)
    forward.gate.set()
    for thread in threads:
        thread.join(60)
    assert forward.passes[1:] == [[10, 11], [20, 21], [12, 13], [22, 23]]


def test_a_pass_that_runs_past_its_timeout_fails_the_liveness_check():
    forward = GatedForward()
    clock = SteppedClock()
    batcher = Batcher(forward, max_batch=2, max_wait=0.001, max_queue=64, seconds_per_image=0.5,
                      pass_timeout=30, clock=clock)
    assert batcher.health() == (True, "alive")
    results = {}
    stuck = submit_in_thread(batcher, images(1), results, "stuck")
    assert forward.entered.wait(60)
    assert batcher.health() == (True, "alive")  # running, not yet past its timeout
    clock.step(31)  # the pass has run 31 s: past its timeout, with no sleep
    alive, why = batcher.health()
    assert not alive and "the runtime looks hung" in why
    forward.gate.set()
    stuck.join(60)
    assert batcher.health() == (True, "alive")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_worker_fails_the_liveness_check():
    def broken(batch):
        raise SystemExit("the runtime took the thread down")  # not an Exception: the worker ends

    batcher = Batcher(broken, max_batch=2, max_wait=0.001, max_queue=64, seconds_per_image=0.5)
    results = {}
    submit_in_thread(batcher, images(1), results, "lost", timeout=0.5).join(60)
    batcher._thread.join(60)
    alive, why = batcher.health()
    assert not alive and why == "the batcher's worker thread is dead"


class FakeClock:
    """A clock that only the forward moves: 0.05 s a pass per image, whatever the machine does."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_retry_after_follows_the_measured_forward_time():
    """Seeded with 10 s per image, Retry-After falls to what the passes take (0.05 s an image),
    and counts the images of the running pass as well as the queue."""
    forward, clock = GatedForward(), FakeClock()
    forward.gate.set()

    def timed(batch):
        clock.now += 0.05 * len(batch)
        return forward(batch)

    batcher = Batcher(timed, max_batch=1, max_wait=0.001, max_queue=20, seconds_per_image=10.0, clock=clock)
    for value in range(60):
        batcher.submit(images(value))
    assert batcher.seconds_per_image == pytest.approx(0.05, rel=0.01)  # 60 passes: 0.8^60 of the seed left
    forward.gate.clear()
    forward.entered.clear()
    results = {}
    threads = [submit_in_thread(batcher, images(1), results, "running")]
    assert forward.entered.wait(5)
    threads.append(submit_in_thread(batcher, images(*range(19)), results, "queued"))
    wait_for_queue(batcher, 19)
    with pytest.raises(Overloaded) as refused:
        batcher.submit(images(2, 3))
    assert refused.value.retry_after == 1 + int((19 + 1) * batcher.seconds_per_image)  # not 20 x 10 s
    forward.gate.set()
    for thread in threads:
        thread.join(10)


def test_a_lone_request_never_waits_for_company():
    """max_wait is an hour: the pass would wait that long for a request still decoding, but
    nobody is, so it runs at once (a hang guard of 60 s would fail the test otherwise)."""
    forward = GatedForward()
    forward.gate.set()
    batcher = Batcher(forward, max_batch=8, max_wait=3600, max_queue=64, seconds_per_image=0.25)
    results = {}
    submit_in_thread(batcher, images(1), results, "lone").join(60)
    assert results["lone"].tolist() == [12.0]


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
    with batcher._ready:
        batcher._ready.wait_for(lambda: batcher._coming)
    first = submit_in_thread(batcher, images(1), results, "first")
    wait_for_queue(batcher, 1)
    decoded.set()
    first.join(10)
    late.join(10)
    assert forward.sizes == [2]  # one pass for both
    assert results["first"].tolist() == [12.0] and results["second"].tolist() == [24.0]
    assert batcher._coming == 0


def test_a_bad_batch_fails_its_request_and_the_worker_lives_on():
    """Images of another shape cannot join a pass: that request fails, the worker does not die
    (it did when concatenating outside its guard), and an empty submit needs no pass."""
    forward = GatedForward()
    forward.gate.set()
    batcher = Batcher(forward, max_batch=4, max_wait=0.001, max_queue=64, seconds_per_image=0.25)
    with pytest.raises(ValueError):
        batcher.submit([np.zeros((2, 2, 3), np.float32), np.zeros((5, 5), np.float32)])
    assert batcher.submit(np.zeros((0, 2, 2, 3), np.float32)).tolist() == []
    assert batcher.submit(images(1)).tolist() == [12.0]
    assert batcher.health() == (True, "alive")
