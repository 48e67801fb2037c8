"""Contract (the tiny bucket): the deep candidates past their skip, within `make test` (the whole
run, both parts with two seeds each, twice, served exactly, is test_finetune's slow test). With
deep.MIN_TRAIN lowered to the 60 training photos of ``lab`` (the threshold is a policy; the code
past it is the same), ResMem's head is retrained with two seeds on each recipe of views: its best
epoch, the mean of its epochs and the soup of the seeds compete on the selection photos, each
recipe's ensemble is built on the best of them, every setting is counted, and the bucket written
holds the chosen network."""
import shutil

import numpy as np
import pytest

from tests.imagegen import ROOT
from tests.training.conftest import TEACHER, facts, stage
from training import deep, heads

# The frozen part's passes over lab's photos (each folder keyed by the bucket's md5s, the files and
# the view: training/bottlenecks.py), kept across runs; the checkpoints are not: a warm run trains.
PASSES = ROOT / ".cache" / "tests" / "deep-candidates-passes"


def passes_into(cache):
    for folder in PASSES.glob("resmem-*"):
        shutil.copytree(folder, cache / folder.name)


def passes_kept(cache):
    PASSES.mkdir(parents=True, exist_ok=True)
    for folder in cache.glob("resmem-*"):
        if not (PASSES / folder.name).exists():
            shutil.copytree(folder, PASSES / f"making-{folder.name}")
            (PASSES / f"making-{folder.name}").rename(PASSES / folder.name)  # whole or absent


def test_the_head_with_each_recipe_its_averages_and_ensembles_compete_and_the_chosen_is_written(lab, tmp_path,
                                                                                                monkeypatch):
    monkeypatch.setattr(deep, "MIN_TRAIN", 50)
    out, cache = tmp_path / "bucket", tmp_path / "features"
    cache.mkdir()
    passes_into(cache)
    run = stage("training.finetune", "--base", str(TEACHER), "--data", str(lab), "--split", "1", "--out", str(out),
                "--cache", str(cache), "--candidates", "heads,head,ensembles", "--seeds", "2",
                "--augment", "fixed,resmem",  # each recipe a candidate of its own (training/views.py)
                "--force")  # the tiny teacher labelled nothing here: the gate may refuse, the choice is under test
    passes_kept(cache)
    assert "resumed from" not in run.stderr  # trained, with the passes found cached
    prov = facts(out)["provenance"]
    rows = {row["features"]: row for row in prov["candidates"]}
    epochs, first = 0, set()
    for recipe, dropout in (("fixed", 0), ("resmem", 0.5)):
        name = f"{deep.PARTS['head']}, {recipe} views"
        part = rows[name]
        assert (part["augment"], part["dropout"]) == (recipe, dropout)
        history = part["val_by_epoch"]
        last = len(history) - 1
        assert part["epoch"] == int(np.argmax(history)) and history[part["epoch"]] == pytest.approx(
            part["val_spearman"], abs=1e-4)
        assert last == deep.EPOCHS or last - part["epoch"] == deep.PATIENCE
        snapshots = rows[f"{name}, mean of its {last} epochs' weights"]
        soup = rows[f"{name}, mean of 2 seeds' best epochs' weights"]
        [other] = soup["val_by_epoch_of_other_seeds"]
        assert snapshots["epochs_averaged"] == last and soup["best_epochs"] == [part["epoch"], int(np.argmax(other))]
        assert other[0] == history[0]  # the base recalibrated: the seeds differ only once they train
        ensemble = next(row for key, row in rows.items() if key.startswith(f"ensemble: {name}"))
        assert ensemble["val_spearman"] >= max(part["val_spearman"], snapshots["val_spearman"],
                                               soup["val_spearman"]) - 1e-9  # its blend 0 is the part's best
        epochs += len(history) - 1 + len(other) - 1
        first.add(history[0])
    assert len(first) == 1  # epoch 0 is the base recalibrated on centre views, whatever the recipe: one setting
    grid = 3 * 13 * 11  # the ridge heads', and each ensemble's, search
    assert prov["selection"]["settings_tried"] == 3 * grid + epochs + 1 + 2 * 2 + 1
    # The bucket holds the chosen network: scored as written, on the selection photos, it gives
    # the selection rho that chose it (training/gate.mirror_choice measures it so).
    best = max(row["val_spearman"] for row in rows.values() if "val_spearman" in row and "mirror_average" not in row)
    assert prov["selection"]["mirror_average"]["val_spearman"] == pytest.approx(best, abs=1e-4)
    chosen = prov["chosen_on_selection"]
    assert chosen["features"] in rows  # the row that won: a ridge head has no recipe, a deep one its own
    recipe = chosen.get("augment")
    assert (recipe is None) == (chosen["features"] in heads.FEATURE_SETS), chosen
    assert recipe is None or f", {recipe} views" in chosen["features"], chosen

    # --candidates head: the ridge heads are measured and recorded, but cannot be chosen, so their
    # grid is not among the settings tried. Seed 0's fixed head is resumed from its checkpoint above.
    alone = stage("training.finetune", "--base", str(TEACHER), "--data", str(lab), "--split", "1", "--out",
                  str(tmp_path / "alone"), "--cache", str(cache), "--candidates", "head", "--force")
    assert "resumed from" in alone.stderr
    rows = {row["features"]: row for row in facts(tmp_path / "alone")["provenance"]["candidates"]}
    averages = sum(1 for row in rows.values() if "averaged" in row)  # the mean of its epochs' weights
    assert facts(tmp_path / "alone")["provenance"]["selection"]["settings_tried"] == (
        len(rows[deep.PARTS["head"]]["val_by_epoch"]) + averages + 1)  # its epochs, their mean, the mirror average
    chosen = facts(tmp_path / "alone")["provenance"]["chosen_on_selection"]  # the head: its recipe named
    assert "fc6-fc12 retrained, from its weights, on the fixed recipe's views" in chosen["what"], chosen
    assert "dropout" not in chosen["what"] and chosen["what"] in facts(tmp_path / "alone")["description"]
