"""Contract (the tiny bucket): overload is bounded: past MAX_QUEUE_IMAGES waiting images, a request
gets 503 with Retry-After at once, and the server goes on serving. This test starts its own
small-queue server (also when MAX_URL points at a container)."""
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.imagegen import sample_bytes
from tests.server_process import running_server


def test_a_full_queue_answers_503_with_retry_after_and_then_recovers():
    files = [("image", (name, sample_bytes(name), "image/jpeg")) for name in ("astronaut.jpg", "coffee.jpg")]
    with running_server(MAX_QUEUE_IMAGES=2, BATCH_SIZE=1, WORKER_THREADS=16) as (url, _):
        def post(_):
            return requests.post(f"{url}/model/predict", files=files, timeout=120)

        with ThreadPoolExecutor(16) as pool:
            responses = list(pool.map(post, range(16)))
        busy = [r for r in responses if r.status_code == 503]
        assert busy, "16 requests of 2 images each did not fill a queue of 2 images"
        assert all(r.status_code in (200, 503) for r in responses)
        for response in busy:
            assert int(response.headers["Retry-After"]) >= 1
            body = response.json()
            assert body["status"] == "error" and body["message"].startswith("the server is busy")
        assert len(busy) < 16
        assert requests.post(f"{url}/model/predict", files=files, timeout=120).status_code == 200
