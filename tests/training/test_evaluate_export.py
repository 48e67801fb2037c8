"""Contract (the tiny bucket): training.evaluate scores a bucket on a test split and draws its
report; training.export writes the tarball the Dockerfile downloads and a CoreML model that computes
what Keras computes."""
import csv
import json
import subprocess
import tarfile

import numpy as np
import pytest
from PIL import Image
from scipy.stats import spearmanr

import config
from core.inputs.images import preprocess
from core.model.bucket import open_bucket
from tests.imagegen import sample_rgb
from tests.mil_eval import load_program, run_program
from tests.settings import open_model
from tests.training.conftest import WIDTH, facts, stage
from training.evaluate import evaluate
from training.export import export_tar
from training.fetch_bucket import main as fetch_bucket
from training.overlap import Overlap


@pytest.fixture(scope="module")
def evaluation(bucket, dataset, tmp_path_factory):
    report = tmp_path_factory.mktemp("report")
    result = stage("training.evaluate", "--bucket", str(bucket), "--data", str(dataset),
                   "--split", "1", "--report", str(report))
    return json.loads(result.stdout.strip().splitlines()[-1]), report


def test_evaluate_prints_one_json_line_of_metrics(evaluation, bucket, dataset):
    metrics, report = evaluation
    assert sorted(metrics) == ["bucket", "mae", "mirror_average", "mse", "n", "output", "pearson", "spearman",
                               "spearman_ci"]
    assert metrics["mirror_average"] is False  # the bucket was not chosen so
    assert metrics["output"] == "memorability"
    assert metrics["n"] == 4
    rows = list(csv.DictReader(open(report / "predictions.csv")))
    true = [float(r["true"]) for r in rows]
    predicted = [float(r["predicted"]) for r in rows]
    model = open_model(MODEL_BUCKET=str(bucket), convert=True)
    served = [model.predict([Image.open(dataset / "images" / r["image"])])[0]["memorability"] for r in rows]
    np.testing.assert_allclose(predicted, served, atol=1e-6)  # scored as the service scores
    assert metrics["spearman"] == pytest.approx(spearmanr(predicted, true).statistic, abs=1e-5)
    assert metrics["mse"] == pytest.approx(np.mean((np.array(predicted) - true) ** 2), abs=1e-6)


def test_a_bucket_chosen_with_the_mirror_average_and_the_one_it_is_compared_with_are_both_scored_so(
        bucket, dataset, tmp_path):
    """A bucket whose model.json says "tta": "mirror" (training/finetune.py chose the mirror
    average) is scored as the mean of each photo and its mirror image, and so is --compare's: the
    difference is the models', not the mirror's. Here the two are the same weights."""
    mirrored = mirrored_copy(bucket, tmp_path / "mirrored")
    report = tmp_path / "report"
    result = stage("training.evaluate", "--bucket", str(mirrored), "--data", str(dataset), "--split", "1",
                   "--compare", str(bucket), "--report", str(report))
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert metrics["mirror_average"] is True and metrics["compare"]["delta_spearman"] == 0
    rows = list(csv.DictReader(open(report / "predictions.csv")))
    model = open_model(MODEL_BUCKET=str(bucket), convert=True)
    stable = [model.predict([Image.open(dataset / "images" / r["image"])], stable=True)[0]["memorability"]
              for r in rows]
    np.testing.assert_allclose([float(r["predicted"]) for r in rows], stable, atol=1e-6)
    np.testing.assert_allclose([float(r["compared"]) for r in rows], stable, atol=1e-6)


def test_evaluate_report_holds_plots_a_person_can_open(evaluation):
    metrics, report = evaluation
    with Image.open(report / "scatter.png") as scatter, Image.open(report / "residuals.png") as hist:
        assert (scatter.format, scatter.size) == ("PNG", (600, 600))
        assert (hist.format, hist.size) == ("PNG", (600, 400))
        assert len(scatter.getcolors(1 << 16)) > 20  # points, axes and text, not a blank canvas
    saved = json.loads((report / "metrics.json").read_text())
    assert saved["spearman"] == pytest.approx(metrics["spearman"]) and saved["model"] == "memnet"


def test_split_all_measures_each_bucket_on_its_own_test_split(bucket, dataset, tmp_path, monkeypatch):
    """LaMem's protocol: one bucket per split. Split 2 here trains on split 1's val and test photos
    and tests on train_1's: the bucket of split 1 is refused on test_2, and alone on every split."""
    data = tmp_path / "data"
    (data / "splits").mkdir(parents=True)
    (data / "images").symlink_to(dataset / "images")
    lines = {kind: (dataset / "splits" / f"{kind}_1.txt").read_text().splitlines() for kind in ("train", "val", "test")}
    for kind, split_2 in (("train", lines["val"] + lines["test"]), ("val", lines["train"][:4]),
                          ("test", lines["train"][4:])):
        (data / "splits" / f"{kind}_1.txt").write_text("\n".join(lines[kind]) + "\n")
        (data / "splits" / f"{kind}_2.txt").write_text("\n".join(split_2) + "\n")
    second = tmp_path / "memnet-2"
    stage("training.train", "--data", str(data), "--split", "2", "--out", str(second), "--epochs", "1",
          "--batch", "4", "--learning-rate", "1e-5", *WIDTH)
    one, two = evaluate(bucket, data, 1), evaluate(second, data, 2)
    both = evaluate([second, bucket], data, "all")
    assert both["bucket"] == [str(bucket), str(second)] and both["n"] == 4 + 4
    for alone in (one, two):  # said once, at the top
        del alone["output"]
    assert both["per_split"] == {1: one, 2: two}  # each its own bucket's figures, "bucket" included
    for metric in ("spearman", "pearson", "mse"):
        values = [one[metric], two[metric]]
        assert both[metric] == pytest.approx(np.mean(values))
        assert both["spread"][metric] == pytest.approx({"sd": np.std(values, ddof=1), "min": min(values),
                                                        "max": max(values)})
    with pytest.raises(Overlap, match="was fitted on train_1 and chosen on val_1: 4 overlap"):
        evaluate(bucket, data, 2)  # test_2 is train_1's
    with pytest.raises(ValueError, match="measures one bucket per split.*trained on split 1"):
        evaluate(bucket, data, "all")
    with pytest.raises(ValueError, match="both trained on split 1"):
        evaluate([bucket, bucket], data, "all")
    # A bucket chosen with the mirror average is scored so on its split; the other, as it was chosen.
    mirrored = mirrored_copy(second, tmp_path / "mirrored")
    mixed = evaluate([mirrored, bucket], data, "all")["per_split"]
    assert (mixed[1]["mirror_average"], mixed[2]["mirror_average"]) == (False, True)
    monkeypatch.setenv("MODEL_TTA", "mirror")  # the setting scores a bucket so too, and the JSON says so
    config.settings.cache_clear()
    try:
        by_setting = evaluate(second, data, 2)
    finally:
        monkeypatch.delenv("MODEL_TTA")
        config.settings.cache_clear()
    assert mixed[1] == one and by_setting["mirror_average"] is True
    assert mixed[2]["spearman"] == by_setting["spearman"]


def mirrored_copy(bucket, to):
    """A copy of ``bucket`` whose model.json says it was chosen with the mirror average."""
    import shutil

    from core.model.bucket import write_facts
    from core.model.checksums import write_md5sums

    shutil.copytree(bucket, to)
    write_facts(to, {**facts(bucket), "tta": "mirror"})
    write_md5sums(to, [facts(bucket)["weights"], "model.json"])
    return to


def test_export_tar_unpacks_to_a_bucket_that_md5sum_and_the_fetcher_accept(bucket, tmp_path):
    tar_path = tmp_path / "assets.tar.gz"
    stage("training.export", "--bucket", str(bucket), "--tar", str(tar_path))
    with tarfile.open(tar_path) as tar:
        assert sorted(tar.getnames()) == ["memnet/md5sums.txt", "memnet/memnet.weights.h5", "memnet/model.json"]
    lines = (tmp_path / "assets.tar.gz.md5sums.txt").read_text()
    assert lines == "".join(f"{digest}  assets/memnet/{name}\n"
                            for name, digest in sorted(open_bucket(bucket).checksums.items()))
    site = tmp_path / "site"
    assert fetch_bucket([str(tar_path), "--into", str(site / "assets")]) == 0
    (site / "md5sums.txt").write_text(lines)
    check = subprocess.run(["md5sum", "-c", "md5sums.txt"], cwd=site, capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.count(": OK") == 2, check.stdout + check.stderr
    assert open_bucket(site / "assets" / "memnet").facts == facts(bucket)
    again = tmp_path / "again.tar.gz"
    export_tar(open_bucket(bucket), again)
    assert again.read_bytes() == tar_path.read_bytes()  # reproducible, byte for byte


@pytest.fixture(scope="module")
def coreml(bucket, tmp_path_factory):
    out = tmp_path_factory.mktemp("coreml") / "memnet.mlpackage"
    stage("training.export", "--bucket", str(bucket), "--coreml", str(out))
    return load_program(out)


def test_coreml_spec_has_an_image_input_and_a_memorability_output(coreml, bucket):
    mlmodel, _ = coreml
    spec = mlmodel.get_spec()
    (image,) = spec.description.input
    assert image.name == "image" and image.type.WhichOneof("Type") == "imageType"
    assert (image.type.imageType.width, image.type.imageType.height) == (227, 227)
    assert image.type.imageType.colorSpace == image.type.imageType.RGB
    (output,) = spec.description.output
    assert output.name == "memorability" and list(output.type.multiArrayType.shape) == [1, 1]
    meta = spec.description.metadata
    assert meta.versionString == open_bucket(bucket).weights_md5
    assert meta.license == facts(bucket)["license"]
    assert json.loads(meta.userDefined["preprocessing"]) == facts(bucket)["preprocessing"]
    assert meta.userDefined["precision"] == "float16" and "tta" not in meta.userDefined


def test_coreml_program_computes_the_keras_score(coreml, bucket):
    _, program = coreml
    wrapper = open_model(MODEL_BUCKET=str(bucket), MODEL_PRECISION="tf-fp32")
    for name in ("astronaut.jpg", "coffee.jpg"):
        x = preprocess(sample_rgb(name), wrapper.spec)  # what a CoreML user feeds: 227 x 227 pixels
        pixels = np.round(x * 255).transpose(2, 0, 1)[None]  # the image input takes 0..255
        ours = run_program(program, pixels)["memorability"]
        keras_score = wrapper.predict([sample_rgb(name)])[0]["memorability"]
        assert ours.shape == (1, 1)
        assert float(ours[0, 0]) == pytest.approx(keras_score, abs=2e-3)  # float16 weights


def test_coreml_matches_keras_on_a_network_whose_outputs_spread(bucket, tmp_path):
    """Random weights and a linear output: every layer's mistake would show in the score. MemNet's
    published convolutions, its fc6 and fc7 at the tests' 256 units (WIDTH): every layer and
    layout of the published network, 16 times fewer fc weights to write and read."""
    import keras

    from core.model.networks import build_memnet
    from training.coreml import convert

    keras.utils.set_random_seed(1)
    model = build_memnet(227, sigmoid=False, width=int(WIDTH[1]))
    # of a bucket chosen with the mirror average: Core ML's user is told to average the two passes
    converted = convert(open_bucket(mirrored_copy(bucket, tmp_path / "mirrored")), model, "float32")
    assert converted.user_defined_metadata["tta"] == "mirror"
    assert "mirrored left-right" in converted.output_description["memorability"]
    converted.save(str(tmp_path / "random.mlpackage"))
    _, program = load_program(tmp_path / "random.mlpackage")
    spec = open_bucket(bucket).preprocessing
    for name in ("astronaut.jpg", "chelsea.jpg", "rocket.jpg"):
        x = preprocess(sample_rgb(name), spec)
        expected = float(model(x[None], training=False)[0, 0])
        ours = float(run_program(program, np.round(x * 255).transpose(2, 0, 1)[None])["memorability"][0, 0])
        assert ours == pytest.approx(expected, rel=1e-4, abs=1e-6)
