"""Contract (the tiny bucket): the tiny bucket itself. It is a bucket like ResMem's (the same
model.json contract, preprocessing and checksums), made again byte for byte from its seed, with
every served tier converted, and its scores vary with the input, so that the contract tests of
order, maps and crops that run on it can fail."""
import numpy as np
import pytest
from PIL import Image, ImageOps

from core.model.bucket import open_bucket
from core.model.runtimes import runtime_dir, verified_files
from core.model.tiers import TIERS
from tests.expected import NAMES, SCORES
from tests.imagegen import sample_rgb
from tests.settings import CACHE, RESMEM, TINY
from training import tiny


def test_it_is_a_resmem_bucket_with_resmems_preprocessing_and_verified_files():
    bucket, resmem = open_bucket(TINY), open_bucket(RESMEM)
    assert bucket.architecture == "resmem" and bucket.architecture_options == tiny.OPTIONS
    assert bucket.preprocessing == resmem.preprocessing
    assert bucket.facts["input_size"] == resmem.facts["input_size"]
    assert set(bucket.metadata) == set(resmem.metadata) and bucket.metadata["id"] == "tiny-resmem"
    for precision, tier in TIERS.items():
        if tier.served:  # converted by the same code as ResMem's, pinned by md5 in MODEL_CACHE
            assert verified_files(bucket, precision, CACHE)
    assert runtime_dir(bucket, CACHE).name == f"resmem-{bucket.weights_md5}"


def test_the_seed_makes_the_same_bytes_and_another_seed_other_weights(tmp_path):
    tiny.make(tmp_path / "again", tiny.SEED)
    assert open_bucket(tmp_path / "again").checksums == open_bucket(TINY).checksums
    tiny.make(tmp_path / "other", tiny.SEED + 1)
    assert open_bucket(tmp_path / "other").weights_md5 != open_bucket(TINY).weights_md5


def test_it_is_small():
    from core.model.networks import build_network

    bucket = open_bucket(TINY)
    network = build_network(bucket.architecture, bucket.preprocessing.crop, bucket.architecture_options)
    assert network.count_params() < 250_000  # ResMem: 131.8 M


def test_scores_vary_photo_by_photo_and_with_what_is_hidden(model):
    scores = [SCORES[name] for name in NAMES]
    assert all(0.05 < s < 0.95 for s in scores), scores  # not saturated
    gaps = [abs(a - b) for i, a in enumerate(scores) for b in scores[i + 1:]]
    assert min(gaps) > 0.01 and max(gaps) > 0.2, scores
    photo = sample_rgb("rocket.jpg")
    hidden = photo.copy()
    hidden.paste((128, 128, 128), (0, 0, photo.width // 2, photo.height))  # the left half greyed
    (plain, mirrored, greyed) = [p["memorability"] for p in model.predict([photo, ImageOps.mirror(photo), hidden])]
    assert plain == pytest.approx(SCORES["rocket.jpg"], abs=1e-6)
    assert abs(plain - mirrored) > 1e-3 and abs(plain - greyed) > 1e-3
    flat = model.predict([Image.new("RGB", (64, 64), (128, 128, 128))])[0]["memorability"]
    assert np.isfinite(flat) and abs(flat - plain) > 1e-3
