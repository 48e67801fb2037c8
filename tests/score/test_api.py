"""Contract (the tiny bucket): the Python API, as a notebook uses it: paths, bytes and PIL images,
streamed."""
import itertools
import threading

import pytest

from collection import Scorer
from tests.expected import FALSE_SCORES, SCORES, STABLE_SCORES
from tests.imagegen import SAMPLES, sample_bytes, sample_rgb


@pytest.fixture(scope="module")
def scorer():
    with Scorer(BATCH_SIZE=4) as scorer:
        yield scorer


def test_paths_bytes_and_pil_images(scorer):
    items = [SAMPLES / "astronaut.jpg", sample_bytes("coffee.jpg"), b"not a photo", sample_rgb("rocket.jpg")]
    results = list(scorer.score(items))
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert results[0].path == str(SAMPLES / "astronaut.jpg") and results[1].path is None
    for result, name in ((results[0], "astronaut.jpg"), (results[1], "coffee.jpg"), (results[3], "rocket.jpg")):
        assert result.error is None and abs(result.scores["memorability"] - SCORES[name]) < 0.002
        assert dict(result.scores) == {"memorability": result.scores["memorability"],
                                       "false_alarm": pytest.approx(FALSE_SCORES[name], abs=0.002)}
    assert (results[3].width, results[3].height) == (640, 427)
    assert results[2].scores is None
    assert results[2].error == "image 3 is not an image (JPEG, PNG, GIF, BMP, TIFF or WebP)"


def test_it_streams_an_endless_input(scorer):
    """Only a bounded window is read ahead: an endless generator of photos can be consumed."""
    taken = threading.Semaphore(0)

    def endless():
        for data in itertools.cycle([sample_bytes("chelsea.jpg")]):
            taken.release()
            yield data

    results = list(itertools.islice(scorer.score(endless()), 10))
    assert len(results) == 10 and all(abs(r.scores["memorability"] - SCORES["chelsea.jpg"]) < 0.002 for r in results)
    read = 0
    while taken.acquire(blocking=False):
        read += 1
    assert read <= 10 + 2 * 4 + 4  # what was scored, the read-ahead window and one batch


def test_a_scorer_refuses_what_is_not_a_photo_source(scorer):
    with pytest.raises(TypeError, match="give a path, bytes or a PIL image"):
        list(scorer.score([42]))


def test_stable_scores_are_the_mean_of_the_photo_and_its_mirror():
    from PIL import ImageOps

    with Scorer(stable=True, BATCH_SIZE=4) as scorer:
        photo, mirror = scorer.score([SAMPLES / "astronaut.jpg", ImageOps.mirror(sample_rgb("astronaut.jpg"))])
    assert photo.scores["memorability"] == pytest.approx(STABLE_SCORES["astronaut.jpg"], abs=1e-5)
    assert dict(mirror.scores) == dict(photo.scores)  # exactly: the same two scores, added the other way round
    assert mirror.scores.mirror_delta == {name: -delta for name, delta in photo.scores.mirror_delta.items()}
