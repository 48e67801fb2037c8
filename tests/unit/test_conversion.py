"""Fidelity (ResMem): converting the published wheel: checksums enforced, and the output
byte-for-byte reproducible."""
import zipfile

import pytest

from core.checksums import ChecksumError, read_md5sums
from training import convert_resmem
from tests.imagegen import ROOT

CACHED_WHEEL = convert_resmem.cached_wheel_path(ROOT / ".cache")


@pytest.mark.slow  # `make weights` converts and checks the result against md5sums.txt on every fresh machine
def test_converting_again_gives_byte_identical_files(tmp_path):
    assert CACHED_WHEEL.is_file(), "run `make weights` first: it caches the resmem wheel"
    assert convert_resmem.main(["--wheel", str(CACHED_WHEEL), "--out", str(tmp_path / "b")]) == 0
    produced = read_md5sums(tmp_path / "b" / "md5sums.txt")
    pinned = {name.split("/")[-1]: md5 for name, md5 in read_md5sums(ROOT / "md5sums.txt").items()}
    assert produced == pinned


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
