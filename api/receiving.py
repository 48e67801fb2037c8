"""What api/worker.py holds of a request while it is received, before a thread reads it: the
buffer gunicorn's parser reads from, the framing and deadlines of one request (h11), the room all
request bodies share, and the answers the event loop sends itself."""
import json
import socket
import tempfile
import time

import h11
from prometheus_client import Gauge

from api.oip.tensors import oip_path

SPOOL_MEMORY = 256 << 10  # bytes of a request held in memory; the rest goes to a temporary file
MAX_HEADERS = 64 << 10  # bytes of a request's head (gunicorn's own limits refuse far less)
MIN_BODY_RATE = 64 << 10  # bytes a second a body must average, after CLIENT_TIMEOUT of grace
READ_SIZE = 1 << 16
RECEIVING = Gauge("memorability_requests_receiving", "Requests whose bytes are still arriving: read whole in the "
                  "worker's loop before they take a thread (slow clients show here, not in the threads)")
HELD = Gauge("memorability_request_body_bytes", "Bytes of request bodies held, from their first byte until their "
             "thread is done (at most WORKER_THREADS x MAX_CONTENT_LENGTH + MAX_VIDEO_BYTES)")
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"  # curl waits a second for it before a large body


def _answer(status, message, v2=False, headers=""):
    """A whole short response; ``v2``: in the Open Inference Protocol's shape, for its /v2 routes."""
    body = json.dumps({"error": message} if v2 else {"status": "error", "message": message}).encode()
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nConnection: close\r\n{headers}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


FULL = "the server is receiving as many uploads as it holds at once; retry after Retry-After seconds"
TIMEOUT = ("the request was not sent in time: its headers within CLIENT_TIMEOUT seconds, each piece of its body "
           "within CLIENT_TIMEOUT of the one before, and the body at 64 KiB/s at least on average")
FULL_ANSWER, V2_FULL_ANSWER = (_answer("503 Service Unavailable", FULL, v2, "Retry-After: 2\r\n")
                               for v2 in (False, True))
TIMEOUT_ANSWER, V2_TIMEOUT_ANSWER = (_answer("408 Request Timeout", TIMEOUT, v2) for v2 in (False, True))


class BufferedSocket:
    """A client socket whose bytes already received are read first, from a spooled buffer: what
    gunicorn's parser reads in a thread. Everything else is the socket's own."""

    def __init__(self, sock):
        self._sock = sock
        self._buffer = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)
        self._read = 0  # where the parser has read to
        self._written = 0

    def __getattr__(self, name):  # fileno, sendall, setblocking, close, shutdown, ...
        return getattr(self._sock, name)

    def keep(self, data):
        self._buffer.seek(self._written)
        self._buffer.write(data)
        self._written += len(data)

    def has_buffered(self):
        return self._read < self._written

    def buffered(self):
        """The bytes received and not yet read by the parser (the start of a next request)."""
        self._buffer.seek(self._read)
        return self._buffer.read(self._written - self._read)

    def recv(self, size, *flags):
        if self._read < self._written and flags and flags[0] & socket.MSG_PEEK:  # client_gone's look
            self._buffer.seek(self._read)
            return self._buffer.read(min(size, self._written - self._read))
        if self._read < self._written:
            self._buffer.seek(self._read)
            data = self._buffer.read(min(size, self._written - self._read))
            self._read += len(data)
            if self._read == self._written:  # all read: start the buffer over for the next request
                self._buffer.seek(0)
                self._buffer.truncate()
                self._read = self._written = 0
            return data
        return self._sock.recv(size, *flags)

    def close(self):
        self._buffer.close()
        self._sock.close()


class Pending:
    """A connection whose request is being received: its parser, its deadlines, the room it holds."""

    def __init__(self, conn, timeout, limits, room):
        self.conn, self.timeout, self.limits, self.room = conn, timeout, limits, room
        self.held = 0  # bytes of its body counted against ``room``, until its thread is done
        self.limit = None  # its route's body limit, once its headers are in
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADERS)
        self.deadline = self.whole_by = time.monotonic() + timeout  # the headers, all of them
        self.continued = False  # a 100 Continue was sent
        self.v2 = False  # its target is an Open Inference Protocol route: its errors are {"error": ...}

    def full_answer(self):
        return V2_FULL_ANSWER if self.v2 else FULL_ANSWER

    def timeout_answer(self):
        return V2_TIMEOUT_ANSWER if self.v2 else TIMEOUT_ANSWER

    def expired(self, now):
        return now >= min(self.deadline, self.whole_by)

    def received(self, data):
        """None while the request is incomplete; True once it is whole: it goes to a thread; else
        the answer that refuses it (bad framing, a body over its route's limit, no room), sent
        here: a thread given an unframed or endless body would wait on the client again."""
        if self.h11.their_state is h11.SEND_BODY:  # each piece of the body within the timeout
            self.deadline = time.monotonic() + self.timeout
        self.h11.receive_data(data)
        try:
            while True:
                event = self.h11.next_event()
                if event is h11.NEED_DATA:
                    return None
                if isinstance(event, h11.Request):
                    headers = dict(event.headers)
                    self.limit = self.limits(event.target)
                    self.v2 = oip_target(event.target)
                    length = headers.get(b"content-length")
                    if length and length.isdigit() and int(length) > self.limit:
                        return too_large(self.limit, self.v2)
                    # A body arrives at MIN_BODY_RATE at least, on average: a client that drips
                    # a byte a minute cannot hold a connection (gunicorn admits 1,000) for hours.
                    size = int(length) if length and length.isdigit() and b"transfer-encoding" not in headers \
                        else self.limit
                    self.whole_by = time.monotonic() + self.timeout + size / MIN_BODY_RATE
                if isinstance(event, h11.Data):  # counted as it comes, whatever was announced
                    if self.held + len(event.data) > self.limit:
                        return too_large(self.limit, self.v2)
                    if not self.room.take(self, len(event.data)):
                        return self.full_answer()
                if isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)) or event is h11.PAUSED:
                    return True
        except h11.RemoteProtocolError as error:
            return _answer("400 Bad Request", f"the request is not valid HTTP/1.1 ({error})", self.v2)


def oip_target(target):
    """Whether a request target (origin form with its query, or absolute form) is an Open
    Inference Protocol route (api.oip.tensors.oip_path)."""
    path = target.split(b"?", 1)[0]
    if b"://" in path:  # absolute form: http://host/v2/...
        path = b"/" + path.split(b"://", 1)[1].partition(b"/")[2]
    return oip_path(path.decode("latin-1"))


def too_large(limit, v2=False):
    return _answer("413 Content Too Large", f"the request body is over the limit of {limit} bytes for this route", v2)


class Room:
    """The body bytes that all requests, received or in a thread, may hold at once."""

    def __init__(self, limit):
        self.limit, self.used = limit, 0

    def take(self, pending, count):
        if self.used + count > self.limit and self.used > pending.held:  # alone, any size allowed
            return False
        self.used += count
        pending.held += count
        HELD.set(self.used)
        return True

    def give_back(self, pending):
        self.used -= pending.held
        pending.held = 0
        HELD.set(self.used)
