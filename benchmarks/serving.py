"""`make bench`: the service against the original ResMem package, in one run on this machine.

    python -m benchmarks.serving --images DIR [--requests 64] [--precisions fp32 lite-int8]
                                 [--first-start fp32 lite-int8]

Every row scores the same photos (cycled to ``--requests``), as uploaded bytes:
  - the original ``resmem`` package in-process, one photo after another (the baseline; it runs
    in its own environment, .venv-ref, with CPU PyTorch);
  - this project in-process, ModelWrapper.predict one photo at a time (the default runtime);
  - for each precision (each runtime candidate: core/model/runtimes.py), a gunicorn server as
    `make run` starts it, with its runtime converted ahead as `make weights` does: one client
    after another, then 4, 8 and 16 concurrent clients, one photo per request;
  - for each ``--first-start`` tier, a server started on an empty MODEL_CACHE: it converts in a
    child process; its time to ready, and its own peak RSS, which the conversion must not raise.
It prints p50/p95 latency, photos per second, both as ratios to the baseline, the server's time
to ready and peak RSS, and the largest score difference from the original. Results go to
test-artifacts/bench.json and a chart to test-artifacts/bench.png. Nothing here is asserted.
"""
import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests
from scipy.stats import spearmanr

from benchmarks.single_image import PHOTO_SUFFIXES, original
from tests.server_process import running_server

ROOT = Path(__file__).resolve().parent.parent

CLIENTS = (4, 8, 16)


def peak_rss_mb(pid):
    """Peak resident memory (VmHWM) of ``pid`` and its children (the gunicorn worker)."""
    pids = [pid] + [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _ppid(p) == pid]
    total = 0
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) / 1024
    return total


def _ppid(proc):
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def row(name, latencies_ms, seconds, n, scores=None, **extra):
    return {"name": name, "n": n, "p50_ms": float(np.median(latencies_ms)),
            "p95_ms": float(np.percentile(latencies_ms, 95)), "img_per_s": n / seconds,
            "scores": scores, **extra}


def in_process(photos, names):
    import config
    from core.model.outputs import serving_bucket
    from core.model.wrapper import ModelWrapper

    model = ModelWrapper(serving_bucket(config.settings(), ROOT / "assets" / "resmem"))
    model.predict([photos[0]])
    ms, scores = [], []
    start = time.perf_counter()
    for data in photos:
        begin = time.perf_counter()
        scores.append(model.predict([data])[0]["memorability"])
        ms.append((time.perf_counter() - begin) * 1000)
    model.close()
    return row("this project, in-process predict()", ms, time.perf_counter() - start, len(photos), scores)


def over_http(url, photos, names, clients):
    local = threading.local()  # one connection per client thread: a Session is not thread-safe

    def post(index):
        session = local.__dict__.setdefault("session", requests.Session())
        begin = time.perf_counter()
        response = session.post(f"{url}/model/predict", timeout=300,
                                files={"image": (names[index], photos[index], "application/octet-stream")})
        response.raise_for_status()
        return (time.perf_counter() - begin) * 1000, response.json()["predictions"][0]["memorability"]

    start = time.perf_counter()
    if clients == 1:
        results = [post(i) for i in range(len(photos))]
    else:
        with ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(post, range(len(photos))))
    seconds = time.perf_counter() - start
    return [ms for ms, _ in results], seconds, [score for _, score in results]


def first_start(precision, cache):
    """A server on an empty MODEL_CACHE: ready time and RSS, the conversion included."""
    begin = time.monotonic()
    log = ROOT / "test-artifacts" / f"bench-server-{precision}-first.log"
    with running_server(log, MODEL_PRECISION=precision, MODEL_CACHE=cache) as (_, process):
        ready = time.monotonic() - begin
        rss = peak_rss_mb(process.pid)
    return {"precision": precision, "ready_s": ready, "peak_rss_mb": rss}


def serve(precision, photos, names):
    rows = []
    begin = time.monotonic()
    log = ROOT / "test-artifacts" / f"bench-server-{precision}.log"
    with running_server(log, MODEL_PRECISION=precision) as (url, process):
        ready = time.monotonic() - begin
        over_http(url, photos[:4], names[:4], 1)  # connections and caches warm
        for clients in (1, *CLIENTS):
            ms, seconds, scores = over_http(url, photos, names, clients)
            label = "one after another" if clients == 1 else f"{clients} concurrent clients"
            rows.append(row(f"HTTP {precision}, {label}", ms, seconds, len(photos), scores,
                            precision=precision, clients=clients))
        rss = peak_rss_mb(process.pid)
    for r in rows:
        r.update(ready_s=ready, peak_rss_mb=rss)
    return rows


def chart(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.2), dpi=100)
    names = [r["name"] for r in rows][::-1]
    values = [r["img_per_s"] for r in rows][::-1]
    ax.barh(names, values, color=["tab:grey" if "original" in n else "tab:blue" for n in names])
    for y, r in enumerate(rows[::-1]):
        ax.text(r["img_per_s"], y, f" {r['img_per_s']:.1f}/s  ({r['ratio_throughput']:.2f}x)", va="center")
    ax.set(xlabel="photos per second (higher is better)", title="MAX Image Memorability vs original ResMem")
    ax.set_xlim(0, max(values) * 1.35)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", required=True, type=Path)
    parser.add_argument("--requests", type=int, default=64, help="photos scored per row (cycled)")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "lite-int8", "bf16", "lite-fp32", "tf-fp32"])
    parser.add_argument("--first-start", nargs="*", default=["fp32", "lite-int8"],
                        help="tiers also started once on an empty MODEL_CACHE")
    args = parser.parse_args(argv)
    # Every runtime converted ahead, untimed (make weights converts only the served tiers).
    subprocess.run([sys.executable, "-m", "training.runtimes", "--bucket", "assets/resmem",
                    "--cache", ".cache/models", "--precisions",
                    *[p for p in args.precisions if p != "tf-fp32"]], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    files = sorted(p for p in args.images.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    files = list(itertools.islice(itertools.cycle(files), args.requests))
    photos, names = [p.read_bytes() for p in files], [p.name for p in files]

    with tempfile.TemporaryDirectory() as tmp:
        unique = sorted(set(files))
        reference, base_ms = original(unique, tmp)
    by_name = dict(zip((p.name for p in unique), reference))
    ms_of = dict(zip((p.name for p in unique), base_ms))
    base_ms = [ms_of[n] for n in names]  # the cycled photos, as the other rows score them
    rows = [row("original resmem, in-process", base_ms, sum(base_ms) / 1000, len(files),
                [by_name[n] for n in names])]
    rows.append(in_process(photos, names))
    for precision in args.precisions:
        rows += serve(precision, photos, names)
    starts = []
    for precision in args.first_start:
        with tempfile.TemporaryDirectory() as cache:
            starts.append(first_start(precision, cache))

    base = rows[0]
    truth = np.array([by_name[n] for n in names])
    for r in rows:
        r["ratio_latency"] = r["p50_ms"] / base["p50_ms"]
        r["ratio_throughput"] = r["img_per_s"] / base["img_per_s"]
        scores = np.array(r.pop("scores"))
        r["max_abs_diff"] = float(np.abs(scores - truth).max())
        r["spearman"] = float(spearmanr(scores, truth).statistic) if len(set(names)) > 2 else None
    print(f"{len(files)} requests over {len(set(names))} photos from {args.images}")
    print(f"{'row':<42}{'p50 ms':>8}{'p95 ms':>8}{'x lat':>7}{'img/s':>8}{'x thr':>7}"
          f"{'max|d|':>9}{'rho':>8}{'RSS MB':>8}{'ready s':>8}")
    for r in rows:
        print(f"{r['name']:<42}{r['p50_ms']:>8.1f}{r['p95_ms']:>8.1f}{r['ratio_latency']:>7.2f}"
              f"{r['img_per_s']:>8.2f}{r['ratio_throughput']:>7.2f}{r['max_abs_diff']:>9.1e}"
              f"{r['spearman'] if r['spearman'] is not None else float('nan'):>8.4f}"
              f"{r.get('peak_rss_mb', float('nan')):>8.0f}{r.get('ready_s', float('nan')):>8.1f}")
    for start in starts:
        print(f"first start of {start['precision']} on an empty MODEL_CACHE (converts in a child): "
              f"ready in {start['ready_s']:.1f} s, server peak RSS {start['peak_rss_mb']:.0f} MB")
    out = ROOT / "test-artifacts"
    (out / "bench.json").write_text(json.dumps({"rows": rows, "first_starts": starts}, indent=2) + "\n")
    chart(rows, out / "bench.png")
    print(f"wrote {out / 'bench.json'} and {out / 'bench.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
