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
WORDS = 2  # uint64 words a row


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


def fingerprints(entries, desc="fingerprints"):
    """{name: fingerprint} of ``entries`` ([(path, score)] or paths)."""
    paths = [entry[0] if isinstance(entry, tuple) else entry for entry in entries]
    return {Path(p).name: fingerprint(p) for p in tqdm(paths, desc=desc, unit="photo", leave=False)}


def _rows(prints):
    """n x rows x WORDS uint64 of hex fingerprints."""
    raw = np.array([bytes.fromhex(p) for p in prints], dtype=f"S{len(CROPS) * WORDS * 8}")
    return np.frombuffer(raw.tobytes(), dtype=">u8").reshape(len(prints), len(CROPS), WORDS)


def distances(a, b):
    """The n x m distances (bits) between fingerprints ``a`` and ``b`` (lists of hex)."""
    if not a or not b:
        return np.zeros((len(a), len(b)), np.int64)
    ra, rb = _rows(a), _rows(b)
    out = np.empty((len(a), len(b)), np.int64)
    step = max(1, 2_000_000 // (len(b) * len(CROPS)))  # about 100 MB of XORs at a time
    for start in range(0, len(a), step):
        chunk = ra[start:start + step]
        whole_a = np.bitwise_count(chunk[:, None, None, 0] ^ rb[None]).sum(-1).min(-1)  # a whole, b's rows
        whole_b = np.bitwise_count(chunk[:, None] ^ rb[None, :, None, 0]).sum(-1).min(-1)  # a's rows, b whole
        out[start:start + step] = np.minimum(whole_a, whole_b)
    return out


def overlaps(sets, seen=None):
    """The pairs of photos in two different sets, as sentences: by name, or near-duplicates at
    ``THRESHOLD`` bits or fewer. ``sets`` {label: {name: fingerprint}} are compared with each other
    and with each of ``seen`` (the same form), never ``seen`` among themselves."""
    labels = list(sets)
    pairs = [(x, y) for i, x in enumerate(labels) for y in labels[i + 1:]]
    pairs += [(x, y) for x in labels for y in (seen or {})]
    groups = {**(seen or {}), **sets}
    found = []
    for x, y in pairs:
        a, b = groups[x], groups[y]
        found += [f"{name} (in {' and '.join(sorted((x, y)))})" for name in sorted(a.keys() & b.keys())]
        names_a, names_b = list(a), list(b)
        near = distances([a[n] for n in names_a], [b[n] for n in names_b])
        for i, j in zip(*np.nonzero(near <= THRESHOLD)):
            if names_a[i] != names_b[j]:
                found.append(f"{x}/{names_a[i]} ~ {y}/{names_b[j]} (near-duplicates: {near[i, j]} of 128 bits differ)")
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
    prints = {kind: fingerprints(entries, f"fingerprints of {kind}") for kind, entries in sets.items()}
    found = check_disjoint(prints, allow=allow)
    return {"split": split, "method": METHOD, "threshold": THRESHOLD, "overlaps": found,
            "train": prints["train"], "val": prints["val"]}


def groups(prints):
    """The near-duplicates among ``prints`` ({name: fingerprint}): sets of two names or more, each
    linked by pairs at ``THRESHOLD`` bits or fewer (a dataset's maker keeps each set in one split)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    names = sorted(prints)
    near = distances([prints[n] for n in names], [prints[n] for n in names]) <= THRESHOLD
    _, labels = connected_components(csr_matrix(near), directed=False)
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
