"""Scoring collections: inputs, result rows, the local scorer and the client of a service.

    inputs.py   the photos of a collection: files, folders walked, lists
    items.py    the Result of one input, and the protocol both scorers follow
    local.py    LocalScorer: the model in this process (core/)
    remote.py   RemoteScorer: a running service by URL
    results.py  the output file: CSV or JSON Lines, resumable

collection/cli.py is the command line over these (score.py and `memorability-score` run it);
``from collection import Scorer`` is the Python API.
"""
from collection.local import LocalScorer as Scorer

__all__ = ["Scorer"]
