"""Contract (the tiny bucket): slow clients never take the server's threads (api/worker.py). gthread
gave each accepted connection a thread that then read the headers and the body with no timeout:
twelve uploads that sent their headers and then nothing held all 8 threads, and GET /live went
unanswered, so Kubernetes would restart a healthy pod (issue 40, item 8). Each test starts its
own server (also when MAX_URL points at a container): the slow connections are its own."""
import contextlib
import socket
from urllib.parse import urlsplit

import pytest
import requests

from tests.expected import SCORES
from tests.imagegen import sample_bytes
from tests.integration.test_metrics import samples, value
from tests.server_process import running_server
from tests.settings import BUCKET, FALSE_BUCKET
from tests.wait import wait_for


@pytest.fixture(scope="module")
def server():
    with running_server(MODEL_BUCKET=BUCKET, FALSE_ALARM_BUCKET=FALSE_BUCKET, CLIENT_TIMEOUT=600) as (url, _):
        yield url


@contextlib.contextmanager
def slow_uploads(url, count, body=b""):
    """``count`` connections that each sent the headers of a 1 MB upload (and ``body`` of it)
    and then nothing more, held open."""
    host, port = urlsplit(url).hostname, urlsplit(url).port
    with contextlib.ExitStack() as stack:
        for _ in range(count):
            sock = stack.enter_context(socket.create_connection((host, port), timeout=30))
            sock.sendall(b"POST /model/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
                         b"boundary=b\r\nContent-Length: 1000000\r\n\r\n" + body)
        yield


def test_twelve_slow_uploads_leave_the_probes_and_a_prediction_their_threads(server):
    with slow_uploads(server, 12, b"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n\r\n"):
        # Before the worker buffered requests, this waited until the slow clients gave up (never).
        assert requests.get(f"{server}/live", timeout=30).status_code == 200
        assert requests.get(f"{server}/ready", timeout=30).status_code == 200
        answer = requests.post(f"{server}/model/predict", files={"image": ("a.jpg", sample_bytes("astronaut.jpg"))},
                               timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"][0]["memorability"] == pytest.approx(SCORES["astronaut.jpg"], abs=1e-6)


def test_a_client_that_stops_sending_gets_a_408_after_client_timeout():
    with running_server(MODEL_BUCKET=BUCKET, FALSE_ALARM_BUCKET=FALSE_BUCKET, CLIENT_TIMEOUT=1) as (url, _):
        host, port = urlsplit(url).hostname, urlsplit(url).port
        with socket.create_connection((host, port), timeout=60) as sock:
            sock.sendall(b"POST /model/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
            answer = sock.makefile("rb").read()  # the server answers, then closes: an event, no sleep
        assert answer.startswith(b"HTTP/1.1 408 ") and b"CLIENT_TIMEOUT" in answer


def test_a_request_sent_a_byte_at_a_time_and_a_kept_alive_one_are_answered(server):
    """The buffer hands gunicorn every byte in order, a chunked body too; a second request on the
    same connection is buffered the same way."""
    host, port = urlsplit(server).hostname, urlsplit(server).port
    request = b"GET /live HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection((host, port), timeout=30) as sock:
        for byte in request:
            sock.send(bytes([byte]))
        reader = sock.makefile("rb")
        assert read_response(reader) == (200, b'{"status":"alive"}\n')
        sock.sendall(b"POST /model/metadata HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"3\r\nabc\r\n0\r\n\r\n")
        assert read_response(reader)[0] == 405  # metadata takes GET: the body was read whole, in order
        sock.sendall(request)
        assert read_response(reader)[0] == 200


def read_response(reader):
    """(status, body) of one HTTP/1.1 response with a Content-Length, read from ``reader``."""
    status = int(reader.readline().split()[1])
    length = 0
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, reader.read(length)


def test_curl_style_expect_100_continue_uploads_are_answered(server):
    host, port = urlsplit(server).hostname, urlsplit(server).port
    photo = sample_bytes("astronaut.jpg")
    body = (b"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n\r\n" + photo
            + b"\r\n--b--\r\n")
    with socket.create_connection((host, port), timeout=60) as sock:
        sock.sendall(b"POST /model/predict HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Type: "
                     b"multipart/form-data; boundary=b\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"HTTP/1.1 100")  # sent before the body, as curl waits for it
        sock.sendall(body)
        statuses = []
        while not statuses or statuses[-1].startswith(b"HTTP/1.1 100"):
            line = reader.readline()
            if line.startswith(b"HTTP/1.1"):
                statuses.append(line)
        assert statuses[-1].startswith(b"HTTP/1.1 200"), statuses


@pytest.mark.parametrize("head, status, message", [
    (b"POST /model/predict HTTP/1.1\r\nContent-Length: 10\r\n\r\n", 400, b"not valid HTTP/1.1"),  # no Host
    (b"POST /model/video HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", 413, b"over the limit"),
])
def test_a_request_that_cannot_be_read_whole_is_refused_before_it_takes_a_thread(server, head, status, message):
    """Given to a thread, a request with no framing h11 accepts, or a body over every limit, would
    have the thread wait on the client again."""
    host, port = urlsplit(server).hostname, urlsplit(server).port
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(head)
        answer_status, body = read_response(sock.makefile("rb"))
    assert answer_status == status and message in body


def test_pipelined_requests_are_each_answered(server):
    """Two requests in one packet: the second is in the buffer, not on the socket, after the first."""
    host, port = urlsplit(server).hostname, urlsplit(server).port
    with socket.create_connection((host, port), timeout=30) as sock:
        # A photo's upload, read by its length, exactly: the next request stays in the buffer.
        body = (b"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n\r\n"
                + sample_bytes("astronaut.jpg") + b"\r\n--b--\r\n")
        sock.sendall(b"POST /model/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                     + b"GET /live HTTP/1.1\r\nHost: x\r\n\r\n")
        reader = sock.makefile("rb")
        assert read_response(reader)[0] == 200
        assert read_response(reader) == (200, b'{"status":"alive"}\n')


def test_uploads_hold_at_most_their_room_by_what_arrives_and_one_more_gets_a_503():
    """The bodies of uploads are bounded together (WORKER_THREADS x MAX_CONTENT_LENGTH +
    MAX_VIDEO_BYTES), or slow ones could fill the pod's /tmp: here 1 x 1 MB + 1 MB. Counted by
    what has arrived, so that two idle clients announcing the largest bodies block nobody."""
    with running_server(MODEL_BUCKET=BUCKET, FALSE_ALARM_BUCKET=FALSE_BUCKET, WORKER_THREADS=1,
                        MAX_CONTENT_LENGTH=1_000_000, MAX_VIDEO_BYTES=1_000_000) as (url, _):
        host, port = urlsplit(url).hostname, urlsplit(url).port
        with slow_uploads(url, 2):  # announced, nothing sent: no room taken
            assert post_body(host, port, 10)[0] == 400  # answered by the app (not a form), not refused
        with slow_uploads(url, 2, b"x" * 999_000):  # sent: all the room
            wait_for(lambda: value(samples(url), "memorability_request_body_bytes") == 2 * 999_000,
                     what="both bodies received")
            status, body = post_body(host, port, 10_000)
            assert status == 503 and b"as many uploads as it holds" in body
            assert requests.get(f"{url}/live", timeout=30).status_code == 200  # no body: no room needed


def post_body(host, port, size):
    """(status, body) of a POST /model/predict of ``size`` bytes sent at once."""
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(b"POST /model/predict HTTP/1.1\r\nHost: x\r\nContent-Length: " + str(size).encode()
                     + b"\r\n\r\n" + b"y" * size)
        return read_response(sock.makefile("rb"))


def test_a_body_that_says_both_a_length_and_chunked_is_counted_as_it_comes():
    """Content-Length with Transfer-Encoding: chunked is framed as chunked (RFC 9112): what
    arrives is counted against the route's limit, not what the length said (the review sent 1 MiB
    against a 1-byte length, spooled with no bound)."""
    with running_server(MODEL_BUCKET=BUCKET, FALSE_ALARM_BUCKET=FALSE_BUCKET, MAX_CONTENT_LENGTH=100_000) as (url, _):
        host, port = urlsplit(url).hostname, urlsplit(url).port
        with socket.create_connection((host, port), timeout=30) as sock:
            sock.sendall(b"POST /model/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
            chunk = b"10000\r\n" + b"z" * 0x10000 + b"\r\n"
            try:
                for _ in range(4):  # 256 KiB, over the 100 KB limit
                    sock.sendall(chunk)
            except OSError:  # refused and closed while sending
                pass
            status, body = read_response(sock.makefile("rb"))
        assert status == 413 and b"over the limit of 100000 bytes" in body
