"""Which attribution method makes a faithful memorability map, and what each costs.

    make bench-explain   [IMAGES=folder of photos] [LIMIT=n] [SKIP=n] [METHODS=a,b,...] [PRECISION=tier]

The occlusion maps, and every score, run on the MODEL_PRECISION tier given (as /model/explain
does); the gradient methods need the Keras model and run in TensorFlow whatever the tier.

For every photo and method, one invocation on this machine:
  - makes the method's map and times it; the baseline in the same run is one predict();
  - puts the map over the whole photo as /model/explain does (core.analyses.heatmap.effects_grid and heatmap_of);
  - runs the deletion test (benchmarks/deletion.py): it greys the hottest 20% of the pixels,
    then the coldest 20%, and scores both. The map passes on that photo when hot < cold;
  - runs the insertion test: it blurs the photo and reveals the hottest 20%, then the coldest
    20%. The map passes when hot > cold; its insertion score is the mean of hot - cold.
Methods: occlusion-N[-offset][-mean|-blur|-grey+blur] (N x N windows, with -offset plus the
(N-1) x (N-1) windows on the grid's inner corners; hidden with grey, the photo's mean colour,
the photo blurred, or the mean of grey and blur), and the gradient methods.
It prints, per method, the fraction of photos passed, the mean fall of the score for each
deletion, and the median milliseconds with their ratio to predict(), and writes the JSON.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.deletion import greyed_pair, revealed_pair
from benchmarks.single_image import PHOTO_SUFFIXES

ROOT = Path(__file__).resolve().parent.parent

METHODS = ("occlusion-2", "occlusion-2-mean", "occlusion-2-blur", "occlusion-2-grey+blur", "occlusion-2-offset",
           "occlusion-3", "occlusion-3-offset", "gradient-x-activation", "grad-cam-resnet", "grad-cam-memnet",
           "random")


class GradientMethods:
    """The gradient-based candidates, on the same model: maps over the model's input crop."""

    def __init__(self, model):
        import keras
        import tensorflow as tf

        from core.analyses.explain import GREY
        from core.inputs.images import preprocess
        from core.model.networks import build_network

        self.tf, self.model = tf, model
        net = build_network(model.bucket.architecture, model.spec.crop, model.bucket.architecture_options)
        net.load_weights(model.bucket.weights_path)  # gradients need the Keras model itself
        names = ("features_layer3_35_out", "conv5", "features_layer4_2_out")
        self.front = keras.Model(net.input, [net.get_layer(n).output for n in names])
        self.tail = keras.Model([net.get_layer(n).output for n in names[:2]], net.output)
        self.grad_model = keras.Model(net.input, [net.get_layer(n).output for n in names] + [net.output])
        size = model.spec.crop
        grey = preprocess(Image.new("RGB", tuple(model.spec.resize), GREY), model.spec)[None]
        self.grey = [a.numpy() for a in self.front(grey)[:2]]

        spec = tf.TensorSpec([1, size, size, 3], tf.float32)
        # Compiled, as the served path is, so that the timings compare like with like.
        self._gxa = tf.function(self._gxa_tensors, input_signature=[spec])
        self._cam = tf.function(self._cam_tensors, input_signature=[spec])

    def _gxa_tensors(self, x):
        tf = self.tf
        acts = self.front(x)[:2]
        with tf.GradientTape() as tape:
            tape.watch(acts)
            score = self.tail(acts)
            logit = tf.math.log(score / (1 - score))
        return acts, tape.gradient(logit, acts)

    def _cam_tensors(self, x):
        tf = self.tf
        with tf.GradientTape() as tape:
            *acts, score = self.grad_model(x)
            logit = tf.math.log(score / (1 - score))
        return acts, tape.gradient(logit, acts)

    def _upsample(self, cells, size):
        return np.asarray(Image.fromarray(cells.astype(np.float32)).resize((size, size), Image.BILINEAR))

    def gradient_x_activation(self, x):
        """First-order estimate of greying each position: (A - A_grey) . d logit / dA, two branches."""
        acts, grads = self._gxa(self.tf.constant(x[None]))
        total = 0
        for act, grad, grey in zip(acts, grads, self.grey):
            cells = ((act.numpy()[0] - grey[0]) * grad.numpy()[0]).sum(-1)
            total = total + self._upsample(cells, len(x)) / (len(x) / len(cells)) ** 2
        return total

    def grad_cam(self, x, branch):
        acts, grads = self._cam(self.tf.constant(x[None]))
        index = {"resnet": 2, "memnet": 1}[branch]
        act, grad = acts[index].numpy()[0], grads[index].numpy()[0]
        return self._upsample(np.maximum((act * grad.mean(axis=(0, 1))).sum(-1), 0), len(x))


def make_map(method, model, gradients, image, rng):
    """A map over the resized frame, in the same convention as core.analyses.explain (high = raises)."""
    from core.analyses.explain import BASELINES, explain_prepared, in_frame
    from core.inputs.images import preprocess

    def crop_to_frame(crop_map, spec):
        return in_frame(crop_map, spec)[0]

    if method.startswith("occlusion-"):  # occlusion-N[-offset][-baseline]
        parts = method.split("-")
        baseline = parts[-1] if parts[-1] in BASELINES else "grey"
        return explain_prepared(model, preprocess(image, model.spec), int(parts[1]), "offset" in parts, baseline).frame
    x = preprocess(image, model.spec)
    if method == "gradient-x-activation":
        return crop_to_frame(gradients.gradient_x_activation(x), model.spec)
    if method.startswith("grad-cam-"):
        return crop_to_frame(gradients.grad_cam(x, method.split("-")[2]), model.spec)
    if method == "random":  # the floor: a map that knows nothing
        return crop_to_frame(gradients._upsample(rng.standard_normal((7, 7)), model.spec.crop), model.spec)
    raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")


def served(precision):
    """The method /model/explain runs on ``precision`` with the default settings."""
    from core.model.tiers import TIERS

    return f"occlusion-{TIERS[precision].grid}"


def run(photos, methods, precision):
    import config
    from core.analyses.explain import MapSettings
    from core.analyses.heatmap import effects_grid, heatmap_of, overlay_png
    from core.model.wrapper import ModelWrapper

    settings = config.settings().replace(MODEL_BUCKET=str(ROOT / "assets" / "resmem"), MODEL_PRECISION=precision)
    maps = MapSettings.from_settings(settings)
    model = ModelWrapper(settings)
    gradients = GradientMethods(model) if any(not m.startswith(("occlusion", "random")) for m in methods) else None
    rng = np.random.default_rng(0)
    rows = {m: {"passed": [], "fall_hot": [], "fall_cold": [], "ms": [], "inserted": [], "insertion": []}
            for m in methods}
    baseline_ms, served_ms = [], []
    served_method = served(precision)
    for number, photo in enumerate(photos, 1):
        decoded = model.pipeline.prepare(photo, photo.name)  # as /model/explain decodes it
        image = decoded.image
        start = time.perf_counter()
        score = model.predict([image])[0]["memorability"]
        baseline_ms.append((time.perf_counter() - start) * 1000)
        for method in methods:
            start = time.perf_counter()
            frame = make_map(method, model, gradients, image, rng)
            grid = heatmap_of(effects_grid(frame, image.size, maps.heatmap_size))
            rows[method]["ms"].append((time.perf_counter() - start) * 1000)
            if method == served_method:  # what the endpoint does besides the map: the overlay PNG
                overlay_png(image, effects_grid(frame, image.size, maps.heatmap_size), maps.effect_scale,
                            maps.overlay_size)
                served_ms.append((time.perf_counter() - start) * 1000)
            hot, cold = (p["memorability"] for p in model.predict(list(greyed_pair(image, grid))))
            row = rows[method]
            row["passed"].append(bool(hot < cold))
            row["fall_hot"].append(score - hot)
            row["fall_cold"].append(score - cold)
            hot, cold = (p["memorability"] for p in model.predict(list(revealed_pair(image, grid))))
            row["inserted"].append(bool(hot > cold))
            row["insertion"].append(hot - cold)
        print(f"\r{number}/{len(photos)} photos", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return rows, baseline_ms, served_ms


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, default=ROOT / "samples")
    parser.add_argument("--limit", type=int, default=0, help="use the first n photos (0: all)")
    parser.add_argument("--skip", type=int, default=0, help="skip the first n photos (a held-out set)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--precision", default="fp32", help="MODEL_PRECISION of the model (fp32)")
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts" / "bench-explain.json")
    args = parser.parse_args(argv)
    photos = sorted(p for p in args.images.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    photos = photos[args.skip:][:args.limit or None]
    methods = args.methods.split(",")
    rows, baseline_ms, served_ms = run(photos, methods, args.precision)

    base = float(np.median(baseline_ms))
    print(f"{len(photos)} photos from {args.images}, {args.precision}; deletion test: grey the hottest vs coldest 20%")
    print(f"{'method':24s} {'hot<cold':>8s} {'fall hot':>9s} {'fall cold':>9s} {'hot>cold':>8s} "
          f"{'insertion':>9s} {'p50 ms':>8s} {'x predict':>9s}")
    print(f"{'predict() (baseline)':24s} {'':>8s} {'':>9s} {'':>9s} {'':>8s} {'':>9s} {base:8.0f} {1:9.2f}")
    summary = {"photos": len(photos), "images": str(args.images), "predict_p50_ms": base, "methods": {}}
    for method, row in rows.items():
        ms = float(np.median(row["ms"]))
        entry = {"passed": float(np.mean(row["passed"])), "mean_fall_hot": float(np.mean(row["fall_hot"])),
                 "mean_fall_cold": float(np.mean(row["fall_cold"])), "inserted": float(np.mean(row["inserted"])),
                 "mean_insertion": float(np.mean(row["insertion"])), "p50_ms": ms, "ratio_to_predict": ms / base}
        summary["methods"][method] = entry
        print(f"{method:24s} {entry['passed']:8.3f} {entry['mean_fall_hot']:+9.4f} "
              f"{entry['mean_fall_cold']:+9.4f} {entry['inserted']:8.3f} {entry['mean_insertion']:+9.4f} "
              f"{ms:8.0f} {ms / base:9.2f}")
    if served_ms:
        served_p50 = float(np.median(served_ms))
        summary["served_p50_ms"] = served_p50
        print(f"/model/explain's work ({served(args.precision)} + grid + overlay PNG): p50 {served_p50:.0f} ms, "
              f"{served_p50 / base:.2f}x predict()")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
