"""Contract (the tiny bucket): finetune --report (training/report.py) writes what a methods section needs."""
import json
import subprocess

from tests.imagegen import ROOT
from tests.training.conftest import facts


def test_the_report_has_what_a_methods_section_needs(tuned):
    """finetune --report (training/report.py): the data, every candidate, the confirmation with its
    interval, the settings tried, the seeds, the versions and the commit, the ceiling from people."""
    out, _ = tuned
    made = json.loads((out.parent / "report" / "report.json").read_text())
    prov = facts(out)["provenance"]
    assert made["written"] is True and made["data"] == prov["data"] and made["candidates"] == prov["candidates"]
    assert made["near_duplicates"] == [] and made["near_duplicate_rule"]["threshold_bits"] == 18
    assert made["confirmation"] == prov["confirmation"]
    assert made["selection"]["settings_tried"] == 3 * 13 * 11 + 1  # the ridge grid and the mirror average
    assert made["seeds"]["division_of_val"] == 0 and made["seeds"]["deep_candidates"] == []  # none trained
    versions = made["versions"]
    assert versions.get("tensorflow-cpu") or versions.get("tensorflow")
    assert versions["numpy"] and versions["imagehash"] and versions["keras"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert made["commit"].startswith(head)
    people = made["people"]  # the lab set gives two halves of its participants: one split, uncorrected
    assert people["human_split_half"]["n"] == 15 and "ceiling" not in people
    text = (out.parent / "report" / "report.md").read_text()
    low, high = prov["confirmation"]["spearman_ci"]
    assert f"On the 15 confirmation photos: Spearman ρ {prov['confirmation']['spearman']:.3f}" in text
    chosen = prov["chosen_on_selection"]  # by name and by what it is: a deep one's recipe of views is in it
    assert f"Chosen on the selection photos: {chosen['features']} ({chosen['what']}), among 430 settings" in text
    assert f"(95% BCa interval {low:.3f} to {high:.3f})" in text and "one split, uncorrected, no ceiling" in text
    mirror = prov["selection"]["mirror_average"]
    assert (f"mirror image (MODEL_TTA=mirror), the chosen network's selection val ρ is {mirror['mirror_average']:.3f}"
            f" against {mirror['val_spearman']:.3f}: {'kept' if mirror['chosen'] else 'not kept'}") in text
