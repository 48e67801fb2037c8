"""This process's resident memory at its peak in each part of a run, anonymous and in all: what
training.finetune records for each candidate and benchmarks/finetune.py prints.

Anonymous memory (the heap: TensorFlow's tensors and weights, numpy's arrays) is what a laptop
must hold. File pages (the memory-mapped feature caches as they are read) count in the resident
total too, but the kernel drops them when memory is short. The kernel keeps the peak of the
total (VmHWM) but not of the anonymous part, so a thread reads /proc/self/status every INTERVAL
seconds and keeps the largest of each; a peak shorter than that can be missed. Where there is
no /proc (not Linux), every figure is None.
"""
import threading
from pathlib import Path

INTERVAL = 0.02  # seconds between two readings
STATUS = Path("/proc/self/status")


def resident_mb():
    """{"anon": RssAnon, "total": VmRSS} of this process now, in MB; None off Linux."""
    try:
        lines = STATUS.read_text().splitlines()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    return {"anon": int(fields["RssAnon"].split()[0]) // 1024, "total": int(fields["VmRSS"].split()[0]) // 1024}


class Peaks:
    """The peaks of this process's anonymous and total resident memory since it was started and
    since each take(), sampled by a daemon thread until stop()."""

    def __init__(self, interval=INTERVAL):
        self._lock, self._done = threading.Lock(), threading.Event()
        self._since, self._run = {"anon": 0, "total": 0}, {"anon": 0, "total": 0}
        self._sample()
        self._thread = threading.Thread(target=self._loop, args=(interval,), daemon=True, name="memory-peaks")
        self._thread.start()

    def _loop(self, interval):
        while not self._done.wait(interval):
            self._sample()

    def _sample(self):
        now = resident_mb()
        if now is None:
            return None
        with self._lock:
            for peaks in (self._since, self._run):
                for kind, mb in now.items():
                    peaks[kind] = max(peaks[kind], mb)
        return now

    def take(self):
        """{"peak_anon_mb", "peak_rss_mb"} since the last take (or the start); the next part starts now."""
        now = self._sample()
        with self._lock:
            taken, self._since = self._since, dict(now or {"anon": 0, "total": 0})
        return shaped(taken if now else None)

    def whole_run(self):
        """The same, since the start."""
        now = self._sample()
        with self._lock:
            return shaped(self._run if now else None)

    def stop(self):
        self._done.set()
        self._thread.join()


def shaped(peaks):
    """As model.json records them; None off Linux."""
    return {"peak_anon_mb": peaks and peaks["anon"], "peak_rss_mb": peaks and peaks["total"]}
