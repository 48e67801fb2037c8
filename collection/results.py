"""The output of a scoring run: one row per input, CSV or JSON Lines, safe to kill and resume.

Rows are appended a batch at a time with one ``write`` call on an unbuffered file, so a kill
leaves whole rows behind. Should a final line still be cut short (a full disk, a power cut),
reopening the file trims it, and its path is scored again. Opening a file that already has
rows reads their paths, and the run skips them: that is the resume. An exclusive lock stops a
second run from writing to the same file at the same time. Nothing is written to a file before
it is known to be an output of this command, by its first line (a header of ours in CSV, one of
our rows in JSON Lines; or empty): any other file is refused as it was, --overwrite or not.

Any file name round-trips, so that a resume recognises every row:
- A name that is not UTF-8 (Linux names are bytes; Python holds the undecodable ones as
  surrogates, PEP 383) is written with its own bytes in CSV, and as `\\udcXX` escapes in JSON
  Lines, which keep the file valid UTF-8; ``os.fsencode(row["path"])`` gives the bytes back.
- Newlines, commas and quotes are quoted by the CSV writer and escaped by JSON.
- A CSV field that a spreadsheet would run as a formula (it starts with = + - @, a tab or a
  carriage return) gets a leading ' , as OWASP's CSV-injection advice says; so does one that
  starts with ' itself, so that reading strips exactly one. JSON Lines are written as they are.
"""
import contextlib
import csv
import errno
import fcntl
import io
import json
import os
from pathlib import Path

import numpy as np

from core.model.outputs import field, fields_of


def output_fields(outputs=("memorability",), stable=False):
    """The columns of a run: the path, a video frame's time (seconds), a column an output of
    MODEL_OUTPUTS (core/model/outputs.py), the size, the error; with --stable each output's mirror
    delta (its score minus its mirror image's) at the end."""
    fields = ("path", "time", *outputs, "width", "height", "error")
    return fields + tuple(field(name, "mirror_delta") for name in outputs) if stable else fields


FIELDS = output_fields()  # memorability alone: the columns of the runs before false_alarm
EARLIER_FIELDS = (("path", "memorability", "width", "height", "error"),
                  ("path", "memorability", "width", "height", "error", "mirror_delta"))  # before videos
TEXT_FIELDS = ("path", "error")  # what a CSV escapes against formulas
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


class OutputError(ValueError):
    """The output file cannot be used: not ours, or another run holds it."""


NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # a full disk, a quota, a file size limit: all one


class NoRoomError(RuntimeError):
    """No room to write the output or a map (NO_ROOM). What was written stands, whole rows and
    whole maps, so the same command resumes once there is room; score exits 4 (collection/cli.py)."""

    def __init__(self, path, error):
        super().__init__(f"no room to write {path} ({error.strerror or error})")


def rows_of(result, fields=FIELDS):
    """The output rows of a collection.items.Result, with ``fields``: one, or one per sampled
    frame of a video (its ``frames``), each with its time and its scores."""
    values = {"path": result.path, "time": result.time, "width": result.width, "height": result.height,
              "error": result.error, **(result.extra or {}), **scored(result)}
    row = {name: values.get(name) for name in fields}
    if not result.frames:
        return [row]
    return [{**row, "time": frame.time, **{k: v for k, v in scored(frame).items() if k in row}}
            for frame in result.frames]


def scored(target):
    """The score columns of a Result or a Frame (core.model.outputs.fields_of); none unscored."""
    return fields_of(target.scores) if target.scores is not None else {}


class ResultsFile:
    """Append rows to ``path`` (.jsonl: JSON Lines, else CSV); ``done`` maps the paths that were
    in it when it was opened to (their score of each output, by name, or None for an error row;
    the error)."""

    def __init__(self, path, overwrite=False, stable=False, extra=(), outputs=("memorability",)):
        self.path = Path(path)
        self.fields = output_fields(outputs, stable) + tuple(extra)  # extra: --crops, --regions
        self.outputs, self.stable = tuple(outputs), stable
        self.jsonl = self.path.suffix.lower() == ".jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)  # never O_TRUNC: it may not be ours
        try:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OutputError(f"another run is writing to {self.path}") from None
            with open(self._fd, "rb", closefd=False) as stream:
                data = stream.read()
            header = self._header_of(data)  # refuses a file that is not ours, having written nothing
            if overwrite:
                data = b""
            else:
                self._check_columns(header)
                data = data[:data.rfind(b"\n") + 1]  # a last line cut short (a power cut): scored again
            if len(data) < os.fstat(self._fd).st_size:
                os.ftruncate(self._fd, len(data))
            self.done = self._read_done(data)
            if not data and not self.jsonl:
                self._append(self._encode_csv([dict(zip(self.fields, self.fields))]))
        except BaseException:
            os.close(self._fd)
            raise

    def _header_of(self, data):
        """The columns of ``data`` (a CSV's header, the keys of a JSON line), or None when it has
        none yet (empty, or its first line cut short); OutputError when it is not an output of
        this command. A file is ours only by its first line: nothing decides it by its name."""
        first, whole = data.split(b"\n", 1)[0].decode("utf-8", "surrogateescape"), b"\n" in data
        if not data or (not whole and first.startswith('{"path": ' if self.jsonl else "path,time,")):
            return None  # empty, or a first line cut short (a power cut as it was written)
        if self.jsonl:
            try:
                row = json.loads(first)
            except ValueError:
                row = None
            header = tuple(row) if isinstance(row, dict) else ()
        else:
            header = tuple(next(csv.reader([first]), ()))
        if whole and (header in EARLIER_FIELDS or (header[:2] == ("path", "time") and "error" in header)):
            return header
        raise OutputError(f"{self.path} is not an output of this command (its first line is {first[:80]!r}): "
                          "nothing was written to it; choose another --out. --overwrite replaces only an "
                          "output of this command: to replace this file, delete it yourself")

    def _check_columns(self, header):
        """OutputError when ``header``, the columns of an output of this command, are not this run's."""
        what = "written by an earlier version of this command, without the time column of videos"
        if header in EARLIER_FIELDS:
            raise OutputError(f"{self.path} was {what}; choose another file, or --overwrite")
        if header == output_fields(self.outputs, not self.stable):
            raise OutputError(f"{self.path} was written {'with' if not self.stable else 'without'} "
                              "--stable; run as it was, or choose another file, or --overwrite")
        if header is not None and header != self.fields:
            raise OutputError(f"{self.path} has the columns {','.join(header)}, not those of "
                              f"this run ({','.join(self.fields)}): run with the same --stable, --crops, "
                              "--regions and MODEL_OUTPUTS, or choose another file, or --overwrite")

    def _read_done(self, data):
        """Paths and scores of the rows in ``data``, whole lines of an output of this run."""
        text = data.decode("utf-8", "surrogateescape")  # a CSV holds non-UTF-8 names as their bytes
        if self.jsonl:  # only \n ends a row: a name may hold U+2028 or U+0085 unescaped
            try:
                rows = [json.loads(line) for line in text.split("\n") if line.strip()]
            except ValueError as error:
                raise OutputError(f"{self.path} holds a line that is not JSON ({error}); choose another "
                                  "file, or --overwrite") from None
        else:
            rows = list(csv.DictReader(io.StringIO(text, newline="")))
        done = {}
        for row in rows:
            if not isinstance(row, dict) or "path" not in row:
                raise OutputError(f"{self.path} holds a row that is not one of this command's; choose "
                                  "another file, or --overwrite")
            path, error = row["path"], row.get("error") or None
            if not self.jsonl:
                path, error = (field[1:] if field and field.startswith("'") else field for field in (path, error))
            scores = {name: float(row[name]) for name in self.outputs if row.get(name) not in (None, "")}
            done[path] = (scores if scores and not error else None, error)
        return done

    def _encode_csv(self, rows):
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, self.fields, lineterminator="\n")
        for row in rows:
            writer.writerow({k: "" if v is None else "'" + v if k in TEXT_FIELDS and v.startswith(FORMULA_START)
                             else v for k, v in row.items()})
        return buffer.getvalue()

    def _append(self, text):
        """Append ``text`` whole or not at all: a write that fails (a full disk writes part of it
        first) is cut back, so that the file holds whole rows only."""
        data = text.encode("utf-8", "surrogateescape")
        end = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            while data:  # one call for a regular file; the loop only guards a short write
                data = data[os.write(self._fd, data):]
        except OSError as error:
            with contextlib.suppress(OSError):  # should it fail too, the next open trims the cut line
                os.ftruncate(self._fd, end)
            if error.errno in NO_ROOM:
                raise NoRoomError(self.path, error) from None
            raise

    def write(self, results):
        """Append the rows of ``results`` (collection.items.Result) in one write."""
        self.write_rows([row for result in results for row in rows_of(result, self.fields)])

    def write_rows(self, rows):
        """Append ``rows`` (dicts of this file's fields) in one write."""
        if not rows:
            return
        if self.jsonl:
            self._append("".join(_json_line(row) for row in rows))
        else:
            self._append(self._encode_csv(rows))

    def close(self):
        os.close(self._fd)  # also releases the lock

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _json_line(row):
    """One JSON line: UTF-8 as it is, or all escaped when a name holds undecodable bytes (lone
    surrogates), so that the file stays valid UTF-8 and json.loads gives the same str back."""
    line = json.dumps(row, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(row)
    return line + "\n"


def distribution(scores):
    """Mean, median and quartiles of ``scores`` (None for none), as the run's summary gives them."""
    values = np.asarray([s for s in scores if s is not None], np.float64)
    if not len(values):
        return None
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return {"n": int(len(values)), "mean": float(values.mean()), "median": float(median),
            "q1": float(q1), "q3": float(q3)}


MAP_FORMATS = ("npy", "csv")


def write_maps(folder, result, fmt="npy"):
    """Write ``result``'s overlay PNG and heatmap (.npy, or .csv of rows) under ``folder``, named
    after its input: ``cats/a.jpg`` gives ``cats/a.jpg.overlay.png`` and ``cats/a.jpg.heatmap.npy``;
    a video's moments ``clip.mp4.t12.00s.overlay.png`` and so on, one pair per moment.
    Each file appears whole (written aside, then renamed), so a kill never leaves half a map."""
    maps = [("", result.heatmap, result.overlay)] if result.overlay is not None else []
    maps += [(f".t{time:.2f}s", heatmap, overlay) for time, heatmap, overlay in result.moments or ()]
    for tag, heatmap, overlay in maps:
        _write_map(Path(folder) / (result.name + tag), heatmap, overlay, fmt)


def _write_map(base, grid, overlay, fmt):
    if fmt == "npy":
        buffer = io.BytesIO()
        np.save(buffer, grid.astype(np.float32))
        heatmap = buffer.getvalue()
    else:
        buffer = io.StringIO()
        np.savetxt(buffer, grid, fmt="%.4f", delimiter=",")
        heatmap = buffer.getvalue().encode("ascii")
    for suffix, data in ((".overlay.png", overlay), (f".heatmap.{fmt}", heatmap)):
        target = base.with_name(base.name + suffix)
        partial = target.with_name(target.name + ".partial")
        try:
            base.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(data)
        except OSError as error:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            if error.errno in NO_ROOM:
                raise NoRoomError(target, error) from None
            raise
        os.replace(partial, target)
