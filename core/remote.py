"""Score a collection through a running service: a container, or a Kubernetes Service whose
pods share the load. The rows are those an in-process run writes.

``concurrency`` requests are in flight at once, each with up to ``max_files`` photos (and
under ``max_bytes``). A batch with a bad file is answered 400 as a whole, so its photos are
then sent one by one, and each bad one gets the service's own message. On 503 the client
waits as long as Retry-After says and tries again; a dropped connection, a timeout or a
gateway error (502, 504, or a 503 without Retry-After) is retried ``retries`` times with a growing pause, after which
ServiceError stops the run (what was written stays; running again resumes).
"""
import base64
import io
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import requests
from PIL import Image

from core.images import ImageError, probe_size
from core.scorer import chunks, describe, ordered_map, read_bytes

RETRYABLE = (502, 503, 504)  # a gateway between us and the pods (a 503 with Retry-After is the service's own)
MULTIPART_OVERHEAD = 512  # bytes of headers per file in the form, for the size cap


class ServiceError(RuntimeError):
    """The service cannot be used: unreachable, the wrong URL, or failing after retries."""


class RemoteScorer:
    def __init__(self, url, concurrency=4, max_files=16, max_bytes=32 * 2**20, retries=5,
                 timeout=300, maps=False):
        self.url = url.rstrip("/")
        self.concurrency, self.max_files, self.max_bytes = concurrency, max_files, max_bytes
        self.retries, self.timeout, self.maps = retries, timeout, maps
        self._local = threading.local()  # a Session per thread: they are not thread-safe
        response = self._send("GET", "/model/metadata")  # fail at once on a wrong or dead URL
        if response.status_code != 200:
            raise ServiceError(f"{self.url}/model/metadata answered {response.status_code}: "
                               "is this the memorability service?")

    def score(self, items):
        """core.scorer.Scorer.score, through the service."""
        with ThreadPoolExecutor(self.concurrency, "request") as pool:
            batches = ((batch,) for batch in self._batches(enumerate(items)))
            for results in ordered_map(pool, self._score_batch, batches, ahead=self.concurrency):
                yield from results

    def _batches(self, numbered):
        """Groups of (index, item) of at most max_files files and, by their size on disk,
        under max_bytes; a file too big for any request travels alone (and gets the 413)."""
        batch, size = [], 0
        for index, item in numbered:
            bytes_ = _size_of(item) + MULTIPART_OVERHEAD
            if batch and (len(batch) == self.max_files or size + bytes_ > self.max_bytes):
                yield batch
                batch, size = [], 0
            batch.append((index, item))
            size += bytes_
        if batch:
            yield batch

    def _score_batch(self, batch):
        loaded = []
        for index, item in batch:
            result, source, label = describe(index, item)
            try:
                data = _png(source) if isinstance(source, Image.Image) else read_bytes(source, label)
            except ImageError as error:
                result.error = str(error)
                data = None
            loaded.append((result, data, label))
        sendable = [entry for entry in loaded if entry[1] is not None]
        if self.maps:
            for entry in sendable:
                self._explain(*entry)
        elif sendable:
            self._predict(sendable)
        return [result for result, _, _ in loaded]

    def _predict(self, entries):
        response = self._send("POST", "/model/predict", files=[
            ("image", (label, data, "application/octet-stream")) for _, data, label in entries])
        if response.status_code == 200:
            for (result, data, _), prediction in zip(entries, response.json()["predictions"]):
                result.memorability = prediction["memorability"]
                result.width, result.height = probe_size(data) or (None, None)
        elif response.status_code in (400, 413) and len(entries) > 1:
            for entry in entries:  # which file was bad? each alone gets its own answer
                self._predict([entry])
        else:
            self._refused(response, entries[0])

    def _explain(self, result, data, label):
        response = self._send("POST", "/model/explain",
                              files={"image": (label, data, "application/octet-stream")})
        if response.status_code != 200:
            self._refused(response, (result, data, label))
            return
        body = response.json()
        result.memorability = body["memorability"]
        result.width, result.height = probe_size(data) or (None, None)
        result.heatmap = np.asarray(body["heatmap"], np.float64)
        result.overlay = base64.b64decode(body["overlay"])

    def _refused(self, response, entry):
        """A single file's 400 or 413 is its error row; anything else stops the run."""
        result, _, label = entry
        message = _message(response)
        if response.status_code not in (400, 413):
            raise ServiceError(f"{self.url} answered {response.status_code}: {message}")
        # The service names a file by its place in the request; a row names it by its file.
        result.error = re.sub(r"^(image 1|the upload)\b", lambda _: label, message)

    def _send(self, method, path, **kwargs):
        """The response, after waiting out 503s and retrying dropped connections."""
        session = self._local.__dict__.setdefault("session", requests.Session())
        failures = 0
        while True:
            try:
                response = session.request(method, self.url + path, timeout=self.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as error:
                problem = f"{type(error).__name__}: {error}"
            else:
                if response.status_code == 503 and "Retry-After" in response.headers:
                    time.sleep(_seconds(response.headers["Retry-After"]))
                    continue  # the service is busy, not broken: its queue drains
                if response.status_code not in RETRYABLE:
                    return response
                problem = f"{response.status_code} {_message(response)}"
            failures += 1
            if failures > self.retries:
                raise ServiceError(f"{self.url}{path} failed {failures} times; last: {problem}")
            time.sleep(min(0.5 * 2 ** failures, 30))


def _size_of(item):
    if isinstance(item, (bytes, bytearray, memoryview)):
        return len(item)
    path = getattr(item, "path", item)
    try:
        return os.path.getsize(path) if isinstance(path, (str, os.PathLike)) else 0
    except OSError:
        return 0  # unreadable: it gets its error row when it is read


def _png(image):
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _message(response):
    try:
        return response.json()["message"]
    except (ValueError, KeyError, TypeError):
        return response.text[:200].strip() or response.reason


def _seconds(retry_after):
    """Retry-After in seconds (the service sends seconds; an HTTP date falls back to 1)."""
    try:
        return max(0.0, float(retry_after))
    except ValueError:
        return 1.0
