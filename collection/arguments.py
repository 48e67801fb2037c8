"""The command line of `python -m score`: its flags, their defaults from config.py, and the
checks of their combinations. collection/cli.py runs what they ask."""
import argparse
import os

from collection.local import WORKERS
from collection.remote import CONCURRENCY, RETRIES
from collection.results import MAP_FORMATS


def parse_args(argv, defaults, description=None, prog="python -m score"):
    """The flags of `python -m score` over ``defaults`` (config.Settings); exits 2 on a bad one."""
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", help="photos, or folders to walk (hidden files are skipped)")
    parser.add_argument("--follow-links", action="store_true",
                        help="enter symlinked folders in a walk (each real folder once, so a loop ends); "
                             "without it they are left out, as find does; a symlink to a file is always an input")
    parser.add_argument("--from-list", metavar="FILE", help="also score the paths in FILE, one a line ('-': stdin)")
    parser.add_argument("--out", required=True, help="the output: CSV, or JSON Lines if it ends in .jsonl")
    parser.add_argument("--overwrite", action="store_true", help="start over instead of resuming")
    parser.add_argument("--maps", metavar="DIR", help="also write each photo's map (overlay PNG and "
                        "heatmap) under DIR, as /model/explain makes them; about 6 passes a photo")
    parser.add_argument("--maps-format", choices=MAP_FORMATS, default="npy", help="heatmap file format")
    parser.add_argument("--fps", type=float, default=1.0,
                        help="a video's frames sampled a second, one row each, with its time (%(default)s); "
                             "--maps maps its 3 most memorable moments")
    parser.add_argument("--stable", action=argparse.BooleanOptionalAction, default=defaults.stable_by_default,
                        help="score each photo as the mean of it and its mirror image (twice the passes) and "
                             "add the column mirror_delta; MODEL_TTA=mirror makes it the default (%(default)s)")
    parser.add_argument("--crops", metavar="RATIOS", help="also the best crop of each ratio W:H (e.g. 1:1,16:9) "
                        "as /model/crops finds it: columns crop_WxH, _memorability, _delta_vs_center")
    parser.add_argument("--regions", metavar="FILE",
                        help="named regions per photo (JSON, or CSV path,name,x0,y0,x1,y1): "
                        "the column regions, each region's effect as /model/regions measures it")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (also off when not a terminal)")
    parser.add_argument("--summary-json", metavar="FILE", help="also write the closing summary as JSON")
    model = parser.add_argument_group("the model, in this process")
    model.add_argument("--bucket", default=defaults.MODEL_BUCKET, help="MODEL_BUCKET (%(default)s)")
    model.add_argument("--precision", default=defaults.MODEL_PRECISION, help="MODEL_PRECISION (%(default)s)")
    model.add_argument("--batch-size", type=int, default=defaults.BATCH_SIZE, help="BATCH_SIZE (%(default)s)")
    model.add_argument("--workers", type=int, default=WORKERS,
                       help="threads that decode ahead of the model; 0 decodes in turn (%(default)s)")
    model.add_argument("--threads", type=int, default=defaults.MODEL_THREADS,
                       help="MODEL_THREADS (%(default)s)")
    model.add_argument("--jpeg-draft", action=argparse.BooleanOptionalAction, default=defaults.JPEG_DRAFT,
                       help="JPEG_DRAFT: decode big JPEGs at reduced size (%(default)s)")
    model.add_argument("--max-pixels", type=int, default=defaults.MAX_IMAGE_PIXELS,
                       help="MAX_IMAGE_PIXELS (%(default)s)")
    model.add_argument("--explain-grid", type=int, default=defaults.EXPLAIN_GRID,
                       help="EXPLAIN_GRID of the maps; 0: the tier's (%(default)s)")
    remote = parser.add_argument_group("a running service instead (--url)")
    remote.add_argument("--url", help="send the photos to the service at URL, e.g. http://localhost:5000")
    remote.add_argument("--concurrency", type=int, default=CONCURRENCY, help="requests in flight (%(default)s)")
    remote.add_argument("--max-files", type=int, default=defaults.MAX_FILES,
                        help="photos per request, the service's MAX_FILES (%(default)s)")
    remote.add_argument("--retries", type=int, default=RETRIES,
                        help="retries of a dropped connection or a timeout (%(default)s)")
    remote.add_argument("--retry-for", type=int, default=defaults.RETRY_FOR, metavar="SECONDS",
                        help="RETRY_FOR: how long one request may keep retrying (a busy service's 503s "
                             "included) before its photos get an error row (%(default)s)")
    cluster = parser.add_argument_group("a Ray cluster instead (--ray): folders, s3:// or gs:// prefixes, "
                                        "manifests; --out a Parquet folder (local or s3://) or a .csv")
    cluster.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                         help="run as a Ray Data job on the cluster at ADDRESS (ray://head:10001, auto, or local: "
                              "a new Ray on this machine); alone, as ray.init: RAY_ADDRESS, else the Ray started "
                              "on this machine, else a new one")
    cluster.add_argument("--actors", type=int, help="scoring actors, each with the model loaded once "
                         "(default: one per node with the CPUs for one)")
    cluster.add_argument("--actor-cpus", type=float, default=1.0,
                         help="CPUs Ray reserves for each actor; its threads are --threads (%(default)s)")
    args = parser.parse_args(argv)
    if not args.paths and not args.from_list:
        parser.error("give photos or folders to score, or --from-list")
    for name in ("batch_size", "concurrency", "max_files", "threads", "max_pixels"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be 1 or more")
    if not 0 < args.fps <= defaults.MAX_VIDEO_FPS:
        parser.error(f"--fps must be above 0 and at most {defaults.MAX_VIDEO_FPS:g} (MAX_VIDEO_FPS)")
    if args.workers < 0 or args.retries < 0 or args.explain_grid < 0 or args.retry_for < 0:
        parser.error("--workers, --retries, --retry-for and --explain-grid cannot be negative")
    if args.url and (args.crops or args.regions):
        parser.error("--crops and --regions run in this process, not with --url")
    if args.ray is not None and (args.url or args.maps or args.crops or args.regions):
        parser.error("--ray writes the score columns only: not with --url, --maps, --crops or --regions")
    if (args.actors is not None and args.actors < 1) or args.actor_cpus <= 0:
        parser.error("--actors must be 1 or more, --actor-cpus above 0")
    if args.summary_json and os.path.realpath(args.summary_json) == os.path.realpath(args.out):
        parser.error("--summary-json and --out name the same file: the summary would replace the rows")
    uris = [path for path in args.paths + [args.from_list or "", args.out] if "://" in path]
    if uris and args.ray is None:
        parser.error(f"{uris[0]} is in object storage: score it with --ray")
    return args
