"""The gate of training.finetune: whether the model it chose is written, decided on photos that the
choice never saw.

The val photos are divided at random (``--seed``) into a **selection** part and a
**confirmation** part (``--confirm``, half by default). Everything that is chosen (the ridge
heads' features, penalty and blend, the deep candidates' epochs, the averages of their weights,
the ensembles' blends, the best of all the candidates, and last whether the chosen is scored with
the mirror average, mirror_choice) is chosen on the selection part alone. The chosen network, as
it will be written, then scores the confirmation photos (with the mirror average where it was
kept, and the base too), and the bucket is written only if it ranks them better than the base
model beyond chance: the lower end of the 95% BCa bootstrap interval of
the paired difference in Spearman's rho (training/agreement.difference, the photos resampled
once for both models) is above 0. Nominally a one-sided test at 2.5%, whatever the number of
settings tried; at a few dozen confirmation photos the interval is a little narrow: on noise it
passed 4.5%, 2.8% and 3.0% of 400 simulated runs at 15, 23 and 50 photos (benchmarks/gate.py).

Why: the best of several hundred settings on the photos that chose it is biased upwards by the
choice itself (Cawley & Talbot, "On over-fitting in model selection and subsequent selection bias
in performance evaluation", JMLR 11, 2010): on labels unrelated to the photos, the old rule
(the chosen val rho above the base's) wrote a bucket in 86 of 100 runs. An estimate on photos
held out from the choice is unbiased (the "three-way holdout" of Hastie, Tibshirani & Friedman,
The Elements of Statistical Learning, 2009, section 7.2); the interval is Efron & Tibshirani's
(An Introduction to the Bootstrap, 1993). The price: the choice sees half the val photos.
"""
import numpy as np

from training.agreement import MIN_PHOTOS, agreement, difference

CONFIRM = 0.5  # the share of val held out from the choice


def divide(n_val, share=CONFIRM, seed=0):
    """(selection, confirmation): the indices of val's photos in each part, each in val's order."""
    if not 0 < share < 1:
        raise ValueError(f"--confirm must be between 0 and 1 (the share of val held out), not {share}")
    order = np.random.default_rng(seed).permutation(n_val)
    count = int(round(n_val * share))
    return np.sort(order[count:]), np.sort(order[:count])


def scores_of(network, entries, pipeline, batch=16, mirror=False):
    """The scores of ``network`` (a built Keras network, as written) on the centre crops of
    ``entries`` [(path, score)], through the training input pipeline: what the bucket serves; with
    ``mirror``, of each photo's mirror image (as MODEL_TTA=mirror scores it, with the photo)."""
    from training.pipeline import image_dataset

    # predict_on_batch, not an eager call: eagerly, the whole ResMem held 8.0 GB at a batch of 16,
    # traced 1.5 GB (memory.Peaks, on the 23 photos of a development target's selection part).
    parts = [np.asarray(network.predict_on_batch(images), np.float64).reshape(-1)
             for images, _ in image_dataset(entries, pipeline, batch, mirror=mirror)]
    return np.concatenate(parts) if parts else np.zeros(0)


def mirror_choice(network, entries, pipeline, batch=16):
    """The mirror average at evaluation (``stable``), chosen by the same rule as every setting, on
    the selection photos ``entries``: {"val_spearman": the network's rho as it is, "mirror_average":
    the rho of the mean of each photo's score and its mirror image's, "chosen": whether that is
    higher}. The mirror image costs a second pass of every photo it scores. It is tried on the
    chosen network alone, whose own rho on these photos is raised by having been chosen on them:
    the rule leans a little towards leaving the mirror out."""
    from training.heads import rho

    true = [score for _, score in entries]
    centre = scores_of(network, entries, pipeline, batch)
    averaged = (centre + scores_of(network, entries, pipeline, batch, mirror=True)) / 2
    plain, stable = rho(centre, true), rho(averaged, true)
    return {"val_spearman": plain, "mirror_average": stable, "chosen": bool(stable > plain)}


def confirm(tuned, base, true):
    """The gate's measurement on the confirmation photos: {"n", "spearman", "spearman_ci",
    "base_spearman", "delta_spearman", "delta_spearman_ci", "passed", "why"}."""
    mine, theirs = agreement(tuned, true), agreement(base, true)
    delta = difference(tuned, base, true)
    low = delta["delta_spearman_ci"][0]
    result = {"n": len(true), "spearman": mine["spearman"], "spearman_ci": mine["spearman_ci"],
              "base_spearman": theirs["spearman"], **delta, "passed": low is not None and low > 0}
    if len(true) < MIN_PHOTOS:
        result["why"] = (f"{len(true)} confirmation photos, fewer than {MIN_PHOTOS}: too few to tell a gain from "
                         "chance (more val photos, or a larger --confirm)")
    elif low is None:
        result["why"] = "the interval of the difference is undefined (constant scores)"
    elif not result["passed"]:
        result["why"] = (f"on the {len(true)} confirmation photos, Spearman {mine['spearman']:.3f} against the base "
                         f"model's {theirs['spearman']:.3f}: the difference's 95% interval "
                         f"({low:+.3f} to {delta['delta_spearman_ci'][1]:+.3f}) does not exclude no gain")
    return result
