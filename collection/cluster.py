"""Score a collection as a Ray Data job: ``python -m score URI... --ray [ADDRESS]``.

    inputs (the driver lists them: folders walked, s3:// prefixes listed, manifests read;
            the paths already in --out are dropped here, so their bytes are never read again)
      -> fetch   Ray tasks read each input's bytes, bounded (collection/storage.py), or its error
      -> score   an actor pool: each actor loads the bucket and tier once (verified against its
                 md5sums.txt) and scores through collection.local.LocalScorer, the one pipeline
      -> write   the workers write Parquet (--out folder, local or s3://); or, for --out x.csv
                 or .jsonl, the rows come back to the driver and collection.results writes them

No driver reads photo bytes, and the workers write the output, so the job scales with the nodes.
Ray Data streams the blocks, holds back reads when the actors fall behind, restarts an actor and
retries its block when a node is lost. Every input gets one row: a read or decode that fails is
a row with the service's message. With no ADDRESS the job starts a Ray on this machine.
"""
import logging
import math
import os
import time

import pyarrow as pa
import ray
from ray.data import ActorPoolStrategy, DataContext, TaskPoolStrategy
from ray.data.exceptions import ExecutionTimeoutError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from collection.inputs import check_paths, iter_inputs
from collection.items import Fetched, _basename, failure_message
from collection.parquet_output import ParquetOutput, schema
from collection.results import ResultsFile, distribution, output_fields
from collection.storage import StorageError, fetch, read_manifest
from collection.uris import is_uri
from core.inputs.images import ImageError
from core.model.outputs import default_output, parse_outputs

log = logging.getLogger(__name__)
FETCH_CPUS = 0.25  # a read task mostly waits on storage; a whole CPU each would starve the actors
BLOCK_ROWS = 64  # inputs per block: one read task, one actor call, about one Parquet file
# Read tasks in flight per scoring actor (a count of tasks, not of bytes: a block is up to
# BLOCK_ROWS inputs): two keep each actor fed where a block is read faster than it is scored, as
# from a disk or nearby storage (not measured against far storage); each one more at a time is one
# more worker process for the job to start, 1-2 s of a core.
READS_PER_ACTOR = 2
# Ray's defaults wait 30 minutes with no output when actors cannot be placed; fail fast instead.
NO_PROGRESS_S = 600
MIN_ACTORS_S = 300
# What the workers get from the driver: where the storage is, never a secret. Ray writes a job's
# runtime_env in plain text into its logs (runtime_env_agent.log) and shows it in the job's info,
# so credentials reach the workers from their own environment (the RayJob's envFrom, an
# instance role, GOOGLE_APPLICATION_CREDENTIALS on the node), as the pods' already do.
PASSED_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_REGION", "AWS_REGION",
              "AWS_EC2_METADATA_DISABLED", "TF_CPP_MIN_LOG_LEVEL")


class JobError(RuntimeError):
    """The Ray job failed as a whole (no progress, a lost output); rows written so far stand."""


def printable(path):
    """A path as Arrow (UTF-8) holds it: a name that is not UTF-8 keeps its bytes as \\xNN."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def fetch_block(block, settings):
    """The read stage: each input's bytes, or why they could not be read (Ray tasks). Anything
    unexpected on one input is its error row too, "<name> could not be scored: <type>:
    <message>", its traceback logged: a task that raised would fail its whole block on every
    retry and every resume. (The score stage's LocalScorer does the same per input.)"""
    data, errors = [], []
    for source, error in zip(block.column("source").to_pylist(), block.column("error").to_pylist()):
        path = source.decode("utf-8", "surrogateescape")
        content = None
        if error is None:
            try:
                content = fetch(path, _basename(path), settings)
            except ImageError as failure:
                error = str(failure)
            except Exception as failure:
                log.error("%s could not be read", path, exc_info=(type(failure), failure, failure.__traceback__))
                error = failure_message(_basename(path), failure)
        data.append(content)
        errors.append(error)
    return block.drop_columns(["error"]).append_column("error", pa.array(errors, pa.string())) \
        .append_column("data", pa.array(data, pa.large_binary()))


class ScoreActor:
    """The score stage: one model per actor, loaded once, through collection.local.LocalScorer."""

    def __init__(self, settings, stable, fps, tally):
        from collection.local import LocalScorer

        self.scorer = LocalScorer(settings, stable=stable, fps=fps)
        outputs = parse_outputs(settings.MODEL_OUTPUTS)
        self.fields, self.schema = output_fields(outputs, stable), schema(stable, outputs)
        self.node, self.tally = ray.get_runtime_context().get_node_id(), tally

    def __call__(self, block):
        from collection.results import rows_of

        items = [Fetched(source.decode("utf-8", "surrogateescape"), "", walked, error, data)
                 for source, walked, error, data in zip(*(block.column(name).to_pylist()
                                                          for name in ("source", "walked", "error", "data")))]
        rows, not_images = [], []
        for result in self.scorer.score(items):
            for row in rows_of(result, self.fields):
                rows.append({**row, "path": printable(row["path"])})
            if result.not_image:  # its kind, not its message: the summary counts these apart
                not_images.append(printable(result.path))
        self.tally.add.remote(self.node, len(rows), not_images)
        return pa.Table.from_pylist(rows, schema=self.schema)


@ray.remote(num_cpus=0)
class Tally:
    """Rows scored on each node, for the summary (and the test that work spread), and the paths
    that were no image in a walk (a block scored again after a node is lost counts once)."""

    def __init__(self):
        self.rows, self.not_images = {}, set()

    def add(self, node, count, not_images=()):
        self.rows[node] = self.rows.get(node, 0) + count
        self.not_images.update(not_images)

    def get(self):
        return self.rows, self.not_images


def start(address, quiet):
    """Connect to the cluster at ``address`` ("auto", "ray://head:10001", host:port; "local"
    starts a new Ray here; None does as ray.init does: RAY_ADDRESS, else the Ray started on this
    machine, else a new one); the workers get the storage's endpoint and region (PASSED_ENV, no
    secret). The workers import the project as an installed package (pyproject.toml: make's
    set-up and the image install it), as they import Ray itself."""
    env = {name: os.environ[name] for name in PASSED_ENV if name in os.environ}
    ray.init(address=address, runtime_env={"env_vars": env}, logging_level=logging.WARNING,
             log_to_driver=True, include_dashboard=False if address in (None, "local") else None,
             configure_logging=True)
    context = DataContext.get_current()
    context.enable_progress_bars = not quiet
    context.print_on_execution_start = False
    if "RAY_DATA_EXECUTION_NO_PROGRESS_TIMEOUT_S" not in os.environ:
        context.execution_no_progress_timeout_s = NO_PROGRESS_S
    if "RAY_DATA_DEFAULT_WAIT_FOR_MIN_ACTORS_S" not in os.environ:
        context.wait_for_min_actors_s = MIN_ACTORS_S


def default_actors(actor_cpus):
    """One scoring actor per node that has the CPUs for one (each runs MODEL_THREADS threads)."""
    nodes = [node for node in ray.nodes() if node["Alive"] and node["Resources"].get("CPU", 0) >= actor_cpus]
    return max(1, len(nodes))


def scored_dataset(todo, settings, *, stable, fps, actors, actor_cpus, tally):
    table = pa.table({"source": pa.array([item.path.encode("utf-8", "surrogateescape") for item in todo], pa.binary()),
                      "walked": pa.array([item.walked for item in todo], pa.bool_()),
                      "error": pa.array([item.error for item in todo], pa.string())})
    rows = max(1, min(BLOCK_ROWS, math.ceil(len(todo) / (4 * actors))))  # a small set still reaches every actor
    blocks = [table.slice(start, rows) for start in range(0, len(todo), rows)]
    return (ray.data.from_arrow(blocks)
            .map_batches(fetch_block, batch_format="pyarrow", batch_size=None, num_cpus=FETCH_CPUS,
                         compute=TaskPoolStrategy(size=READS_PER_ACTOR * actors), fn_kwargs={"settings": settings})
            .map_batches(ScoreActor, batch_format="pyarrow", batch_size=None, num_cpus=actor_cpus,
                         compute=ActorPoolStrategy(size=actors),  # spread over the nodes: Ray Data's default
                         fn_constructor_kwargs={"settings": settings, "stable": stable, "fps": fps, "tally": tally}))


def open_output(out, overwrite, stable, outputs):
    """ParquetOutput for a folder, collection.results.ResultsFile for a .csv or .jsonl file."""
    if out.lower().endswith((".csv", ".jsonl")):
        if is_uri(out):
            raise StorageError(f"--out {out}: a CSV or JSON Lines output is written on this machine; "
                               "give a local file, or a folder for Parquet")
        return ResultsFile(out, overwrite=overwrite, stable=stable, outputs=outputs)
    return ParquetOutput(out, overwrite=overwrite, stable=stable, outputs=outputs)


def on_every_node(settings):
    """``settings`` with the bucket and cache paths absolute, as the driver resolves them: a Ray
    worker runs in a folder of Ray's own, and finds them at the same place on its node (the
    image's /workspace on a KubeRay cluster, the checkout on this machine)."""
    return settings.replace(**{name: os.path.abspath(getattr(settings, name))
                               for name in ("MODEL_BUCKET", "FALSE_ALARM_BUCKET", "MODEL_CACHE")})


def run_job(args, settings):
    """Score ``args.paths`` and ``--from-list`` on Ray into ``args.out``; the run's summary.
    StorageError, OutputError or InputError before anything started (exit 2); JobError after."""
    started = time.monotonic()
    check_paths(args.paths)
    settings = on_every_node(settings)
    # Listed whole before the output is opened (so a storage error names the inputs first); a
    # walk never scores the output or the summary (collection.inputs.OwnFiles), which exist by a
    # resume, and the first run's are made only after the listing.
    inputs = list(iter_inputs(args.paths, read_manifest(args.from_list) if args.from_list else [],
                              exclude=[p for p in (args.out, args.summary_json) if p]))
    outputs = parse_outputs(settings.MODEL_OUTPUTS)
    out = open_output(args.out, args.overwrite, args.stable, outputs)
    done = {printable(path) for path in (out.done if isinstance(out, ParquetOutput) else out.done.keys())}
    todo = [item for item in inputs if printable(item.path) not in done]
    skipped = len(inputs) - len(todo)
    start(args.ray or None, args.quiet)
    startup = time.monotonic() - started
    actors = args.actors or default_actors(args.actor_cpus)
    # On the driver's node: a worker node may be lost mid-run, and the tally with it.
    tally = Tally.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
        ray.get_runtime_context().get_node_id(), soft=True)).remote()
    rows = []
    try:
        if todo:
            dataset = scored_dataset(todo, settings, stable=args.stable, fps=args.fps, actors=actors,
                                     actor_cpus=args.actor_cpus, tally=tally)
            if isinstance(out, ParquetOutput):
                dataset.write_parquet(out.path, filesystem=out.fs)
            else:
                for batch in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
                    out.write_rows(batch.to_pylist())
                    rows += batch.select(["path", *outputs, "error"]).to_pylist()
    except (ray.exceptions.RayError, ExecutionTimeoutError) as error:  # no progress: resources, a stuck read
        asked = (f"{actors} actor{'s' if actors > 1 else ''} of {args.actor_cpus:g} CPU (--actors, --actor-cpus) "
                 f"and read tasks of {FETCH_CPUS:g}, on a cluster of {ray.cluster_resources().get('CPU', 0):g} CPUs")
        raise JobError(f"{str(error).strip().splitlines()[-1]} ({asked})") from None
    finally:
        if not isinstance(out, ParquetOutput):
            out.close()
    try:
        nodes, not_images = ray.get(tally.get.remote(), timeout=30)
    except (ray.exceptions.RayError, TimeoutError):  # the rows are written; they count as failures then
        nodes, not_images = None, set()
    if isinstance(out, ParquetOutput):
        rows = out.read(("path", *outputs, "error")).to_pylist()  # this run's rows and earlier runs'
    else:
        rows += [{"path": printable(path), **(scores or {}), "error": error}
                 for path, (scores, error) in out.done.items()]
    summary = summarise(rows, todo, skipped, started, startup, default_output(outputs), not_images)
    summary.update(output=args.out, model=f"{settings.MODEL_BUCKET} ({settings.MODEL_PRECISION}) on Ray, "
                   f"{actors} actor{'s' if actors > 1 else ''}", ray={"startup_s": round(startup, 2),
                                                                       "actors": actors, "rows_by_node": nodes})
    return summary


def summarise(rows, todo, skipped, started, startup, output="memorability", not_images=frozenset()):
    """The closing summary of score (collection/cli.py) from the output's rows: scored, failed and not-image
    inputs of this run (by path; a video's rows count once; ``not_images``: the paths whose Result
    said so, collection.inputs.Input.not_an_image), the scores of every row of ``output``
    (core.model.outputs.default_output), under its name."""
    this_run = {printable(item.path) for item in todo}
    status = {}
    for row in rows:
        path, error = row["path"], row["error"]
        if path in this_run and status.get(path) != "failed":
            status[path] = "scored" if error is None else "not_image" if path in not_images else "failed"
    counts = {name: sum(1 for value in status.values() if value == name) for name in ("scored", "failed", "not_image")}
    wall = time.monotonic() - started
    done_here = counts["scored"] + counts["failed"]
    earlier_failed = {row["path"] for row in rows if row["error"] and row["path"] not in this_run}
    return {"scored": counts["scored"], "failed": counts["failed"], "not_images": counts["not_image"],
            "skipped": skipped, "skipped_failed": len(earlier_failed),
            "missing": len(this_run) - len(status), "wall_s": round(wall, 2), "load_s": round(startup, 2),
            "photos_per_s": round(done_here / max(wall - startup, 1e-9), 3),
            output: distribution([row[output] for row in rows if output in row])}
