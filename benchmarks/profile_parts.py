"""Where a single ResMem request spends its time, part by part, in-process (fp32, 2 threads).

    python -m benchmarks.profile_parts --images DIR [--limit 40]

Times decode + preprocess, then the MemNet branch, the ResNet-152 branch and the head each as
its own compiled tf.function on batches of one, and the whole forward pass, by median.
"""
import argparse
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from core.model import ModelWrapper

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
    model = ModelWrapper(ROOT / "assets" / "resmem")
    full = model.model
    photos = [p.read_bytes() for p in sorted(args.images.glob("*.jpg"))[:args.limit]]
    memnet = keras.Model(full.input, full.get_layer("flatten").output)
    resnet = keras.Model(full.input, full.get_layer("features_fc").output)
    features = keras.Input((10216,))
    x = features
    for name in HEAD:
        x = full.get_layer(name)(x)
    head = keras.Model(features, x)
    parts = {"decode + preprocess": lambda data: model._pre_process([data])}
    arrays = [tf.constant(model._pre_process([d])) for d in photos]
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


if __name__ == "__main__":
    main()
