"""No photo in two of train, val and test: by name, or as a near-duplicate (a re-encoded,
resized or slightly cropped copy under another name).

    record = checked(sets, split, allow=False)    # finetune and train: the three splits, checked
    check_disjoint({"test_2": fingerprints(test)}, seen=record_sets(facts))   # evaluate
    groups(fingerprints(paths))                   # label and synthetic: what to keep in one split

A photo's fingerprint is imagehash's pHash and dHash (64 bits each) of the photo and of its
centred crops of 97, 94 and 91% a side: 4 rows of 128 bits. Two photos' distance is the fewest
bits that differ between one's whole photo and any row of the other's, either way round, so a
copy cropped a few percent a side meets its original's crop. Pairs at ``THRESHOLD`` bits or fewer
are refused (training/README.md gives the measurements that chose it). Only photos in different
sets are compared: a copy inside one split makes no score unfair.
"""
import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

import config
from training.lamem import DatasetError

log = logging.getLogger("overlap")

CROPS = (1.0, 0.97, 0.94, 0.91)  # the whole photo first: a distance always takes one side whole
THRESHOLD = 18  # of 128 bits: copies measured at 10 or fewer, distinct photos at 28 or more
METHOD = "pHash+dHash of the photo and its centred 97/94/91% crops (imagehash)"
DRAFT = (64, 64)  # libjpeg decodes at 1/2..1/8 scale, never below this: the hashes need 32x32


class Overlap(DatasetError):
    """A photo is in more than one of the sets compared (by name or as a near-duplicate)."""


def fingerprint(path):
    """The hex fingerprint (4 rows of 128 bits) of an image file, decoded as the service decodes it
    (the EXIF orientation, any mode to RGB, the pixel limit)."""
    import imagehash

    from core.inputs.images import decode_sized

    with open(path, "rb") as stream:
        image, _ = decode_sized(stream, config.settings().MAX_IMAGE_PIXELS, Path(path).name, DRAFT)
    rows = []
    for keep in CROPS:
        w, h = image.size
        dx, dy = round(w * (1 - keep) / 2), round(h * (1 - keep) / 2)
        crop = image.crop((dx, dy, w - dx, h - dy))
        rows.append(str(imagehash.phash(crop)) + str(imagehash.dhash(crop)))
    return "".join(rows)


class Unreadable(DatasetError):
    """Photos of a dataset that cannot be decoded: every one of them is named, before any pass."""


def fingerprints(entries, desc="fingerprints"):
    """{name: fingerprint} of ``entries`` ([(path, score)] or paths). Each photo is decoded here,
    before a network sees any: one that cannot be (truncated, not an image, past the pixel limit,
    gone) is named, with every other such photo, in one Unreadable, instead of stopping a pass
    over the network half-way (a corrupt photo was found only mid-pass, after minutes)."""
    paths = [entry[0] if isinstance(entry, tuple) else entry for entry in entries]
    prints, bad = {}, []
    for path in tqdm(paths, desc=desc, unit="photo", leave=False):
        try:
            prints[Path(path).name] = fingerprint(path)
        except (ValueError, OSError) as error:  # core.inputs.images.ImageError is a ValueError
            bad.append(f"{Path(path).name} ({str(error).removeprefix(Path(path).name).strip() or error})")
    if bad:
        shown = "; ".join(bad[:20]) + (f"; and {len(bad) - 20} more" if len(bad) > 20 else "")
        raise Unreadable(f"{len(bad)} of {len(paths)} photos cannot be read: {shown}: remove or replace them")
    return prints


def _words(prints):
    """The two uint64 words of each row of hex fingerprints: two arrays of n x rows."""
    raw = np.array([bytes.fromhex(p) for p in prints], dtype=f"S{len(CROPS) * 16}")
    words = np.frombuffer(raw.tobytes(), dtype=">u8").reshape(len(prints), len(CROPS), 2)
    return words[..., 0], words[..., 1]


def _bits(x0, x1, y0, y1):
    return np.bitwise_count(x0 ^ y0) + np.bitwise_count(x1 ^ y1)


def pairs_within(a, b, limit=THRESHOLD):
    """(i, j, distance) of the pairs of fingerprints ``a[i]``, ``b[j]`` (lists of hex) at ``limit``
    bits or fewer: one's whole photo against each row of the other, either way round. The wholes
    are compared first: by the triangle inequality a pair is no nearer than their distance less
    the farther of the two photos' crops from its own whole, so most pairs need no more."""
    if not a or not b:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint8)
    (a0, a1), (b0, b1) = _words(a), _words(b)
    reach_a, reach_b = (_bits(x0[:, :1], x1[:, :1], x0, x1).max(-1).astype(np.int16) for x0, x1 in ((a0, a1), (b0, b1)))
    found = [], [], []
    step = max(1, 4_000_000 // len(b))  # a few MB of temporaries at a time, whatever the sizes
    for start in range(0, len(a), step):
        rows = slice(start, start + step)
        wholes = _bits(a0[rows, None, 0], a1[rows, None, 0], b0[None, :, 0], b1[None, :, 0])
        i, j = np.nonzero(wholes <= limit + np.maximum(reach_a[rows, None], reach_b[None]))
        i += start
        near = np.minimum(_bits(a0[i, :1], a1[i, :1], b0[j], b1[j]).min(-1),  # a whole, b's rows
                          _bits(a0[i], a1[i], b0[j, :1], b1[j, :1]).min(-1))  # a's rows, b whole
        keep = near <= limit
        for into, values in zip(found, (i[keep], j[keep], near[keep])):
            into.append(values)
    return tuple(np.concatenate(values) for values in found)


def distances(a, b):
    """The full len(a) x len(b) matrix of distances: for a few photos (tests, benchmarks)."""
    out = np.zeros((len(a), len(b)), np.int64)
    i, j, d = pairs_within(a, b, limit=128)  # every pair
    out[i, j] = d
    return out


def overlaps(sets, seen=None):
    """The pairs of photos in two different sets, as sentences: by name, or near-duplicates at
    ``THRESHOLD`` bits or fewer. ``sets`` {label: {name: fingerprint}} are compared with each other
    and with each of ``seen`` (the same form), never ``seen`` among themselves."""
    labels = list(sets)
    pairs = [(x, y) for i, x in enumerate(labels) for y in labels[i + 1:]]
    pairs += [(x, y) for x in labels for y in (seen or {})]
    every = {**(seen or {}), **sets}
    found = []
    for x, y in pairs:
        a, b = every[x], every[y]
        found += [f"{name} (in {' and '.join(sorted((x, y)))})" for name in sorted(a.keys() & b.keys())]
        names_a, names_b = list(a), list(b)
        for i, j, bits in zip(*pairs_within([a[n] for n in names_a], [b[n] for n in names_b])):
            if names_a[i] != names_b[j]:
                found.append(f"{x}/{names_a[i]} ~ {y}/{names_b[j]} (near-duplicates: {bits} of 128 bits differ)")
    return found


def check_disjoint(sets, seen=None, allow=False, advice="keep each photo in one split"):
    """Raise Overlap naming the photos of ``overlaps(sets, seen)``, and ``advice``; with ``allow``,
    warn and return them (the caller records them)."""
    found = overlaps(sets, seen)
    if not found:
        return []
    shown = "; ".join(found[:5]) + (f"; and {len(found) - 5} more" if len(found) > 5 else "")
    message = (f"{len(found)} overlap(s) between {', '.join([*sets, *(seen or {})])}: {shown}. "
               "A photo a model was fitted or chosen on cannot measure it")
    if not allow:
        raise Overlap(f"{message}: {advice} (--allow-overlap goes on anyway)")
    log.warning("%s; going on (--allow-overlap), and the result records them", message)
    return found


def checked(sets, split, allow=False):
    """Check the splits ``sets`` ({"train"|"val"|"test": [(path, score)]}) of split ``split``, and
    return what a bucket's provenance records of them (``photos``): the train and val photos'
    fingerprints (what it was fitted and chosen on), so that evaluate can refuse them as test photos."""
    prints, bad = {}, []
    for kind, entries in sets.items():  # every split's unreadable photos named together
        try:
            prints[kind] = fingerprints(entries, f"fingerprints of {kind}")
        except Unreadable as error:
            bad.append(f"{kind}_{split}: {error}")
    if bad:
        raise Unreadable("; ".join(bad))
    found = check_disjoint(prints, allow=allow)
    return {"split": split, "method": METHOD, "threshold": THRESHOLD, "overlaps": found,
            "train": prints["train"], "val": prints["val"]}


def groups(prints):
    """The near-duplicates among ``prints`` ({name: fingerprint}): sets of two names or more, each
    linked by pairs at ``THRESHOLD`` bits or fewer (a dataset's maker keeps each set in one split)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    names = sorted(prints)
    i, j, _ = pairs_within([prints[n] for n in names], [prints[n] for n in names])
    _, labels = connected_components(csr_matrix((np.ones(len(i)), (i, j)), shape=(len(names),) * 2), directed=False)
    found = {}
    for name, label in zip(names, labels):
        found.setdefault(label, set()).add(name)
    return sorted((group for group in found.values() if len(group) > 1), key=sorted)


def record_sets(facts):
    """{label: {name: fingerprint}} of the photos a bucket's model.json says it was fitted and
    chosen on, labelled with their split; None where it records none (ResMem, an older bucket)."""
    photos = (facts.get("provenance") or {}).get("photos")
    if not photos:
        return None
    if photos.get("method") != METHOD:  # fingerprints of another kind cannot be compared
        raise ValueError(f"the bucket's photos are fingerprinted by {photos.get('method')!r}, not {METHOD!r}")
    return {f"train_{photos['split']}": photos["train"], f"val_{photos['split']}": photos["val"]}
