"""Fidelity and speed of JPEG draft decoding (JPEG_DRAFT: core.inputs.pipeline.InputPipeline's draft).

    python -m benchmarks.draft --images DIR [--limit 30] [--scale 4]

Camera photos are large; the photos at hand are not. So each photo is enlarged ``--scale``
times (Lanczos) and saved as a JPEG at quality 92, like a camera's, and then scored by ResMem
decoded in full and decoded with a draft of 2x the model's resize. Prints the time to decode
and preprocess, and the largest score difference.
"""
import argparse
import io
import time
from pathlib import Path

import numpy as np
from PIL import Image

import config
from core.inputs.pipeline import InputPipeline
from core.model.wrapper import ModelWrapper

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", required=True, type=Path)
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--scale", type=int, default=4)
    args = parser.parse_args(argv)
    settings = config.settings().replace(MODEL_BUCKET=str(ROOT / "assets" / "resmem"), MAX_IMAGE_PIXELS=10**9)
    model = ModelWrapper(settings)
    pipelines = {draft: InputPipeline(model.spec, settings.MAX_IMAGE_PIXELS, draft, settings.MAX_IMAGE_BYTES)
                 for draft in (False, True)}
    draft = pipelines[True].draft_size
    files = sorted(p for p in args.images.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))[:args.limit]
    full_ms, draft_ms, diffs, sizes = [], [], [], []
    for path in files:
        with Image.open(path) as image:
            big = image.convert("RGB").resize((image.width * args.scale, image.height * args.scale),
                                              Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        big.save(buffer, "JPEG", quality=92)
        data = buffer.getvalue()
        sizes.append(big.width * big.height / 1e6)
        scores = []
        for drafted, timings in ((False, full_ms), (True, draft_ms)):
            start = time.perf_counter()
            photo = pipelines[drafted].prepare(data)
            timings.append((time.perf_counter() - start) * 1000)
            scores.append(float(model.scores(photo.x[None])[0]))
        diffs.append(abs(scores[0] - scores[1]))
    print(f"{len(files)} photos of {np.median(sizes):.1f} MP (median), draft at >= {draft[0]} px:")
    print(f"decode + preprocess p50: full {np.median(full_ms):.1f} ms, draft {np.median(draft_ms):.1f} ms "
          f"({np.median(full_ms) / np.median(draft_ms):.1f}x faster)")
    print(f"score difference: max {max(diffs):.2e}, mean {np.mean(diffs):.2e}")


if __name__ == "__main__":
    main()
