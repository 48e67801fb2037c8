"""`make bench-mixed`: is /model/predict served while heavy requests keep the model busy?

    python -m benchmarks.mixed [--precision fp32] [--predicts 40]

One real server (`make run`'s gunicorn). First /model/predict alone, one photo at a time: its
idle p50, the baseline. Then heavy clients loop /model/regions (16 regions, stable: 1 + 16 x 12
+ 1 passes' worth of images), /model/crops (four ratios) and /model/video (a 20 s clip at 2 fps),
while one client sends the same predictions: their p50 and p95 under load, as ratios of the idle
p50 in the same run, and how many were refused. Each heavy request's time under load is printed
against its time alone. Throughout the load, --slow clients (12) hold uploads that sent their
headers and then nothing, as many as would have taken every thread before requests were read
whole (api/worker.py), and GET /live is probed: its worst answer time idle and under that load
(the liveness probe's timeout is 10 s in the manifest, every 30 s). test-artifacts/bench-mixed.json keeps the figures.
Nothing is asserted.
"""
import argparse
import contextlib
import io
import json
import socket
import statistics
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import av
import numpy as np
import requests
from PIL import Image

from tests.server_process import running_server

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
REGIONS = json.dumps([{"name": f"r{i}", "box": [(i % 4) / 4, (i // 4) / 4, (i % 4 + 1) / 4, (i // 4 + 1) / 4]}
                      for i in range(16)])


def slideshow(names, seconds=10, fps=10, size=(320, 240)):
    """MP4 bytes of the sample photos ``names``, each shown for ``seconds``."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for name in names:
            with Image.open(SAMPLES / name) as image:
                pixels = np.asarray(image.convert("RGB").resize(size))
            for _ in range(seconds * fps):
                for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def heavy_requests():
    """{name: a function that sends one heavy request to a URL and returns its status}."""
    photo, video = (SAMPLES / "rocket.jpg").read_bytes(), slideshow(["astronaut.jpg", "coffee.jpg"])
    return {
        "regions": lambda url: requests.post(f"{url}/model/regions", files={"image": ("r.jpg", photo)},
                                             data={"regions": REGIONS, "stable": "true"}, timeout=600),
        "crops": lambda url: requests.post(f"{url}/model/crops", files={"image": ("r.jpg", photo)},
                                           data={"ratios": "1:1,4:5,16:9,9:16"}, timeout=600),
        "video": lambda url: requests.post(f"{url}/model/video", files={"video": ("v.mp4", video)},
                                           data={"fps": "2"}, timeout=600),
    }


def predict_once(url, photo):
    begin = time.perf_counter()
    status = requests.post(f"{url}/model/predict", files={"image": ("p.jpg", photo)}, timeout=600).status_code
    return time.perf_counter() - begin, status


@contextlib.contextmanager
def slow_uploads(url, count):
    """``count`` connections that sent the headers of a 1 MB upload and then nothing, held open."""
    with contextlib.ExitStack() as stack:
        for _ in range(count):
            sock = stack.enter_context(socket.create_connection((urlsplit(url).hostname, urlsplit(url).port)))
            sock.sendall(b"POST /model/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
        yield


def probe_live(url, stop, times):
    """GET /live until ``stop``, each answer's seconds (30 s for one unanswered) into ``times``."""
    while not stop.is_set():
        begin = time.perf_counter()
        try:
            ok = requests.get(f"{url}/live", timeout=30).status_code == 200
        except requests.RequestException:
            ok = False
        times.append(time.perf_counter() - begin if ok else 30.0)
        stop.wait(0.25)


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--predicts", type=int, default=40, help="predictions idle, and again under load")
    parser.add_argument("--slow", type=int, default=12, help="slow uploads held open under load")
    args = parser.parse_args(argv)
    photo = (SAMPLES / "coffee.jpg").read_bytes()
    heavy = heavy_requests()
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    with running_server(out / "bench-mixed-server.log", MODEL_PRECISION=args.precision) as (url, _):
        predict_once(url, photo)  # warm
        live_idle, probing = [], threading.Event()
        prober = threading.Thread(target=probe_live, args=(url, probing, live_idle))
        prober.start()
        idle = [predict_once(url, photo)[0] for _ in range(args.predicts)]
        probing.set()
        prober.join()
        alone = {}
        for name, send in heavy.items():
            begin = time.perf_counter()
            send(url).raise_for_status()
            alone[name] = time.perf_counter() - begin
        stop, loaded, statuses = threading.Event(), {name: [] for name in heavy}, {name: [] for name in heavy}
        refused = {name: 0 for name in heavy}

        def loop(name, send):
            while not stop.is_set():
                begin = time.perf_counter()
                answer = send(url)
                if answer.status_code == 503:  # as a client should: wait Retry-After, not counted
                    refused[name] += 1
                    stop.wait(float(answer.headers.get("Retry-After", 1)))
                    continue
                statuses[name].append(answer.status_code)
                loaded[name].append(time.perf_counter() - begin)

        live_loaded = []
        threads = [threading.Thread(target=loop, args=item) for item in heavy.items() for _ in range(2)]
        threads.append(threading.Thread(target=probe_live, args=(url, stop, live_loaded)))
        with slow_uploads(url, args.slow):
            for thread in threads:
                thread.start()
            under = [predict_once(url, photo) for _ in range(args.predicts)]
            stop.set()
            for thread in threads:
                thread.join()
    p50_idle = statistics.median(idle)
    times = [seconds for seconds, status in under if status == 200]
    report = {
        "precision": args.precision, "predict_idle_p50_s": p50_idle,
        "predict_loaded_p50_s": statistics.median(times) if times else None,
        "predict_loaded_p95_s": percentile(times, 0.95) if times else None,
        "predict_refused": sum(status != 200 for _, status in under),
        "slow_uploads": args.slow, "live_idle_worst_s": max(live_idle), "live_loaded_worst_s": max(live_loaded),
        "live_probes": len(live_loaded),
        "heavy": {name: {"alone_s": alone[name],
                         "loaded_mean_s": statistics.mean(loaded[name]) if loaded[name] else None,
                         "finished": statuses[name].count(200), "failed": sum(s != 200 for s in statuses[name]),
                         "refused_503": refused[name]}
                  for name in heavy},
    }
    (out / "bench-mixed.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"predict idle p50 {p50_idle * 1000:.0f} ms; under load p50 {report['predict_loaded_p50_s'] * 1000:.0f} ms "
          f"({report['predict_loaded_p50_s'] / p50_idle:.1f}x), p95 {report['predict_loaded_p95_s'] * 1000:.0f} ms "
          f"({report['predict_loaded_p95_s'] / p50_idle:.1f}x); refused {report['predict_refused']} of {len(under)}")
    print(f"GET /live worst: idle {report['live_idle_worst_s'] * 1000:.0f} ms; under load with {args.slow} slow "
          f"uploads {report['live_loaded_worst_s'] * 1000:.0f} ms ({len(live_loaded)} probes)")
    for name, row in report["heavy"].items():
        ratio = row["loaded_mean_s"] / row["alone_s"] if row["loaded_mean_s"] else float("nan")
        print(f"{name}: alone {row['alone_s']:.1f} s, under load {row['loaded_mean_s'] or float('nan'):.1f} s "
              f"({ratio:.1f}x); {row['finished']} finished, {row['failed']} failed, {row['refused_503']} refused "
              "(503: MAX_HEAVY_REQUESTS in flight; retried after Retry-After)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
