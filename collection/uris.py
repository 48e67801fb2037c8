"""What names object storage rather than a path on this disk (s3://, gs://, file://): asked by
the walk of inputs (collection/inputs.py) and by the storage layer (collection/storage.py), so it
lives apart from both, and neither imports the other for it."""
import re

URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")  # s3://, gs://, file://: object storage, for --ray


def is_uri(path):
    return bool(URI.match(path))
