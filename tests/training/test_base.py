"""Contract (the tiny bucket): what training.finetune starts from. A bucket it wrote is refused as
--base, a deep candidate's (no "tuned" head, a "tta" of its own) as a ridge head's: its choices,
the mirror average among them, are not the new run's. The deep one was taken, and its "tta"
copied into the new bucket whether or not the new run chose the mirror."""
import json
import shutil

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
