"""Contract (the tiny bucket): the process-wide budget of decoded pixels (core/budget.py). A decode
waits for its share, first come first served, and never fails for it; a photo larger than the
whole budget runs alone; a request's photos are decoded one at a time. Each test waits for an
event (a decode waiting), never for a fixed time."""
import threading

import pytest
from PIL import Image

from core.budget import PixelBudget
from core.pipeline import InputPipeline
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
    from core.bucket import open_bucket

    return open_bucket(settings().MODEL_BUCKET).preprocessing
