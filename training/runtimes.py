"""Convert a bucket's Keras weights into the files of each served runtime (core/model/runtimes.py).

    python -m training.runtimes --bucket assets/resmem --cache .cache/models [--precisions fp32 lite-int8]

`make weights` and the Dockerfile's build stage run this; a server that finds a tier missing
runs it in a child process. The files go to ``<cache>/<architecture>-<weights md5>/`` and their
md5s into that folder's ``md5sums.txt``, which the server verifies before loading them. A lock
on the folder lets two conversions of the same bucket run one after the other, not over each other.

    fp32, bf16   OpenVINO IR (``ov.convert_model`` of the exported SavedModel), f32 weights, with
                 a dynamic batch; bf16 is a compile-time option on the same files
    lite-int8    LiteRT, dynamic-range int8 (``Optimize.DEFAULT`` with no dataset), dynamic batch
    lite-fp32    LiteRT, fp32, dynamic batch

Quantisation hurts some layers far more than others. Measured on ResMem and 305 real photos,
quantising everything moved scores by up to 0.036; the 7x7 stem convolution alone caused 0.029
of that. So under lite-int8 ResMem's stem and layer1 stay in float (a LiteRT fp32 model), and
all the rest runs in int8 (a second model, which also reads the image for the MemNet branch):
max |diff| 0.009, and faster than quantising everything.
"""
import argparse
import fcntl
import logging
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from core.model.bucket import open_bucket
from core.model.checksums import file_digest, read_md5sums
from core.model.runtimes import CHECKSUM_FILE, runtime_dir
from core.model.tiers import TIERS, float_until

log = logging.getLogger(__name__)
SERVED = tuple(name for name, tier in TIERS.items() if tier.served)  # `make weights`, the image


def split(model, until):
    """Two models sharing ``model``'s layers: image -> the output of layer ``until``, and
    (image, that output) -> score. Keras's functional API takes an intermediate tensor as an
    input and clones the graph from there on, so the second model is public Keras too."""
    import keras

    cut = model.get_layer(until).output
    return keras.Model(model.input, cut), keras.Model([model.input, cut], model.output)


@contextmanager
def saved_model(model):
    """A SavedModel of ``model`` (one or more inputs) with a dynamic batch, in a temporary folder."""
    import keras
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as tmp:
        archive = keras.export.ExportArchive()  # Keras 3's path to a SavedModel
        archive.track(model)
        archive.add_endpoint(
            "serve", lambda *xs: model(list(xs) if len(xs) > 1 else xs[0], training=False),
            input_signature=[tf.TensorSpec([None, *t.shape[1:]], tf.float32) for t in model.inputs])
        archive.write_out(tmp, verbose=False)
        yield tmp


def to_litert(model, quantise):
    """LiteRT flatbuffer bytes of a Keras ``model``."""
    import tensorflow as tf

    with saved_model(model) as folder:
        converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=["serve"])
        if quantise:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]  # no dataset: dynamic range
        return converter.convert()


def to_openvino(model, xml):
    """Write ``model`` as OpenVINO IR ``xml`` + its ``.bin``, f32 weights kept exact."""
    import openvino as ov

    with saved_model(model) as folder:
        ov.save_model(ov.convert_model(folder), str(xml), compress_to_fp16=False)


def _write_aside(path, write):
    """Run ``write(tmp_path)``, then rename into place: a killed conversion leaves no half file."""
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


@contextmanager
def locked(folder):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def convert(bucket_path, cache_dir, precisions=SERVED, fresh=False):
    """Convert each tier of ``precisions`` whose files are absent or unpinned (all of them with
    ``fresh``: after the converter changed); return the folder."""
    bucket = open_bucket(bucket_path)
    folder = runtime_dir(bucket, cache_dir)
    with locked(folder):
        if fresh:
            for old in folder.iterdir():
                if old.name != ".lock":
                    shutil.rmtree(old) if old.is_dir() else old.unlink()
        sums = folder / CHECKSUM_FILE
        listed = read_md5sums(sums) if sums.is_file() else {}
        todo = [p for p in dict.fromkeys(precisions)
                if any(n not in listed or not (folder / n).is_file() for n in TIERS[p].files_for(bucket.architecture))]
        if not todo:
            return folder
        from core.model.networks import build_network

        model = build_network(bucket.architecture, bucket.preprocessing.crop, bucket.architecture_options)
        model.load_weights(bucket.weights_path)
        written = []
        for precision in todo:
            tier = TIERS[precision]
            names = tier.files_for(bucket.architecture)
            if set(names) <= set(written):  # bf16 and fp32 share their files
                continue
            log.info("converting %s to %s in %s", bucket.path, precision, folder)
            CONVERTERS[tier.runtime](model, bucket, tier, folder, names)
            written += names
        listed.update({name: file_digest(folder / name) for name in written})
        _write_aside(sums, lambda tmp: tmp.write_text(
            "".join(f"{md5}  {name}\n" for name, md5 in sorted(listed.items()))))
    return folder


def openvino_files(model, bucket, tier, folder, names):
    """OpenVINO writes the .xml and its .bin side by side: rename both into place."""
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        to_openvino(model, Path(tmp) / names[0])
        for name in names[::-1]:  # the .bin first: an .xml never lacks its weights
            os.replace(Path(tmp) / name, folder / name)


def litert_files(model, bucket, tier, folder, names):
    """One LiteRT file, or a float front and a quantised rest (core.model.tiers.float_until)."""
    until = float_until(bucket.architecture, bucket.architecture_options) if tier.quantise else None
    parts = split(model, until) if until else (model,)
    for name, part in zip(names, parts):
        blob = to_litert(part, tier.quantise and not name.endswith("-front.tflite"))
        _write_aside(folder / name, lambda tmp, blob=blob: tmp.write_bytes(blob))


CONVERTERS = {"openvino": openvino_files, "litert": litert_files}  # by core.model.tiers.Tier.runtime


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bucket", required=True, type=Path)
    parser.add_argument("--cache", required=True, type=Path, help="MODEL_CACHE")
    parser.add_argument("--precisions", nargs="+", choices=[n for n, t in TIERS.items() if t.runtime in CONVERTERS],
                        default=list(SERVED))
    parser.add_argument("--fresh", action="store_true", help="delete the bucket's runtimes first")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(convert(args.bucket, args.cache, args.precisions, args.fresh))
    return 0


if __name__ == "__main__":
    sys.exit(main())
