"""Contract (the tiny bucket): the gate (training/gate.py) that noise cannot pass. On scores shuffled
among the photos, which no model can predict, finetune writes no bucket without --force, seed after
seed, though it still chooses the best of several hundred settings on val; and it says why."""
import numpy as np
import pytest

from tests.training.conftest import TEACHER
from training import gate
from training.finetune import NotImproved, finetune

SEEDS = range(5)


def shuffled(lab, folder, seed):
    """``lab``'s splits with their scores shuffled among all the photos (by ``seed``): the photos'
    own folder (so the cached features serve every seed), scores that no photo explains."""
    (folder / "splits").mkdir(parents=True, exist_ok=True)
    if not (folder / "images").exists():
        (folder / "images").symlink_to(lab / "images")
    lines = {kind: (lab / "splits" / f"{kind}_1.txt").read_text().split("\n") for kind in ("train", "val", "test")}
    lines = {kind: [line.split() for line in rows if line.strip()] for kind, rows in lines.items()}
    scores = np.random.default_rng(seed).permutation([score for rows in lines.values() for _, score in rows])
    at = 0
    for kind, rows in lines.items():
        text = "".join(f"{name} {scores[at + i]}\n" for i, (name, _) in enumerate(rows))
        (folder / "splits" / f"{kind}_1.txt").write_text(text)
        at += len(rows)
    return folder


@pytest.mark.slow  # 19 s of a core: five runs; test_finetune's no-gain test refuses a bucket in `make test`
def test_shuffled_scores_write_no_bucket_seed_after_seed(lab, tmp_path):
    data, cache = tmp_path / "data", tmp_path / "features"
    for seed in SEEDS:
        shuffled(lab, data, seed)
        with pytest.raises(NotImproved, match="is not confirmed better than the base model") as refused:
            finetune(data, 1, tmp_path / f"bucket-{seed}", base=str(TEACHER), cache=cache, seed=seed)
        assert "does not exclude no gain" in str(refused.value) or "undefined" in str(refused.value)
        assert not (tmp_path / f"bucket-{seed}").exists()


def test_the_division_of_val_is_seeded_and_disjoint():
    select, confirm = gate.divide(30, 0.5, seed=3)
    assert len(select) == len(confirm) == 15 and not set(select) & set(confirm)
    assert sorted([*select, *confirm]) == list(range(30))
    again = gate.divide(30, 0.5, seed=3)
    assert (again[0] == select).all() and not (gate.divide(30, 0.5, seed=4)[0] == select).all()
    with pytest.raises(ValueError, match="--confirm must be between 0 and 1"):
        gate.divide(30, 1.0)
