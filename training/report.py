"""`finetune --report DIR`: what a methods section needs of one fine-tuning run, as report.json and
report.md. The data (photos per split, the near-duplicates found), every candidate with its
selection val rho, the chosen one's confirmation rho and interval (training/gate.py) beside the
base's, the number of settings tried, the seeds, the ceiling that people's own agreement sets on
the confirmation photos (where DATA has participants.csv), the library versions and the
project's commit."""
import json
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

LIBRARIES = ("numpy", "scipy", "scikit-learn", "tensorflow-cpu", "keras", "imagehash", "pillow")
ROOT = Path(__file__).resolve().parent.parent


def versions():
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    if found.get("tensorflow-cpu") is None:  # a machine with the full build
        found.pop("tensorflow-cpu")
        try:
            found["tensorflow"] = metadata.version("tensorflow")
        except metadata.PackageNotFoundError:
            found["tensorflow"] = None
    return found


def commit():
    """The project's git commit, with "+changes" where the tree differs from it; None outside git."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        # git itself, found on PATH; fixed arguments, no shell
        head = subprocess.run([git, "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,  # noqa: S603
                              check=True)
        dirty = subprocess.run([git, "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,  # noqa: S603
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head.stdout.strip() + ("+changes" if dirty else "")


def ceiling_of(data, k, confirmed):
    """People's agreement on the confirmation photos (training/evaluate.people_of): the split-half
    over random divisions and the ceiling where DATA has participants.csv, one given split of
    halves_K.txt (uncorrected, no ceiling) where it has only that, else None."""
    from training.evaluate import people_of
    from training.lamem import read_halves, read_participants

    participants, halves = read_participants(data), read_halves(data, k)
    if participants is None and halves is None:
        return None
    return people_of(confirmed, halves, participants) or None


def report(facts, data, confirmed, written):
    """The report of a run whose model.json is ``facts`` (written or not: ``written``);
    ``confirmed`` are the confirmation photos [(path, score)]."""
    prov = facts["provenance"]
    photos = prov.get("photos", {})
    return {"written": written, "data": prov["data"], "near_duplicates": photos.get("overlaps", []),
            "near_duplicate_rule": {"method": photos.get("method"), "threshold_bits": photos.get("threshold")},
            "base": {"id": prov["base"]["id"], "weights_md5": prov["base"]["weights_md5"]},
            "candidates": prov["candidates"], "chosen": prov["chosen_on_selection"], "selection": prov["selection"],
            "confirmation": prov["confirmation"], "gate": prov["gate"], "passed_gate": prov["passed_gate"],
            "written_with_force": prov["written_with_force"],
            "people": ceiling_of(data, prov["data"]["split"], confirmed),
            "seeds": {"division_of_val": prov["selection"]["seed"],
                      "deep_candidates": list(range(prov["selection"].get("deep_seeds", 1)))
                      if any("val_by_epoch" in row for row in prov["candidates"]) else [],  # [] where none trained
                      "bootstrap": 0},
            "versions": versions(), "commit": commit()}


def _mirror(choice):
    """The line on the mirror average at evaluation (training/gate.mirror_choice), when measured."""
    if not choice:
        return []
    return [f"Scored as the mean of each photo and its mirror image (MODEL_TTA=mirror), the chosen network's "
            f"selection val ρ is {_rho(choice['mirror_average'])} against {_rho(choice['val_spearman'])}: "
            + ("kept, and the confirmation compares both models scored so." if choice["chosen"] else "not kept."),
            ""]


def _rho(value):
    return "n/a" if value is None else f"{value:.3f}"


def _measured(row):
    return "skipped: " + row["skipped"] if "skipped" in row else _rho(row.get("val_spearman"))


def markdown(made):
    data, selection, confirmation = made["data"], made["selection"], made["confirmation"]
    low, high = confirmation["spearman_ci"]
    dlow, dhigh = confirmation["delta_spearman_ci"]
    lines = [
        "# Fine-tuning report", "",
        f"Data: split {data['split']}, {data['train_images']} train, {data['val_images']} val "
        f"({selection['photos']} for selection, {confirmation['n']} for confirmation, seed {selection['seed']}), "
        f"{data['test_images']} test photos (never read but for the near-duplicate check); "
        f"{len(made['near_duplicates'])} near-duplicate pair(s) across splits.", "",
        f"Base: {made['base']['id']} (weights md5 {made['base']['weights_md5']}).", "",
        "| candidate | selection val ρ |", "|---|---|",
        *[f"| {row['features']} | {_measured(row)} |" for row in made["candidates"]], "",
        f"Chosen on the selection photos: {made['chosen'].get('features')} ({made['chosen'].get('what')}), "
        f"among {selection['settings_tried']} "
        f"settings (selection val ρ {_rho(selection['val_spearman'])}, "
        f"the base's {_rho(selection['base_val_spearman'])}).",
        "",
        *_mirror(selection.get("mirror_average")),
        f"On the {confirmation['n']} confirmation photos: Spearman ρ {_rho(confirmation['spearman'])} "
        f"(95% BCa interval {_rho(low)} to {_rho(high)}), the base's {_rho(confirmation['base_spearman'])}; "
        f"difference {_rho(confirmation['delta_spearman'])} (95% interval {_rho(dlow)} to {_rho(dhigh)}). "
        f"Gate: {made['gate']} — {'passed' if made['passed_gate'] else 'not passed'}; bucket "
        f"{'written' + (' with --force' if made['written_with_force'] else '') if made['written'] else 'not written'}.",
        ""]
    people = made["people"] or {}
    half, ceiling = people.get("human_split_half"), people.get("ceiling")
    if ceiling:
        lines += [f"People on the confirmation photos: split-half ρ {_rho(half['spearman'])} over {half['splits']} "
                  f"random divisions of {half['participants']} participants; Spearman–Brown "
                  f"{_rho(ceiling['spearman_brown'])}, ceiling ρ {_rho(ceiling['spearman'])}.", ""]
    elif half:
        lines += [f"People on the confirmation photos: ρ {_rho(half['spearman'])} between the two given halves of the "
                  "participants: one split, uncorrected, no ceiling.", ""]
    lines += [f"Software: {', '.join(f'{k} {v}' for k, v in made['versions'].items())}; commit {made['commit']}.",
              "Seeds: " + ", ".join(f"{k} {v}" for k, v in made["seeds"].items()) + "."]
    return "\n".join(lines) + "\n"


def write(folder, made):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(made, indent=1) + "\n")
    (folder / "report.md").write_text(markdown(made))
