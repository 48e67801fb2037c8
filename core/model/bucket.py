"""A weights bucket: a folder with the weights, ``model.json`` (its facts) and ``md5sums.txt``.

``model.json`` carries everything needed to serve the weights: the architecture, the input
size and the exact preprocessing, plus the metadata shown at ``/model/metadata``. Serving,
training and evaluation all read these facts from here instead of repeating them in code.
"""
import json
from dataclasses import dataclass
from pathlib import Path

from core.model.checksums import file_digest, verify_md5sums, write_md5sums

FACTS_FILE = "model.json"
CHECKSUM_FILE = "md5sums.txt"
METADATA_FIELDS = ("id", "name", "description", "type", "source", "license")


class BucketError(RuntimeError):
    """The bucket is missing, incomplete or inconsistent."""


@dataclass(frozen=True)
class Preprocessing:
    """How to turn an RGB image into the network's input (as ``resmem.transformer`` does)."""
    resize: tuple  # (width, height): the photo is squashed to this size, aspect ratio ignored
    interpolation: str  # a PIL resampling filter name, e.g. "bilinear"
    crop: int  # side of the centre crop taken after resizing
    scale: float  # multiply the 0..255 pixel values by this
    mean: tuple = (0.0, 0.0, 0.0)
    std: tuple = (1.0, 1.0, 1.0)

    @classmethod
    def from_facts(cls, p):
        """From the ``preprocessing`` object of a ``model.json``."""
        return cls(resize=tuple(p["resize"]), interpolation=p["interpolation"], crop=int(p["crop"]),
                   scale=float(p["scale"]), mean=tuple(p.get("mean") or (0.0, 0.0, 0.0)),
                   std=tuple(p.get("std") or (1.0, 1.0, 1.0)))


TTA = "mirror"  # a bucket's "tta": the one test-time augmentation it can have been chosen with


def chosen_mirrored(facts, where):
    """Whether a bucket's model.json (``facts``) says it was chosen scoring each photo as the mean
    of it and its mirror image ("tta": "mirror", written by training/finetune.py): the one reader
    of that key. BucketError for any other value: a typo ("Mirror", true) would have the bucket
    served, in silence, unlike how it was measured; null too: the key is absent or "mirror"."""
    if "tta" in facts and facts["tta"] != TTA:
        raise BucketError(f"{where}/{FACTS_FILE}: \"tta\" is {facts['tta']!r}; the only one known is {TTA!r}")
    return "tta" in facts


@dataclass(frozen=True)
class Bucket:
    path: Path
    facts: dict
    checksums: dict  # {file name: md5} from md5sums.txt, every file verified

    @property
    def mirrored(self):
        return chosen_mirrored(self.facts, self.path)

    @property
    def weights_md5(self):
        return self.checksums[self.facts["weights"]]

    @property
    def weights_path(self):
        return self.path / self.facts["weights"]

    @property
    def architecture(self):
        return self.facts["architecture"]

    @property
    def architecture_options(self):
        return self.facts.get("architecture_options", {})

    @property
    def preprocessing(self):
        return Preprocessing.from_facts(self.facts["preprocessing"])

    @property
    def metadata(self):
        return {field: self.facts.get(field, "") for field in METADATA_FIELDS}


def write_facts(folder, facts):
    """Write ``model.json`` byte-for-byte reproducibly (sorted keys, fixed indentation)."""
    path = Path(folder) / FACTS_FILE
    path.write_text(json.dumps(facts, indent=2, sort_keys=True) + "\n")
    return path


def write_bucket(folder, model, facts):
    """Write a bucket: ``model``'s weights (a Keras model's ``save_weights``) as facts["weights"],
    ``model.json`` and ``md5sums.txt`` of both; return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_weights(folder / facts["weights"])
    write_facts(folder, facts)
    write_md5sums(folder, [facts["weights"], FACTS_FILE], CHECKSUM_FILE)
    return folder


def open_bucket(path, weights_optional=False, memo=None):
    """Read a bucket's facts, after checking every file against its ``md5sums.txt``.

    With ``weights_optional`` the weights file may be absent: a server whose runtimes were
    converted ahead (core/model/runtimes.py) does not read it, and the serving image leaves it out.
    ``memo`` (core.model.checksums.DigestMemo) hashes a file that has not changed since only once.
    """
    path = Path(path)
    if not (path / FACTS_FILE).is_file():
        raise BucketError(f"{path} is not a model bucket: {FACTS_FILE} is missing "
                          "(run `make weights`, or point MODEL_BUCKET at a bucket folder)")
    if not (path / CHECKSUM_FILE).is_file():
        raise BucketError(f"{path}/{CHECKSUM_FILE} is missing: the bucket cannot be verified")
    facts = json.loads((path / FACTS_FILE).read_text())
    if not isinstance(facts, dict):
        raise BucketError(f"{path}/{FACTS_FILE} is not a JSON object")
    chosen_mirrored(facts, path)  # a "tta" it cannot be served with stops it here
    listed = verify_md5sums(path / CHECKSUM_FILE, optional=[facts.get("weights")] if weights_optional else (),
                            digest=memo.digest if memo else file_digest)
    missing = [k for k in ("architecture", "weights", "preprocessing") if k not in facts]
    if missing:
        raise BucketError(f"{path}/{FACTS_FILE} lacks {', '.join(missing)}")
    if facts["weights"] not in listed:
        raise BucketError(f"{path}/{CHECKSUM_FILE} does not pin the weights {facts['weights']}")
    return Bucket(path, facts, listed)
