"""training/memory.py: the peaks finetune records for each candidate are this process's own, the
anonymous part apart from the memory-mapped files' pages."""
import numpy as np

from training import memory


def test_an_allocation_is_seen_as_anonymous_and_a_mapped_file_as_resident_only(tmp_path):
    peaks = memory.Peaks()
    try:
        start = peaks.take()
        block = np.ones(300 * 2**20, np.uint8)  # 300 MB written: resident, anonymous
        grown = peaks.take()
        del block
        path = tmp_path / "cache.npy"  # written through a mapping, as bottlenecks writes its cache: no heap copy
        written = np.lib.format.open_memmap(path, "w+", np.uint8, (300 * 2**20,))
        written[:] = 1
        written.flush()
        del written
        peaks.take()  # the next part starts here, the block freed and the file unmapped
        mapped = np.load(path, mmap_mode="r")
        assert int(mapped.sum(dtype=np.int64)) == 300 * 2**20  # every page read: file pages, not anonymous
        read = peaks.take()
        del mapped
        whole = peaks.whole_run()
    finally:
        peaks.stop()
    assert grown["peak_anon_mb"] >= start["peak_anon_mb"] + 290 and grown["peak_rss_mb"] >= start["peak_rss_mb"] + 290
    assert read["peak_rss_mb"] >= read["peak_anon_mb"] + 290
    assert read["peak_anon_mb"] < grown["peak_anon_mb"] - 200
    assert whole["peak_anon_mb"] >= grown["peak_anon_mb"]
