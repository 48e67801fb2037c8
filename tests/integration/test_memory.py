"""Contract (on ResMem, the model a deployment holds): memory is bounded by what the server admits,
not by what is sent. Sixteen plain-colour 64-megapixel PNGs (200 KB each, 256 MB each decoded) in
one request, four such requests at once: the server decodes one photo of a request at a time,
keeps only its network input, and all decodes share MAX_DECODE_PIXELS (core/budget.py), so its
peak RSS stays under the Kubernetes manifest's memory limit. This test starts its own server
(also when MAX_URL points at a container): the peak is its own process's (VmHWM)."""
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import yaml
from PIL import Image

from benchmarks.server_process import running_server
from tests.imagegen import ROOT, encode
from tests.settings import RESMEM

UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def manifest_memory_limit():
    """The Deployment's memory limit in bytes (max-image-memorability.yaml)."""
    documents = yaml.safe_load_all((ROOT / "max-image-memorability.yaml").read_text())
    (deployment,) = [d for d in documents if d and d.get("kind") == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    text = container["resources"]["limits"]["memory"]
    return int(text[:-2]) * UNITS[text[-2:]]


def rss(pid, field):
    """VmRSS (now) or VmHWM (the peak so far) of process ``pid``, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for process {pid}")


def worker_of(master):
    """The gunicorn worker (the process that holds the model) of the master ``master``."""
    (child,) = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(child)


def test_four_requests_of_sixteen_64_megapixel_pngs_stay_under_the_manifests_limit():
    png = encode(Image.new("RGB", (8000, 8000), (90, 140, 200)), "PNG")
    files = [("image", (f"plain-{i}.png", png, "image/png")) for i in range(16)]
    log = ROOT / "test-artifacts" / "server-memory.log"
    log.parent.mkdir(exist_ok=True)
    with running_server(log, MODEL_BUCKET=RESMEM) as (url, process):
        worker = worker_of(process.pid)
        idle = rss(worker, "VmRSS")

        def post(_):
            return requests.post(f"{url}/model/predict", files=files, timeout=600)

        with ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(post, range(4)))
        peak = rss(worker, "VmHWM")
    assert [r.status_code for r in responses] == [200] * 4, [r.text[:200] for r in responses]
    assert all(len(r.json()["predictions"]) == 16 for r in responses)
    limit = manifest_memory_limit()
    print(f"idle {idle / 2**20:.0f} MiB, peak {peak / 2**20:.0f} MiB, limit {limit / 2**20:.0f} MiB")
    assert peak < limit, (idle, peak, limit)
