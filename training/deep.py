"""The deeper candidates of training.finetune (PARTS): ResMem's own head, fc6-fc12, retrained
from its weights; and its ResNet's last stage (layer4, BatchNorm statistics frozen) with the
head. Everything below the part retrained stays frozen.

The frozen part runs once per photo and view: its activations (fc6's input; layer4's and MemNet's
conv5 for the stage) are cached by training/bottlenecks.py, keyed by the base bucket's md5s, the
layers, the files and the view. An epoch then costs only the part retrained. The views are ResMem's own augmentation, fixed so that they can be cached: the centre crop
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
# The stage candidate holds layer4's input of every view in memory: 0.9 MB a view, 3.7 MB a photo
# (7.4 GB peak for 259 photos, TensorFlow included). Above this many train and val photos it is
# skipped until that cache is streamed from disk.
MAX_STAGE_PHOTOS = 600
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


def stage_input(options):
    """The layer that ResNet's last stage reads: the last block of layer3 (ResMem's: 36th)."""
    from core.networks import RESNET152_BLOCKS

    blocks = (options or {}).get("resnet_blocks") or RESNET152_BLOCKS
    return f"features_layer3_{blocks[2] - 1}_out"


def with_stage(photos):
    """Whether the stage candidate runs for ``photos`` train and val photos (MAX_STAGE_PHOTOS)."""
    return photos <= MAX_STAGE_PHOTOS


def inputs(options, stage=True):
    """Every frozen layer a deep candidate reads, each cached a view: fc6's input, and with
    ``stage`` the last stage's input and MemNet's conv5 features."""
    return [INPUT, stage_input(options), "flatten"] if stage else [INPUT]


def activations(network, entries, pipeline, folder, batch, weights_id, spec, options, centre):
    """{layer: V x N x D}: the frozen features of each view of each of ``entries`` (cached);
    ``centre`` holds the first view's, from the heads' own pass over the centre crops."""
    from training import bottlenecks

    layers = inputs(options, with_stage(len(entries)))
    others = [bottlenecks.outputs(network, layers, entries, pipeline, folder, batch, desc="resmem-views",
                                  weights_id=weights_id, view=view) for view in views(spec)[1:]]
    return {name: np.stack([centre[name]] + [other[name] for other in others]) for name in layers}


def rho(predicted, true):
    return float(spearmanr(predicted, true).statistic)


# The candidates: what each retrains, everything below it frozen.
PARTS = {"head": "deep: fc6-fc12 retrained",
         "stage": "deep: ResNet's last stage (layer4) and fc6-fc12 retrained, BatchNorm statistics frozen"}


def trainable(base, part, options):
    """(a Keras model of the part, its inputs' layer names, the names of the layers it retrains);
    its fc12 is linear (it is trained on logits), and its layers are copies: ``base`` is left as
    it is."""
    import keras

    if part == "head":
        features = keras.Input(base.get_layer(INPUT).output.shape[1:], name="features")
        x = features
        for name in HEAD:
            layer = base.get_layer(name)
            x = keras.layers.Dense(layer.units, activation=layer.activation if name != "fc12" else None, name=name)(x)
        model = keras.Model(features, x)
        for name in HEAD:
            model.get_layer(name).set_weights(base.get_layer(name).get_weights())
        return model, [INPUT], list(HEAD)
    reads = [stage_input(options), "flatten"]
    below = keras.Model([base.get_layer(name).output for name in reads], base.get_layer("fc11").output)
    copy = keras.models.clone_model(below)
    copy.set_weights(below.get_weights())
    for layer in copy.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False  # its statistics and scale frozen: a few hundred photos cannot re-estimate them
    fc12 = keras.layers.Dense(1, name="fc12")
    model = keras.Model(copy.inputs, fc12(copy.output))
    fc12.set_weights(base.get_layer("fc12").get_weights())
    names = [layer.name for layer in copy.layers if layer.trainable_weights] + ["fc12"]
    return model, reads, names


def train(base, part, features, n_train, y_train, y_val, options=None, seed=0, epochs=EPOCHS):
    """Retrain ``part`` ("head" or "stage") of ``base`` (a built Keras ResMem) on ``features``
    ({layer: V x N x ...}, train rows then val rows); returns (val rho of the best epoch, that
    epoch, its weights {layer: weights}, [val rho of each epoch]). ``base`` is left unchanged."""
    import keras
    import tensorflow as tf

    from training.heads import logit

    keras.utils.set_random_seed(seed)
    model, reads, names = trainable(base, part, options)
    shapes = [base.get_layer(name).output.shape[1:] for name in reads]
    data = [np.reshape(features[name], features[name].shape[:2] + tuple(shape)) for name, shape in zip(reads, shapes)]
    target = logit(y_train)
    fc12 = model.get_layer("fc12")
    a, b = np.polyfit(model.predict_on_batch([d[0, :n_train] for d in data])[:, 0].astype(np.float64), target, 1)
    kernel, bias = fc12.get_weights()
    fc12.set_weights([(kernel * a).astype(np.float32), (bias * a + b).astype(np.float32)])  # recalibrated
    anchors = [tf.constant(np.array(w)) for w in model.trainable_weights]
    steps = epochs * math.ceil(n_train / BATCH)
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps))
    targets = tf.constant(target.astype(np.float32)[:, None])

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
            loss += L2SP * tf.add_n([tf.reduce_sum(tf.square(w - a)) for w, a in zip(model.trainable_weights, anchors)])
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))

    def weights():
        return {name: model.get_layer(name).get_weights() for name in names}

    rng = np.random.default_rng(seed)
    val_x = [d[0, n_train:] for d in data]  # the centre views of the val photos
    history, best = [], (-math.inf, 0, weights())
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n_train)
        chosen = rng.integers(0, len(data[0]), n_train)  # one random view of each photo
        for begin in range(0, n_train, BATCH):
            rows = order[begin:begin + BATCH]
            step([tf.constant(d[chosen[rows], rows]) for d in data], tf.gather(targets, rows))
        score = rho(model.predict_on_batch(val_x)[:, 0], y_val)
        history.append(round(score, 4))
        log.info("%s: epoch %d, val Spearman %.4f", PARTS[part], epoch, score)
        if score > best[0]:
            best = (score, epoch, weights())
        elif epoch - best[1] >= PATIENCE:
            break  # early stopping: PATIENCE epochs without a better val rho
    return best[0], best[1], best[2], history


def with_weights(base, weights):
    """``base`` (a built Keras ResMem) with the retrained layers: one network, served as any."""
    for name, values in weights.items():
        base.get_layer(name).set_weights(values)
    return base


def settings(part):
    """What model.json records of a deep candidate's training."""
    return {"retrained": PARTS[part], "views": VIEWS, "epochs_max": EPOCHS, "patience": PATIENCE, "batch": BATCH,
            "learning_rate": LEARNING_RATE, "schedule": "cosine decay", "l2_sp": L2SP,
            "loss": "squared error of the logit, fc12 recalibrated on train first", "stopped_on": "val Spearman (centre views)"}
