"""Contract (the tiny bucket): regions: what hiding a marked part of a real photo does to its score,
against the map, and every malformed region refused with a message that names it."""
import numpy as np
import pytest

from core.analyses.explain import explain_prepared, occlusion_windows
from core.analyses.marks import FieldError, Region, parse_regions
from core.analyses.regions import frame_mask, in_model_view, measure_regions
from core.inputs.images import crop_offsets
from tests.imagegen import SAMPLES


def window_region(window, spec, name):
    """The occlusion window (top, left, bottom, right) of the model's crop, as a region in
    fractions of the photo: the same pixels of the network's input."""
    top, left, bottom, right = window
    dy, dx = crop_offsets(spec)
    width, height = spec.resize
    return {"name": name,
            "box": [(left + dx) / width, (top + dy) / height, (right + dx) / width, (bottom + dy) / height]}


@pytest.mark.parametrize("name", ["astronaut.jpg", "coffee.jpg", "chelsea.jpg", "rocket.jpg"])
def test_a_region_on_a_map_window_has_the_maps_effect_and_sign(model, name):
    photo = model.pipeline.prepare((SAMPLES / name).read_bytes())
    windows = occlusion_windows(model.spec.crop, 2)
    mapped = explain_prepared(model, photo.x, 2)
    regions = parse_regions([window_region(w, model.spec, f"w{i}") for i, w in enumerate(windows)], 16)
    found = measure_regions(model, photo, regions)
    for (top, left, _bottom, _right), region in zip(windows, found.regions):
        fall = mapped.frame[top + mapped.crop_box[0], left + mapped.crop_box[1]]
        assert region.effect["memorability"] == pytest.approx(fall, abs=1e-4)
        assert np.sign(region.effect["memorability"]) == np.sign(fall) and region.in_model_view == 1
    assert found.scores == pytest.approx(mapped.scores, abs=1e-6)  # every output's
    assert found.passes == 1 + 6 * 4 + 1 and found.all_hidden["memorability"]["sum_of_effects"] == pytest.approx(
        sum(r.effect["memorability"] for r in found.regions))
    familiar = explain_prepared(model, photo.x, 2, output="false_alarm")  # the other output, same passes
    for (top, left, _bottom, _right), region in zip(windows, found.regions):
        assert region.effect["false_alarm"] == pytest.approx(
            familiar.frame[top + familiar.crop_box[0], left + familiar.crop_box[1]], abs=1e-4)


def test_a_region_the_model_never_sees_has_no_effect_and_says_so(model):
    photo = model.pipeline.prepare((SAMPLES / "astronaut.jpg").read_bytes())
    found = measure_regions(model, photo, parse_regions([{"name": "edge", "box": [0, 0, 0.04, 1]}], 16))
    edge = found.regions[0]
    assert edge.in_model_view == 0 and all(abs(e) < 1e-6 for e in edge.effect.values())
    assert set(edge.verdict.values()) == {"no clear effect"}
    assert "100% of the region is outside the centre 227x227" in edge.warning and "under 5%" in edge.warning


def test_the_verdict_needs_more_than_the_spread_and_the_noise(model):
    photo = model.pipeline.prepare((SAMPLES / "rocket.jpg").read_bytes())
    regions = parse_regions([{"name": "left", "box": [0.1, 0.1, 0.5, 0.9]},
                             {"name": "right", "box": [0.5, 0.1, 0.9, 0.9]}], 16)
    for noise in (0.0, 1.0):
        for region in measure_regions(model, photo, regions, noise=noise).regions:
            for output, effect in region.effect.items():
                clear = abs(effect) > max(region.spread[output], noise)
                expected = ("raises" if effect > 0 else "lowers") if clear else "no clear effect"
                assert region.verdict[output] == expected
            assert region.area_pct == pytest.approx(32) and region.warning is None and region.in_model_view == 1
    assert all(set(r.verdict.values()) == {"no clear effect"}
               for r in measure_regions(model, photo, regions, noise=1.0).regions)


def test_stable_regions_score_the_photo_as_stable_predict_does(model):
    data = (SAMPLES / "coffee.jpg").read_bytes()
    photo = model.pipeline.prepare(data)
    found = measure_regions(model, photo, parse_regions([{"name": "cup", "box": [0.2, 0.2, 0.8, 0.8]}], 16),
                            stable=True)
    expected = model.predict([data], stable=True)[0]
    assert found.scores == pytest.approx(expected, abs=1e-6)
    assert found.scores.mirror_delta == pytest.approx(expected.mirror_delta, abs=1e-6)
    assert found.passes == 2 * (1 + 6)


def test_a_polygon_masks_its_own_area(model):
    triangle = Region("t", ((0.1, 0.1), (0.9, 0.1), (0.1, 0.9)))
    mask = frame_mask(triangle, model.spec)
    assert mask.mean() == pytest.approx(triangle.area, rel=0.01) and triangle.area == pytest.approx(0.32)
    assert in_model_view(Region("r", ((0, 0), (1, 0), (1, 1), (0, 1))), model.spec) == pytest.approx((227 / 256) ** 2)


@pytest.mark.parametrize("regions, message", [
    ("not a list", "regions must be a non-empty JSON list"),
    ([], "regions must be a non-empty JSON list"),
    ([{"name": "a", "box": [0, 0, 1.5, 1]}], "regions[0].box[2] is 1.5: coordinates are fractions 0..1"),
    ([{"name": "a", "box": [0.5, 0, 0.2, 1]}], "regions[0].box [0.5, 0, 0.2, 1] is empty or inverted"),
    ([{"name": "a", "box": [0.2, 0.3, 0.2, 0.6]}], "is empty or inverted"),
    ([{"name": "a", "box": [0, 0, 1]}], "regions[0].box must be [x0, y0, x1, y1]"),
    ([{"name": "a", "box": ["0", 0, 1, 1]}], "regions[0].box[0] must be a number"),
    ([{"name": "a", "points": [[0, 0], [1, 1]]}], "regions[0].points must be a list of 3 to 64"),
    ([{"name": "a", "points": [[0, 0], [1, 1], [1, 0], [0, 1]]}], "regions[0].points crosses itself"),
    ([{"name": "a", "points": [[0, 0], [0.5, 0.5], [1, 1]]}], "regions[0].points has no area"),
    ([{"name": "a", "box": [0, 0, 1, 1], "points": [[0, 0], [1, 0], [0, 1]]}], "regions[0] must be"),
    ([{"name": "a"}], "regions[0] must be"),
    ([{"name": "", "box": [0, 0, 1, 1]}], "regions[0].name must be a text of 1 to 80"),
    ([{"name": "a", "box": [0, 0, 1, 1]}, {"name": "a", "box": [0, 0, 0.5, 1]}], "two regions are named 'a'"),
    ([{"name": f"r{i}", "box": [0, 0, 1, 1]} for i in range(17)], "17 regions; at most 16 (MAX_REGIONS)"),
])
def test_a_malformed_region_is_refused_with_its_field_and_value(regions, message):
    with pytest.raises(FieldError) as error:
        parse_regions(regions, 16)
    assert message in str(error.value)
