"""Contract (no model): a heavy request's check that its client hung up (api/passes.client_gone) works
on any descriptor, 1024 and above too, where select() raised and every video counted as
abandoned; a live client is never taken for gone."""
import os
import resource
import socket

import pytest
from flask import Flask

from api.passes import client_gone

HIGH = 1500  # above select()'s FD_SETSIZE of 1024


@pytest.fixture
def high_socket_pair():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= HIGH:
        pytest.fail(f"this machine allows {hard} open files: the test needs a descriptor of {HIGH}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, HIGH + 1), hard))
    server, client = socket.socketpair()
    os.dup2(server.fileno(), HIGH)
    server.close()
    high = socket.socket(fileno=HIGH)
    yield high, client
    high.close()
    client.close()
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_client_on_a_high_descriptor_is_there_until_it_hangs_up(high_socket_pair):
    sock, peer = high_socket_pair
    app = Flask(__name__)
    with app.test_request_context(environ_base={"gunicorn.socket": sock}):
        assert client_gone() is False  # connected and silent
        peer.sendall(b"more of the body")
        assert client_gone() is False  # data waiting is not a hang-up
        sock.recv(100)
        peer.close()
        assert client_gone() is True


def test_no_socket_means_no_hang_up():
    with Flask(__name__).test_request_context():
        assert client_gone() is False
