"""LaMem's protocol, and what a bucket may not be measured on.

- ``--split K`` measures one bucket on ``test_K``; ``--split all`` measures one bucket per split,
  each on the test split of the split it was trained on (its provenance says which), as LaMem's
  five splits were used: their test sets overlap each other's train sets (about 75% of test_2..5 is
  in train_1), so one bucket on every test split would be scored on photos it was fitted on. A
  bucket trained elsewhere, which records no split (ResMem), is measured on every test split.
- A test photo that the bucket's provenance says it was fitted or chosen on (by name, or as a
  near-duplicate: training/overlap.py) is refused, unless the caller allows it.
"""
import logging

from training import overlap
from training.lamem import DatasetError

log = logging.getLogger("evaluate")


def trained_split(facts):
    """The split whose train and val photos a bucket's provenance records, or None (training/overlap.py)."""
    return ((facts.get("provenance") or {}).get("photos") or {}).get("split")


def by_split(buckets, facts, splits, split, flag="--bucket"):
    """{k: bucket}: which bucket is measured on each test split. ``--split K`` measures one bucket;
    ``--split all`` each bucket on the test split of the split it was trained on (LaMem's protocol:
    one model per split), or a bucket trained elsewhere (which records none: ResMem) on every one."""
    if split != "all":
        if len(buckets) != 1:
            raise ValueError(f"--split {split} measures one {flag}, not {len(buckets)}")
        return {split: buckets[0]}
    own = {bucket: trained_split(facts[bucket]) for bucket in buckets}
    if len(buckets) == 1 and own[buckets[0]] is None:
        return {k: buckets[0] for k in splits}
    chosen = {}
    for bucket in buckets:
        k = own[bucket]
        if k is None:
            raise ValueError(f"--split all measures each {flag} on its own test split, and {bucket} records no split")
        if k in chosen:
            raise ValueError(f"{chosen[k]} and {bucket} were both trained on split {k}: give one {flag} a split")
        if k not in splits:
            raise DatasetError(f"{bucket} was trained on split {k}, and the dataset has no test_{k}.txt")
        chosen[k] = bucket
    if len(chosen) == 1:
        (k, bucket), = chosen.items()
        raise ValueError(f"--split all measures one bucket per split, each on its own test split, and {bucket} was "
                         f"trained on split {k}: give {flag} once per split, or measure it with --split {k}")
    return dict(sorted(chosen.items()))


def check_unseen(measured, facts, entries, allow=False):
    """Refuse (training/overlap.Overlap) a test photo that the bucket measured on it was fitted or
    chosen on, by its provenance: by name or as a near-duplicate. ``measured`` is [(k, bucket)];
    with ``allow``, {k: [the overlaps]} instead."""
    prints, found, unknown = {}, {}, set()
    for k, bucket in measured:
        seen = overlap.record_sets(facts[bucket])
        if seen is None:
            if bucket not in unknown:
                log.warning("%s records no photos it was fitted or chosen on (made before the check, or trained "
                            "elsewhere): its test photos are not checked against them", bucket)
            unknown.add(bucket)
            continue
        if k not in prints:
            prints[k] = overlap.fingerprints(entries[k], f"fingerprints of test_{k}")
        try:
            found.setdefault(k, []).extend(overlap.check_disjoint(
                {f"test_{k}": prints[k]}, seen, allow, "measure it on photos it has not seen"))
        except overlap.Overlap as error:
            fitted, chosen = seen
            raise overlap.Overlap(f"{bucket} was fitted on {fitted} and chosen on {chosen}: {error}") from None
    return {k: pairs for k, pairs in found.items() if pairs}
