"""Contract (the tiny bucket): any exception met on one input of a collection is that input's
error row, "<name> could not be scored: <type>: <message>", with its traceback logged, and the
other inputs are scored: in this process (collection/local.py, which the Ray job's actors run),
through a service (collection/remote.py, a fake one here) and in the Ray job's read stage
(collection/cluster.py). The faults are injected; tests/score/test_video.py runs one through
`python -m score`."""
import pyarrow as pa
import pytest

from tests.expected import SCORES
from tests.imagegen import SAMPLES, sample_bytes
from tests.settings import settings
from tests.videogen import clip

NAMES = ["astronaut.jpg", "rocket.jpg", "coffee.jpg"]
ROCKET = (640, 427)  # the only one of NAMES of that size


@pytest.fixture(scope="module")
def scorer():
    from collection.local import LocalScorer

    with LocalScorer(settings()) as scorer:
        yield scorer


def logged(caplog, message):
    """The records of ``message`` that carry a traceback."""
    return [record for record in caplog.records if record.getMessage() == message and record.exc_info]


def check(results, failed, error):
    for result, name in zip(results, NAMES):
        if name == failed:
            assert result.error == error and result.scores is None and result.width is None, result
        else:
            assert result.error is None, result
            assert result.scores["memorability"] == pytest.approx(SCORES[name], abs=1e-5), result


def test_an_exception_while_a_photo_is_read_is_its_row(scorer, monkeypatch, caplog):
    prepare = scorer.model.pipeline.prepare

    def failing(source, name="image", **options):
        if name == "rocket.jpg":
            raise RuntimeError("injected")
        return prepare(source, name, **options)

    monkeypatch.setattr(scorer.model.pipeline, "prepare", failing)
    results = list(scorer.score([SAMPLES / name for name in NAMES]))
    check(results, "rocket.jpg", "rocket.jpg could not be scored: RuntimeError: injected")
    assert logged(caplog, "rocket.jpg could not be scored")


def test_a_batch_whose_pass_fails_is_scored_photo_by_photo(scorer, monkeypatch, caplog):
    """Only the photo the pass fails on gets the error row."""
    predict = scorer.model.predict

    def failing(photos, stable=False):
        if any(photo.size == ROCKET for photo in photos):
            raise ValueError("a pass that fails on the rocket")
        return predict(photos, stable)

    monkeypatch.setattr(scorer.model, "predict", failing)
    results = list(scorer.score([SAMPLES / name for name in NAMES]))
    check(results, "rocket.jpg", "rocket.jpg could not be scored: ValueError: a pass that fails on the rocket")
    assert len(logged(caplog, "rocket.jpg could not be scored")) == 1


def test_an_exception_while_a_video_is_scored_is_its_row(scorer, monkeypatch, caplog, tmp_path):
    from core.analyses.video import VideoReader

    def failing(self, *args, **kwargs):
        raise KeyError("injected")

    (tmp_path / "clip.mp4").write_bytes(clip(["coffee.jpg"], seconds=1))
    monkeypatch.setattr(VideoReader, "timeline", failing)
    video, photo = scorer.score([tmp_path / "clip.mp4", SAMPLES / "rocket.jpg"])
    assert video.error == "clip.mp4 could not be scored: KeyError: 'injected'" and video.frames is None
    assert photo.error is None and photo.scores["memorability"] == pytest.approx(SCORES["rocket.jpg"], abs=1e-5)
    assert logged(caplog, "clip.mp4 could not be scored")


class Answer:
    def __init__(self, body, status=200):
        self.status_code, self.body = status, body

    def json(self):
        return self.body


def fake_service(monkeypatch, score):
    """RemoteScorer's requests answered here: /model/predict scores each file with ``score(data)``."""
    from collection.remote import RemoteScorer

    def send(self, method, path, **kwargs):
        if path == "/model/metadata":
            return Answer({"outputs": [{"output": "memorability"}]})
        assert path == "/model/predict", path
        return Answer({"predictions": [{"memorability": score(data)} for _, (_, data, _) in kwargs["files"]]})

    monkeypatch.setattr(RemoteScorer, "_send", send)
    return RemoteScorer("http://fake", settings(), concurrency=1)


def test_an_exception_on_one_file_sent_to_a_service_is_its_row(monkeypatch, caplog):
    import collection.remote

    probe = collection.remote.probe_size
    rocket = sample_bytes("rocket.jpg")

    def failing(data):
        if data == rocket:
            raise RuntimeError("injected")
        return probe(data)

    monkeypatch.setattr(collection.remote, "probe_size", failing)
    scorer = fake_service(monkeypatch, lambda data: SCORES[next(n for n in NAMES if sample_bytes(n) == data)])
    results = list(scorer.score([SAMPLES / name for name in NAMES]))
    check(results, "rocket.jpg", "rocket.jpg could not be scored: RuntimeError: injected")
    assert logged(caplog, "rocket.jpg could not be scored")


def test_an_answer_that_cannot_be_read_is_the_rows_of_the_files_it_was_for(monkeypatch, caplog):
    """A 200 whose prediction this client cannot read: the batch is sent photo by photo."""
    rocket = sample_bytes("rocket.jpg")
    scorer = fake_service(monkeypatch, lambda data: "not a number" if data == rocket else
                          SCORES[next(n for n in NAMES if sample_bytes(n) == data)])
    monkeypatch.setattr("collection.remote.scores_from", checked_scores_from)
    results = list(scorer.score([SAMPLES / name for name in NAMES]))
    check(results, "rocket.jpg", "rocket.jpg could not be scored: TypeError: not a score: 'not a number'")


def checked_scores_from(outputs, prediction):
    from core.model.outputs import scores_from

    if not isinstance(prediction["memorability"], float):
        raise TypeError(f"not a score: {prediction['memorability']!r}")
    return scores_from(outputs, prediction)


def test_an_exception_in_the_ray_jobs_read_stage_is_its_row(monkeypatch, caplog):
    """A read task that raised failed its whole block on every retry and resume."""
    import collection.cluster
    from collection.cluster import fetch_block

    def fetch(path, name, settings):
        if name == "rocket.jpg":
            raise RuntimeError("injected")
        return sample_bytes(name)

    monkeypatch.setattr(collection.cluster, "fetch", fetch)
    paths = [str(SAMPLES / name) for name in NAMES]
    block = pa.table({"source": pa.array([path.encode() for path in paths], pa.binary()),
                      "walked": pa.array([False] * 3), "error": pa.array([None] * 3, pa.string())})
    fetched = fetch_block(block, settings()).to_pylist()
    assert [row["error"] for row in fetched] == [None, "rocket.jpg could not be scored: RuntimeError: injected", None]
    assert fetched[0]["data"] == sample_bytes("astronaut.jpg") and fetched[1]["data"] is None
    assert logged(caplog, f"{paths[1]} could not be read")


def test_a_bytes_video_that_fails_is_its_row_too(scorer, monkeypatch, caplog):
    """The Ray job's actors score bytes: a video among them is read from memory."""
    from core.analyses.video import VideoReader

    def failing(self, *args, **kwargs):
        raise ZeroDivisionError("injected")

    monkeypatch.setattr(VideoReader, "timeline", failing)
    (video,) = scorer.score([clip(["coffee.jpg"], seconds=1)])
    assert video.error == "image 1 could not be scored: ZeroDivisionError: injected"
    assert logged(caplog, "image 1 could not be scored")
