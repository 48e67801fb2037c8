"""Speed of a video's timeline, against the loop users write today, in one run on this machine.

    make bench-video [IMAGES=../shared/data/photos] [PRECISIONS="lite-int8 fp32"]

It makes (once, cached under build/) a 2-minute 1080p H.264 clip at 30 fps from the photos: a
slideshow with a slow pan, so that the frames differ as real footage does. Then, sampling one
frame a second:
- the original `resmem` package over the same frames, decoded with PyAV (every frame decoded,
  one a second turned into a PIL image and scored in a loop): the baseline, in .venv-ref;
- decoding alone, as the service samples (core/analyses/video.py): the floor;
- the service's timeline (VideoReader.timeline: decode, then the model in chunks) per tier.
It prints seconds, frames/s, the ratio to the baseline, the split between decoding and scoring,
and the peak RSS of each. Writes test-artifacts/bench-video.json.
"""
import argparse
import hashlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image

import config
from core.analyses.video import VideoReader
from core.model.outputs import serving_bucket
from core.model.wrapper import ModelWrapper
from training.convert_resmem import cached_wheel_path

ROOT = Path(__file__).resolve().parent.parent
SIZE, FPS, SECONDS = (1920, 1080), 30, 120


def make_clip(photos, out):
    """A slideshow of ``photos`` over SECONDS, each panned slowly from left to right."""
    per = SECONDS * FPS // len(photos)
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=FPS, options={"preset": "veryfast", "crf": "23"})
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        for index in range(SECONDS * FPS):
            photo = photos[min(index // per, len(photos) - 1)]
            step = (index % per) / per
            left = int(step * (photo.width - SIZE[0]))
            frame = av.VideoFrame.from_ndarray(np.asarray(photo)[:, left:left + SIZE[0]], format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def clip_path(images, count):
    files = sorted(p for p in Path(images).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:count]
    named = "".join(p.name for p in files).encode() + str((SIZE, FPS, SECONDS)).encode()
    key = hashlib.md5(named, usedforsecurity=False).hexdigest()[:10]  # a cache key, not a secret
    out = ROOT / "build" / "bench-video" / f"slideshow-{key}.mp4"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        photos = []
        for path in files:  # each scaled to cover the frame 1.25 times as wide, for the pan
            with Image.open(path) as image:
                image = image.convert("RGB")
                scale = max(SIZE[0] * 1.25 / image.width, SIZE[1] / image.height)
                photos.append(image.resize((round(image.width * scale), round(image.height * scale))).crop(
                    (0, 0, round(image.width * scale), SIZE[1])))
        print(f"making {out.name} from {len(photos)} photos (once)...", file=sys.stderr, flush=True)
        make_clip(photos, out.with_suffix(".partial.mp4"))
        out.with_suffix(".partial.mp4").rename(out)
    return out


def fair_to_photos(clip, precision, photos=20):
    """p50 latency of single-photo requests on an idle server, and while the clip is scored."""
    import statistics
    import threading

    import requests

    from tests.server_process import running_server

    photo = (ROOT / "samples" / "coffee.jpg").read_bytes()

    def latencies(url, count):
        times = []
        for _ in range(count):
            begin = time.perf_counter()
            requests.post(f"{url}/model/predict", files={"image": ("coffee.jpg", photo)}, timeout=60).raise_for_status()
            times.append((time.perf_counter() - begin) * 1000)
        return times

    settings = config.settings()
    with running_server(MODEL_PRECISION=precision) as (url, _):
        idle = latencies(url, photos)
        done = threading.Event()

        def video():
            with open(clip, "rb") as stream:
                requests.post(f"{url}/model/video", files={"video": (clip.name, stream)}, timeout=600)
            done.set()

        threading.Thread(target=video, daemon=True).start()
        time.sleep(2)  # the upload and the first chunks
        busy = []
        while not done.is_set() and len(busy) < photos:
            busy += latencies(url, 1)
        done.wait(600)
    per_image = statistics.median(idle) / 1000  # the forward time of one photo, roughly
    return {"idle_p50_ms": statistics.median(idle), "busy_p50_ms": statistics.median(busy), "busy_n": len(busy),
            "chunk": settings.BATCH_SIZE, "chunk_ms": per_image * settings.BATCH_SIZE * 1000}


def one_tier(clip, precision, fps):
    """Print one JSON line: the timeline's seconds, its scores and this process's peak RSS."""
    settings = config.settings().replace(MODEL_BUCKET=str(ROOT / "assets" / "resmem"), MODEL_PRECISION=precision)
    model = ModelWrapper(settings)
    try:
        with VideoReader(clip, Path(clip).name, settings) as video:
            scored, seconds = timed(lambda: video.timeline(model, fps))
    finally:
        model.close()
    print(json.dumps({"seconds": seconds, "scores": [p["memorability"] for _, p in scored],
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    return 0


def timed(function):
    begin = time.perf_counter()
    result = function()
    return result, time.perf_counter() - begin


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, default=ROOT / ".." / "shared" / "data" / "photos")
    parser.add_argument("--photos", type=int, default=30, help="photos in the slideshow")
    parser.add_argument("--precisions", nargs="+", default=["lite-int8", "fp32"])
    parser.add_argument("--fps", type=float, default=1.0)
    parser.add_argument("--tier", help=argparse.SUPPRESS)  # a child process: one tier's timeline
    parser.add_argument("--clip", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tier:
        return one_tier(args.clip, args.tier, args.fps)
    clip = clip_path(args.images, args.photos)
    rows = {}

    reference = ROOT / ".venv-ref" / "bin" / "python"
    out = ROOT / "test-artifacts" / "bench-video-original.json"
    out.parent.mkdir(exist_ok=True)
    subprocess.run([str(reference), "-m", "benchmarks.video_original", str(clip), "--fps", str(args.fps),
                    "--out", str(out), "--wheel", str(cached_wheel_path(ROOT / ".cache"))], cwd=ROOT, check=True)
    original = json.loads(out.read_text())
    rows["original resmem, PyAV loop (baseline)"] = {"seconds": original["seconds"], "rss_mb": original["rss_mb"]}

    settings = serving_bucket(config.settings(), ROOT / "assets" / "resmem")
    with VideoReader(str(clip), clip.name, settings) as video:
        frames, seconds = timed(lambda: sum(1 for _ in video.played_at(video.sample_times(args.fps))))
    rows["decoding alone (core/analyses/video.py)"] = {"seconds": seconds}
    for precision in args.precisions:  # each tier in its own process, for its own peak RSS
        child = subprocess.run([sys.executable, "-m", "benchmarks.video", "--tier", precision, "--clip", str(clip),
                                "--fps", str(args.fps)], cwd=ROOT, check=True, capture_output=True, text=True)
        row = json.loads(child.stdout.strip().splitlines()[-1])
        scores = np.array(row.pop("scores"))
        rows[f"timeline, {precision}"] = {**row, "max_diff": float(np.abs(scores - np.array(original["scores"])).max())}
    rss = max(row.get("rss_mb", 0) for row in rows.values())
    base = rows["original resmem, PyAV loop (baseline)"]["seconds"]
    print(f"{clip.name}: {SECONDS} s, {SIZE[0]}x{SIZE[1]}, {FPS} fps; {frames} frames sampled at {args.fps:g} a second")
    print(f"{'row':<40} {'seconds':>8} {'frames/s':>9} {'x original':>10} {'max |d|':>9} {'peak RSS':>9}")
    for name, row in rows.items():
        print(f"{name:<40} {row['seconds']:>8.2f} {frames / row['seconds']:>9.2f} {base / row['seconds']:>10.2f} "
              f"{row.get('max_diff', float('nan')):>9.2e} {row.get('rss_mb', float('nan')):>6.0f} MB")
    fairness = fair_to_photos(clip, args.precisions[0])
    print(f"single photos on a {args.precisions[0]} server: p50 {fairness['idle_p50_ms']:.0f} ms idle, "
          f"{fairness['busy_p50_ms']:.0f} ms while the clip is scored (one chunk of {fairness['chunk']} frames: "
          f"{fairness['chunk_ms']:.0f} ms)")
    rows["fairness"] = fairness
    (ROOT / "test-artifacts" / "bench-video.json").write_text(json.dumps(
        {"clip": clip.name, "frames": frames, "rows": rows, "peak_rss_mb": rss}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
