"""Contract (no model, no Ray): the Ray job's Parquet output folder on a local disk: one writer at
a time, by a lock beside the folder that is never read as one of its files; a second run that is
refused deletes nothing of the first's."""
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from collection.parquet_output import ParquetOutput, schema
from collection.results import OutputError


def table(*paths):
    return pa.Table.from_pylist([{"path": path, "memorability": 0.5, "width": 1, "height": 1} for path in paths],
                                schema=schema(False))


def test_a_second_run_on_a_local_folder_is_refused_and_deletes_nothing(tmp_path):
    """Issue 40: a second run took the first's file in progress for one cut short, and deleted it."""
    out = tmp_path / "scores"
    first = ParquetOutput(str(out))
    assert first.done == set()
    out.mkdir(exist_ok=True)
    pq.write_table(table("a.jpg"), out / "whole.parquet")
    (out / "in-progress.parquet").write_bytes(b"PAR1")  # a worker's file, its footer not written yet
    for overwrite in (False, True):
        with pytest.raises(OutputError, match="another run is writing to"):
            ParquetOutput(str(out), overwrite=overwrite)
    assert sorted(path.name for path in out.iterdir()) == ["in-progress.parquet", "whole.parquet"]

    first.close()  # the first run is over: its file was cut short, and a resume drops it
    with ParquetOutput(str(out)) as resumed:
        assert resumed.done == {"a.jpg"}
    assert sorted(path.name for path in out.iterdir()) == ["whole.parquet"]
    assert ParquetOutput(str(out), overwrite=True).done == set()  # dropped at once: its lock with it
    assert list(out.iterdir()) == [] and ParquetOutput(str(out)).done == set()


def test_overwrite_empties_only_a_folder_of_our_own_parquet_files(tmp_path):
    """`score photos/ --ray --out photos/ --overwrite` emptied the photos folder (the attack review)."""
    folder = tmp_path / "photos"
    (folder / "nested").mkdir(parents=True)
    (folder / "nested" / "a.jpg").write_bytes(b"a photo")
    with pytest.raises(OutputError, match="no Parquet file of this command"):
        ParquetOutput(str(folder), overwrite=True)
    assert (folder / "nested" / "a.jpg").read_bytes() == b"a photo"
