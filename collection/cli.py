"""Score a collection of photos: one row per input, in input order, resumable.

    python -m score stimuli/ --out scores.csv              # a folder, walked recursively
    python -m score a.jpg b.png --out scores.jsonl         # files; .jsonl writes JSON Lines
    find . -name '*.jpg' | python -m score --from-list - --out scores.csv
    python -m score stimuli/ --out scores.csv --url http://memorability:5000   # a running service
    python -m score s3://bucket/stimuli/ --ray --out s3://bucket/scores/     # a Ray Data job

Every file is an input: whether it is an image is decided by its bytes, as the service decides.
A file that cannot be scored gets a row with the service's message in `error`, and the run goes
on. Rows are written batch by batch; run the same command again after a kill or Ctrl-C and it
skips the paths already in the output. Settings default to config.py's, read from the same
environment variables as the service (config.py: MODEL_BUCKET, MODEL_PRECISION, BATCH_SIZE,
JPEG_DRAFT, MAX_IMAGE_PIXELS, ...); the flags override them.

Every path gets one row: a FIFO, a socket or a device gets its error ("not a regular file") and
nothing blocks on it; a file over MAX_IMAGE_BYTES (a video: MAX_VIDEO_BYTES) is refused once its
first bytes say which it is. A file met in a walk whose first bytes are no image nor video, and
whose name claims no format taken (a README, a CSV), gets its row, and is counted as "not an
image", not as a failure. Symlinked folders are entered with --follow-links.

Exit status: 0 when every input was scored (or was, in a walk, not an image), 1 when some could
not be (their rows say why), 2 for a usage or set-up error (nothing scored), 3 when the service
at --url or the Ray job failed mid-run, 4 when there was no room to write the output or a map (a
full disk, a quota, a file size limit; the rows written are whole: free some room and run the same
command again to resume), 130 when interrupted.
"""
import contextlib
import json
import logging
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter, before it loads

import config
from collection import arguments
from collection.inputs import InputError, check_paths
from collection.results import NO_ROOM, NoRoomError, OutputError, ResultsFile
from collection.run import Run, progress_bar, report, run
from core.model.bucket import BucketError
from core.model.outputs import default_output, parse_outputs

log = logging.getLogger("score")
NO_ROOM_STATUS = 4  # the exit status of NoRoomError


def parse_args(argv, defaults, prog="python -m score"):
    return arguments.parse_args(argv, defaults, __doc__, prog)

def design_options(args, defaults):
    """(crop ratios or None, regions by photo or None, the extra columns) of --crops and --regions."""
    from collection.design import crop_fields, read_regions_file
    from core.analyses.crops import parse_ratios

    ratios = parse_ratios(args.crops, "--crops") if args.crops else None
    regions = read_regions_file(args.regions, defaults.MAX_REGIONS) if args.regions else None
    ranked_by = default_output(parse_outputs(defaults.MODEL_OUTPUTS))  # they run in this process, on its outputs
    extra = (crop_fields(ratios, ranked_by) if ratios else ()) + (("regions",) if regions is not None else ())
    return ratios, regions, extra

def settings_of(args, defaults):
    """config.Settings with the model flags applied."""
    return defaults.replace(
        MODEL_BUCKET=args.bucket, MODEL_PRECISION=args.precision, BATCH_SIZE=args.batch_size,
        MODEL_THREADS=args.threads, JPEG_DRAFT=args.jpeg_draft, MAX_IMAGE_PIXELS=args.max_pixels,
        EXPLAIN_GRID=args.explain_grid, MAX_FILES=args.max_files, RETRY_FOR=args.retry_for)

def make_scorer(args, defaults, crops=None, regions=None):
    """The local or the remote scorer (collection.items.Scorer), from the settings and flags."""
    settings = settings_of(args, defaults)
    if args.url:
        from collection.remote import RemoteScorer

        return RemoteScorer(args.url, settings, concurrency=args.concurrency, retries=args.retries,
                            maps=bool(args.maps), stable=args.stable, fps=args.fps)
    from collection.local import LocalScorer

    return LocalScorer(settings, workers=args.workers, maps=bool(args.maps), stable=args.stable, fps=args.fps,
                       crops=crops, regions=regions)

def run_on_ray(args, defaults):
    """--ray: the same rows, as a Ray Data job (collection/cluster.py)."""
    try:
        from collection.cluster import JobError, run_job
        from collection.storage import StorageError
    except ImportError as error:  # `make run`'s environment has no Ray
        print(f"error: --ray needs Ray and pyarrow ({error}): pip install -r requirements-ray.txt", file=sys.stderr)
        return 2

    try:
        summary = run_job(args, settings_of(args, defaults))
    except NoRoomError as error:
        print(f"error: {error}\nfree some room, then run the same command again to resume", file=sys.stderr)
        return NO_ROOM_STATUS
    except (InputError, OutputError, StorageError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except JobError as error:
        print(f"error: the Ray job failed: {error}\nrun the same command again to resume", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print(f"\ninterrupted: run the same command again to resume from {args.out}", file=sys.stderr)
        return 130
    report(summary, default_output(parse_outputs(defaults.MODEL_OUTPUTS)))
    if summary["missing"]:
        print(f"warning: {summary['missing']} inputs have no row; run the same command again", file=sys.stderr)
    if args.summary_json and not write_summary(args.summary_json, summary):
        return NO_ROOM_STATUS
    return 1 if summary["failed"] or summary["skipped_failed"] or summary["missing"] else 0

def write_summary(path, summary):
    """Write --summary-json; False, having said so, when there was no room for it (the rows are whole)."""
    try:
        with open(path, "w", encoding="utf-8") as stream:
            json.dump(summary, stream, indent=2)
            stream.write("\n")
    except OSError as error:
        if error.errno not in NO_ROOM:
            raise
        with contextlib.suppress(OSError):
            os.unlink(path)  # no summary rather than half of one
        print(f"error: {NoRoomError(path, error)}; every row is written", file=sys.stderr)
        return False
    return True

def main(argv=None, prog="python -m score"):
    try:
        defaults = config.settings()
    except config.SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    args = parse_args(argv, defaults, prog)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    if args.ray is not None:
        return run_on_ray(args, defaults)
    from collection.remote import ServiceError

    state = Run()
    scorer = out = None
    try:
        check_paths(args.paths + ([args.from_list] if args.from_list not in (None, "-") else []))
        crops, regions, extra = design_options(args, defaults)
        if args.url:  # its columns are the service's outputs: asked first (one GET)
            scorer = make_scorer(args, defaults, crops, regions)
        outputs = scorer.outputs if scorer else parse_outputs(defaults.MODEL_OUTPUTS)
        out = ResultsFile(args.out, overwrite=args.overwrite, stable=args.stable, extra=extra, outputs=outputs)
        if args.maps:  # made now, so that a walk that meets it knows it as this run's
            os.makedirs(args.maps, exist_ok=True)
        # The model loads after the output is known to be usable: a wrong file fails at once.
        scorer = scorer or make_scorer(args, defaults, crops, regions)
    except (InputError, OutputError, BucketError, ServiceError, OSError, ValueError, NoRoomError) as error:
        for opened in (scorer, out):
            if opened is not None:
                opened.close()
        room = isinstance(error, NoRoomError)
        again = "; free some room, then run the same command again" if room else ""
        print(f"error: {error}{again}", file=sys.stderr)
        return NO_ROOM_STATUS if room else 2
    load_seconds = time.monotonic() - state.started
    bar = progress_bar(args)
    try:
        run(args, scorer, out, state, bar)
    except ServiceError as error:
        print(f"error: {error}\n{state.scored + state.failed} rows written to {args.out}; run the "
              "same command again to resume", file=sys.stderr)
        return 3
    except NoRoomError as error:
        print(f"error: {error}\nthe rows in {args.out} are whole: free some room, then run the same command "
              "again to resume", file=sys.stderr)
        return NO_ROOM_STATUS
    except KeyboardInterrupt:
        print(f"\ninterrupted: {state.scored + state.failed} rows written to {args.out}; run the same "
              "command again to resume", file=sys.stderr)
        return 130
    finally:
        scorer.close()
        out.close()
        if bar:
            bar.close()
    output = default_output(scorer.outputs)
    summary = state.summary(args.out, scorer.description, load_seconds, output)
    report(summary, output)
    if args.summary_json and not write_summary(args.summary_json, summary):
        return NO_ROOM_STATUS
    return 1 if summary["failed"] or summary["skipped_failed"] else 0


def entry(prog="memorability-score"):
    """The console script (pyproject.toml) and ``python -m score``: main's exit status, 130 for a
    Ctrl-C before any row was written (while the model loads)."""
    try:
        sys.exit(main(prog=prog))
    except KeyboardInterrupt:
        sys.exit(130)
