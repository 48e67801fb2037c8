"""The deeper candidates of training.finetune (PARTS): ResMem's own head, fc6-fc12, retrained
from its weights; and its ResNet's last stage (layer4, BatchNorm statistics frozen) with the
head. Everything below the part retrained stays frozen.

The frozen part runs once per photo and view: its activations (fc6's input; layer4's and MemNet's
conv5 for the stage) are cached by training/bottlenecks.py, keyed by the base bucket's md5s, the
layers, the files, the view and the compute type. An epoch then costs only the part retrained.
The views (training/views.py, VIEWS of them): the centre crop of the 256 x 256 squash, its
mirror image, and random 227 crops of it, mirrored at random: one window for every photo
(``--augment fixed``, the default) or, ResMem's own augmentation, a window for each photo
(``resmem``, with dropout 0.5 after fc6 and fc7 in the part retrained, as ResMem trained).

Training: fc12 is first recalibrated on train (an affine map of its logit to the logit of the
lab's scores, as the ridge heads' blend is: a lab's scale need not be LaMem's), then Adam at
LEARNING_RATE with a cosine decay on the squared error of that logit, a pull towards the base
weights (L2-SP: ``L2SP`` times the squared distance), one random view of each training photo an
epoch, and early stopping on Spearman's rho of val's selection part (centre views, training/
gate.py), keeping the best epoch. Test is never read.
"""
import logging
import math
from pathlib import Path
from typing import NamedTuple

import numpy as np

from training.averages import RunningMean
from training.heads import logit, rho
from training.views import DROPOUT, VIEWS, views

log = logging.getLogger("finetune")

MIN_TRAIN = 200  # fewer training photos: too little to adapt a layer of ResMem honestly
EPOCHS, PATIENCE, BATCH = 12, 3, 32
LEARNING_RATE, L2SP = 1e-5, 1e-3
HEAD = ("fc6", "fc7", "fc8", "fc9", "fc10", "fc11", "fc12")
INPUT = "concat"  # the layer whose output fc6 reads: the frozen features
PRECISIONS = ("auto", "float32", "bfloat16")


def stage_input(options):
    """The layer that ResNet's last stage reads: the last block of layer3 (ResMem's: 36th)."""
    from core.model.networks import RESNET152_BLOCKS

    blocks = (options or {}).get("resnet_blocks") or RESNET152_BLOCKS
    return f"features_layer3_{blocks[2] - 1}_out"


def inputs(options):
    """Every frozen layer a deep candidate reads, each cached a view: fc6's input, the last
    stage's input and MemNet's conv5 features."""
    return [INPUT, stage_input(options), "flatten"]


def activations(network, entries, pipeline, folder, batch, weights_id, spec, options, centre, dtype="float32",
                augment="fixed"):
    """{layer: [N x D a view]}: the frozen features of each view of each of ``entries``, computed
    in ``dtype`` and cached (memory-mapped; the stage's input in float16: 0.45 MB a photo and
    view); ``centre`` holds the first view's, from the heads' own pass over the centre crops
    (float32: val is measured on it)."""
    from training import bottlenecks

    layers = inputs(options)
    others = [bottlenecks.outputs(network, layers, entries, pipeline, folder, batch, desc="resmem-views",
                                  weights_id=weights_id, view=view, half=(stage_input(options),), dtype=dtype)
              for view in views(spec, len(entries), recipe=augment)[1:]]
    return {name: [centre[name]] + [other[name] for other in others] for name in layers}


def precision(choice="auto"):
    """The compute type of the views and of training: bfloat16 on a CPU with AVX-512 BF16 or AMX
    (here about 1.4x faster for a view, 1.6x for a step of the stage), else float32; ``choice``
    forces one."""
    if choice != "auto":
        return choice
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "float32"
    return "bfloat16" if ("avx512_bf16" in flags or "amx_bf16" in flags) else "float32"


# The candidates: what each retrains, everything below it frozen.
PARTS = {"head": "deep: fc6-fc12 retrained",
         "stage": "deep: ResNet's last stage (layer4 and its fc) and fc6-fc12 retrained, BatchNorm statistics frozen"}


def trainable(base, part, options, dtype="float32", augment="fixed"):
    """(a Keras model of the part, reading ``reads(part, options)``, the names of the layers it retrains);
    its fc12 is linear (it is trained on logits) and float32, the rest computes in ``dtype``
    (its weights stay float32); its layers are copies: ``base`` is left as it is. With ``augment``
    "resmem", a Dropout (DROPOUT) after fc6 and fc7, active only in training."""
    import keras

    from training.bottlenecks import with_policy

    policy = "mixed_bfloat16" if dtype == "bfloat16" else "float32"
    dropout = {"fc6": DROPOUT, "fc7": DROPOUT} if augment == "resmem" else {}
    if part == "head":
        features = keras.Input(base.get_layer(INPUT).output.shape[1:], name="features")
        x = features
        for name in HEAD[:-1]:
            layer = base.get_layer(name)
            x = keras.layers.Dense(layer.units, activation=layer.activation, name=name, dtype=policy)(x)
            if name in dropout:
                x = keras.layers.Dropout(dropout[name], name=f"{name}_dropout", dtype=policy)(x)
        model = keras.Model(features, keras.layers.Dense(1, name="fc12")(x))
        for name in HEAD:
            model.get_layer(name).set_weights(base.get_layer(name).get_weights())
        return model, list(HEAD)
    below = keras.Model([base.get_layer(name).output for name in reads(part, options)], base.get_layer("fc11").output)
    copy = with_policy(below, policy, dropout)
    for layer in copy.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False  # its statistics and scale frozen: a few hundred photos cannot re-estimate them
    fc12 = keras.layers.Dense(1, name="fc12")
    model = keras.Model(copy.inputs, fc12(copy.output))
    fc12.set_weights(base.get_layer("fc12").get_weights())
    names = [layer.name for layer in copy.layers if layer.trainable_weights] + ["fc12"]
    return model, names


def rows_of(data, shapes, rows, chosen=None):
    """The inputs of ``rows`` (of view ``chosen[row]``; the centre view without it), float32, shaped."""
    picked = [np.stack([d[0 if chosen is None else chosen[i]][row] for i, row in enumerate(rows)]) for d in data]
    inputs = [np.reshape(p, (len(rows), *shape)).astype(np.float32) for p, shape in zip(picked, shapes)]
    return inputs if len(inputs) > 1 else inputs[0]  # a model of one input takes it alone


def predicted(model, data, shapes, rows, outputs=None, batch=64):
    """``model``'s outputs (its own, or of the layers named in ``outputs``) on the centre views of
    ``rows``, a batch at a time (the stage's inputs are 0.9 MB a photo)."""
    import keras

    if outputs is not None:
        inputs = model.inputs if len(model.inputs) > 1 else model.inputs[0]
        model = keras.Model(inputs, [model.get_layer(name).output for name in outputs])
    # Called eagerly: predict_on_batch would trace a function for each model and last batch's size.
    parts = [model(rows_of(data, shapes, rows[i:i + batch]), training=False) for i in range(0, len(rows), batch)]
    parts = [p if isinstance(p, (list, tuple)) else [p] for p in parts]
    return [np.concatenate([np.reshape(np.asarray(p[k], np.float32), (len(p[k]), -1))
                            for p in parts]).astype(np.float64)
            for k in range(len(parts[0]))]


class Trained(NamedTuple):
    """A deep part trained: its best epoch's val rho and number, the model holding that epoch's
    weights (float32), the names of the layers retrained, val rho of each epoch from 0, and
    ``snapshots``: (val rho, weights, epochs averaged) of the mean of its epochs' weights
    (training/averages.py), None under two epochs."""
    score: float
    epoch: int
    model: object
    names: list
    history: list
    snapshots: tuple = None


def train(base, part, features, n_train, y_train, y_val, options=None, seed=0, epochs=EPOCHS, dtype="float32",
          checkpoint=None, val_rows=None, augment="fixed", average=True):
    """Retrain ``part`` ("head" or "stage") of ``base`` (a built Keras ResMem) on ``features``
    ({layer: [N x ... a view]}, train rows then val rows), computing in ``dtype``; returns a
    Trained (epoch 0: the recalibrated part, before any training, was best). Val is always
    measured in float32, as the bucket is served. ``base`` is left unchanged. With ``checkpoint``
    (training/deep_checkpoint.py) each epoch is saved, and a saved one is resumed. ``val_rows``:
    the rows ``y_val`` scores (the selection part of val); default the rows after train. ``average``:
    whether the mean of the epochs' weights is kept and measured (not for a soup's other seeds)."""
    import keras
    import tensorflow as tf

    from training.bottlenecks import computing, set_policy

    keras.utils.set_random_seed(seed)
    model, names = trainable(base, part, options, dtype, augment)  # val is measured, and the result served, in float32:
    # the same weights computing so (computing), no float32 twin
    shapes = [tuple(base.get_layer(name).output.shape[1:]) for name in reads(part, options)]
    data = [features[name] for name in reads(part, options)]
    train_rows = np.arange(n_train)
    val_rows = np.arange(n_train, n_train + len(y_val)) if val_rows is None else np.asarray(val_rows)
    target = logit(y_train)
    fc12 = model.get_layer("fc12")
    with computing(model, "float32"):
        a, b = np.polyfit(predicted(model, data, shapes, train_rows)[0][:, 0], target, 1)
    kernel, bias = fc12.get_weights()
    fc12.set_weights([(kernel * a).astype(np.float32), (bias * a + b).astype(np.float32)])  # recalibrated
    anchors = anchors_in(base, model)
    steps = epochs * math.ceil(n_train / BATCH)
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps))
    targets = target.astype(np.float32)[:, None]

    weights = model.trainable_weights

    @tf.function  # the gradients of the squared error, on oneDNN's kernels (XLA's convolutions are slower here)
    def gradients(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.cast(model(x, training=True), tf.float32) - y))
        return tape.gradient(loss, weights)

    # The update, fused by XLA: the pull towards the base (L2-SP: the gradient of L2SP * |w - a|^2)
    # and Adam's, over 70-85 M weights. Split so, a step of the stage took 0.62 s a batch here against
    # 0.87 in one function (1.29 with XLA over all of it); the head's 0.22 against 0.45.
    @tf.function(jit_compile=True)
    def update(grads):
        optimizer.apply_gradients(zip([g + 2 * L2SP * (w - a) for g, w, a in zip(grads, weights, anchors)], weights))

    def step(x, y):
        update(gradients(x, y))

    def measured():  # val rho in float32
        with computing(model, "float32"):
            return val_rho(model, part, features, options, val_rows, y_val)

    def result(best):  # the best epoch's weights, computing in float32 from now on, as served
        set_policy(model, "float32")
        mean = None
        if average and snapshots.is_average():  # the snapshot average's val rho, on the same model
            model.set_weights(snapshots.arrays)
            mean = (measured(), snapshots.arrays, snapshots.count)
        model.set_weights(best[2])
        return Trained(best[0], best[1], model, names, history, mean)

    rng = np.random.default_rng(seed)
    saved = checkpoint.load() if checkpoint is not None else None
    if saved is None:
        best = (measured(), 0, model.get_weights())  # epoch 0: recalibrated, not yet trained
        history, first, snapshots = [round(best[0], 4)], 1, RunningMean()
    else:  # where the killed run was: its weights, Adam's state, the generator, the best so far
        best, history, first = (saved["best_score"], saved["best_epoch"], saved["best_weights"]), saved["history"], \
            saved["epoch"] + 1
        snapshots = RunningMean(saved["snapshots"] or None, saved["snapshots_averaged"])
        if saved["finished"]:
            return result(best)
        checkpoint.restore(saved, model, optimizer, rng)
    for epoch in range(first, epochs + 1):
        order = rng.permutation(n_train)
        chosen = rng.integers(0, len(data[0]), n_train)  # one random view of each photo
        for begin in range(0, n_train, BATCH):
            rows = order[begin:begin + BATCH]
            step(rows_of(data, shapes, rows, chosen[rows]), tf.constant(targets[rows]))
        if average:
            snapshots.add(model.weights)  # this epoch's weights, in the average (training/averages.py)
        score = measured()
        history.append(round(score, 4))
        log.info("%s: epoch %d, val Spearman %.4f", PARTS[part], epoch, score)
        if score > best[0]:
            best = (score, epoch, model.get_weights())
        stop = epoch - best[1] >= PATIENCE  # early stopping: PATIENCE epochs without a better val rho
        if checkpoint is not None:
            checkpoint.save(epoch, model, optimizer, best, history, rng, snapshots, finished=stop or epoch == epochs)
        if stop:
            break
    return result(best)


def val_rho(model, part, features, options, rows, y):
    """Spearman's rho of ``model`` (of ``part``) on the centre views of ``rows`` against ``y``; a
    constant prediction (nan) ranks nothing: -1."""
    shapes = [tuple(tensor.shape[1:]) for tensor in model.inputs]
    score = rho(predicted(model, [features[name] for name in reads(part, options)], shapes, rows)[0][:, 0], y)
    return -1.0 if math.isnan(score) else score


def anchors_in(base, model):
    """What L2-SP pulls each of ``model``'s trainable weights towards: the base's own variable of
    the layer of that name (read, never copied); fc12's, recalibrated before training, a constant."""
    import tensorflow as tf

    from training.bottlenecks import layers_of

    owner = {id(weight): layer for layer in layers_of(model) for weight in layer.trainable_weights}
    anchors = []
    for weight in model.trainable_weights:
        name = owner[id(weight)].name
        if name == "fc12":
            anchors.append(tf.constant(np.array(weight)))
            continue
        [start] = [w for w in base.get_layer(name).weights if w.name == weight.name]
        if tuple(start.shape) != tuple(weight.shape):
            raise ValueError(f"{name}/{weight.name}: {tuple(weight.shape)} here, {tuple(start.shape)} in the base")
        anchors.append(start)
    return anchors


def reads(part, options):
    """The frozen layers whose outputs ``part``'s model reads, in the order of its inputs."""
    return [INPUT] if part == "head" else [stage_input(options), "flatten"]


def settings(part, dtype, augment="fixed"):
    """What model.json records of a deep candidate's training."""
    return {"retrained": PARTS[part], "views": VIEWS, "augment": augment,
            "dropout": DROPOUT if augment == "resmem" else 0, "epochs_max": EPOCHS,
            "patience": PATIENCE, "batch": BATCH,
            "learning_rate": LEARNING_RATE, "schedule": "cosine decay", "l2_sp": L2SP, "precision": dtype,
            "loss": "squared error of the logit, fc12 recalibrated on train first",
            "stopped_on": "val Spearman (centre views, float32)",
            "snapshots": "the mean of its epochs' weights is a candidate too (training/averages.py)"}
