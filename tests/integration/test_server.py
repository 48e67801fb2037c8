"""How the server process behaves: one access-log line per request. (Clean exit on SIGTERM is
asserted when the session's server fixture stops it.)"""
import re

import pytest
import requests


def test_each_request_is_logged_in_one_line_with_its_time(service):
    if service.log is None:
        pytest.skip("the server at MAX_URL keeps its own log; only a server this run started is read")
    requests.get(f"{service.url}/model/metadata?probe=log", timeout=10)
    lines = service.log.read_text().splitlines()
    assert any(re.search(r'"GET /model/metadata\?probe=log HTTP/1.1" 200 \d+ms$', line) for line in lines), lines[-5:]
