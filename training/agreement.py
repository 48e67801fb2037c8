"""How well a model's scores agree with people's, with the uncertainty a lab needs to act on it.

    agreement(predicted, true)             rho with its 95% bootstrap interval, Pearson r, MAE, MSE
    difference(predicted_a, predicted_b, true)   rho(a) - rho(b) on the same photos, with its interval
    split_half(half1, half2)               how well two given halves of the participants agree: one split
    people(responses)                      the split-half over many random splits, Spearman-Brown, the ceiling

Spearman's rho ranks tied scores by their average rank (as scipy's ``spearmanr``). The intervals
are scipy's bootstrap (BCa, 2000 resamples of the photos, a fixed seed so a rerun prints the same
figures). ``difference`` resamples the photos once for both models (paired), so the interval is of
the difference itself: when it excludes 0, one model ranks these photos better than the other
beyond what the choice of photos explains.
"""
import warnings

import numpy as np
from scipy.stats import bootstrap, pearsonr, rankdata

RESAMPLES = 2000
CONFIDENCE = 0.95
SEED = 0
MIN_PHOTOS = 10
SPLITS = 100  # random divisions of the participants averaged over (the field uses 25 or more)


def defined(value):
    """``value`` as a float, or None where it is undefined (NaN)."""
    value = float(value)
    return None if np.isnan(value) else value


def spearman(x, y, axis=-1):
    """Spearman's rho along ``axis`` (vectorised for the bootstrap): Pearson's r of the ranks."""
    rx, ry = rankdata(x, axis=axis), rankdata(y, axis=axis)
    rx = rx - rx.mean(axis=axis, keepdims=True)
    ry = ry - ry.mean(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):  # constant scores: NaN, reported as None
        return (rx * ry).sum(axis=axis) / np.sqrt((rx * rx).sum(axis=axis) * (ry * ry).sum(axis=axis))


def _interval(data, statistic):
    if len(data[0]) < MIN_PHOTOS or any(np.ptp(values) == 0 for values in data):
        return [None, None]
    with warnings.catch_warnings():  # a rare constant resample: scipy warns and the BCa is NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        result = bootstrap(data, statistic, paired=True, vectorized=True, n_resamples=RESAMPLES,
                           confidence_level=CONFIDENCE, method="BCa", rng=np.random.default_rng(SEED))
    return [defined(result.confidence_interval.low), defined(result.confidence_interval.high)]


def agreement(predicted, true):
    """{"spearman", "spearman_ci", "pearson", "mae", "mse", "n"} of ``predicted`` against ``true``."""
    predicted, true = np.asarray(predicted, np.float64), np.asarray(true, np.float64)
    constant = len(true) < 2 or np.ptp(predicted) == 0 or np.ptp(true) == 0
    return {"spearman": defined(spearman(predicted, true)),
            "spearman_ci": _interval((predicted, true), spearman),
            "pearson": None if constant else float(pearsonr(predicted, true).statistic),
            "mae": float(np.mean(np.abs(predicted - true))),
            "mse": float(np.mean((predicted - true) ** 2)), "n": int(len(true))}


def difference(predicted_a, predicted_b, true):
    """{"delta_spearman", "delta_spearman_ci"}: rho(a) - rho(b) on the same photos, paired."""
    data = tuple(np.asarray(v, np.float64) for v in (predicted_a, predicted_b, true))

    def delta(a, b, t, axis=-1):
        return spearman(a, t, axis) - spearman(b, t, axis)

    return {"delta_spearman": defined(delta(*data)), "delta_spearman_ci": _interval(data, delta)}


def split_half(half1, half2):
    """Spearman's rho between two given halves of the participants, with its interval: how well one
    half of people agrees with the other, on one split, uncorrected. Not a model's ceiling: a model
    is scored against the whole group's mean, more reliable than a half's (``people``)."""
    half1, half2 = np.asarray(half1, np.float64), np.asarray(half2, np.float64)
    return {"spearman": defined(spearman(half1, half2)), "spearman_ci": _interval((half1, half2), spearman),
            "n": int(len(half1)), "splits": 1, "corrected": False}


def people(responses, splits=SPLITS, seed=SEED):
    """How far people's scores of these photos can be predicted, from ``responses`` (participants x
    photos: 1, 0, -1 for none; training/lamem.py's read_participants):
    - ``human_split_half``: the mean and SD over ``splits`` random divisions of the participants in
      two halves of Spearman's rho between the halves' rates (a photo that a half has no response
      to is left out of that division);
    - ``ceiling``: ``spearman_brown``, that mean corrected to the whole group (2r / (1 + r)): the
      reliability of the group's mean, which the split files hold and a model is scored against;
      and ``spearman``, its square root, the rho with that mean of scores free of the people's
      noise (Spearman's correction for attenuation): what a perfect model reaches."""
    responses = np.asarray(responses)
    counted, measured = responses == 1, responses >= 0
    rng, rhos = np.random.default_rng(seed), []
    for _ in range(splits):
        order = rng.permutation(len(responses))
        halves = order[:len(order) // 2], order[len(order) // 2:]
        seen = [measured[h].sum(0) for h in halves]
        both = (seen[0] > 0) & (seen[1] > 0)
        rates = [counted[h].sum(0)[both] / n[both] for h, n in zip(halves, seen)]
        rhos.append(spearman(*rates) if both.sum() >= 3 else np.nan)
    rhos = np.array(rhos)[~np.isnan(rhos)]
    half = float(rhos.mean()) if len(rhos) else None
    whole = 2 * half / (1 + half) if half is not None and half > -1 else None
    return {"human_split_half": {"spearman": half, "spearman_sd": float(rhos.std(ddof=1)) if len(rhos) > 1 else None,
                                 "n": int(responses.shape[1]), "participants": int(len(responses)),
                                 "splits": int(len(rhos)), "corrected": False},
            "ceiling": {"spearman_brown": whole, "spearman": float(np.sqrt(whole)) if whole and whole > 0 else None}}


def of_ceiling(rho, ceiling):
    """A model's rho as a fraction of the ceiling (None where either is undefined)."""
    return rho / ceiling if rho is not None and ceiling else None
