"""A deeper candidate of training.finetune: ResMem's own head, fc6-fc12, retrained from its
weights, with everything below it frozen.

The frozen part (the MemNet branch and the ResNet, up to the 11,265 or 10,216 features that fc6
reads) runs once per photo and view: its activations are cached by training/bottlenecks.py,
keyed by the base bucket's md5s, the layer, the files and the view. An epoch then costs only the
head. The views are ResMem's own augmentation, fixed so that they can be cached: the centre crop
of the 256 x 256 squash, its mirror image, and random 227 crops of it, each mirrored at random
(VIEWS in all, from a fixed seed).

Training: fc12 is first recalibrated on train (an affine map of its logit to the logit of the
lab's scores, as the ridge heads' blend is: a lab's scale need not be LaMem's), then Adam at
LEARNING_RATE with a cosine decay on the squared error of that logit, a pull towards the base
weights (L2-SP: ``L2SP`` times the squared distance), one random view of each training photo an
epoch, and early stopping on the val photos' Spearman rho (centre views), keeping the best
epoch. Test is never read.
"""
import logging
import math

import numpy as np
from scipy.stats import spearmanr

log = logging.getLogger("finetune")

MIN_TRAIN = 200  # fewer training photos: too little to adapt a layer of ResMem honestly
VIEWS = 4
EPOCHS, PATIENCE, BATCH = 12, 3, 32
LEARNING_RATE, L2SP = 1e-5, 1e-3
HEAD = ("fc6", "fc7", "fc8", "fc9", "fc10", "fc11", "fc12")
INPUT = "concat"  # the layer whose output fc6 reads: the frozen features


def views(spec, count=VIEWS, seed=0):
    """(top, left, flip) of each view: the centre crop, its mirror, then random crops."""
    from core.images import crop_offsets

    top, left = crop_offsets(spec)
    rng = np.random.default_rng(seed)
    chosen = [(top, left, False), (top, left, True)]
    while len(chosen) < count:
        chosen.append((int(rng.integers(0, spec.resize[1] - spec.crop + 1)),
                       int(rng.integers(0, spec.resize[0] - spec.crop + 1)), bool(rng.integers(0, 2))))
    return chosen[:count]


def activations(network, entries, pipeline, folder, batch, weights_id, spec, centre):
    """V x N x D: the frozen features of each view of each of ``entries`` (cached); ``centre``
    is the first view's, from the heads' own pass over the centre crops."""
    from training import bottlenecks

    return np.stack([centre] + [bottlenecks.outputs(network, [INPUT], entries, pipeline, folder, batch,
                                                    desc="resmem-views", weights_id=weights_id, view=view)[INPUT]
                                for view in views(spec)[1:]])


def rho(predicted, true):
    return float(spearmanr(predicted, true).statistic)


def train_head(base, features, n_train, y_train, y_val, seed=0, epochs=EPOCHS):
    """Retrain ``base``'s fc6-fc12 (a built Keras ResMem) on ``features`` (V x N x D, train rows
    then val rows); returns (val rho of the best epoch, that epoch, its weights {layer: [kernel,
    bias]}, [val rho of each epoch]). ``base`` itself is left unchanged."""
    import keras
    import tensorflow as tf

    from training.heads import logit

    keras.utils.set_random_seed(seed)
    start = {name: [np.array(w) for w in base.get_layer(name).get_weights()] for name in HEAD}
    inputs = keras.Input(features.shape[2:], name="features")
    x = inputs
    for name in HEAD:  # fc12 without its sigmoid: the head is trained on logits
        layer = base.get_layer(name)
        x = keras.layers.Dense(layer.units, activation=layer.activation if name != "fc12" else None, name=name)(x)
    head = keras.Model(inputs, x)
    for name in HEAD:
        head.get_layer(name).set_weights(start[name])
    target = logit(y_train)
    a, b = np.polyfit(head.predict_on_batch(features[0, :n_train])[:, 0].astype(np.float64), target, 1)
    kernel, bias = start["fc12"]
    start["fc12"] = [(kernel * a).astype(np.float32), (bias * a + b).astype(np.float32)]  # recalibrated
    head.get_layer("fc12").set_weights(start["fc12"])
    anchors = [tf.constant(w) for name in HEAD for w in start[name]]
    steps = epochs * math.ceil(n_train / BATCH)
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps))
    targets = tf.constant(target.astype(np.float32)[:, None])

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(head(x, training=True) - y))
            loss += L2SP * tf.add_n([tf.reduce_sum(tf.square(w - a)) for w, a in zip(head.trainable_weights, anchors)])
        optimizer.apply_gradients(zip(tape.gradient(loss, head.trainable_weights), head.trainable_weights))

    rng = np.random.default_rng(seed)
    val_x = features[0, n_train:]  # the centre views of the val photos
    history, best = [], (-math.inf, 0, start)  # epoch 0: the recalibrated base
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n_train)
        chosen = rng.integers(0, len(features), n_train)  # one random view of each photo
        for begin in range(0, n_train, BATCH):
            rows = order[begin:begin + BATCH]
            step(tf.constant(features[chosen[rows], rows]), tf.gather(targets, rows))
        score = rho(head.predict_on_batch(val_x)[:, 0], y_val)
        history.append(round(score, 4))
        log.info("deep head: epoch %d, val Spearman %.4f", epoch, score)
        if score > best[0]:
            best = (score, epoch, {name: head.get_layer(name).get_weights() for name in HEAD})
        elif epoch - best[1] >= PATIENCE:
            break  # early stopping: PATIENCE epochs without a better val rho
    return best[0], best[1], best[2], history


def with_head(base, weights):
    """``base`` (a built Keras ResMem) with the retrained fc6-fc12: one network, served as any."""
    for name, values in weights.items():
        base.get_layer(name).set_weights(values)
    return base


def settings():
    """What model.json records of the deep candidate's training."""
    return {"layers": list(HEAD), "views": VIEWS, "epochs_max": EPOCHS, "patience": PATIENCE, "batch": BATCH,
            "learning_rate": LEARNING_RATE, "schedule": "cosine decay", "l2_sp": L2SP,
            "loss": "squared error of the logit, fc12 recalibrated on train first", "stopped_on": "val Spearman (centre views)"}
