"""The output of a Ray job: a Parquet dataset (a folder, local or in object storage), written by
the workers, one file per block, with the columns of the CSV (collection/results.py).

Reopening it reads the ``path`` column of its files: those inputs are done, and a rerun scores
only the rest (the resume). Ray writes each file whole to object storage (a multipart upload
completes on close); on a disk a kill can leave a file cut short, whose footer cannot be read:
it is removed, and its rows are scored again. So at most the blocks in flight are lost, and no
row is doubled. Only such a local file is removed: in object storage an unreadable file stops the
run, and an error of the store (a timeout, throttling, AccessDenied) deletes nothing.

One run at a time writes a local folder: a second is refused before it reads or deletes anything,
by an exclusive flock on ``.NAME.lock`` beside the folder NAME (beside, so that the folder holds
Ray's Parquet files only and --overwrite leaves the lock be), held while the ParquetOutput lives:
the job's whole run, and the kernel releases it however the process ends. Object storage has no
lock: a second job on the same prefix deletes nothing by itself (it never deletes there on a
resume), but it takes the first's finished files as done and may score the rest again, so rows
can be doubled; --overwrite there deletes the first job's files too. Run one job per prefix.
"""
import fcntl
import logging
import os

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from collection.results import OutputError, output_fields
from collection.storage import output_fs
from collection.uris import is_uri

log = logging.getLogger("score")

TYPES = {"path": pa.string(), "width": pa.int64(), "height": pa.int64(), "error": pa.string()}  # else float64


def schema(stable, outputs=("memorability",)):
    """The Parquet schema of a run's columns (collection.results.output_fields): an output's
    score, its mirror delta and a frame's time are float64."""
    return pa.schema([(field, TYPES.get(field, pa.float64())) for field in output_fields(outputs, stable)])


class ParquetOutput:
    """The Parquet folder at ``uri``; ``done`` holds the paths of the rows already in it."""

    def __init__(self, uri, overwrite=False, stable=False, outputs=("memorability",)):
        self.uri, self.schema = uri, schema(stable, outputs)
        self.fs, self.path = output_fs(uri)
        self._lock = None
        try:
            if isinstance(self.fs, pafs.LocalFileSystem):
                self._lock = self._take_lock()  # before anything is read or deleted
            if is_uri(uri) and not isinstance(self.fs, pafs.LocalFileSystem):
                bucket = self.path.split("/", 1)[0]
                if self.fs.get_file_info(bucket).type == pafs.FileType.NotFound:
                    raise OutputError(f"no such bucket: {bucket} (in --out {uri})")
            info = self.fs.get_file_info(self.path)
            if info.type == pafs.FileType.File:
                raise OutputError(f"{uri} is a file: --out with --ray is a folder of Parquet files "
                                  "(or a .csv or .jsonl file)")
            if overwrite and info.type == pafs.FileType.Directory:
                # Only a folder of this command's Parquet files is emptied: --out photos/ (or a
                # bucket's root) with --overwrite must not delete the photos.
                strangers = [file for file in self.files() if not file.endswith(".parquet")]
                if strangers:
                    raise OutputError(f"{uri} holds {strangers[0].rsplit('/', 1)[-1]}, which is no Parquet file "
                                      "of this command: --overwrite empties only a folder of this command's "
                                      "output; choose another folder, or empty it yourself")
                self.fs.delete_dir_contents(self.path)
            self.done = self._read_done() if info.type == pafs.FileType.Directory and not overwrite else set()
        except OSError as error:
            self.close()
            raise OutputError(f"cannot use --out {uri}: {str(error).splitlines()[0]}") from None
        except BaseException:
            self.close()
            raise

    def _take_lock(self):
        folder = os.path.abspath(self.path)
        lock = os.path.join(os.path.dirname(folder), f".{os.path.basename(folder)}.lock")
        os.makedirs(os.path.dirname(folder), exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputError(f"another run is writing to {self.uri} (it holds {lock})") from None
        return fd

    def close(self):
        """Release the lock of a local folder (the end of the process does too)."""
        if getattr(self, "_lock", None) is not None:
            os.close(self._lock)
            self._lock = None

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def files(self):
        found = self.fs.get_file_info(pafs.FileSelector(self.path, recursive=True))
        return sorted(item.path for item in found if item.type == pafs.FileType.File)

    def _read_done(self):
        done = set()
        for file in self.files():
            if not file.endswith(".parquet"):
                raise OutputError(f"{self.uri} holds {file.rsplit('/', 1)[-1]}, which is no Parquet file of this "
                                  "command; choose another folder, or --overwrite")
            try:
                parquet = pq.ParquetFile(file, filesystem=self.fs)
            except pa.ArrowInvalid:
                if not isinstance(self.fs, pafs.LocalFileSystem):
                    # Object storage writes a file whole or not at all: this is no cut-short file of
                    # ours, and a resume never deletes what it cannot account for.
                    raise OutputError(f"{file} in --out is not a Parquet file Arrow can read; remove it, "
                                      "or choose another folder, or --overwrite") from None
                log.warning("%s was cut short (a run was killed while writing it): removed, its rows are "
                            "scored again", file)
                self.fs.delete_file(file)
                continue
            # An OSError (a timeout, throttling, AccessDenied) is not a bad file: it stops the run
            # (OutputError, by the caller) and deletes nothing.
            with parquet:
                names = parquet.schema_arrow.names
                if names != self.schema.names:
                    raise OutputError(f"{self.uri} has the columns {','.join(names)}, not those of "
                                      f"this run ({','.join(self.schema.names)}): run with the same --stable "
                                      "and MODEL_OUTPUTS, or choose another folder, or --overwrite")
                done.update(parquet.read(columns=["path"]).column("path").to_pylist())  # the path column only
        return done

    def read(self, columns=("path", "memorability", "error")):
        """The rows written so far, as a pyarrow Table of ``columns``."""
        tables = [pq.read_table(file, filesystem=self.fs, columns=list(columns)) for file in self.files()]
        return pa.concat_tables(tables) if tables else self.schema.empty_table().select(list(columns))
