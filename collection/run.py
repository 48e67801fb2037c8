"""One run of ``score`` over its inputs: what it skips (rows of an earlier run), what it scores,
batch by batch into the output, and the counts and summary it closes with (collection/cli.py
parses the flags and calls it)."""
import resource
import sys
import time

from collection.inputs import iter_inputs, map_root, read_list
from collection.items import chunks
from collection.results import distribution, write_maps


def listed_paths(source):
    if not source:
        return ()
    if source == "-":
        sys.stdin.reconfigure(errors="surrogateescape")  # names that are not UTF-8 are bytes too
        return read_list(sys.stdin)
    return _read_file_list(source)

def _read_file_list(source):
    with open(source, encoding="utf-8", errors="surrogateescape") as stream:
        yield from read_list(stream)

def progress_bar(args):
    """tqdm with photos/s and the ETA, when both stdout and stderr are terminals; else None."""
    if args.quiet or not (sys.stdout.isatty() and sys.stderr.isatty()):
        return None
    from tqdm import tqdm

    # Counting first gives the ETA; a list on stdin can only be read once, so it has none.
    total = None if args.from_list == "-" else sum(1 for _ in inputs(args))
    return tqdm(total=total, unit="photo", dynamic_ncols=True, smoothing=0.1)

class Run:
    """Counts and scores of one invocation, for the summary."""

    def __init__(self):
        self.scored = self.failed = self.not_images = self.skipped = self.skipped_failed = 0
        self.scores = []  # each input's (or frame's) scores by output, None where it has none
        self.started = time.monotonic()

    def summary(self, out, description, load_seconds, output):
        """The counts, and the distribution of ``output``'s scores under its name."""
        wall = time.monotonic() - self.started
        scoring = max(wall - load_seconds, 1e-9)
        return {"output": str(out), "model": description, "scored": self.scored, "failed": self.failed,
                "not_images": self.not_images, "skipped": self.skipped, "skipped_failed": self.skipped_failed,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "wall_s": round(wall, 2),
                "load_s": round(load_seconds, 2), "photos_per_s": round((self.scored + self.failed) / scoring, 3),
                output: distribution([scores.get(output) if scores else None for scores in self.scores])}

def report(summary, output):
    """Print the summary; its scores are those of ``output`` (core.model.outputs.default_output)."""
    lines = [f"scored {summary['scored']}, failed {summary['failed']}, skipped {summary['skipped']} "
             f"already in {summary['output']}" + (f" ({summary['skipped_failed']} of them failed)"
                                                  if summary["skipped_failed"] else "")
             + (f"; {summary['not_images']} file{'s' if summary['not_images'] > 1 else ''} met in the walk "
                f"{'are' if summary['not_images'] > 1 else 'is'} not an image, by name and bytes (a README, "
                "a CSV, ...): rows written, not failures" if summary["not_images"] else ""),
             f"wall time {summary['wall_s']:.1f} s ({summary['load_s']:.1f} s loading {summary['model']}), "
             f"{summary['photos_per_s']:.2f} photos/s"]
    spread = summary[output]
    if spread:
        lines.append(f"{output} of the {spread['n']} scored photos: mean {spread['mean']:.4f}, "
                     f"median {spread['median']:.4f}, quartiles {spread['q1']:.4f} to {spread['q3']:.4f}")
    print("\n".join(lines), flush=True)

def inputs(args):
    """The inputs of the run; never what it writes (collection.inputs.OwnFiles)."""
    return iter_inputs(args.paths, listed_paths(args.from_list), follow_links=args.follow_links,
                       maps_root=maps_root(args), exclude=[p for p in (args.out, args.maps, args.summary_json) if p])

def maps_root(args):
    """The folder the maps are named relative to (collection.inputs.map_root): a list in a file is
    read ahead for it; one on stdin, read once, is not: its maps are named by absolute path."""
    if not args.maps:
        return None  # no maps: the names are never used, and a list is not read twice for them
    listed = None if args.from_list == "-" else listed_paths(args.from_list)
    return map_root(args.paths, listed)

def kind_again(item):
    """The kind of an input whose row an earlier run wrote (core/inputs/kinds.py: its first bytes
    again), for the count of files that are no image; None when it cannot be read now."""
    from core.inputs.images import ImageError
    from core.inputs.kinds import classify

    try:
        return classify(item.path, item.path)
    except ImageError:
        return None


def run(args, scorer, out, run_state, bar):
    """Score every input not already in ``out``, a batch at a time, counting into ``run_state``."""
    done = out.done  # the rows of earlier runs; a path comes once, so this run's never recur

    def todo():
        for item in inputs(args):
            if item.path in done:
                run_state.skipped += 1
                scores, error = done[item.path]
                if error and item.walked and item.not_an_image(kind_again(item)):
                    run_state.not_images += 1
                else:
                    run_state.skipped_failed += scores is None
                run_state.scores.append(scores)
                if bar:
                    bar.update(1)
            else:
                yield item

    # Rows are written a batch at a time: one write each, so a kill leaves whole rows.
    for batch in chunks(scorer.score(todo()), args.max_files if args.url else args.batch_size):
        if args.maps:
            for result in batch:
                if result.error is None:
                    write_maps(args.maps, result, args.maps_format)
        out.write(batch)
        for result in batch:
            run_state.not_images += result.not_image
            run_state.failed += result.error is not None and not result.not_image
            run_state.scored += result.error is None
            run_state.scores += [frame.scores for frame in result.frames] if result.frames else [result.scores]
        if bar:
            bar.update(len(batch))
