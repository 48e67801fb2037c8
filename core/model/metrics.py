"""The model's own Prometheus metrics. /metrics serves them next to the HTTP request counts and
latency histograms that prometheus-flask-exporter keeps (set up in app.py)."""
from prometheus_client import Gauge, Histogram

BATCH_SIZE = Histogram("memorability_batch_size", "Images in one forward pass",
                       buckets=(1, 2, 4, 6, 8, 12, 16, 24, 32, 64))
IN_PROGRESS = Gauge("memorability_requests_in_progress",
                    "Requests to the model's routes being served: uploading, waiting for passes or scored")
QUEUE_DEPTH = Gauge("memorability_queue_depth", "Images waiting for a forward pass")
FORWARD_SECONDS = Histogram("memorability_forward_seconds", "Time of one forward pass",
                            buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10))
