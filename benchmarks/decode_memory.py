"""`python -m benchmarks.decode_memory`: the peak RSS of a server sent the uploads that cost the most
memory to decode (issue 40, items 6 and 7), on the model a deployment serves (ResMem and
FalseResMem, fp32, as `make run`):

- two /model/crops at once of a phone's 4032x3024 PNG (default ratios: 52 crops);
- one /model/crops of an 8000x8000 PNG;
- three /model/predict at once of a 64-megapixel 16-bit greyscale PNG.

Each case gets a server of its own; each line gives its idle RSS and its peak (VmHWM) in MiB.
``--root`` starts the server from another checkout (a `git worktree` of an earlier commit, with
this one's assets/ and .cache/ linked in), for a before-and-after in one invocation. Nothing is
asserted: tests/integration/test_memory.py asserts the bounds on the tiny bucket.
"""
import argparse
import io
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests
from PIL import Image

from tests.server_process import free_port, wait_until_ready

ROOT = Path(__file__).resolve().parent.parent


def png(image):
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def phone_png(width, height):
    """A PNG of ``width`` x ``height`` with structure (a few hundred KB: under the body limit)."""
    y, x = np.mgrid[0:height, 0:width]
    return png(Image.fromarray(np.stack([x % 256, y % 256, (x // 16 + y // 16) % 256], -1).astype(np.uint8)))


def status_kb(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def measure(root, route, data, copies):
    """(idle MiB, peak MiB, statuses) of a server from ``root`` sent ``copies`` uploads at once."""
    port = free_port()
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "MODEL_BUCKET": str(ROOT / "assets/resmem"),
           "FALSE_ALARM_BUCKET": str(ROOT / "assets/falseresmem"), "MODEL_CACHE": str(ROOT / ".cache/models"),
           "PYTHONPATH": str(root)}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"],
                              cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, server)
        (worker,) = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        idle = status_kb(worker, "VmRSS")
        with ThreadPoolExecutor(copies) as pool:
            answers = list(pool.map(lambda _: requests.post(f"{url}/model/{route}", files={"image": ("a.png", data)},
                                                            timeout=1200).status_code, range(copies)))
        return idle / 1024, status_kb(worker, "VmHWM") / 1024, answers
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", action="append", help="a checkout to start the server from (repeatable); "
                        "default this one")
    args = parser.parse_args(argv)
    cases = [("crops of a 4032x3024 PNG, 2 at once", "crops", phone_png(4032, 3024), 2),
             ("crops of an 8000x8000 PNG", "crops", phone_png(8000, 8000), 1),
             ("predicts of a 64 MP 16-bit grey PNG, 3 at once", "predict",
              png(Image.new("I;16", (8000, 8000), 40000)), 3)]
    for root in args.root or [str(ROOT)]:
        for name, route, data, copies in cases:
            idle, peak, answers = measure(root, route, data, copies)
            print(f"{root}: {name}: idle {idle:.0f} MiB, peak {peak:.0f} MiB, answers {answers}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
