"""`make bench-ray`: `python -m score --ray` against the in-process command, in one run.

    python -m benchmarks.ray_job --images DIR [--sizes 100 500] [--precision fp32]

For each size N (the photos of DIR, repeated under new names to reach N), on the same photos and
tier, each run its own process:
  - in-process `python -m score` (the baseline);
  - `score --ray` on a Ray started for the job on this machine (one actor), from the folder;
  - `score --ray ADDRESS` on a ray.cluster_utils.Cluster (a head and two workers of one CPU, one
    actor each with --threads 1), reading the photos from a moto S3 server and writing the
    Parquet back to it.
It prints photos/s end to end (start-up included) and without start-up, the ratio to the
in-process run, Ray's start-up, and the peak memory (PSS, so shared pages count once) of the
whole process tree: Ray's GCS, raylets, workers and object store included. The rows go to
test-artifacts/bench-ray.json. Nothing here is asserted.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.single_image import PHOTO_SUFFIXES

ROOT = Path(__file__).resolve().parent.parent


def tree_pss_mb(root_pid):
    """PSS of ``root_pid`` and all its descendants, MB."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    tree, grew = {root_pid}, True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= found
        grew = bool(found)
    total = 0
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


class PeakMemory:
    """The largest PSS of this process's tree (minus its own at the start), sampled every 5 s."""

    def __enter__(self):
        self.base, self.peak, self.stop = tree_pss_mb(os.getpid()), 0.0, threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while not self.stop.wait(5.0):  # smaps_rollup walks page tables: costly with Ray's processes
            self.peak = max(self.peak, tree_pss_mb(os.getpid()) - self.base)

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def run(arguments, env=None):
    """(wall s, the run's summary, peak MB of the tree) of `python -m score ARGUMENTS`."""
    with tempfile.TemporaryDirectory() as scratch, PeakMemory() as memory:
        summary = Path(scratch) / "summary.json"
        begin = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "score", *map(str, arguments), "--quiet", "--summary-json",
                               summary], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
        wall = time.monotonic() - begin
        if done.returncode not in (0, 1):
            raise RuntimeError(f"{arguments[:3]} failed ({done.returncode}): {done.stderr[-3000:]}")
        return wall, json.loads(summary.read_text()), memory.peak


def collection(images, size, folder):
    """``size`` photos of ``images`` in ``folder``, repeated under new names where too few."""
    photos = sorted(p for p in Path(images).rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES)
    folder.mkdir(parents=True)
    for index in range(size):
        photo = photos[index % len(photos)]
        shutil.copyfile(photo, folder / f"{index // len(photos)}-{photo.name}")
    return sorted(folder.iterdir())


def row(name, size, wall, summary, peak, baseline=None, startup=None):
    scoring = wall - (startup if startup is not None else summary.get("load_s", 0))
    result = {"name": name, "photos": size, "wall_s": round(wall, 1), "photos_per_s": round(size / wall, 2),
              "startup_s": round(startup if startup is not None else summary.get("load_s", 0), 1),
              "photos_per_s_after_startup": round(size / scoring, 2), "peak_tree_mb": round(peak),
              "scored": summary["scored"], "failed": summary["failed"]}
    if baseline:
        result["x_in_process"] = round(baseline["wall_s"] / wall, 2)
        after, before = result["photos_per_s_after_startup"], baseline["photos_per_s_after_startup"]
        result["x_after_startup"] = round(after / before, 2)
    if "ray" in summary:
        result["rows_by_node"] = sorted(summary["ray"]["rows_by_node"].values())
    print(json.dumps(result), flush=True)
    return result


def bench(images, sizes, precision, work):
    from ray.cluster_utils import Cluster

    from tests.ray.conftest import s3_server

    rows = []
    with s3_server(work / "moto") as s3:
        for size in sizes:
            folder = work / f"photos-{size}"
            photos = collection(images, size, folder)
            s3.put("bench", {f"photos-{size}/{p.name}": p.read_bytes() for p in photos})
            base = row("in-process score", size, *run([folder, "--out", work / f"in-{size}.csv", "--precision",
                                                        precision]))
            rows.append(base)
            rows.append(row("score --ray, a local Ray", size, *run(
                [folder, "--ray", "--out", work / f"local-{size}", "--precision", precision],
                env={"RAY_ADDRESS": "local"}), baseline=base))
            begin = time.monotonic()
            cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
            for _ in range(2):
                cluster.add_node(num_cpus=1)
            cluster.wait_for_nodes()
            started = time.monotonic() - begin
            try:
                wall, summary, peak = run([f"s3://bench/photos-{size}/", "--ray", cluster.address, "--out",
                                           f"s3://bench/scores-{size}/", "--precision", precision, "--threads", "1",
                                           "--actor-cpus", "0.75"], env=s3.env)
            finally:
                cluster.shutdown()
            rows.append(row("score --ray, 2-worker Cluster, moto S3 in and out", size, wall + started, summary, peak,
                            baseline=base, startup=started + summary["load_s"]))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", required=True)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--precision", default="fp32")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        rows = bench(args.images, args.sizes, args.precision, Path(work))
    out = ROOT / "test-artifacts" / "bench-ray.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"rows in {out}")


if __name__ == "__main__":
    main()
