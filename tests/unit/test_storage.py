"""Contract (no model): collection/storage.py on file:// URIs (pyarrow's local filesystem, the same
code as s3://): listings, manifests, and bounded reads with the service's messages. tests/ray runs
S3."""
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import config
from collection.storage import StorageError, fetch, list_uri, read_manifest
from collection.uris import is_uri
from core.inputs.images import ImageError, TooLarge
from tests.imagegen import sample_bytes
from tests.videogen import clip


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "a" / ".git").mkdir(parents=True)
    (tmp_path / "a" / "x.jpg").write_bytes(sample_bytes())
    (tmp_path / "a" / ".git" / "config").write_text("hidden")
    (tmp_path / ".hidden.jpg").write_bytes(sample_bytes())
    (tmp_path / "b.jpg").write_bytes(sample_bytes())
    (tmp_path / "empty").mkdir()
    return tmp_path


def test_a_prefix_is_listed_recursively_without_hidden_names(folder):
    assert list_uri(f"file://{folder}/") == [f"file://{folder}/a/x.jpg", f"file://{folder}/b.jpg"]
    assert list_uri(f"file://{folder}/b.jpg") == [f"file://{folder}/b.jpg"]


def test_an_empty_or_missing_prefix_is_a_storage_error(folder):
    for uri in (f"file://{folder}/empty/", f"file://{folder}/missing/"):
        with pytest.raises(StorageError, match="holds no files"):
            list_uri(uri)
    with pytest.raises(StorageError, match="cannot open nope://x"):
        list_uri("nope://x/")


def test_manifests_in_text_csv_and_parquet(tmp_path):
    uris = ["s3://b/one.jpg", "/data/two, with a comma.jpg"]
    (tmp_path / "list.txt").write_text("\n".join(uris) + "\n\n")
    (tmp_path / "list.csv").write_text('label,uri\n1,s3://b/one.jpg\n2,"/data/two, with a comma.jpg"\n')
    pq.write_table(pa.table({"n": [1, 2], "path": uris}), tmp_path / "list.parquet")
    for name in ("list.txt", "list.csv", "list.parquet"):
        assert read_manifest(str(tmp_path / name)) == uris, name
        assert read_manifest(f"file://{tmp_path}/{name}") == uris, name
    with pytest.raises(StorageError, match="cannot read the list"):
        read_manifest(str(tmp_path / "missing.csv"))


def test_reads_give_the_services_messages(folder):
    settings = config.settings().replace(MAX_IMAGE_BYTES=100_000)
    assert fetch(f"file://{folder}/b.jpg", "b.jpg", settings) == sample_bytes()
    (folder / "big.jpg").write_bytes(sample_bytes() + bytes(100_000))
    (folder / "zero.jpg").write_bytes(b"")
    cases = {"missing.jpg": (ImageError, "missing.jpg cannot be read (no such object)"),
             "empty": (ImageError, "empty is not a regular file: it is a folder"),
             "zero.jpg": (ImageError, "zero.jpg is empty"),
             "big.jpg": (TooLarge, f"big.jpg is {os.path.getsize(folder / 'big.jpg')} bytes, over the limit "
                                   "of 100000 bytes (MAX_IMAGE_BYTES)")}
    for name, (kind, message) in cases.items():
        with pytest.raises(kind) as raised:
            fetch(f"file://{folder}/{name}", name, settings)
        assert str(raised.value) == message


def test_a_video_over_the_image_limit_is_read_within_the_video_limit(tmp_path):
    video = clip(["astronaut.jpg"], seconds=1, fps=5)
    (tmp_path / "clip.mp4").write_bytes(video)
    settings = config.settings().replace(MAX_IMAGE_BYTES=1000)
    for source in (f"file://{tmp_path}/clip.mp4", str(tmp_path / "clip.mp4")):
        assert fetch(source, "clip.mp4", settings) == video
    with pytest.raises(TooLarge, match=r"over the limit of 1000 bytes \(MAX_VIDEO_BYTES\)"):  # a video's own limit
        fetch(f"file://{tmp_path}/clip.mp4", "clip.mp4", settings.replace(MAX_VIDEO_BYTES=1000))


def test_uris_and_paths():
    assert is_uri("s3://bucket/a.jpg") and is_uri("gs://b/") and is_uri("file:///tmp")
    assert not is_uri("/tmp/a.jpg") and not is_uri("stimuli/s3:/x") and not is_uri("C:\\photos")
