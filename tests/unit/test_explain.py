"""Occlusion maps: the window geometry, the frame, and the grid a client gets."""
import io

import numpy as np
import pytest
from PIL import Image

from core.explain import explain, occlusion_windows
from core.heatmap import heatmap_grid, overlay_png
from tests.imagegen import REFERENCE, sample_rgb


def test_the_grid_windows_tile_the_crop_and_the_offset_windows_sit_on_its_corners():
    windows = occlusion_windows(227, 2)
    covered = np.zeros((227, 227), int)
    for top, left, bottom, right in windows[:4]:
        covered[top:bottom, left:right] += 1
    assert np.all(covered == 1)
    assert windows[4] == (57, 57, 171, 171)
    assert len(occlusion_windows(227, 3)) == 9 + 4
    assert occlusion_windows(227, 2, offset=False) == windows[:4]


def test_explain_scores_as_predict_and_leaves_the_unseen_border_neutral(resmem):
    result = explain(resmem, sample_rgb("coffee.jpg"), grid=2)
    assert result.memorability == pytest.approx(REFERENCE["coffee.jpg"], abs=1e-4)
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
    grid = heatmap_grid(frame, (640, 480), max_side=64)
    assert grid.shape == (48, 64)
    assert grid[:24].min() == grid[:24].max() == 1.0
    assert grid[24:].min() == grid[24:].max() == 0.25
    assert np.all(heatmap_grid(np.zeros((256, 256)), (10, 20)) == 0.5)
    assert heatmap_grid(frame, (10, 20)).shape == (20, 10)  # a small photo is not enlarged


def test_the_overlay_is_red_where_the_photo_gains_and_blue_where_it_loses():
    photo = sample_rgb("coffee.jpg").resize((100, 100))
    grid = np.full((10, 10), 0.5)
    grid[:, :5] = 1.0
    grid[:, 5:] = 0.0
    overlay = np.asarray(Image.open(io.BytesIO(overlay_png(photo, grid))), np.int32)
    plain = np.asarray(photo, np.int32)
    assert (overlay[:, :40, 0] - plain[:, :40, 0]).mean() > 30  # redder
    assert (overlay[:, 60:, 2] - plain[:, 60:, 2]).mean() > 30  # bluer
