"""Contract (the tiny bucket): occlusion maps: the window geometry, the frame, and the grid a client
gets."""
import io

import numpy as np
import pytest
from PIL import Image

import config
from core.analyses.explain import BASELINES, MapSettings, explain_prepared, occlusion_windows
from core.analyses.heatmap import effects_grid, heatmap_of, overlay_png
from core.inputs.images import preprocess
from tests.expected import SCORES
from tests.imagegen import sample_rgb
from tests.settings import settings


def test_the_grid_windows_tile_the_crop_and_the_offset_windows_sit_on_its_corners():
    windows = occlusion_windows(227, 2)
    covered = np.zeros((227, 227), int)
    for top, left, bottom, right in windows:
        covered[top:bottom, left:right] += 1
    assert len(windows) == 4 and np.all(covered == 1)
    assert occlusion_windows(227, 2, offset=True) == windows + [(57, 57, 171, 171)]
    assert len(occlusion_windows(227, 3)) == 9
    assert len(occlusion_windows(227, 3, offset=True)) == 9 + 4


def explain(model, image, grid=2, baseline="grey"):
    return explain_prepared(model, preprocess(image, model.spec), grid, baseline=baseline)


def test_the_fast_tier_maps_on_a_finer_grid_unless_one_is_set():
    assert MapSettings.from_settings(settings(), "fp32").grid == MapSettings.from_settings(settings(), "bf16").grid == 2
    assert MapSettings.from_settings(settings(), "lite-int8").grid == 3
    assert MapSettings.from_settings(settings(EXPLAIN_GRID=2), "lite-int8").grid == 2
    with pytest.raises(config.SettingsError, match="EXPLAIN_GRID must be 0 or more, not -1"):
        settings(EXPLAIN_GRID=-1)


def test_explain_scores_as_predict_and_leaves_the_unseen_border_neutral(model):
    result = explain(model, sample_rgb("coffee.jpg"), grid=2)
    assert result.scores["memorability"] == pytest.approx(SCORES["coffee.jpg"], abs=1e-4)
    top, left, size = result.crop_box
    assert (top, left, size) == (14, 14, 227)
    inside = result.frame[top:top + size, left:left + size]
    assert np.count_nonzero(inside) == inside.size
    outside = result.frame.copy()
    outside[top:top + size, left:left + size] = 0
    assert not outside.any()


def test_the_grid_keeps_the_photo_aspect_and_maps_zero_to_neutral():
    frame = np.zeros((256, 256))
    frame[:128] = 2.0   # the top half raises memorability
    frame[128:] = -1.0  # the bottom half lowers it, half as much
    grid = heatmap_of(effects_grid(frame, (640, 480), max_side=64))
    assert grid.shape == (48, 64)
    assert grid[:24].min() == grid[:24].max() == 1.0
    assert grid[24:].min() == grid[24:].max() == 0.25
    assert np.all(heatmap_of(effects_grid(np.zeros((256, 256)), (10, 20), 64)) == 0.5)
    assert effects_grid(frame, (10, 20), 64).shape == (20, 10)  # a small photo is not enlarged


def test_the_overlay_is_red_where_the_photo_gains_and_blue_where_it_loses():
    photo = sample_rgb("coffee.jpg").resize((100, 100))
    effects = np.zeros((10, 10))
    effects[:, :5] = 0.05   # hiding the left half lowers the score by 0.05: full red
    effects[:, 5:] = -0.05  # hiding the right half raises it: full blue
    overlay = np.asarray(Image.open(io.BytesIO(overlay_png(photo, effects, 0.05, 512))), np.int32)
    plain = np.asarray(photo, np.int32)
    assert (overlay[:, :40, 0] - plain[:, :40, 0]).mean() > 30  # redder
    assert (overlay[:, 60:, 2] - plain[:, 60:, 2]).mean() > 30  # bluer


def test_weak_effects_look_weak_on_the_fixed_scale_though_the_heatmap_stretches_them():
    """A photo where hiding any region raises the score a little is faintly blue, not a strong map."""
    photo = sample_rgb("coffee.jpg").resize((100, 100))
    effects = np.full((10, 10), -0.002)
    effects[:5] = -0.004
    overlay = np.asarray(Image.open(io.BytesIO(overlay_png(photo, effects, 0.05, 512))), np.int32)
    assert np.abs(overlay - np.asarray(photo, np.int32)).max() <= 12  # at most 8% of full colour
    assert heatmap_of(effects).min() == 0.0  # per-photo: stretched


def test_effects_are_the_fall_of_the_score_in_its_own_units(model):
    """With a 1 x 1 grid the one window hides the whole crop: the effect inside it is exactly
    the photo's score minus the score of a grey picture."""
    photo = sample_rgb("astronaut.jpg")
    result = explain(model, photo, grid=1)
    top, left, size = result.crop_box
    inside = result.frame[top:top + size, left:left + size]
    grey = model.predict([Image.new("RGB", photo.size, (128, 128, 128))])[0]["memorability"]
    assert inside.min() == inside.max() == pytest.approx(SCORES["astronaut.jpg"] - grey, abs=1e-5)
    effects = effects_grid(result.frame, photo.size, max_side=64)
    assert effects.shape == (64, 64) and effects[32, 32] == pytest.approx(inside.max(), abs=1e-5)


@pytest.mark.parametrize("baseline", BASELINES)
def test_each_baseline_hides_the_regions_and_keeps_the_score(model, baseline):
    result = explain(model, sample_rgb("chelsea.jpg"), grid=2, baseline=baseline)
    assert result.scores["memorability"] == pytest.approx(SCORES["chelsea.jpg"], abs=1e-4)
    assert np.count_nonzero(result.frame) > 0


def test_grey_and_blur_together_is_the_mean_of_each(model):
    photo = sample_rgb("chelsea.jpg")
    frames = {baseline: explain(model, photo, baseline=baseline).frame for baseline in ("grey", "blur", "grey+blur")}
    assert np.allclose(frames["grey+blur"], (frames["grey"] + frames["blur"]) / 2, atol=1e-6)
    with pytest.raises(config.SettingsError, match="EXPLAIN_BASELINE must be one of grey, mean, blur, grey\\+blur"):
        settings(EXPLAIN_BASELINE="grey+mean")
