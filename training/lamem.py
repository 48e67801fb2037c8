"""LaMem's dataset format: ``DATA/images/*`` and ``DATA/splits/{train,val,test}_{1..5}.txt``.

Each split line is ``name score`` (for example ``00051110.jpg 0.675000``): an image file under
``DATA/images`` and its memorability in 0..1. Reading a split checks every line, and a bad one
is reported with its file and line number, before any training starts.

Two optional files describe the people behind the scores (training/README.md):
``DATA/participants.csv``, each participant's responses (a matrix of participants x photos), and
``splits/halves_K.txt``, the mean score of each of two halves of the participants.
"""
import csv
import math
from pathlib import Path

import numpy as np

KINDS = ("train", "val", "test")
LAMEM_SPLITS = (1, 2, 3, 4, 5)


class DatasetError(ValueError):
    """The dataset folder, a split file or one of its lines is not in LaMem's format."""


def split_path(data, kind, k):
    return Path(data) / "splits" / f"{kind}_{k}.txt"


def read_split(data, kind, k):
    """Return ``[(image path, score), ...]`` of split ``{kind}_{k}.txt``, each line checked."""
    path = split_path(data, kind, k)
    if not path.is_file():
        found = sorted(p.name for p in path.parent.glob("*.txt")) if path.parent.is_dir() else []
        raise DatasetError(f"{path}: no such split file (LaMem format: DATA/splits/{kind}_{k}.txt; "
                           f"found: {', '.join(found) or 'none'})")
    images = Path(data) / "images"
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        where = f"{path}:{number}"
        if len(fields) != 2:
            raise DatasetError(f"{where}: expected 'name score', got {line!r}")
        name, text = fields
        try:
            score = float(text)
        except ValueError:
            raise DatasetError(f"{where}: score {text!r} is not a number") from None
        if not (math.isfinite(score) and 0.0 <= score <= 1.0):
            raise DatasetError(f"{where}: score {text} is outside 0..1")
        image = images / name
        if not image.is_file():
            raise DatasetError(f"{where}: image {name} is not in {images}")
        entries.append((image, score))
    if not entries:
        raise DatasetError(f"{path} lists no images")
    return entries


def read_halves(data, k):
    """``{name: (score of half 1, score of half 2)}`` from the optional ``splits/halves_K.txt``
    (``name score_half1 score_half2``: the two halves of the participants), or None without it."""
    path = Path(data) / "splits" / f"halves_{k}.txt"
    if not path.is_file():
        return None
    halves = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 3:
            raise DatasetError(f"{path}:{number}: expected 'name score_half1 score_half2', got {line!r}")
        try:
            pair = tuple(float(text) for text in fields[1:])
        except ValueError:
            raise DatasetError(f"{path}:{number}: the scores {fields[1]!r} {fields[2]!r} are not numbers") from None
        if not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in pair):
            raise DatasetError(f"{path}:{number}: a score is outside 0..1")
        halves[fields[0]] = pair
    return halves


PARTICIPANTS = "participants.csv"
RESPONSES = {"1": 1, "0": 0, "": -1}  # counted (a hit; a false alarm), not (a miss; a correct rejection), none


def read_participants(data):
    """``(photo names, responses)`` from the optional ``DATA/participants.csv``, or None without
    it. Its header is ``participant`` and the photos' names; each row is a participant's id, then
    for each photo 1 (the response the scores count: a hit, or for false-alarm rates a false alarm),
    0 (the other: a miss, a correct rejection) or nothing (not measured). ``responses`` is int8,
    participants x photos, -1 where nothing was measured."""
    path = Path(data) / PARTICIPANTS
    if not path.is_file():
        return None
    with open(path, newline="") as file:
        rows = csv.reader(file)
        header = [cell.strip() for cell in next(rows, [])]
        if not header or header[0] != "participant" or len(header) < 2:
            raise DatasetError(f"{path}:1: expected the header 'participant,<photo name>,<photo name>,...'")
        names = header[1:]
        if len(set(names)) < len(names):
            raise DatasetError(f"{path}:1: a photo is named twice")
        seen, matrix = set(), []
        for number, row in enumerate(rows, 2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise DatasetError(f"{path}:{number}: {len(row)} fields, where the header has {len(header)}")
            if row[0] in seen:
                raise DatasetError(f"{path}:{number}: participant {row[0]!r} has a row already")
            seen.add(row[0])
            try:
                matrix.append([RESPONSES[cell.strip()] for cell in row[1:]])
            except KeyError as error:
                raise DatasetError(f"{path}:{number}: {error.args[0]!r} is not 1, 0 or empty") from None
    if len(matrix) < 2:
        raise DatasetError(f"{path}: {len(matrix)} participant(s): a split-half needs 2 or more")
    return names, np.array(matrix, np.int8)


def write_split(data, kind, k, entries):
    """Write ``[(name, score), ...]`` as split ``{kind}_{k}.txt`` with LaMem's 6 decimals."""
    path = split_path(data, kind, k)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{name} {score:.6f}\n" for name, score in entries))
    return path


def available_splits(data, kind="test"):
    """The split numbers k for which ``{kind}_k.txt`` exists, in order."""
    return [k for k in LAMEM_SPLITS if split_path(data, kind, k).is_file()]


def parse_split_arg(value):
    """``--split K`` (1..5) or ``all``."""
    if value == "all":
        return value
    try:
        k = int(value)
    except ValueError:
        k = 0
    if k not in LAMEM_SPLITS:
        raise ValueError(f"--split must be one of 1..5 or 'all', not {value!r}")
    return k
