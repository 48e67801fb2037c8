"""``python -m score``: score a collection of photos and videos, one row per input, resumable.

The command line is collection/cli.py (``python -m score --help``); the same command is installed
as ``memorability-score`` (pyproject.toml). Like app.py, this file only names the entry point.
"""
from collection.cli import entry

if __name__ == "__main__":
    entry(prog="python -m score")
