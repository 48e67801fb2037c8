"""Collections in object storage, through pyarrow's filesystems, as Ray Data reads them: URIs,
listings, manifests and bounded reads. Used by the Ray job (collection/cluster.py).

    s3://bucket/prefix/    S3, or an S3-compatible store (MinIO, Ceph) by AWS_ENDPOINT_URL
    gs://bucket/prefix/    Google Cloud Storage
    file:///abs/folder/    this machine's disk by URI; a plain path goes through collection.inputs

Credentials, region and endpoint come from the standard variables (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL, AWS_PROFILE;
GOOGLE_APPLICATION_CREDENTIALS), which pyarrow's S3 and GCS clients read themselves.

A read gives the service's own messages (core/inputs/files.py's ``open_file``): an object is
refused from its listed size, before more than its first bytes are downloaded (a ranged read,
which core/inputs/kinds.py classifies), when it is over MAX_VIDEO_BYTES for a video, else over
MAX_IMAGE_BYTES.
"""
import os
import re

import pyarrow.fs as pafs

from collection.uris import is_uri
from core.inputs.files import check_size, open_file, read_stream
from core.inputs.images import ImageError
from core.inputs.kinds import classify, size_limit

MANIFEST_COLUMNS = ("path", "uri", "url", "key")  # a CSV's or Parquet's column of URIs, by name


class StorageError(ValueError):
    """A bucket, prefix or manifest that cannot be used at all: the message says why (exit 2)."""


def resolve(uri):
    """(pyarrow filesystem, its path) of ``uri``; StorageError for a scheme pyarrow cannot open."""
    try:
        return pafs.FileSystem.from_uri(uri)
    except (ValueError, OSError) as error:  # pyarrow.ArrowInvalid is a ValueError
        raise StorageError(f"cannot open {uri}: {_reason(error)}") from None


def join(uri, path):
    """The URI of ``path`` (a filesystem path from a listing of ``uri``): same scheme."""
    return uri.split("://", 1)[0] + "://" + path


def list_uri(uri):
    """The URIs of the objects under ``uri`` (a prefix, listed recursively, or one object), in
    sorted order, hidden names (a part starting with '.') left out, as a walk leaves them.
    StorageError for a bucket that does not exist, a prefix that holds nothing, or a listing
    refused (wrong credentials)."""
    fs, path = resolve(uri)
    try:
        info = fs.get_file_info(path)
        if info.type == pafs.FileType.File:
            return [uri]
        bucket = path.split("/", 1)[0]
        if not isinstance(fs, pafs.LocalFileSystem) and fs.get_file_info(bucket).type == pafs.FileType.NotFound:
            raise StorageError(f"no such bucket: {bucket} (in {uri})")
        found = fs.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True))
    except OSError as error:
        raise StorageError(f"cannot list {uri}: {_reason(error)}") from None
    prefix = path.rstrip("/") + "/"
    files = sorted(item.path for item in found if item.type == pafs.FileType.File and not
                   any(part.startswith(".") for part in item.path[len(prefix):].split("/")))
    if not files:
        raise StorageError(f"{uri} holds no files")
    return [join(uri, file) for file in files]


def read_manifest(source):
    """The URIs or paths of a manifest: a Parquet or CSV file (the column path, uri, url or key,
    else its first), or text, one a line. ``source`` is a path or a URI."""
    lower = source.lower()
    try:
        if lower.endswith((".parquet", ".csv")):
            table = _read_table(source, lower)
            name = next((n for n in MANIFEST_COLUMNS if n in table.column_names), table.column_names[0])
            return [str(value) for value in table.column(name).to_pylist() if value not in (None, "")]
        with _open(source) as stream:
            text = stream.read().decode("utf-8", "surrogateescape")
    except (OSError, ValueError, KeyError, IndexError) as error:
        raise StorageError(f"cannot read the list {source}: {_reason(error)}") from None
    return [line for line in text.splitlines() if line.strip()]


def _read_table(source, lower):
    if lower.endswith(".parquet"):
        import pyarrow.parquet as pq

        fs, path = resolve(source) if is_uri(source) else (None, source)
        return pq.read_table(path, filesystem=fs)
    import pyarrow.csv as pcsv

    with _open(source) as stream:
        return pcsv.read_csv(stream)


def _open(source):
    if is_uri(source):
        fs, path = resolve(source)
        return fs.open_input_stream(path)
    return open(source, "rb")


def fetch(uri, name, settings):
    """The bytes of the input ``uri`` (a URI or a local path), bounded as the service bounds an
    upload; ImageError with the service's message when they cannot be had."""
    if not is_uri(uri):
        return _fetch_local(uri, name, settings)
    fs, path = resolve(uri)
    try:
        info = fs.get_file_info(path)
        if info.type == pafs.FileType.NotFound:
            raise ImageError(f"{name} cannot be read (no such object)")
        if info.type != pafs.FileType.File:
            raise ImageError(f"{name} is not a regular file: it is a folder")
        with fs.open_input_file(path) as stream:  # its kind from a ranged read of its first bytes
            check_size(name, info.size, *size_limit(classify(stream, name), settings))
            return stream.read()
    except OSError as error:  # access denied, a dropped connection: this input's row says so
        raise ImageError(f"{name} cannot be read ({_reason(error)})") from None


def _fetch_local(path, name, settings):
    with open_file(path, name) as stream:
        limit, setting = size_limit(classify(stream, name), settings)
        check_size(name, os.fstat(stream.fileno()).st_size, limit, setting)
        return read_stream(stream, name, limit)


def _reason(error):
    """pyarrow's message without its C++ source locations: the AWS or OS error, on one line."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return re.sub(r"^(?:/\S+:\d+ +)+", "", text)


def output_fs(uri):
    """(filesystem, path) of an output folder: a URI through pyarrow, or a local path."""
    if is_uri(uri):
        return resolve(uri)
    return pafs.LocalFileSystem(), os.path.abspath(uri)

