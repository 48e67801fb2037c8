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
                    best=None, peaks=None, augment=("fixed",), seeds=1):
    """The deep candidates of ``parts`` (training/deep.py: ResMem's own head retrained; its ResNet's
    last stage and head), and with ``sets`` (the ridge heads' feature sets) each one's ensemble: a
    ridge head on the retrained network's own features blended with its score, chosen as the heads
    are, on the photos of val at ``select`` (its selection part, training/gate.py). Each measured
    candidate's row is appended to ``table``, with its peak memory (``peaks``, training/memory.py).
    A candidate is (its choice, its selection val rho, its architecture options, what makes its
    network from the base's); returns the best of ``best`` and them. Only the best so far is kept:
    one deep candidate's network at a time beside the one being trained. None are trained (rows
    say why) under deep.MIN_TRAIN training photos. ``augment``: the views' recipes, a tuple
    (training/views.recipes: finetune parsed them): with more than one, each part is trained with
    each, one recipe's views read at a time, and competes as its own candidate (its name says the
    recipe). Each part
    competes as its best epoch and as the averages of its weights (training/averages.py: its
    epochs', and with ``seeds`` over 1 that many seeds' best epochs'): the best of them, by the
    same rule, is the part's, and its ensemble is that one's."""
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
    for recipe in augment:
        features = deep.activations(model, train + val, pipeline, cache, batch, weights_id, bucket.preprocessing,
                                    options, outputs, dtype, recipe)
        for part in [p for p in deep.PARTS if p in parts]:
            name = f"{deep.PARTS[part]}, {recipe} views" if len(augment) > 1 else deep.PARTS[part]
            best = part_candidates(model, part, name, features, options, train, y_train, y_val, val_rows, n, cache,
                                   weights_id, dtype, recipe, seeds, sets, outputs, table, peaks, best)
        del features
    return best


def part_candidates(model, part, name, features, options, train, y_train, y_val, val_rows, n, cache, weights_id,
                    dtype, augment, seeds, sets, outputs, table, peaks, best):
    """deep_candidates' work for one part and one recipe of views: its training (each seed), its
    averages and its ensemble; the best of ``best`` and them."""
    import time

    from training import deep

    began = time.perf_counter()
    read = [array for layer in deep.reads(part, options) for array in features[layer]]
    labels = [[row, y] for row, y in zip(val_rows, y_val)]  # which val photos chose, with their scores
    recipe = deep.settings(part, dtype, augment)

    def run(seed, part=part, read=read, labels=labels, recipe=recipe):
        checkpoint = EpochCheckpoint(cache, part, checkpoint_key(weights_id, part, dtype, seed, recipe, y_train,
                                                                 labels, read))
        return deep.train(model(), part, features, len(train), y_train, y_val, options, seed=seed, dtype=dtype,
                          checkpoint=checkpoint, val_rows=val_rows, augment=augment, average=seed == 0)

    trained = run(0)
    log.info("%s: val Spearman %.4f at epoch %d", name, trained.score, trained.epoch)
    row = {"features": name, "val_spearman": trained.score, "epoch": trained.epoch,
           "val_by_epoch": trained.history, **recipe}
    table.append(row)
    choice, weights = averaged(trained, part, name, features, options, val_rows, y_val, seeds, run, table)
    trained = trained._replace(snapshots=None)  # the mean of its epochs goes unless it is the part's best
    if weights is not None:  # the part's best is an average: its model holds it, and only it is kept
        trained.model.set_weights(weights)
    del weights
    row["seconds"] = round(time.perf_counter() - began, 1)
    dropout = f" with dropout {recipe['dropout']} after fc6 and fc7" if recipe["dropout"] else ""
    choice.update({**recipe, "what": f"{deep.PARTS[part].split(': ', 1)[1]}, from its weights, on the {augment} "
                                     f"recipe's views{dropout}{choice['what']}; everything below frozen"})
    best = better(best, (choice, choice.pop("val_spearman"), {},
                         lambda network, m=trained.model, w=trained.names: with_weights(network, m, w)))
    if sets:
        best = ensemble(best, trained.model, trained.names, choice, part, features, outputs, sets, n, y_train,
                        y_val, val_rows, table, options)
    row.update(peaks.take() if peaks else {})  # the part's training, its averages and its ensemble's search
    del trained
    gc.collect()  # a losing candidate's network and Adam's state go now, not at the end
    return best


def ensemble(best, trained, names, choice, part, features, outputs, sets, n, y_train, y_val, val_rows, table,
             options):
    """The better of ``best`` and the deep candidate ``trained`` blended with a ridge head on its
    own features (the heads' search on the selection rows ``val_rows``); its row goes to ``table``."""
    from training import heads

    layers = sorted({layer for key in sets for layer in heads.FEATURE_SETS[key]} | {heads.BASE_LAYER})
    adapted = adapted_outputs(trained, part, options, features, outputs, layers, n)
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
                             tuned_network(with_weights(network, m, w), h)))


def averaged(trained, part, name, features, options, val_rows, y_val, seeds, run, table):
    """(the choice of part ``name`` with its "val_spearman" and "what": its best epoch, or an
    average of weights where that is better on the selection rows; the weights to give
    ``trained.model`` for it, None for its best epoch). Each average's row goes to ``table``; the
    soup trains ``run(seed)`` for the seeds 1 .. ``seeds`` - 1 (training/averages.py)."""
    from training import deep
    from training.averages import RunningMean

    variants = [({"features": name, "epoch": trained.epoch, "val_spearman": trained.score, "what": ""}, None)]
    if trained.snapshots is not None:
        score, arrays, count = trained.snapshots
        row = {"features": f"{name}, mean of its {count} epochs' weights", "val_spearman": score,
               "averaged": "snapshots", "epochs_averaged": count}
        variants.append(({**row, "epoch": trained.epoch, "what": f", the mean of its {count} epochs' weights"},
                         arrays))
        table.append(row)
        log.info("%s: val Spearman %.4f", row["features"], score)
    if seeds > 1:
        soup, histories, epochs = RunningMean(), [], [trained.epoch]
        soup.add(trained.model.weights)
        for seed in range(1, seeds):
            last = None  # the seed before's network and Adam's state go before the next is built
            gc.collect()
            other = run(seed)
            soup.add(other.model.weights)
            histories.append(other.history)
            epochs.append(other.epoch)
            last = other.model
            del other
        last.set_weights(soup.arrays)  # the last seed's model measures the soup
        row = {"features": f"{name}, mean of {seeds} seeds' best epochs' weights",
               "val_spearman": deep.val_rho(last, part, features, options, val_rows, y_val), "averaged": "seeds",
               "seeds": seeds, "best_epochs": epochs, "val_by_epoch_of_other_seeds": histories}
        del last
        gc.collect()
        chosen = {key: value for key, value in row.items() if key != "val_by_epoch_of_other_seeds"}
        variants.append(({**chosen, "epoch": epochs, "what": f", the mean of {seeds} seeds' best epochs' weights"},
                         soup.arrays))
        table.append(row)
        log.info("%s: val Spearman %.4f", row["features"], row["val_spearman"])
    return max(variants, key=lambda variant: variant[0]["val_spearman"])  # the first of equals


def adapted_outputs(model, part, options, features, outputs, layers, n):
    """{layer: N x D}: the retrained network's ``layers`` on the centre views of the first ``n``
    photos (train then val), for a ridge head on them (an ensemble, training/heads.search); a
    layer below the part retrained is the frozen one, from ``outputs``; fc12's is its score."""
    import numpy as np

    from training import deep

    own = [name for name in layers if name in {layer.name for layer in model.layers}]
    shapes = [tuple(inp.shape[1:]) for inp in model.inputs]
    data = [features[name] for name in deep.reads(part, options)]
    computed = dict(zip(own, deep.predicted(model, data, shapes, np.arange(n), own)))
    result = {name: computed[name] if name in computed else np.asarray(outputs[name][:n], np.float64)
              for name in layers}
    result["fc12"] = 1 / (1 + np.exp(-result["fc12"]))  # the trained fc12 is linear: its score, in float64
    return result


def with_weights(base, model, names):
    """``base`` (a built Keras ResMem) with ``model``'s retrained layers ``names``: one network,
    served as any."""
    for name in names:
        base.get_layer(name).set_weights(model.get_layer(name).get_weights())
    return base
