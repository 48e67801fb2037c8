"""Contract (the tiny bucket): no photo in two of train, val and test, by name or as a
near-duplicate (a re-encoded, resized or slightly cropped copy under another name), in finetune,
train and evaluate (training/overlap.py); label and synthetic keep near-duplicates in one split."""
import json
import shutil

import pytest
from PIL import Image

from tests.imagegen import SAMPLES
from tests.training.conftest import TEACHER, WIDTH, facts, stage
from training import overlap
from training.label import divide


def copies(source, folder):
    """{how: path} of three copies of ``source``, as a lab reuses a photo: re-encoded at quality 60,
    resized to half, and cropped 3% a side."""
    folder.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        image = image.convert("RGB")
        w, h = image.size
        dx, dy = round(w * 0.03), round(h * 0.03)
        made = {"re-encoded": (image, 60),
                "resized": (image.resize((w // 2, h // 2), Image.Resampling.BILINEAR), 90),
                "cropped": (image.crop((dx, dy, w - dx, h - dy)), 90)}
        for how, (picture, quality) in made.items():
            picture.save(folder / f"{source.stem}-{how}.jpg", quality=quality)
    return {how: folder / f"{source.stem}-{how}.jpg" for how in made}


def test_copies_are_near_duplicates_and_other_photos_are_not(tmp_path):
    samples = sorted(SAMPLES.glob("*.jpg"))
    prints = overlap.fingerprints(samples)
    for source in samples:
        for how, path in copies(source, tmp_path).items():
            distance = overlap.distances([overlap.fingerprint(path)], [prints[source.name]])[0, 0]
            assert distance <= overlap.THRESHOLD, (source.name, how, distance)
    names = list(prints)
    apart = overlap.distances([prints[n] for n in names], [prints[n] for n in names])
    assert min(apart[i, j] for i in range(len(names)) for j in range(i)) > overlap.THRESHOLD


def with_copies(dataset, tmp_path):
    """A copy of the tiny dataset whose val and test hold copies of a train photo under new names,
    and whose test holds a train photo by its own name; (data, the train photo's name)."""
    data = tmp_path / "data"
    shutil.copytree(dataset, data)
    train = (data / "splits" / "train_1.txt").read_text().splitlines()
    name = train[0].split()[0]
    made = copies(data / "images" / name, data / "images")
    for kind, hows in (("val", ["re-encoded"]), ("test", ["resized", "cropped"])):
        split = data / "splits" / f"{kind}_1.txt"
        split.write_text(split.read_text() + "".join(f"{made[how].name} 0.5\n" for how in hows))
    test = data / "splits" / "test_1.txt"
    test.write_text(test.read_text() + train[1] + "\n")
    return data, name, train[1].split()[0]


def assert_named(stderr, name, other):
    stem = name.removesuffix(".jpg")
    assert f"{other} (in test and train)" in stderr
    for kind, how in (("val", "re-encoded"), ("test", "resized"), ("test", "cropped")):
        assert f"train/{name} ~ {kind}/{stem}-{how}.jpg (near-duplicates: " in stderr, stderr[-3000:]


def test_finetune_refuses_a_copy_of_a_train_photo_in_val_or_test(dataset, tmp_path):
    data, name, other = with_copies(dataset, tmp_path)
    run = stage("training.finetune", "--data", str(data), "--split", "1", "--base", str(TEACHER),
                "--out", str(tmp_path / "b"), "--cache", str(tmp_path / "features"), check=False)
    assert run.returncode == 2 and "6 overlap(s) between train, val, test" in run.stderr, run.stderr[-3000:]
    assert_named(run.stderr, name, other)
    assert "--allow-overlap goes on anyway" in run.stderr and not (tmp_path / "b").exists()


def test_train_refuses_overlapping_splits_unless_allowed_and_then_records_them(dataset, tmp_path):
    data, name, other = with_copies(dataset, tmp_path)
    args = ("training.train", "--data", str(data), "--split", "1", "--out", str(tmp_path / "memnet"),
            "--epochs", "1", "--batch", "4", *WIDTH)
    run = stage(*args, check=False)
    assert run.returncode == 2 and "6 overlap(s) between train, val, test" in run.stderr, run.stderr[-3000:]
    assert_named(run.stderr, name, other)
    assert not (tmp_path / "memnet").exists()
    stage(*args, "--allow-overlap")
    photos = facts(tmp_path / "memnet")["provenance"]["photos"]
    assert len(photos["overlaps"]) == 6 and photos["split"] == 1
    assert name in photos["train"] and f"{name.removesuffix('.jpg')}-re-encoded.jpg" in photos["val"]


def test_evaluate_refuses_test_photos_the_bucket_was_fitted_or_chosen_on(bucket, dataset, tmp_path):
    """The bucket (trained on split 1) records its train and val photos; a test split holding
    one of them by name, or a copy of one, is refused unless --allow-overlap, which says which."""
    data = tmp_path / "data"
    shutil.copytree(dataset, data)
    train = (data / "splits" / "train_1.txt").read_text().splitlines()
    val = (data / "splits" / "val_1.txt").read_text().splitlines()
    copy = copies(data / "images" / val[0].split()[0], data / "images")["cropped"]
    test = data / "splits" / "test_1.txt"
    test.write_text(test.read_text() + train[0] + "\n" + f"{copy.name} 0.5\n")
    args = ("training.evaluate", "--bucket", str(bucket), "--data", str(data), "--split", "1")
    run = stage(*args, check=False)
    assert run.returncode == 2 and f"{bucket} was fitted on train_1 and chosen on val_1" in run.stderr
    assert f"{train[0].split()[0]} (in test_1 and train_1)" in run.stderr, run.stderr[-3000:]
    assert f"test_1/{copy.name} ~ val_1/{val[0].split()[0]} (near-duplicates: " in run.stderr
    result = json.loads(stage(*args, "--allow-overlap").stdout.strip().splitlines()[-1])
    assert result["n"] == 6 and len(result["overlap"]) == 2


def test_a_dataset_maker_keeps_near_duplicates_in_one_split(tmp_path):
    samples = sorted(SAMPLES.glob("*.jpg"))
    made = copies(samples[0], tmp_path)
    paths = samples + list(made.values())
    group = {samples[0].name, *(p.name for p in made.values())}
    assert overlap.groups(overlap.fingerprints(paths)) == [group]
    names = [p.name for p in paths] + [f"other-{i}.jpg" for i in range(13)]  # 20 photos
    for seed in range(6):  # some of these seeds spread the copies over two or three splits
        parts = divide(names, 0.2, 0.2, seed, [group])
        assert [len(parts[k]) for k in ("train", "val", "test")] == [12, 4, 4]  # the counts stay
        assert sum(group <= set(parts[k]) for k in parts) == 1
        assert sorted(sum(parts.values(), [])) == sorted(names)
    assert divide(names, 0.2, 0.2, 0) != divide(names, 0.2, 0.2, 0, [group])  # seed 0 spreads them
    with pytest.raises(ValueError, match="too many near-duplicates"):
        divide(names, 0.2, 0.2, 0, [set(names[:14])])
