"""Contract (the tiny bucket): training.label writes LaMem's format with the teacher's scores;
training.lamem reads it back, and reports a bad split line with its file and line number."""
import pytest

from tests.expected import SCORES
from tests.training.conftest import stage
from training.label import divide, extremeness
from training.lamem import DatasetError, read_split, write_split


def lines(data, kind):
    return (data / "splits" / f"{kind}_1.txt").read_text().splitlines()


def test_label_writes_every_photo_once_into_the_three_splits(dataset, photos):
    names = [line.split()[0] for kind in ("train", "val", "test") for line in lines(dataset, kind)]
    photo_names = sorted(p.name for p in photos.glob("*.jpg"))
    assert sorted(names) == photo_names  # LICENSES.md, not an image, was skipped
    assert [len(lines(dataset, k)) for k in ("train", "val", "test")] == [8, 4, 4]
    assert sorted(p.name for p in (dataset / "images").iterdir()) == photo_names


def test_label_scores_are_the_teachers_own_scores(dataset):
    scores = {line.split()[0]: float(line.split()[1])
              for kind in ("train", "val", "test") for line in lines(dataset, kind)}
    for name, reference in SCORES.items():
        assert scores[name] == pytest.approx(reference, abs=1e-6)  # 6 decimals, as LaMem writes


def test_label_division_is_reproducible_from_its_seed():
    names = [f"{i:08d}.jpg" for i in range(20)]
    first = divide(names, 0.15, 0.15, seed=0)
    assert first == divide(list(reversed(names)), 0.15, 0.15, seed=0)
    assert [len(first[k]) for k in ("train", "val", "test")] == [14, 3, 3]
    assert sorted(sum(first.values(), [])) == names
    assert first != divide(names, 0.15, 0.15, seed=1)


def test_extremeness_is_the_distance_of_the_logit_from_the_median_in_either_direction():
    """The development target of the deep candidates: a V of the teacher's score, 0 at the median
    photo, 1 at the farthest, equal for logits equally far above and below."""
    import math

    sigmoid = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731 -- a one-line formula, read as one
    scores = {"low": sigmoid(-2.0), "median": sigmoid(0.0), "high": sigmoid(2.0), "far": sigmoid(4.0),
              "less": sigmoid(-1.0)}
    assert extremeness(scores) == pytest.approx({"low": 0.5, "median": 0.0, "high": 0.5, "far": 1.0, "less": 0.25})


@pytest.fixture
def folder(tmp_path, dataset):
    """A dataset whose images are the tiny dataset's, for writing broken splits."""
    (tmp_path / "images").symlink_to(dataset / "images")
    return tmp_path


def test_a_missing_split_file_names_the_file_and_the_format(folder):
    with pytest.raises(DatasetError, match=r"train_3\.txt: no such split file .*DATA/splits/train_3\.txt"):
        read_split(folder, "train", 3)


@pytest.mark.parametrize("line, message", [
    ("nowhere.jpg 0.5", r"train_1\.txt:3: image nowhere\.jpg is not in"),
    ("astronaut.jpg 1.5", r"train_1\.txt:3: score 1\.5 is outside 0\.\.1"),
    ("astronaut.jpg -0.1", r"train_1\.txt:3: score -0\.1 is outside 0\.\.1"),
    ("astronaut.jpg nan", r"train_1\.txt:3: score nan is outside 0\.\.1"),
    ("astronaut.jpg high", r"train_1\.txt:3: score 'high' is not a number"),
    ("astronaut.jpg", r"train_1\.txt:3: expected 'name score'"),
])
def test_a_bad_split_line_is_reported_with_its_line_number(folder, line, message):
    path = write_split(folder, "train", 1, [("chelsea.jpg", 0.5), ("coffee.jpg", 0.25)])
    path.write_text(path.read_text() + line + "\n")
    with pytest.raises(DatasetError, match=message):
        read_split(folder, "train", 1)


def test_a_good_split_reads_back_as_written(folder):
    write_split(folder, "val", 2, [("chelsea.jpg", 0.5), ("coffee.jpg", 0.123456789)])
    entries = read_split(folder, "val", 2)
    assert [(p.name, s) for p, s in entries] == [("chelsea.jpg", 0.5), ("coffee.jpg", 0.123457)]


def test_train_stops_on_a_bad_split_before_building_anything(folder, tmp_path):
    path = write_split(folder, "train", 1, [("chelsea.jpg", 0.5)])
    path.write_text(path.read_text() + "astronaut.jpg 7\n")
    result = stage("training.train", "--data", str(folder), "--split", "1",
                   "--out", str(tmp_path / "out"), check=False)
    assert result.returncode == 2
    assert "train_1.txt:2: score 7 is outside 0..1" in result.stderr
    result = stage("training.train", "--data", str(folder), "--split", "4",
                   "--out", str(tmp_path / "out"), check=False)
    assert result.returncode == 2 and "train_4.txt: no such split file" in result.stderr
