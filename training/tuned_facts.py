"""model.json of a bucket that training.finetune writes: what it is, how it was chosen and
confirmed (training/gate.py), where it came from; the description that /model/metadata serves."""
from core.model.bucket import TTA
from core.model.checksums import file_digest
from training.lamem import KINDS, split_path

WEIGHTS_FILE = "resmem-finetuned.weights.h5"
TRAINER = "training/finetune.py"  # the provenance's "trainer": a bucket of this stage's
MIRRORED = ("scored as the mean of each photo and its mirror image: serve it with MODEL_TTA=mirror "
            "(or ask stable=true)")


def split_digests(data, k):
    return {kind: file_digest(split_path(data, kind, k)) for kind in KINDS}


def bucket_facts(bucket, chosen, table, selection, confirmation, data, k, counts, forced):
    """model.json of the tuned bucket: ``chosen`` is (its choice as recorded, its selection val rho,
    its architecture options beyond the base's: a ridge head's {"tuned": ...}, none for a deep
    one, and the function that makes its network from the base's); ``selection`` what the choice
    saw, ``confirmation`` the gate's measurement (training/gate.py). The description, which
    /model/metadata serves, carries the confirmation figure and names no local path."""
    choice, _, options, _ = chosen
    passed, mirrored = confirmation["passed"], selection["mirror_average"]["chosen"]
    # the base's own choices are not this run's: its provenance is recorded below, its "tta" never copied
    facts = {key: value for key, value in bucket.facts.items() if key not in ("provenance", "tta")}
    from core.model.outputs import output_of

    output = output_of(facts)
    model, rates = {"memorability": ("ResMem", "human memorability scores"),
                    "false_alarm": ("FalseResMem", "human false-alarm rates")}[output]
    low, high = confirmation["spearman_ci"]
    interval = f" (95% interval {low:.3f} to {high:.3f})" if low is not None else ""
    measured = "n/a" if confirmation["spearman"] is None else f"{confirmation['spearman']:.3f}"
    base = "n/a" if confirmation["base_spearman"] is None else f"{confirmation['base_spearman']:.3f}"
    return {
        **facts,
        "id": f"{model.lower()}-finetuned",
        "name": f"{model}, fine-tuned",
        "description": (f"{model} fine-tuned on the {rates} of {counts['train']} photos: {choice['what']}"
                        + (f", {MIRRORED}" if mirrored else "") + "; chosen "
                        f"among {selection['settings_tried']} settings on {selection['photos']} validation photos. "
                        f"On {confirmation['n']} validation photos held out from that choice, Spearman {measured}"
                        f"{interval}, the base model's {base}"
                        + ("; written with --force although that is no gain beyond chance. " if not passed else ". ")
                        + bucket.facts.get("description", "")),
        "source": (f"fine-tuned from {bucket.facts.get('id')} by training/finetune.py; "
                   f"base: {bucket.facts.get('source', '')}"),
        "license": (f"Fine-tuned from {bucket.facts.get('name', 'the base')}'s weights, so its licence applies: "
                    f"{bucket.facts.get('license', '')} The licence of the lab's photos and scores applies too."),
        "weights": WEIGHTS_FILE,
        **({"tta": TTA} if mirrored else {}),  # the service warns when MODEL_TTA is not
        # The base's own options (a smaller ResMem's widths), and a ridge head on its features.
        "architecture_options": {**bucket.architecture_options, **options},
        "provenance": {
            "trainer": TRAINER,
            "base": {"id": bucket.facts.get("id"), "path": str(bucket.path), "weights_md5": bucket.weights_md5,
                     "model_json_md5": bucket.checksums.get("model.json"),
                     "provenance": bucket.facts.get("provenance")},
            "data": {"path": str(data), "split": k, "train_images": counts["train"], "val_images": counts["val"],
                     "test_images": counts["test"], "splits_md5": split_digests(data, k)},
            "chosen_on_selection": choice, "candidates": table, "selection": selection,
            "confirmation": confirmation, "gate": GATE, "passed_gate": passed,
            "written_with_force": forced and not passed},
    }


GATE = ("written only if, on the confirmation photos (val held out from every choice), the lower end of the 95% "
        "BCa bootstrap interval of the paired difference in Spearman's rho against the base is above 0 "
        "(training/gate.py)")


def settings_tried(table, feature_sets, ridge=True):
    """How many settings the choice saw: every ridge head's grid (where they competed: ``ridge``),
    each deep candidate's epochs (of every seed and recipe of views; epoch 0, the base recalibrated
    before any training and so the same network for each, once a part), each average of weights,
    each ensemble's grid, and the mirror average's choice (training/gate.mirror_choice)."""
    from training import heads

    grid = heads.settings_tried(feature_sets)
    rows = [row["features"] for row in table if row["features"] in heads.FEATURE_SETS]
    trained = [row for row in table if "val_by_epoch" in row]
    deep_epochs = sum(len(row["val_by_epoch"]) - 1 for row in trained) + len({row["retrained"] for row in trained})
    other_seeds = sum(len(history) - 1 for row in table for history in row.get("val_by_epoch_of_other_seeds", ()))
    averages = sum(1 for row in table if "averaged" in row or "mirror_average" in row)
    ensembles = sum(1 for row in table if row["features"].startswith("ensemble: ")) * grid
    return (heads.settings_tried(rows) if ridge else 0) + deep_epochs + other_seeds + averages + ensembles
