"""Contract (the tiny bucket): how the server process behaves: one access-log line per request.
(Clean exit on SIGTERM is asserted when the session's server fixture stops it.)"""
import re

import pytest
import requests

from tests.wait import wait_for

# /live takes any query (the API's routes refuse fields they do not declare): a line of this request alone.
LOG_LINE = re.compile(r'"GET /live\?probe=log HTTP/1.1" 200 \d+ms$')


def test_each_request_is_logged_in_one_line_with_its_time(service):
    if service.log is None:
        pytest.skip("the server at MAX_URL keeps its own log; only a server this run started is read")
    requests.get(f"{service.url}/live?probe=log", timeout=10)
    # gunicorn writes the access line after the response has gone out, so the client can read
    # its answer before the line exists: wait for it, briefly.
    wait_for(lambda: any(LOG_LINE.search(line) for line in service.log.read_text().splitlines()),
             what="the access-log line of GET /live?probe=log")
