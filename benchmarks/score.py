"""`make bench-score`: `python -m score` on a folder against the original package, in one run.

    python -m benchmarks.score --images DIR [--limit N] [--precisions fp32 lite-fp32 lite-int8] [--scale N]

Every row scores the same photos (the first N of DIR), each in its own process so that its
peak RSS is its own:
  - the original ``resmem`` package, one photo after another (open, transformer, forward): the
    baseline, in its own environment, .venv-ref, with CPU PyTorch;
  - `python -m score DIR` for each precision, in-process, with its decoding thread pool;
  - lite-int8 with `--workers 0`, decoding in turn: what the overlap is worth;
  - `python -m score --url` against a `make run` server (lite-int8 and fp32): one pod's rate, which
    a fleet of N pods multiplies.
photos/s counts scoring only (the model's load is reported apart, as "load s"); the LiteRT
conversions are made once before the timed runs. It prints the ratios to the baseline, peak
RSS and the largest score difference from the original; test-artifacts/bench-score.json keeps
the rows. Nothing here is asserted.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from benchmarks.serving import peak_rss_mb
from benchmarks.single_image import PHOTO_SUFFIXES
from tests.server_process import running_server
from training.convert_resmem import cached_wheel_path

ROOT = Path(__file__).resolve().parent.parent


def measured(command):
    """(wall seconds, peak RSS MB) of a child process, which must succeed."""
    begin = time.monotonic()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode not in (0, 1):  # 1: some inputs were not images, which is fine here
            errors.seek(0)
            raise RuntimeError(f"{command[:4]} failed ({process.returncode}): {errors.read().decode()[-2000:]}")
    return time.monotonic() - begin, usage.ru_maxrss / 1024


def original(folder, workdir):
    """The baseline row: the original package's sequential loop, with its scores by name."""
    scores, timing = Path(workdir) / "scores.json", Path(workdir) / "timing.json"
    photos = sorted(str(p) for p in folder.iterdir())
    _, rss = measured([str(ROOT / ".venv-ref" / "bin" / "python"), "-m", "training.reference_scores",
                       *photos, "--wheel", str(cached_wheel_path(ROOT / ".cache")), "--out", str(scores),
                       "--timing", str(timing)])
    ms = json.loads(timing.read_text())
    return {"name": "original resmem, sequential loop", "img_per_s": len(ms) / (sum(ms) / 1000),
            "peak_rss_mb": rss, "scores": json.loads(scores.read_text())}


def score_row(name, folder, workdir, *flags):
    out, summary = Path(workdir) / "out.csv", Path(workdir) / "summary.json"
    wall, rss = measured([sys.executable, "-m", "score", str(folder), "--out", str(out), "--overwrite",
                          "--quiet", "--summary-json", str(summary), *flags])
    facts = json.loads(summary.read_text())
    with open(out, newline="") as stream:
        scores = {Path(r["path"]).name: float(r["memorability"]) for r in csv.DictReader(stream) if not r["error"]}
    return {"name": name, "img_per_s": facts["photos_per_s"], "load_s": facts["load_s"], "wall_s": wall,
            "peak_rss_mb": rss, "scores": scores}


def remote_row(precision, folder, workdir, concurrency):
    begin = time.monotonic()
    with running_server(ROOT / "test-artifacts" / f"bench-score-server-{precision}.log",
                        MODEL_PRECISION=precision) as (url, process):
        ready = time.monotonic() - begin
        row = score_row(f"score --url, one {precision} server, {concurrency} requests in flight", folder,
                        workdir, "--url", url, "--concurrency", str(concurrency))
        row.update(server_rss_mb=peak_rss_mb(process.pid), ready_s=ready)
    return row


def enlarge(photo, target, scale):
    from PIL import Image

    with Image.open(photo) as image:
        image.convert("RGB").resize((image.width * scale, image.height * scale),
                                    Image.Resampling.LANCZOS).save(target, "JPEG", quality=92)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", required=True, type=Path)
    parser.add_argument("--limit", type=int, default=0, help="the first N photos (0: all)")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "lite-fp32", "lite-int8"])
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight for the --url rows")
    parser.add_argument("--scale", type=int, default=1, help="enlarge each photo N times, saved as a "
                        "quality-92 JPEG, as a camera's photos are (1: the files as they are)")
    args = parser.parse_args(argv)
    photos = sorted(p for p in args.images.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    photos = photos[:args.limit or None]
    (ROOT / "test-artifacts").mkdir(exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for photo in photos:
            if args.scale > 1:
                enlarge(photo, folder / f"{photo.stem}.jpg", args.scale)
            else:
                (folder / photo.name).symlink_to(photo.resolve())
        rows = [original(folder, tmp)]
        for precision in args.precisions:
            if precision != "fp32":  # convert once, untimed: a later start finds it cached
                score_row("warm-up", folder / photos[0].name, tmp, "--precision", precision)
            rows.append(score_row(f"score, {precision}", folder, tmp, "--precision", precision))
        if "lite-int8" in args.precisions:
            rows.append(score_row("score, lite-int8, --workers 0 (no overlap)", folder, tmp,
                                  "--precision", "lite-int8", "--workers", "0"))
        for precision in [p for p in ("lite-int8", "fp32") if p in args.precisions]:
            rows.append(remote_row(precision, folder, tmp, args.concurrency))

    base = rows[0]
    names = sorted(base["scores"])
    truth = np.array([base["scores"][n] for n in names])
    print(f"{len(photos)} photos from {args.images}" + (f", enlarged {args.scale} times" if args.scale > 1 else ""))
    print(f"{'row':<58}{'img/s':>8}{'x base':>8}{'load s':>8}{'RSS MB':>11}{'max|d|':>9}{'rho':>8}")
    for r in rows:
        got = np.array([r["scores"][n] for n in names])
        r.update(ratio=r["img_per_s"] / base["img_per_s"], max_abs_diff=float(np.abs(got - truth).max()),
                 spearman=float(spearmanr(got, truth).statistic))
        rss = f"{r['peak_rss_mb']:.0f}" + (f"+{r['server_rss_mb']:.0f}" if "server_rss_mb" in r else "")
        print(f"{r['name']:<58}{r['img_per_s']:>8.2f}{r['ratio']:>8.2f}{r.get('load_s', float('nan')):>8.1f}"
              f"{rss:>11}{r['max_abs_diff']:>9.1e}{r['spearman']:>8.4f}")
        r.pop("scores")
    out = ROOT / "test-artifacts" / "bench-score.json"
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"RSS of a --url row: the client + the server (gunicorn master and worker). Wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
