"""Score a collection through a running service: a container, or a Kubernetes Service whose
pods share the load. The rows are those an in-process run (collection/local.py) writes.

``concurrency`` requests are in flight at once, each with up to MAX_FILES photos (and under
MAX_CONTENT_LENGTH). A batch with a bad file is answered 400 as a whole, so its photos are
then sent one by one, and each bad one gets the service's own message.

The retry policy is urllib3's ``Retry`` on the session (``retry_policy``): a busy service's 503
is waited out for as long as its Retry-After says, a gateway's 502, 503 or 504 and a dropped
connection or timeout are retried with a growing pause, and no request retries for longer than
RETRY_FOR seconds (``--retry-for``) in all. A request still refused then gives its photos error
rows; a service that cannot be reached at all stops the run with ServiceError (what was written
stays; running again resumes). Anything else that goes wrong with one file is its error row,
"<name> could not be scored: <type>: <message>", its traceback logged (``failed``).
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
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from collection.inputs import Input
from collection.items import Frame, Result, describe, failed, ordered_map
from core.inputs.files import read_source
from core.inputs.images import ImageError, probe_size
from core.inputs.kinds import NEITHER, VIDEO, classify, image_refusal
from core.model.outputs import scores_from

RETRYABLE = (502, 503, 504)  # the service's own 503 (with Retry-After) and a gateway's errors
MULTIPART_OVERHEAD = 512  # bytes of headers per file in the form, for the size cap
CONCURRENCY = 4  # requests in flight: enough to keep a pod's batcher fed while photos upload
RETRIES = 5  # of a dropped connection or a timeout
TIMEOUT = 300  # seconds for one request's answer


class ServiceError(RuntimeError):
    """The service cannot be used: unreachable, the wrong URL, or failing after retries."""


class BudgetRetry(Retry):
    """urllib3's Retry, bounded in time as well as in count. Retry counts attempts and caps each
    Retry-After, but has no budget over all of them, and a busy service's 503s are not failures
    to count. urllib3 makes a new Retry at each retry (``new``), so the time of the first retry
    travels with it, and the policy is exhausted once ``budget`` seconds have gone since; no
    wait outlasts what is left of the budget."""

    def __init__(self, *args, budget=None, started=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.budget, self.started = budget, started

    def new(self, **kwargs):
        started = time.monotonic() if self.started is None else self.started
        return super().new(**{"budget": self.budget, "started": started, **kwargs})

    def _left(self):
        return self.budget - (time.monotonic() - self.started) if self.started is not None else self.budget

    def is_exhausted(self):
        return super().is_exhausted() or (self.started is not None and self._left() <= 0)

    def get_retry_after(self, response):
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, max(self._left(), 0))

    def get_backoff_time(self):
        return min(super().get_backoff_time(), max(self._left(), 0))


def retry_policy(retries, budget):
    """Connection errors and timeouts ``retries`` times; 502, 503 and 504 (Retry-After obeyed)
    until ``budget`` seconds have gone. Any method: scoring a photo twice does no harm."""
    return BudgetRetry(total=None, connect=retries, read=retries, other=retries, status=None,
                       status_forcelist=RETRYABLE, allowed_methods=None, backoff_factor=0.5,
                       backoff_max=30, respect_retry_after_header=True, raise_on_status=False,
                       budget=budget)


class RemoteScorer:
    """Scores photos through the service at ``url``, with the limits of ``settings``
    (config.Settings: MAX_FILES, MAX_CONTENT_LENGTH, RETRY_FOR)."""

    def __init__(self, url, settings, *, concurrency=CONCURRENCY, retries=RETRIES, timeout=TIMEOUT, maps=False,
                 stable=None, fps=1.0):
        self.url = url.rstrip("/")
        self.concurrency, self.retries, self.timeout, self.maps = concurrency, retries, timeout, maps
        self.max_files, self.max_bytes = settings.MAX_FILES, settings.MAX_CONTENT_LENGTH
        self.retry_for, self.settings, self.fps = settings.RETRY_FOR, settings, fps
        stable = settings.stable_by_default if stable is None else stable
        self._options = {"stable": "true" if stable else "false"}  # said, never left to the server
        self.description = f"the service at {self.url}"
        self._local = threading.local()  # a Session per thread: they are not thread-safe
        self._sessions = []  # every thread's, to close
        response = self._send("GET", "/model/metadata")  # fail at once on a wrong or dead URL
        if response.status_code != 200:
            raise ServiceError(f"{self.url}/model/metadata answered {response.status_code}: "
                               "is this the memorability service?")
        # What its predictions carry (a service from before false_alarm names no outputs).
        self.outputs = tuple(o["output"] for o in response.json().get("outputs") or [{"output": "memorability"}])

    def score(self, items):
        """collection.items.Scorer.score, through the service."""
        with ThreadPoolExecutor(self.concurrency, "request") as pool:
            batches = ((batch,) for batch in self._batches(enumerate(items)))
            for results in ordered_map(pool, self._score_batch, batches, ahead=self.concurrency):
                yield from results

    def close(self):
        for session in self._sessions:
            session.close()

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
                data, size = self._read(result, source, label, item)
            except ServiceError:
                raise
            except Exception as error:  # noqa: BLE001 -- this file's row; the traceback is logged
                failed(result, label, error)
                data = size = None
            loaded.append((result, data, label, size))
        sendable = [entry for entry in loaded if entry[1] is not None]
        if self.maps:
            for entry in sendable:
                try:
                    self._explain(*entry)
                except ServiceError:
                    raise
                except Exception as error:  # noqa: BLE001 -- this file's row; the traceback is logged
                    failed(entry[0], entry[2], error)
        elif sendable:
            self._predict(sendable)
        return [entry[0] for entry in loaded]

    def _read(self, result, source, label, item):
        """(the bytes to send or None, the size from the header or None); a video's rows are made here."""
        data = size = None
        try:
            if result.error is None:  # else a folder that could not be listed
                kind = classify(source, label)  # the bytes decide, as the service decides
                if kind.kind == VIDEO:
                    self._video(result, source, label)  # its rows: a video goes whole to /model/video
                    return None, None
                if kind.kind == NEITHER:
                    raise image_refusal(kind, label)  # the service's own message; not sent
                data = _png(source) if isinstance(source, Image.Image) else read_source(
                    source, label, self.max_bytes, "MAX_CONTENT_LENGTH, the service's upload limit")
                size = probe_size(data)  # from the header: None when Pillow cannot read it
        except ImageError as error:
            result.error, data = str(error), None
            result.not_image = isinstance(item, Input) and item.not_an_image(getattr(error, "kind", None))
        return data, size

    def _video(self, result, source, label):
        """A video's rows from /model/video (a file is streamed from disk), and with maps, its
        moments mapped by /model/explain on frames decoded here."""
        from core.analyses.video import VideoReader, cut_short

        def opened():
            return open(source, "rb") if isinstance(source, (str, os.PathLike)) else io.BytesIO(source)

        with opened() as stream:
            response = self._send("POST", "/model/video", data={"fps": str(self.fps), **self._options},
                                  files={"video": (label, stream, "application/octet-stream")})
        if response.status_code != 200:
            self._refused(response, (result, None, label, None))
            return
        body = response.json()
        result.frames = [Frame(p["time"], scores_from(self.outputs, p)) for p in body["timeline"]]
        if not body["complete"]:
            result.error = cut_short(label, body["frames"])
        with opened() as stream, VideoReader(stream, label, self.settings) as reader:  # its size, frames to map
            first = reader.frame_at(0.0)
            result.width, result.height = first.shape[1], first.shape[0]
            if self.maps:
                result.moments = []
                for moment in body["moments"]:
                    made = Result(0, name=label)
                    self._explain(made, _png(Image.fromarray(reader.frame_at(moment["time"]))), label, None)
                    result.moments.append((moment["time"], made.heatmap, made.overlay))

    def _predict(self, entries):
        response = self._send("POST", "/model/predict", data=self._options, files=[
            ("image", (label, data, "application/octet-stream")) for _, data, label, _ in entries])
        if response.status_code == 200:
            try:
                predictions = response.json()["predictions"]
                for (result, _, _, size), prediction in zip(entries, predictions, strict=True):
                    result.scores = scores_from(self.outputs, prediction)
                    result.width, result.height = size or (None, None)
            except Exception as error:  # noqa: BLE001 -- an answer this client cannot read
                if len(entries) == 1:
                    failed(entries[0][0], entries[0][2], error)
                else:  # which photo? each alone tells
                    for entry in entries:
                        self._predict([entry])
        elif response.status_code in (400, 413) and len(entries) > 1:
            for entry in entries:  # which file was bad? each alone gets its own answer
                self._predict([entry])
        else:
            for entry in entries:
                self._refused(response, entry)

    def _explain(self, result, data, label, size):
        response = self._send("POST", "/model/explain", data=self._options,
                              files={"image": (label, data, "application/octet-stream")})
        if response.status_code != 200:
            self._refused(response, (result, data, label, size))
            return
        body = response.json()
        result.scores = scores_from(self.outputs, body)
        result.width, result.height = size or (None, None)
        result.heatmap = np.asarray(body["heatmap"], np.float64)
        result.overlay = base64.b64decode(body["overlay"])

    def _refused(self, response, entry):
        """A single file's 400 or 413 is its error row, and so is a request still refused (503,
        502, 504) when RETRY_FOR ran out; anything else stops the run."""
        result, _, label, _ = entry
        message = _message(response)
        if response.status_code in RETRYABLE:
            result.error = (f"{self.url} still answered {response.status_code} after retrying for "
                            f"{self.retry_for} s (--retry-for): {message}")
            return
        if response.status_code not in (400, 413):
            raise ServiceError(f"{self.url} answered {response.status_code}: {message}")
        # The service names a file by its place in the request; a row names it by its file.
        result.error = re.sub(r"^(image 1|the upload)\b", lambda _: label, message)

    def _send(self, method, path, **kwargs):
        """The response, through the retry policy; ServiceError once retries cannot reach it."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            self._sessions.append(session)
            adapter = HTTPAdapter(max_retries=retry_policy(self.retries, self.retry_for))
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        try:
            return session.request(method, self.url + path, timeout=self.timeout, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as error:
            raise ServiceError(f"{self.url}{path} failed {self.retries + 1} times; last: "
                               f"{type(error).__name__}: {error}") from None


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
