"""Contract (the tiny bucket): one pipeline: a photo gives the same network input, and the same
score, whichever way it comes in. The photos are the hard cases: a camera-sized JPEG (decoded at a
draft) and a phone's photo stored on its side with EXIF orientation 6."""
import functools
import io

import numpy as np
import pytest

from app import create_app
from collection.local import LocalScorer
from tests.imagegen import encode, pipeline_photos
from tests.settings import settings

PHOTOS = pipeline_photos()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    for name, data in PHOTOS.items():
        (root / name).write_bytes(data)
    return root


def test_the_hard_cases_are_hard():
    """The big JPEG is decoded at reduced size, and the rotated one is turned upright."""
    from core.inputs.pipeline import InputPipeline
    from core.model.bucket import open_bucket

    pipeline = InputPipeline.from_settings(open_bucket(settings().MODEL_BUCKET).preprocessing, settings())
    image, size = pipeline.decode(PHOTOS["big.jpg"])
    assert size == (3200, 2128) and image.size == (800, 532)  # libjpeg at 1/4: no side under 512
    image, size = pipeline.decode(PHOTOS["rotated.jpg"])
    assert size == (1600, 1068) and image.size == (800, 534)  # upright, at a draft


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_every_way_in_gives_the_same_network_input(model, folder, name):
    from training.pipeline import image_dataset

    x = model.pipeline.prepare(PHOTOS[name]).x  # an upload's bytes: predict, explain, the page
    np.testing.assert_array_equal(model.pipeline.prepare(folder / name).x, x)  # a path: score, label, evaluate
    # The training pipeline without augmentation: what the network learns from.
    ((images, _),) = image_dataset([(folder / name, 0.5)], model.pipeline, 1).take(1)
    np.testing.assert_array_equal(images.numpy()[0], x)


@pytest.fixture(scope="module")
def scored(model, folder):
    """{way in: {name: score}} through every entry point that runs in this process."""
    from training.evaluate import predict_files
    from training.label import score_folder

    names = sorted(PHOTOS)
    client = create_app(model=model).test_client()
    ways = {"predict": {}, "explain": {}}
    for name in names:
        body = client.post("/model/predict", data={"image": (folder / name).open("rb")}).get_json()
        ways["predict"][name] = body["predictions"][0]["memorability"]
        explained = client.post("/model/explain", data={"image": (folder / name).open("rb")}).get_json()
        ways["explain"][name] = explained["memorability"]
    for maps in (False, True):
        with LocalScorer(settings(), maps=maps) as scorer:
            results = list(scorer.score([folder / name for name in names]))
        assert all(result.error is None for result in results)
        ways["score --maps" if maps else "score"] = {n: r.scores["memorability"] for n, r in zip(names, results)}
    ways["training.label"] = score_folder(model, folder)
    ways["training.evaluate"] = dict(zip(names, predict_files(model, [str(folder / n) for n in names])))
    return ways


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_every_way_in_gives_the_same_score(model, scored, name):
    expected = float(model.scores(model.pipeline.prepare(PHOTOS[name]).x[None])[0, 0])
    for way, scores in scored.items():
        assert scores[name] == pytest.approx(expected, abs=1e-6), way


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_the_stable_mirror_is_the_mirrored_photo_preprocessed(model, name):
    """The photo is mirrored before the resize and crop, so that its mirror view is exactly what
    the mirrored photo sent alone gives; ResMem's crop is not centred to the pixel (14 | 15)."""
    from PIL import ImageOps

    photo = model.pipeline.prepare(PHOTOS[name], mirror=True)
    np.testing.assert_array_equal(photo.x_mirror, model.pipeline.prepare(ImageOps.mirror(photo.image)).x)
    assert not np.array_equal(photo.x_mirror, photo.x[:, ::-1])
    (a,), (b,) = model.predict([PHOTOS[name]], stable=True), model.predict([ImageOps.mirror(photo.image)], stable=True)
    assert a["memorability"] == b["memorability"] and a.mirror_delta["memorability"] == -b.mirror_delta["memorability"]
    (plain,) = model.predict([PHOTOS[name]])
    assert set(plain) == set(model.outputs)  # MODEL_TTA is off by default: each model's own score


@functools.lru_cache(1)
def big_png():
    """big.jpg's pixels as a PNG, which is never drafted: encoded once for every case."""
    from PIL import Image

    return encode(Image.open(io.BytesIO(PHOTOS["big.jpg"])), "PNG")


@pytest.mark.parametrize("name, cut, decoded", [
    ("big.jpg", None, (800, 532)),  # the whole photo's draft
    ("big.jpg", 1500, (1600, 1064)),  # a 1500 px crop keeps 750 px at 1/2: over twice the resize
    ("big.jpg", 600, (3200, 2128)),  # at 1/2 it would be 300 px: decoded in full
    ("rotated.jpg", 500, (1600, 1068)),  # upright, the draft sized on the shortest sides
    ("big.png", 1100, (1600, 1064)),  # never drafted: decoded whole, shrunk once by 2 (550 px kept)
    ("big.png", 3000, (640, 426)),  # by 5: the 3000 px crop keeps 600
    ("big.png", 600, (3200, 2128)),  # 600 px: no whole factor keeps 512
])
def test_crops_are_cut_from_a_decode_fine_enough_for_the_smallest_held_in_the_budget(model, name, cut, decoded):
    """Issue 40, item 6: a PNG (never drafted) was cut at full size, every crop of a round held."""

    pipeline = model.pipeline
    source = PHOTOS[name] if name != "big.png" else big_png()
    photo = pipeline.prepare(source, keep_image=False)
    assert photo.image is None  # a score keeps no picture
    with pipeline.for_cuts(source, photo, cut) as cuttable:
        assert cuttable.image.size == decoded and cuttable.size == photo.size and cuttable.x is photo.x
        # Held while the crops are cut: the picture and one crop at a time (the decode's own peak,
        # its turned copy and the full picture before the shrink, given back once it is made).
        assert pipeline.budget.used == 2 * decoded[0] * decoded[1]
        crop = pipeline.crop(cuttable, (0, 0, 400, 400), mirror=True)
        assert crop.image is None and crop.x.shape == crop.x_mirror.shape == photo.x.shape  # dropped once made
    assert pipeline.budget.used == 0
