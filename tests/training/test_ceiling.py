"""How far a model's agreement with people can go: the split-half over many random divisions of
the participants, its Spearman-Brown correction and the ceiling (training/agreement.py), from
DATA/participants.csv (training/lamem.py); two given halves are one split, uncorrected."""
import csv
import shutil

import numpy as np
import pytest

from training.agreement import people, spearman
from training.evaluate import evaluate
from training.lamem import DatasetError, read_participants, read_split


def responses_of(rates, participants, seen=0.6, seed=0):
    """Participants x photos: each participant sees each photo's repeat with probability ``seen``
    and recognises it with the photo's own rate (1 a hit, 0 a miss, -1 not seen)."""
    rng = np.random.default_rng(seed)
    shown = rng.random((participants, len(rates))) < seen
    return np.where(shown, rng.random(shown.shape) < np.asarray(rates), -1).astype(np.int8)


def test_a_perfect_model_reaches_the_ceiling_where_it_passes_the_split_half_and_its_correction():
    """The model that knows each photo's true rate is scored against the group's mean rate: its rho
    is the ceiling (100%, within noise), above the split-half and above its Spearman-Brown correction."""
    rates = np.random.default_rng(1).uniform(0.3, 0.9, 300)
    responses = responses_of(rates, 60)
    group_mean = (responses == 1).sum(0) / (responses >= 0).sum(0)
    perfect = spearman(rates, group_mean)
    found = people(responses)
    half, ceiling = found["human_split_half"], found["ceiling"]
    assert half["splits"] == 100 and half["participants"] == 60 and half["n"] == 300
    assert half["corrected"] is False and half["spearman_sd"] > 0
    assert ceiling["spearman_brown"] == pytest.approx(2 * half["spearman"] / (1 + half["spearman"]))
    assert ceiling["spearman"] == pytest.approx(np.sqrt(ceiling["spearman_brown"]))
    assert 0.97 < perfect / ceiling["spearman"] < 1.03
    assert perfect > ceiling["spearman_brown"] + 0.04 > half["spearman"] + 0.04  # neither is a ceiling


def write_participants(data, responses, names):
    with open(data / "participants.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["participant", *names])
        for i, row in enumerate(responses):
            writer.writerow([f"p{i:02d}", *("" if v < 0 else int(v) for v in row)])


def test_evaluate_gives_the_ceiling_from_participants_and_one_uncorrected_split_from_halves(bucket, dataset, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(dataset, data)
    entries = [entry for kind in ("train", "val", "test") for entry in read_split(data, kind, 1)]
    write_participants(data, responses_of([s for _, s in entries], 40), [p.name for p, _ in entries])
    result = evaluate(bucket, data, 1)
    half, ceiling = result["human_split_half"], result["ceiling"]
    assert (half["splits"], half["participants"], half["n"], half["corrected"]) == (100, 40, 4, False)
    assert ceiling["spearman"] == pytest.approx(np.sqrt(2 * half["spearman"] / (1 + half["spearman"])))
    assert ceiling["of_ceiling"] == pytest.approx(result["spearman"] / ceiling["spearman"])

    (data / "participants.csv").unlink()
    (data / "splits" / "halves_1.txt").write_text("".join(f"{p.name} {s:.6f} {1 - s:.6f}\n" for p, s in entries))
    result = evaluate(bucket, data, 1)
    assert result["human_split_half"] == {"spearman": -1.0, "spearman_ci": [None, None], "n": 4, "splits": 1,
                                          "corrected": False}
    assert "ceiling" not in result  # one split of two halves, uncorrected: no ceiling said


@pytest.mark.parametrize("text, message", [
    ("person,a.jpg,b.jpg\np1,1,0\np2,0,1\n", r"participants\.csv:1: expected the header 'participant,"),
    ("participant,a.jpg,b.jpg\np1,1,0\np2,0,2\n", r"participants\.csv:3: '2' is not 1, 0 or empty"),
    ("participant,a.jpg,b.jpg\np1,1,0\np2,0\n", r"participants\.csv:3: 2 fields, where the header has 3"),
    ("participant,a.jpg,b.jpg\np1,1,0\np1,0,1\n", r"participants\.csv:3: participant 'p1' has a row already"),
    ("participant,a.jpg,b.jpg\np1,1,0\n", r"participants\.csv: 1 participant\(s\): a split-half needs 2"),
])
def test_a_bad_participants_file_is_reported_with_its_line(tmp_path, text, message):
    (tmp_path / "participants.csv").write_text(text)
    with pytest.raises(DatasetError, match=message):
        read_participants(tmp_path)


def test_participants_read_back_as_hits_misses_and_nothing(tmp_path):
    (tmp_path / "participants.csv").write_text("participant,a.jpg,b.jpg,c.jpg\np1,1,,0\np2,,0,1\n")
    names, responses = read_participants(tmp_path)
    assert names == ["a.jpg", "b.jpg", "c.jpg"] and responses.tolist() == [[1, -1, 0], [-1, 0, 1]]
    assert read_participants(tmp_path / "elsewhere") is None
