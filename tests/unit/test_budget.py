"""Contract (the tiny bucket): the process-wide budget of decoded pixels (core/inputs/budget.py). A decode
waits for its share, first come first served, and never fails for it; a photo larger than the
whole budget runs alone; a request's photos are decoded one at a time. Each test waits for an
event (a decode waiting), never for a fixed time."""
import threading

import pytest
from PIL import Image

from core.inputs.budget import PixelBudget
from core.inputs.pipeline import InputPipeline
from tests.expected import SCORES
from tests.imagegen import encode, sample_bytes
from tests.settings import settings


def test_a_decode_waits_while_the_budget_is_spent_and_then_runs():
    budget = PixelBudget(1000)
    pipeline = InputPipeline(_spec(), 10**8, False, 10**9, budget)
    done = []
    with budget.lease() as reserve:
        reserve(1000)  # all of it
        photo = encode(Image.new("RGB", (40, 30)), "PNG")
        worker = threading.Thread(target=lambda: done.append(pipeline.prepare(photo)))
        worker.start()
        budget.wait_until(lambda b: b.waiting == 1)  # it asked for its 1,200 pixels, and waits
        assert not done and budget.used == 1000
    worker.join()
    assert done[0].size == (40, 30) and budget.used == 0 and budget.waiting == 0


def test_first_come_first_served_and_a_photo_over_the_budget_runs_alone():
    budget = PixelBudget(100)
    order = []
    hold = budget.lease()
    reserve = hold.__enter__()
    reserve(60)

    def decode(name, pixels):
        with budget.lease() as mine:
            mine(pixels)
            order.append(name)

    big = threading.Thread(target=decode, args=("big", 10**6))  # over the budget: waits for all of it
    big.start()
    budget.wait_until(lambda b: b.waiting == 1)
    small = threading.Thread(target=decode, args=("small", 10))  # would fit now, but came later
    small.start()
    budget.wait_until(lambda b: b.waiting == 2)
    assert order == []
    hold.__exit__(None, None, None)
    big.join()
    small.join()
    assert order == ["big", "small"] and budget.used == 0


def test_predict_keeps_no_decoded_picture_and_scores_as_before(model):
    """ModelWrapper drops each picture once its network input is made: the budget is all free
    after a request, and the scores are the model's own."""
    images = [sample_bytes(name) for name in sorted(SCORES)]
    scores = [p["memorability"] for p in model.predict(images)]
    assert scores == pytest.approx([SCORES[name] for name in sorted(SCORES)], abs=1e-6)
    assert model.pipeline.budget.used == 0


def _spec():
    from core.model.bucket import open_bucket

    return open_bucket(settings().MODEL_BUCKET).preprocessing


def _wait_past(request):
    """Until ``request``'s deadline has passed (an event on the clock, not a fixed sleep)."""
    import time

    while request.left() > 0:
        time.sleep(0.001)


def test_a_decode_waiting_for_pixels_ends_at_its_requests_deadline_counted_from_arrival():
    """Issue 40, item 10: the wait for the budget had no deadline: a predict queued behind a
    64 MP decode could wait past REQUEST_TIMEOUT and still answer 200 much later."""
    from core.inputs.deadline import DeadlineExceeded, request

    budget = PixelBudget(100)
    with budget.lease() as hold:
        hold(100)
        with request(timeout=0.05) as current:
            _wait_past(current)
            with pytest.raises(DeadlineExceeded, match="waited 0.05 s for its turn to decode"):
                with budget.lease() as mine:
                    mine(10)
    assert budget.used == 0 and budget.waiting == 0


def test_a_decode_whose_client_hung_up_stops_waiting():
    from core.inputs.deadline import Abandoned, request

    budget = PixelBudget(100)
    gone = threading.Event()
    failed = []

    def decode():
        with request(gone=gone.is_set):
            try:
                with budget.lease() as mine:
                    mine(10)
            except Abandoned as error:
                failed.append(error)

    with budget.lease() as hold:
        hold(100)
        worker = threading.Thread(target=decode)
        worker.start()
        budget.wait_until(lambda b: b.waiting == 1)
        gone.set()
        worker.join(60)
        assert failed and budget.waiting == 0


def test_a_predictions_decode_goes_before_a_heavy_requests_that_came_first():
    from core.inputs.deadline import HEAVY, LIGHT, request

    budget = PixelBudget(100)
    order = []

    def decode(name, priority):
        with request(priority):
            with budget.lease() as mine:
                mine(60)
                order.append(name)

    hold = budget.lease()
    hold.__enter__()(100)
    heavy = threading.Thread(target=decode, args=("heavy", HEAVY))
    heavy.start()
    budget.wait_until(lambda b: b.waiting == 1)
    light = threading.Thread(target=decode, args=("light", LIGHT))
    light.start()
    budget.wait_until(lambda b: b.waiting == 2)
    hold.__exit__(None, None, None)
    heavy.join()
    light.join()
    assert order == ["light", "heavy"]
