"""Where a single ResMem request spends its time, part by part, in-process (2 threads).

    python -m benchmarks.profile_parts --images DIR [--limit 40]

Times decode + preprocess; then, in TensorFlow, the MemNet branch, the ResNet-152 branch and
the head each as its own compiled tf.function on batches of one, and the whole forward pass;
then each served runtime: OpenVINO fp32 and LiteRT lite-int8's float front (stem and layer1)
and int8 rest, per image at a batch of one and at the batch each runs best. Medians.
"""
import argparse
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import config
from core.model.networks import build_network
from core.model.outputs import serving_bucket
from core.model.runtimes import LITE_CHUNK, LiteForward, OpenVINOForward, verified_files
from core.model.wrapper import ModelWrapper

ROOT = Path(__file__).resolve().parent.parent
HEAD = ("fc6", "fc7", "fc8", "fc9", "fc10", "fc11", "fc12")


def median_ms(function, inputs):
    function(inputs[0])
    times = []
    for x in inputs:
        start = time.perf_counter()
        function(x)
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", required=True, type=Path)
    parser.add_argument("--limit", type=int, default=40)
    args = parser.parse_args(argv)
    model = ModelWrapper(serving_bucket(config.settings(), ROOT / "assets" / "resmem"))
    full = build_network("resmem", model.spec.crop)
    full.load_weights(model.bucket.weights_path)
    photos = [p.read_bytes() for p in sorted(args.images.glob("*.jpg"))[:args.limit]]
    memnet = keras.Model(full.input, full.get_layer("flatten").output)
    resnet = keras.Model(full.input, full.get_layer("features_fc").output)
    features = keras.Input((10216,))
    x = features
    for name in HEAD:
        x = full.get_layer(name)(x)
    head = keras.Model(features, x)
    parts = {"decode + preprocess": lambda data: model.pipeline.prepare(data).x[None]}
    arrays = [tf.constant(model.pipeline.prepare(d).x[None]) for d in photos]
    for name, part in (("MemNet branch", memnet), ("ResNet-152 branch", resnet), ("whole forward", full)):
        compiled = tf.function(lambda x, part=part: part(x, training=False))
        parts[name] = compiled
    compiled_head = tf.function(lambda x: head(x, training=False))
    print(f"{len(photos)} photos, median ms of one image:")
    print(f"  {'decode + preprocess':<22}{median_ms(parts['decode + preprocess'], photos):8.1f}")
    for name in ("MemNet branch", "ResNet-152 branch", "whole forward"):
        print(f"  {name:<22}{median_ms(parts[name], arrays):8.1f}")
    zeros = [tf.random.uniform((1, 10216)) for _ in photos]
    print(f"  {'head fc6-fc12':<22}{median_ms(compiled_head, zeros):8.1f}")
    images = [np.asarray(a) for a in arrays]
    cache = ROOT / ".cache" / "models"
    openvino = OpenVINOForward(verified_files(model.bucket, "fp32", cache)[0], 2)
    front_path, rest_path = verified_files(model.bucket, "lite-int8", cache)
    front, whole = LiteForward([front_path], 2), LiteForward([front_path, rest_path], 2)
    rest = LiteForward([rest_path], 2)
    batches = {"1": images, str(LITE_CHUNK): [np.concatenate(images[i:i + LITE_CHUNK])
                                              for i in range(0, len(images) - LITE_CHUNK + 1, LITE_CHUNK)]}
    print("served runtimes, median ms per image (batch of 1 / batch of 4):")
    for name, run in (("OpenVINO fp32 forward", openvino), ("lite-int8 front (float)", front),
                      ("lite-int8 rest (int8)", lambda x: rest._run(0, x, front._run(0, x))),
                      ("lite-int8 whole", whole)):
        per_image = [median_ms(run, batches[b]) / len(batches[b][0]) for b in batches]
        if name.startswith("lite-int8 rest"):  # measured with its front: take the front away
            per_image = [t - median_ms(front, batches[b]) / len(batches[b][0]) for t, b in zip(per_image, batches)]
        print(f"  {name:<26}{per_image[0]:8.1f} /{per_image[1]:6.1f}")


if __name__ == "__main__":
    main()
