"""Contract (the tiny bucket): what training.finetune starts from. A bucket it wrote is refused as
--base, a deep candidate's (no "tuned" head, a "tta" of its own) as a ridge head's: its choices,
the mirror average among them, are not the new run's. The deep one was taken, and its "tta"
copied into the new bucket whether or not the new run chose the mirror."""
import json
import shutil

import pytest

from core.model.checksums import write_md5sums
from tests.training.conftest import facts, stage
from training.tuned_facts import WEIGHTS_FILE


def test_a_bucket_finetune_wrote_is_refused_as_its_base_ridge_or_deep(tuned, lab, tmp_path):
    ridge, _ = tuned
    deep = tmp_path / "deep"  # what a deep candidate's bucket is: the base's design, new weights, no head
    shutil.copytree(ridge, deep)
    written = facts(ridge)
    written["architecture_options"].pop("tuned")
    (deep / "model.json").write_text(json.dumps({**written, "tta": "mirror"}))
    write_md5sums(deep, [WEIGHTS_FILE, "model.json"])
    for base in (ridge, deep):
        run = stage("training.finetune", "--data", str(lab), "--split", "1", "--out", str(tmp_path / "again"),
                    "--base", str(base), check=False)
        assert run.returncode == 2 and f"not fine-tuned already: {base} is resmem-finetuned" in run.stderr, run.stderr
        assert not (tmp_path / "again").exists()


@pytest.mark.fidelity  # reads ResMem's bucket
def test_resmem_and_a_hand_made_provenance_are_taken_as_bases(tmp_path):
    """`make finetune`'s default base (the fixture above tunes the tiny one), and a bucket whose
    "provenance" is not an object: taken (it raised an AttributeError, a traceback)."""
    from tests.settings import RESMEM
    from tests.training.conftest import TEACHER
    from training.finetune import base_bucket

    assert base_bucket(str(RESMEM)).facts["id"] == facts(RESMEM)["id"]
    hand = tmp_path / "hand-made"
    shutil.copytree(TEACHER, hand)
    written = facts(TEACHER)
    (hand / "model.json").write_text(json.dumps({**written, "provenance": "made by hand"}))
    write_md5sums(hand, [written["weights"], "model.json"])
    assert base_bucket(str(hand)).facts["provenance"] == "made by hand"
