"""Contract (no model: a forward of its own): core/model/batcher.py's admission and deadlines with
real threads: an admitted request is never refused halfway, heavy work never takes a prediction's
room and waits its turn first come first served, a deadline counts from arrival and ends the wait,
and a client that hung up stops waiting. Every test waits for an event, never for a fixed time."""
import threading

import pytest

from core.inputs.deadline import HEAVY, LIGHT, DeadlineExceeded
from core.model.batcher import Batcher
from core.model.refusals import Overloaded
from tests.unit.batching import GatedForward, images, submit_in_thread, wait_for_queue


def test_an_admitted_request_is_not_refused_halfway():
    """A crop search submits round after round: its later rounds pass a full queue, which a new
    request's first images do not."""
    forward = GatedForward()
    batcher = Batcher(forward, max_batch=1, max_wait=0.001, max_queue=2, seconds_per_image=0.25)
    results = {}
    search = submit_in_thread(batcher, images(1), results, "search", HEAVY, then=[images(2, 3, 4)])
    assert forward.entered.wait(60)
    filler = submit_in_thread(batcher, images(9, 9), results, "filler")  # the queue is full now
    wait_for_queue(batcher, 2)
    with pytest.raises(Overloaded):
        batcher.submit(images(5))
    forward.gate.set()
    search.join(60)
    filler.join(60)
    assert results[("search", 0)].tolist() == [24.0, 36.0, 48.0]  # its second round was admitted


def test_a_deadline_ends_the_wait_with_a_retry_time_and_drops_the_queued_images():
    forward = GatedForward()  # its gate stays shut: a hung runtime
    batcher = Batcher(forward, max_batch=2, max_wait=0.001, max_queue=64, seconds_per_image=0.5, pass_timeout=3600)
    results = {}
    stuck = submit_in_thread(batcher, images(1), results, "stuck")
    assert forward.entered.wait(60)
    late = submit_in_thread(batcher, images(2, 3, 4), results, "late", timeout=0.01)
    late.join(60)  # its deadline passes while the pass hangs
    assert isinstance(results["late"], DeadlineExceeded)
    assert "waited 0.01 s for the model (REQUEST_TIMEOUT)" in str(results["late"])
    assert results["late"].retry_after == 1 + int(1 * 0.5)  # the running image: its own were dropped
    assert batcher._queued == 0
    forward.gate.set()
    stuck.join(60)
    assert forward.sizes == [1]  # the dropped images never ran


def test_heavy_work_never_takes_a_predictions_room_and_a_heavy_request_waits_its_turn():
    """MAX_QUEUE_IMAGES is each class's own: a heavy backlog does not refuse a prediction, and a
    heavy request that does not fit waits (it is not refused) until the heavy queue has room."""
    forward = GatedForward()
    batcher = Batcher(forward, max_batch=2, max_wait=0.001, max_queue=4, seconds_per_image=0.25)
    results = {}
    threads = [submit_in_thread(batcher, images(0), results, "running", HEAVY)]
    assert forward.entered.wait(60)
    threads.append(submit_in_thread(batcher, images(1, 2, 3, 4), results, "full", HEAVY))
    wait_for_queue(batcher, 4)  # the heavy queue is full
    threads.append(submit_in_thread(batcher, images(5, 6), results, "waits", HEAVY))
    threads.append(submit_in_thread(batcher, images(7), results, "light", LIGHT))
    wait_for_queue(batcher, 5)  # the prediction is queued; the second heavy request is not, yet
    forward.gate.set()
    for thread in threads:
        thread.join(60)
    assert forward.passes[1] == [7]  # the prediction first, in the next pass
    assert results["waits"].tolist() == [60.0, 72.0]  # admitted once there was room: not refused
    assert results["light"].tolist() == [84.0]


def test_heavy_requests_wait_first_come_first_served_and_only_so_many_wait():
    forward = GatedForward()
    batcher = Batcher(forward, max_batch=2, max_wait=0.001, max_queue=2, seconds_per_image=0.25, max_waiting=2)
    results = {}
    threads = [submit_in_thread(batcher, images(0), results, "running", HEAVY)]
    assert forward.entered.wait(60)
    threads.append(submit_in_thread(batcher, images(1, 2), results, "full", HEAVY))
    wait_for_queue(batcher, 2)
    threads.append(submit_in_thread(batcher, images(3, 4), results, "big", HEAVY))  # waits: needs 2
    with batcher._ready:
        batcher._ready.wait_for(lambda: len(batcher._admitting) == 1)
    threads.append(submit_in_thread(batcher, images(5), results, "small", HEAVY))  # would fit before "big"
    with batcher._ready:
        batcher._ready.wait_for(lambda: len(batcher._admitting) == 2)
    with batcher.request(HEAVY):
        with pytest.raises(Overloaded, match="2 heavy requests already wait their turn"):  # a third: refused at once
            batcher.submit(images(6))
    forward.gate.set()
    for thread in threads:
        thread.join(60)
    order = [value for batch in forward.passes for value in batch]
    assert order.index(3) < order.index(5)  # "big" came first, and went first
    assert results["small"].tolist() == [60.0]


def test_the_deadline_counts_from_the_requests_arrival_not_from_its_submit():
    """Issue 40, item 10: a request that spent its REQUEST_TIMEOUT before its first submit (in the
    pixel budget's queue, say) is a 503 there, not 200 much later; an answered submit renews it."""
    import time

    batcher = Batcher(lambda batch: batch.reshape(len(batch), -1).sum(axis=1), max_batch=4, max_wait=0.001,
                      max_queue=64, seconds_per_image=0.5)
    try:
        with batcher.request(LIGHT, timeout=0.05) as request:
            while request.left() > 0:  # the deadline passes before anything is submitted
                time.sleep(0.001)
            with pytest.raises(DeadlineExceeded):
                batcher.submit(images(1))
        with batcher.request(HEAVY, timeout=30) as request:
            first = request.deadline
            batcher.submit(images(1))
            assert request.deadline > first  # progress: the next wait may last the timeout again
    finally:
        batcher.close()


def test_a_request_whose_client_hung_up_stops_waiting_and_its_images_are_dropped():
    from core.inputs.deadline import Abandoned

    forward = GatedForward()
    batcher = Batcher(forward, max_batch=1, max_wait=0.001, max_queue=64, seconds_per_image=0.5)
    results, gone = {}, threading.Event()
    first = submit_in_thread(batcher, images(1), results, "first")
    assert forward.entered.wait(60)

    def run():
        try:
            with batcher.request(HEAVY, gone=gone.is_set):
                results["left"] = batcher.submit(images(2, 3))
        except Exception as error:  # noqa: BLE001 - the test inspects it
            results["left"] = error

    left = threading.Thread(target=run)
    left.start()
    wait_for_queue(batcher, 2)
    gone.set()
    left.join(60)
    assert isinstance(results["left"], Abandoned)
    wait_for_queue(batcher, 0)  # its images left the queue
    forward.gate.set()
    first.join(60)
    batcher.close()
    assert forward.passes == [[1.0]]
