"""The tf.data input pipeline of training: LaMem entries -> batches of (image, score).

Decoding and the resize go through core/inputs/pipeline.py, the very path that serves the model (the
EXIF orientation, the JPEG draft, the pixel limit), so the network trains on the pixels it will
be served. Augmentation then takes a random ``crop`` x ``crop`` window of the resized image and
flips it left-right half of the time; without augmentation it takes the centre crop, and the
result equals ``InputPipeline.prepare(path).x`` exactly.
"""
import numpy as np
import tensorflow as tf

from core.inputs.images import crop_offsets


def normalise(pixels, spec):
    """uint8 -> the network's float input: core.inputs.images.preprocess's division, mean and std, in TF."""
    x = tf.cast(pixels, tf.float32) / tf.constant(1.0 / spec.scale, tf.float32)
    mean, std = np.asarray(spec.mean, np.float32), np.asarray(spec.std, np.float32)
    if mean.any() or (std != 1).any():
        x = (x - mean) / std
    return x


def image_dataset(entries, pipeline, batch, augment=False, shuffle=False, seed=0, mirror=False, view=None):
    """``entries`` [(path, score)] -> tf.data batches of (float image, score), each image
    through ``pipeline`` (core.inputs.pipeline.InputPipeline); with ``mirror``, each photo mirrored
    left-right before its centre crop, as ``InputPipeline.with_mirror`` does (MODEL_TTA). A
    ``view`` (top, left, flip) takes that crop of the resized photo instead, flipped after the
    crop with ``flip``: one fixed augmented view; an N x 3 array of them, one for each of the
    N entries, a window and flip for each photo (training/views.py)."""
    spec = pipeline.spec
    paths = [str(path) for path, _ in entries]
    scores = np.asarray([score for _, score in entries], np.float32)
    width, height = spec.resize
    top, left = crop_offsets(spec)

    each = isinstance(view, np.ndarray)  # a view for each photo, read with it

    def load(path, score, own=None):
        pixels = tf.numpy_function(lambda p: pipeline.resized(p.decode()), [path], tf.uint8)
        pixels.set_shape((height, width, 3))
        if mirror:  # the resize commutes with the mirror; the off-centre crop does not
            pixels = pixels[:, ::-1]
        if each:
            pixels = tf.slice(pixels, tf.stack([own[0], own[1], 0]), (spec.crop, spec.crop, 3))
            pixels = tf.cond(own[2] > 0, lambda: pixels[:, ::-1], lambda: pixels)
        elif view is not None:
            pixels = pixels[view[0]:view[0] + spec.crop, view[1]:view[1] + spec.crop]
            pixels = pixels[:, ::-1] if view[2] else pixels
        elif augment:
            pixels = tf.image.random_crop(pixels, (spec.crop, spec.crop, 3))
            pixels = tf.image.random_flip_left_right(pixels)
        else:
            pixels = pixels[top:top + spec.crop, left:left + spec.crop]
        return normalise(pixels, spec), score

    if each and view.shape != (len(paths), 3):
        raise ValueError(f"a view for each of {len(paths)} photos, not {view.shape}")
    data = tf.data.Dataset.from_tensor_slices((paths, scores, view) if each else (paths, scores))
    if shuffle:
        data = data.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    return data.map(load, num_parallel_calls=tf.data.AUTOTUNE).batch(batch).prefetch(tf.data.AUTOTUNE)


def array_dataset(features, scores, batch, shuffle=False, seed=0):
    """Cached bottleneck features and their scores -> tf.data batches."""
    data = tf.data.Dataset.from_tensor_slices((features, np.asarray(scores, np.float32)))
    if shuffle:
        data = data.shuffle(len(features), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch).prefetch(tf.data.AUTOTUNE)
