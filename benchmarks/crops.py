"""`make bench-crops`: the crop search against an exhaustive search and the centre crop, and the
cost of crops and regions, per tier, in one run on this machine.

    python -m benchmarks.crops --images DIR [--limit 30] [--precisions fp32 lite-int8] [--scored 6 12]

For each photo and each of the ratios 1:1, 4:5, 16:9 and 9:16 (min_scale 1, the API's default),
it runs core.analyses.crops.search_crops as /model/crops does, and an exhaustive search that scores every
window of the same candidate grid. It reports how often the searched best is within the noise
band (TIE_THRESHOLD) of the exhaustive best, and how often it is the same window; the mean
delta_vs_center of the chosen crop; passes per ratio of both searches; the p50 of a four-ratio
search (the baseline: the exhaustive one, in the same run); and the p50 of /model/regions' work
with four regions. test-artifacts/bench-crops.json keeps the figures. Nothing here is asserted.
"""
import argparse
import json
import statistics
import time
from pathlib import Path

import config
from benchmarks.single_image import PHOTO_SUFFIXES
from core.analyses.crops import SCORED, parse_ratios, search_crops
from core.analyses.explain import MapSettings
from core.analyses.marks import parse_regions
from core.analyses.regions import measure_regions
from core.model.wrapper import ModelWrapper

ROOT = Path(__file__).resolve().parent.parent
RATIOS = parse_ratios("1:1,4:5,16:9,9:16")
FOUR_REGIONS = parse_regions([{"name": "top left", "box": [0.1, 0.1, 0.45, 0.45]},
                              {"name": "top right", "box": [0.55, 0.1, 0.9, 0.45]},
                              {"name": "middle", "points": [[0.3, 0.4], [0.7, 0.4], [0.5, 0.8]]},
                              {"name": "bottom", "box": [0.1, 0.7, 0.9, 0.9]}], 16)


def timed(call, *args, **kwargs):
    begin = time.perf_counter()
    result = call(*args, **kwargs)
    return result, time.perf_counter() - begin


def one_tier(precision, photos, scored_options):
    settings = config.settings().replace(MODEL_PRECISION=precision)
    model = ModelWrapper(settings)
    maps = MapSettings.from_settings(settings, precision)
    noise = settings.TIE_THRESHOLD
    rows = {n: {"within_noise": [], "same": [], "delta": [], "passes": [], "seconds": []} for n in scored_options}
    full_passes, full_seconds, region_seconds, map_passes = [], [], [], 0
    try:
        for path in photos:
            photo = model.pipeline.prepare(path.read_bytes(), path.name)
            full, seconds = timed(search_crops, model, photo, RATIOS, maps, noise=noise, exhaustive=True)
            full_seconds.append(seconds)
            map_passes = full["map_passes"]
            full_passes.append(sum(r.passes for r in full["ratios"]) / len(RATIOS))
            for n in scored_options:
                fast, seconds = timed(search_crops, model, photo, RATIOS, maps, noise=noise, scored_first=n)
                row = rows[n]
                row["seconds"].append(seconds)
                row["passes"].append(sum(r.passes for r in fast["ratios"]) / len(RATIOS))
                for quick, every in zip(fast["ratios"], full["ratios"]):
                    grid = [c for c in every.all_scored.values() if c.index is not None]
                    best = max(grid, key=lambda c: c.scores[fast["output"]])
                    found = max(quick.crops, key=lambda c: c.scores[fast["output"]])
                    row["within_noise"].append(found.scores[fast["output"]] >= best.scores[fast["output"]] - noise)
                    row["same"].append(found.index == best.index)
                    row["delta"].append(found.delta[fast["output"]])
            _, seconds = timed(measure_regions, model, photo, FOUR_REGIONS, maps.baseline, noise)
            region_seconds.append(seconds)
    finally:
        model.close()
    out = {"precision": precision, "photos": len(photos), "exhaustive": {
        "passes_per_ratio": statistics.mean(full_passes), "p50_s": statistics.median(full_seconds)},
        "regions_four_p50_s": statistics.median(region_seconds), "regions_four_passes": 1 + 6 * 4 + 1,
        "map_passes": map_passes, "search": {}}
    for n, row in rows.items():
        out["search"][n] = {"within_noise": statistics.mean(row["within_noise"]), "same": statistics.mean(row["same"]),
                            "mean_delta_vs_center": statistics.mean(row["delta"]),
                            "passes_per_ratio": statistics.mean(row["passes"]),
                            "p50_s": statistics.median(row["seconds"])}
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, default=ROOT / "samples")
    parser.add_argument("--limit", type=int, default=30, help="the first n photos (0: all)")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "lite-int8"])
    parser.add_argument("--scored", type=int, nargs="+", default=[SCORED], help="windows scored first, per ratio")
    args = parser.parse_args(argv)
    photos = sorted(p for p in args.images.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)[:args.limit or None]
    results = [one_tier(precision, photos, args.scored) for precision in args.precisions]
    print(f"{len(photos)} photos from {args.images}; ratios {', '.join(r.name for r in RATIOS)}; min_scale 1")
    print(f"{'tier':<10} {'search':<16} {'within noise':>12} {'same window':>11} {'mean d centre':>13} "
          f"{'passes/ratio':>12} {'p50 4 ratios':>12} {'x exhaustive':>12}")
    for r in results:
        full = r["exhaustive"]
        print(f"{r['precision']:<10} {'exhaustive':<16} {1:>12.3f} {1:>11.3f} {'':>13} "
              f"{full['passes_per_ratio']:>12.1f} {full['p50_s']:>11.2f}s {1:>12.2f}")
        for n, s in r["search"].items():
            print(f"{'':<10} {f'ranked, {n} first':<16} {s['within_noise']:>12.3f} {s['same']:>11.3f} "
                  f"{s['mean_delta_vs_center']:>+13.4f} {s['passes_per_ratio']:>12.1f} {s['p50_s']:>11.2f}s "
                  f"{s['p50_s'] / full['p50_s']:>12.2f}")
        print(f"{'':<10} regions: 4 regions, {r['regions_four_passes']} passes, p50 {r['regions_four_p50_s']:.2f}s; "
              f"the ranking map: {r['map_passes']} passes")
    out = ROOT / "test-artifacts" / "bench-crops.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
