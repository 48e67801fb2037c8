"""The candidates that training.finetune chooses from on val, beyond the ridge heads: the deep
ones (training/deep.py) and their ensembles, and how each becomes the served network."""
import gc
import logging

from training.deep_checkpoint import EpochCheckpoint
from training.deep_checkpoint import key as checkpoint_key

log = logging.getLogger("finetune")


def tuned_network(model, head):
    """The served network: the base ``model``'s layers (core.model.networks.tune) and the head as
    ``tuned_head``; no second ResMem is built."""
    from core.model.networks import tune

    tuned = tune(model, head.layers)
    tuned.get_layer("fc12").set_weights(model.get_layer("fc12").get_weights())
    tuned.get_layer("tuned_head").set_weights([head.kernel, head.bias])
    return tuned


CANDIDATES = ("heads", "head", "stage", "ensembles")  # the ridge heads; training/deep.py's parts; their blends
GROUPS = {"all": CANDIDATES, "deep": ("head", "stage")}


def wanted(candidates):
    """--candidates ("all", "deep", or a comma-separated list of CANDIDATES) -> a set of them.
    ``ensembles`` blends a deep candidate: it needs ``head`` or ``stage`` beside it."""
    chosen = set()
    for name in (name.strip() for name in candidates.split(",")):
        if name not in GROUPS and name not in CANDIDATES:
            raise ValueError(f"--candidates: {name!r} is none of {', '.join([*GROUPS, *CANDIDATES])}")
        chosen.update(GROUPS.get(name, (name,)))
    if "ensembles" in chosen and not chosen & {"head", "stage"}:
        raise ValueError("--candidates: ensembles blend a deep candidate with a ridge head: name head or stage too")
    return chosen


def better(best, candidate):
    """The better of two candidates by selection val rho; the first of equals. ``best`` may be None."""
    return candidate if best is None or candidate[1] > best[1] else best


def deep_candidates(model, bucket, train, val, select, pipeline, cache, batch, table, outputs, parts, sets, dtype,
                    best=None, peaks=None, augment="fixed"):
    """The deep candidates of ``parts`` (training/deep.py: ResMem's own head retrained; its ResNet's
    last stage and head), and with ``sets`` (the ridge heads' feature sets) each one's ensemble: a
    ridge head on the retrained network's own features blended with its score, chosen as the heads
    are, on the photos of val at ``select`` (its selection part, training/gate.py). Each measured
    candidate's row is appended to ``table``, with its peak memory (``peaks``, training/memory.py).
    A candidate is (its choice, its selection val rho, its architecture options, what makes its
    network from the base's); returns the best of ``best`` and them. Only the best so far is kept:
    one deep candidate's network at a time beside the one being trained. None are trained (rows
    say why) under deep.MIN_TRAIN training photos. ``augment``: the views' recipe (training/views.py)."""
    import time

    from training import deep

    if len(train) < deep.MIN_TRAIN:
        log.info("deep candidates skipped: %d training photos, fewer than %d, are too few to adapt a layer of "
                 "the network honestly", len(train), deep.MIN_TRAIN)
        for part in parts:
            table.append({"features": deep.PARTS[part],
                          "skipped": f"{len(train)} training photos, under {deep.MIN_TRAIN}"})
        return best
    options, n = bucket.architecture_options, len(train) + len(val)
    y_train = [s for _, s in train]
    y_val, val_rows = [val[i][1] for i in select], len(train) + select
    weights_id = f"{bucket.weights_md5} {bucket.checksums['model.json']}"
    features = deep.activations(model, train + val, pipeline, cache, batch, weights_id, bucket.preprocessing,
                                options, outputs, dtype, augment)
    for part in [p for p in deep.PARTS if p in parts]:
        name, began = deep.PARTS[part], time.perf_counter()
        read = [array for layer in deep.reads(part, options) for array in features[layer]]
        labels = [[row, y] for row, y in zip(val_rows, y_val)]  # which val photos chose, with their scores
        recipe = deep.settings(part, dtype, augment)
        checkpoint = EpochCheckpoint(cache, part, checkpoint_key(weights_id, part, dtype, 0, recipe, y_train, labels,
                                                                 read))
        score, epoch, trained, names, history = deep.train(model(), part, features, len(train), y_train, y_val,
                                                           options, dtype=dtype, checkpoint=checkpoint,
                                                           val_rows=val_rows, augment=augment)
        log.info("%s: val Spearman %.4f at epoch %d", name, score, epoch)
        row = {"features": name, "val_spearman": score, "epoch": epoch, "val_by_epoch": history,
               "seconds": round(time.perf_counter() - began, 1), **recipe}
        table.append(row)
        choice = {"features": name, "epoch": epoch, **recipe,
                  "what": f"{name.split(': ', 1)[1]}, from its weights, on augmented views; everything below frozen"}
        best = better(best, (choice, score, {}, lambda network, m=trained, w=names: deep.with_weights(network, m, w)))
        if sets:
            best = ensemble(best, trained, names, choice, part, features, outputs, sets, n, y_train, y_val,
                            val_rows, table, options)
        row.update(peaks.take() if peaks else {})  # the part's training and its ensemble's search
        del trained
        gc.collect()  # a losing candidate's network and Adam's state go now, not at the end
    return best


def ensemble(best, trained, names, choice, part, features, outputs, sets, n, y_train, y_val, val_rows, table,
             options):
    """The better of ``best`` and the deep candidate ``trained`` blended with a ridge head on its
    own features (the heads' search on the selection rows ``val_rows``); its row goes to ``table``."""
    from training import deep, heads

    layers = sorted({layer for key in sets for layer in heads.FEATURE_SETS[key]} | {heads.BASE_LAYER})
    adapted = deep.adapted_outputs(trained, part, options, features, outputs, layers, n)
    head, _, _ = heads.search(adapted, len(y_train), y_train, y_val, sets, val_rows)
    label = f"ensemble: {choice['features']} + ridge {head.features}"
    table.append({"features": label, "val_spearman": head.val_spearman, "ridge_penalty": head.penalty,
                  "blend": head.blend})
    log.info("%s: val Spearman %.4f (blend %.2f)", label, head.val_spearman, head.blend)
    if head.blend <= 0:  # at 0 it is the deep candidate itself
        return best
    return better(best, ({**choice, "features": label, "ensemble": head.choice(),
                          "what": choice["what"] + ", blended with a linear head on its own features"},
                         head.val_spearman, {"tuned": {"features": list(head.layers)}},
                         lambda network, m=trained, w=names, h=head:
                             tuned_network(deep.with_weights(network, m, w), h)))
