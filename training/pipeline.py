"""The tf.data input pipeline of training: LaMem entries -> batches of (image, score).

Decoding and the resize go through core/images.py, the very code that serves the model, so
the network trains on the pixels it will be served. Augmentation then takes a random
``crop`` x ``crop`` window of the resized image and flips it left-right half of the time;
without augmentation it takes the centre crop, exactly as ``core.images.preprocess`` does.
"""
import numpy as np
import tensorflow as tf
from PIL import Image

from core.images import crop_offsets, resized, to_rgb


def resized_pixels(path, spec):
    """Decode one image file and resize it as the bucket's preprocessing says: uint8 H x W x 3."""
    with Image.open(path) as image:
        return resized(to_rgb(image), spec)


def normalise(pixels, spec):
    """uint8 -> the network's float input: core.images.preprocess's division, mean and std, in TF."""
    x = tf.cast(pixels, tf.float32) / tf.constant(1.0 / spec.scale, tf.float32)
    mean, std = np.asarray(spec.mean, np.float32), np.asarray(spec.std, np.float32)
    if mean.any() or (std != 1).any():
        x = (x - mean) / std
    return x


def image_dataset(entries, spec, batch, augment=False, shuffle=False, seed=0):
    """``entries`` [(path, score)] -> tf.data batches of (float image, score)."""
    paths = [str(path) for path, _ in entries]
    scores = np.asarray([score for _, score in entries], np.float32)
    width, height = spec.resize
    top, left = crop_offsets(spec)

    def load(path, score):
        pixels = tf.numpy_function(lambda p: resized_pixels(p.decode(), spec), [path], tf.uint8)
        pixels.set_shape((height, width, 3))
        if augment:
            pixels = tf.image.random_crop(pixels, (spec.crop, spec.crop, 3))
            pixels = tf.image.random_flip_left_right(pixels)
        else:
            pixels = pixels[top:top + spec.crop, left:left + spec.crop]
        return normalise(pixels, spec), score

    data = tf.data.Dataset.from_tensor_slices((paths, scores))
    if shuffle:
        data = data.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    return data.map(load, num_parallel_calls=tf.data.AUTOTUNE).batch(batch).prefetch(tf.data.AUTOTUNE)


def array_dataset(features, scores, batch, shuffle=False, seed=0):
    """Cached bottleneck features and their scores -> tf.data batches."""
    data = tf.data.Dataset.from_tensor_slices((features, np.asarray(scores, np.float32)))
    if shuffle:
        data = data.shuffle(len(features), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch).prefetch(tf.data.AUTOTUNE)
