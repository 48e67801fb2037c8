"""Train MemNet on a LaMem-format dataset and write it as a weights bucket the service can serve.

    python -m training.train --data DATA --split K --out BUCKET [--epochs N] [--batch B]
                             [--init resmem|none] [--loss mse|euclidean] [--linear] [--width W]
                             [--bottlenecks] [--resume] [--allow-overlap]

The network is MemNet (core/model/networks.py): AlexNet-style conv1-conv5 with LRN and grouped
convolutions, fc6 and fc7 (``--width`` units, 4096 as published), one output. It trains on
``train_K`` with random crops and flips, and keeps the epoch with the best Spearman rho on
``val_K``; it stops early when that has not improved for ``--patience`` epochs. ``--init
resmem`` starts conv1-conv5 from ResMem's MemNet branch. ``--bottlenecks`` freezes those and
trains only fc6-fc8 on cached conv5 features, as the TensorFlow-for-poets retrain did: much
faster, without augmentation.

A photo in two of train, val and test (by name, or as a near-duplicate: training/overlap.py)
stops it before anything is built, unless ``--allow-overlap``; the bucket records the train and
val photos, so that ``training.evaluate`` refuses them as test photos.

Every epoch is checkpointed under ``BUCKET/checkpoints/``; after a kill, ``--resume`` goes on
from the last finished epoch. The bucket holds the weights, ``model.json`` and ``md5sums.txt``;
serve it with ``MODEL_BUCKET=BUCKET make run``.
"""
import argparse
import json
import logging
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import config
from training import overlap
from training.checkpoints import BEST, LAST, read_state
from training.lamem import DatasetError, read_split, split_path

log = logging.getLogger("train")

WEIGHTS_FILE = "memnet.weights.h5"
CHECKPOINTS = "checkpoints"
AUGMENTATION = "random crop of the resized image, horizontal flip"


@dataclass
class Settings:
    """What decides a run's result; recorded in the checkpoint and the bucket's provenance."""
    data: str
    split: int
    epochs: int = 10
    batch: int = 32
    init: str = "resmem"
    loss: str = "mse"
    sigmoid: bool = True
    width: int = 4096  # core.model.networks.MEMNET_WIDTH (not imported here: it would load TensorFlow)
    bottlenecks: bool = False
    learning_rate: float = 1e-4
    patience: int = 3
    seed: int = 0
    resmem: str = "assets/resmem"


def euclidean_loss(y_true, y_pred):
    """Caffe's EuclideanLoss, as the powerai MemNet trained with: sum of squares / (2 N)."""
    import keras

    y_true = keras.ops.reshape(keras.ops.cast(y_true, y_pred.dtype), keras.ops.shape(y_pred))
    return 0.5 * keras.ops.sum(keras.ops.square(y_pred - y_true), axis=-1)


LOSSES = {"mse": "mean_squared_error", "euclidean": euclidean_loss}


def memnet_options(settings, init_bucket):
    """build_memnet's keywords (model.json's architecture_options): its conv1-conv5 are those of
    the ResMem it starts from, named only when they are not ResMem's own (a test bucket's)."""
    from core.model.networks import MEMNET_CONVS

    options = {"sigmoid": settings.sigmoid, "width": settings.width}
    convs = init_bucket.architecture_options.get("memnet_convs") if init_bucket else None
    return {**options, "convs": list(convs)} if convs and tuple(convs) != MEMNET_CONVS else options


def copy_resmem_convs(model, bucket):
    """Copy conv1-conv5 of the ResMem ``bucket``'s MemNet branch into ``model``."""
    from core.model.networks import MEMNET_CONV_LAYERS, build_network

    resmem = build_network(bucket.architecture, bucket.preprocessing.crop, bucket.architecture_options)
    resmem.load_weights(bucket.weights_path)
    for name in MEMNET_CONV_LAYERS:
        model.get_layer(name).set_weights(resmem.get_layer(name).get_weights())


def bucket_facts(settings, state, spec, data_facts, init_bucket, n_train, n_val, photos):
    """model.json of the trained bucket: what it is, how to feed it and how it was made."""
    from training.convert_resmem import LICENSE

    init = init_bucket.facts if init_bucket is not None else {}
    if init and init.get("id") != "resmem":  # another ResMem (a test bucket): its own licence
        licence = f"Derived from {init.get('name')}'s weights, so its licence applies: {init.get('license')}"
    elif init or data_facts.get("teacher") == "resmem":
        licence = "Derived from ResMem's weights or labels, so ResMem's licence applies: " + LICENSE
    else:
        licence = "The licence of the training data applies to these weights."
    return {
        "id": "memnet", "name": "MemNet",
        "description": ("Predicts image memorability on LaMem's 0..1 scale with MemNet: AlexNet-style "
                        "conv1-conv5, fc6 and fc7, trained by training/train.py."),
        "type": "Image-to-Score Regression",
        "source": f"trained on {settings.data} (split {settings.split}) by training/train.py",
        "license": licence,
        "architecture": "memnet",
        "architecture_options": memnet_options(settings, init_bucket),
        "weights": WEIGHTS_FILE,
        "input_size": spec.crop,
        "preprocessing": asdict(spec),
        "output": {"name": "memorability", "range": [0.0, 1.0] if settings.sigmoid else None},
        "provenance": {
            "trainer": "training/train.py", "settings": asdict(settings),
            "augmentation": None if settings.bottlenecks else AUGMENTATION,
            "init_weights_md5": init_bucket.weights_md5 if init_bucket else None,
            "labels": data_facts or None, "train_images": n_train, "val_images": n_val,
            "epochs_run": state["epochs_done"], "best_epoch": state["best_epoch"],
            "val_spearman": state["best_spearman"], "photos": photos},
    }


def train(settings, out, resume=False, keep_checkpoints=False, allow_overlap=False):
    """Run (or resume) training per ``settings`` and write the bucket ``out``; return its facts.
    A photo in two of train, val and test (when test_K exists) stops it first, unless ``allow_overlap``."""
    if settings.width < 1:
        raise ValueError(f"--width must be at least 1, not {settings.width}")
    train_set = read_split(settings.data, "train", settings.split)
    val_set = read_split(settings.data, "val", settings.split)
    sets = {"train": train_set, "val": val_set}
    if split_path(settings.data, "test", settings.split).is_file():  # its names and pixels only, never its scores
        sets["test"] = read_split(settings.data, "test", settings.split)
    photos = overlap.checked(sets, settings.split, allow_overlap)  # recorded, for evaluate to refuse
    if settings.init not in ("resmem", "none"):
        raise ValueError(f"--init must be resmem or none, not {settings.init!r}")
    if settings.bottlenecks and settings.init != "resmem":
        raise ValueError("--bottlenecks trains on frozen conv features: it needs --init resmem")
    out, folder = Path(out), Path(out) / CHECKPOINTS
    state = read_state(folder)
    if state and not resume:
        raise FileExistsError(f"{folder} holds a checkpoint: pass --resume to go on, or choose a new --out")
    if resume and state and state["settings"] != asdict(settings):
        raise ValueError(f"--resume with other settings than the checkpoint's: {state['settings']}")
    # Only now TensorFlow (5 to 9 s to import): a bad split, flag or checkpoint is told at once.
    import keras

    from core.inputs.pipeline import InputPipeline
    from core.model.bucket import Preprocessing, open_bucket, write_facts
    from core.model.checksums import write_md5sums
    from core.model.networks import build_memnet
    from training import bottlenecks as cache
    from training.convert_resmem import FACTS as RESMEM_FACTS
    from training.epoch_checkpoint import SpearmanCheckpoint
    from training.pipeline import array_dataset, image_dataset
    folder.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(settings.seed)

    # MemNet is fed exactly as ResMem's MemNet branch, through the service's own input pipeline.
    spec = Preprocessing.from_facts(RESMEM_FACTS["preprocessing"])
    pipeline = InputPipeline.from_settings(spec, config.settings())
    init_bucket = open_bucket(settings.resmem) if settings.init == "resmem" else None
    model = build_memnet(spec.crop, **memnet_options(settings, init_bucket))
    if init_bucket is not None:
        copy_resmem_convs(model, init_bucket)
    scores = [s for _, s in train_set]
    if settings.bottlenecks:
        trained = cache.head_model(model)
        features = cache.features(model, train_set + val_set, pipeline, folder)
        train_data = array_dataset(features[:len(train_set)], scores, settings.batch, True, settings.seed)
        val_data = array_dataset(features[len(train_set):], [s for _, s in val_set], settings.batch)
    else:
        trained = model
        train_data = image_dataset(train_set, pipeline, settings.batch, augment=True, shuffle=True,
                                   seed=settings.seed)
        val_data = image_dataset(val_set, pipeline, settings.batch)

    if state and resume:
        log.info("resuming after epoch %d of %d", state["epochs_done"], settings.epochs)
        trained = keras.models.load_model(folder / LAST, custom_objects={"euclidean_loss": euclidean_loss})
    else:
        cache.start_output_at_mean(trained, scores, settings.sigmoid)
        trained.compile(optimizer=keras.optimizers.Adam(settings.learning_rate),
                        loss=LOSSES[settings.loss])
    checkpoint = SpearmanCheckpoint(folder, val_data, [s for _, s in val_set], asdict(settings),
                                    settings.patience, state if resume else None)
    done = checkpoint.state["epochs_done"]
    stopped = done and done - checkpoint.state["best_epoch"] >= settings.patience
    if done < settings.epochs and not stopped:
        trained.fit(train_data, epochs=settings.epochs, initial_epoch=done, callbacks=[checkpoint],
                    verbose=1 if sys.stderr.isatty() else 2)

    trained.load_weights(folder / BEST)
    for layer in trained.layers:  # the head's trained layers are MemNet's own, by name
        if layer.weights:
            model.get_layer(layer.name).set_weights(layer.get_weights())
    # Written from a MemNet that was never compiled: Keras 3 saves a compiled model's optimizer
    # state beside its weights, which tripled the served file (675 MB for 225 MB of weights).
    served = build_memnet(spec.crop, **memnet_options(settings, init_bucket))
    for layer in model.layers:
        if layer.weights:
            served.get_layer(layer.name).set_weights(layer.get_weights())
    served.save_weights(out / WEIGHTS_FILE)
    teacher = Path(settings.data) / "teacher.json"
    data_facts = json.loads(teacher.read_text()) if teacher.is_file() else {}
    facts = bucket_facts(settings, checkpoint.state, spec, data_facts, init_bucket,
                         len(train_set), len(val_set), photos)
    write_facts(out, facts)
    write_md5sums(out, [WEIGHTS_FILE, "model.json"])
    if not keep_checkpoints:
        shutil.rmtree(folder)
    return facts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="LaMem-format dataset folder")
    parser.add_argument("--split", required=True, type=int, choices=range(1, 6), help="split number K")
    parser.add_argument("--out", required=True, type=Path, help="bucket folder to write")
    parser.add_argument("--epochs", type=int, default=Settings.epochs, help="most epochs to run")
    parser.add_argument("--batch", type=int, default=Settings.batch, help="images per step")
    parser.add_argument("--init", default=Settings.init, choices=("resmem", "none"),
                        help="start conv1-conv5 from ResMem's MemNet branch, or at random")
    parser.add_argument("--loss", default=Settings.loss, choices=sorted(LOSSES),
                        help="mse, or Caffe's Euclidean loss as the powerai project used")
    parser.add_argument("--linear", action="store_true", help="a linear output instead of the sigmoid")
    parser.add_argument("--width", type=int, default=Settings.width,
                        help="units of fc6 and fc7 (4096 as published; fewer for a small dataset)")
    parser.add_argument("--bottlenecks", action="store_true",
                        help="train only fc6-fc8 on cached conv5 features (needs --init resmem)")
    parser.add_argument("--learning-rate", type=float, default=Settings.learning_rate)
    parser.add_argument("--patience", type=int, default=Settings.patience,
                        help="stop after this many epochs without a better val Spearman")
    parser.add_argument("--seed", type=int, default=Settings.seed)
    parser.add_argument("--resmem", default=Settings.resmem, help="the ResMem bucket for --init resmem")
    parser.add_argument("--resume", action="store_true", help="go on from BUCKET/checkpoints/")
    parser.add_argument("--keep-checkpoints", action="store_true", help="keep BUCKET/checkpoints/ at the end")
    parser.add_argument("--allow-overlap", action="store_true",
                        help="go on when a photo is in two of train, val and test (by name or as a near-duplicate); "
                             "model.json records the pairs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    settings = Settings(data=str(args.data), split=args.split, epochs=args.epochs, batch=args.batch,
                        init=args.init, loss=args.loss, sigmoid=not args.linear, width=args.width,
                        bottlenecks=args.bottlenecks, learning_rate=args.learning_rate,
                        patience=args.patience, seed=args.seed, resmem=args.resmem)
    try:
        facts = train(settings, args.out, args.resume, args.keep_checkpoints, args.allow_overlap)
    except (DatasetError, FileExistsError, ValueError, OSError, RuntimeError) as error:
        log.error("%s", error)
        return 2
    prov = facts["provenance"]
    log.info("wrote %s: best val Spearman %.4f at epoch %d of %d", args.out, prov["val_spearman"],
             prov["best_epoch"], prov["epochs_run"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
