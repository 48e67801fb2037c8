"""gunicorn's gthread worker, with each request read whole before it takes a thread.

The gthread worker hands a connection to a thread as soon as it is accepted: the thread waits
5 s for a first byte, then reads the headers and the body with no timeout. Twelve clients that
sent headers and then nothing held all 8 threads, and GET /live went unanswered: Kubernetes
restarts a healthy pod for that. nginx's answer is to buffer a request before it reaches the
application (client_body_buffer_size, client_body_timeout); this worker does the same inside
gunicorn, so that `make run` and the container both have it:

- The worker's event loop reads every connection without blocking and feeds the bytes to h11
  (the HTTP/1.1 parser httpcore and uvicorn use) only to learn where the request ends:
  Content-Length or chunked. gunicorn still parses and answers the request.
- Only a complete request is given to a thread; it then reads from the buffer and never waits
  for the client. A slow upload costs a connection and its buffer, never a thread.
- A buffer (api/receiving.py) is a SpooledTemporaryFile: up to SPOOL_MEMORY in memory, beyond it a file in the
  temporary folder (werkzeug spools uploads there too).
- The bodies of all requests, from their first byte until their thread is done, hold at most
  WORKER_THREADS x MAX_CONTENT_LENGTH + MAX_VIDEO_BYTES together (768 MiB by default), counted
  as they arrive, whatever a request announces: a body that does not fit gets a 503 with
  Retry-After, so that uploads cannot fill the disk or the memory (one alone may be any size its
  route allows). A body over its route's limit (MAX_VIDEO_BYTES for /model/video, else
  MAX_CONTENT_LENGTH) is a 413 as soon as it is announced or arrives.
- The headers must all come within CLIENT_TIMEOUT seconds; then each piece of the body within
  CLIENT_TIMEOUT of the one before, and the whole body at MIN_BODY_RATE on average after
  CLIENT_TIMEOUT of grace: past either, a 408 and the connection is closed. A request h11 cannot
  frame is a 400, answered here.
- Kept-alive connections come back to the loop, and their next request is buffered the same way.
"""
import errno
import selectors
import time
from functools import partial

from gunicorn.workers.gthread import ThreadWorker

import config
from api.receiving import CONTINUE, READ_SIZE, RECEIVING, BufferedSocket, Pending, Room


class BufferingWorker(ThreadWorker):
    """ThreadWorker whose connections are given to a thread only with a whole request."""

    def init_process(self):
        settings = config.settings()
        self.client_timeout = settings.CLIENT_TIMEOUT
        video, others = settings.MAX_VIDEO_BYTES, settings.MAX_CONTENT_LENGTH
        self.limits = lambda target: video if target.split(b"?")[0].rstrip(b"/") == b"/model/video" else others
        self.room = Room(settings.WORKER_THREADS * settings.MAX_CONTENT_LENGTH + settings.MAX_VIDEO_BYTES)
        self.receiving = {}  # the connections whose request is being received, by connection
        super().init_process()

    def enqueue_req(self, conn):
        """A new or kept-alive connection: receive its request first (the SSL case as gunicorn does)."""
        if self.cfg.is_ssl or getattr(conn, "whole", False):
            conn.whole = False
            return super().enqueue_req(conn)
        if not isinstance(conn.sock, BufferedSocket):
            conn.sock = BufferedSocket(conn.sock)  # before conn.init(): gunicorn's parser reads this
        self._give_back(conn)  # the request before on this connection is answered
        pending = Pending(conn, self.client_timeout, self.limits, self.room)
        # A kept-alive connection may hold the next request's start already: in gunicorn's parser
        # (read ahead) and in the buffer, in that order. The parser reads them first itself.
        ahead = (conn.parser.unreader.buf.getvalue() if conn.parser is not None else b"") + conn.sock.buffered()
        if ahead and self._received(pending, ahead):
            return
        conn.sock.setblocking(False)
        self.receiving[conn] = pending
        RECEIVING.inc()
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, pending))

    def finish_request(self, conn, fs):
        """gthread's own; then a kept-alive connection whose next request came with the last one
        (pipelined, already in the buffer) is received at once: its socket will not turn readable."""
        self._give_back(conn)
        super().finish_request(conn, fs)
        if conn in self.keepalived_conns and isinstance(conn.sock, BufferedSocket) and conn.sock.has_buffered():
            self.poller.unregister(conn.sock)
            self.keepalived_conns.remove(conn)
            self.enqueue_req(conn)

    def _readable(self, pending, _sock):
        conn = pending.conn
        try:
            data = conn.sock._sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            if error.errno not in (errno.ECONNRESET, errno.ENOTCONN, errno.EPIPE):
                self.log.debug("reading a request: %s", error)
            data = b""
        if not data:  # the client went away before its request was whole
            self._forget(pending, give_back=True)
            self._close(conn)
            return
        try:
            conn.sock.keep(data)
        except OSError as error:  # the temporary folder is full: this request cannot be held
            self.log.warning("no room to buffer a request: %s", error)
            self._forget(pending, give_back=True)
            self._refuse(conn, pending.full_answer())
            return
        if self._received(pending, data):
            return
        if pending.h11.they_are_waiting_for_100_continue and not pending.continued:
            pending.continued = True
            try:
                conn.sock.send(CONTINUE)
            except OSError:
                pass

    def _received(self, pending, data):
        """True once ``pending`` is done with: given to a thread, or refused and closed."""
        outcome = pending.received(data)
        if outcome is None:
            return False
        self._forget(pending, give_back=outcome is not True)
        if outcome is True:
            pending.conn.held = pending  # its room is held until its thread is done (finish_request)
            self._dispatch(pending)
        else:
            self._refuse(pending.conn, outcome)
        return True

    def _dispatch(self, pending):
        conn = pending.conn
        conn.sock.setblocking(True)
        conn.data_ready = True  # gthread then does not wait for a first byte
        conn.whole = True
        self.enqueue_req(conn)

    def _give_back(self, conn):
        held = getattr(conn, "held", None)
        if held is not None:
            conn.held = None
            self.room.give_back(held)

    def _forget(self, pending, give_back=False):
        """``pending`` leaves the loop: given to a thread (its room still held), or, with
        ``give_back``, refused or gone (its room given back)."""
        if give_back:
            self.room.give_back(pending)
        if self.receiving.pop(pending.conn, None) is not None:
            RECEIVING.dec()
        try:
            self.poller.unregister(pending.conn.sock)
        except (KeyError, ValueError, OSError):
            pass

    def _close(self, conn):
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self):
        """gthread's own expiry, then the requests not sent in time: a 408, and closed."""
        super().murder_pending()
        now = time.monotonic()
        for pending in [p for p in self.receiving.values() if p.expired(now)]:
            self._forget(pending, give_back=True)
            self._refuse(pending.conn, pending.timeout_answer())

    def _refuse(self, conn, answer):
        """Send ``answer`` (a short whole response, into the socket's buffer: the loop never waits on
        a client) and close the connection."""
        try:
            conn.sock.setblocking(False)
            conn.sock.send(answer)
        except OSError:
            pass
        self._close(conn)
