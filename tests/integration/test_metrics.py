"""Contract (the tiny bucket): GET /metrics: Prometheus text with request counts, latency
histograms, batch sizes and queue depth."""
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.imagegen import sample_bytes
from tests.integration.test_api import predict, scores


def samples(url):
    response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def value(metrics, name, **labels):
    return metrics.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_batch_request_is_counted_timed_and_its_forward_pass_recorded(url):
    before = samples(url)
    assert scores(predict(url, ("a.jpg", sample_bytes("coffee.jpg")), ("b.jpg", sample_bytes("rocket.jpg"))))
    after = samples(url)
    route = {"method": "POST", "status": "200", "url_rule": "/model/predict"}
    assert value(after, "flask_http_request_duration_seconds_count", **route) \
        == value(before, "flask_http_request_duration_seconds_count", **route) + 1
    assert value(after, "flask_http_request_total", method="POST", status="200") \
        == value(before, "flask_http_request_total", method="POST", status="200") + 1
    # Two images, one forward pass of two.
    assert value(after, "memorability_batch_size_count") == value(before, "memorability_batch_size_count") + 1
    assert value(after, "memorability_batch_size_sum") == value(before, "memorability_batch_size_sum") + 2
    assert value(after, "memorability_forward_seconds_count") == value(before, "memorability_forward_seconds_count") + 1
    assert value(after, "memorability_queue_depth") == 0  # nothing waits once the request is answered
    assert value(after, "memorability_requests_in_progress") == 0


def test_errors_are_counted_by_route_not_by_the_path_sent(url):
    before = samples(url)
    requests.get(f"{url}/model/no-such-thing-{id(before)}", timeout=10)
    after = samples(url)
    assert not any("no-such-thing" in str(key) for key in after)
    assert value(after, "flask_http_request_total", method="GET", status="404") \
        == value(before, "flask_http_request_total", method="GET", status="404") + 1


def test_made_up_methods_get_a_405_and_add_no_series(url):
    """Issue 40, item 11: each made-up method (gunicorn takes any short upper-case token) added
    histograms that were never freed: 2,000 of them grew /metrics from 19 KB to 4 MB."""
    before = samples(url)
    for i in range(40):
        response = requests.request(f"MADEUP{i}", f"{url}/model/predict", timeout=10)
        assert response.status_code == 405, response.text
        assert response.json()["status"] == "error" and response.headers["Allow"] == "OPTIONS, POST"
    after = samples(url)
    assert not any("MADEUP" in str(key) for key in after)
    assert set(after) <= set(before)  # no series at all: the 405s are answered in front of Flask's metrics
