"""Contract (the tiny bucket): the app factory: CORS as in MAX, and settings overridable per app."""
import pytest

import config
from app import create_app
from tests.settings import open_model


@pytest.mark.parametrize("enabled", [True, False])
def test_cors_enable_true_allows_cross_origin_requests(model, monkeypatch, enabled):
    monkeypatch.setenv("CORS_ENABLE", "true" if enabled else "false")
    client = create_app(model=model).test_client()
    response = client.get("/model/metadata", headers={"Origin": "https://example.org"})
    assert response.status_code == 200
    allowed = response.headers.get("Access-Control-Allow-Origin")
    assert (allowed in ("*", "https://example.org")) is enabled, allowed


def test_limits_come_from_settings(model):
    client = create_app(model=model, MAX_FILES=1).test_client()
    response = client.post("/model/predict", data={"image": [(open("samples/coffee.jpg", "rb"), "a.jpg"),
                                                             (open("samples/chelsea.jpg", "rb"), "b.jpg")]})
    assert response.status_code == 400
    assert response.get_json() == {"status": "error", "message": "2 images sent; at most 1 per request"}


def test_a_finer_explain_grid_is_a_setting_and_a_nonsense_one_stops_the_start(model):
    client = create_app(model=model, EXPLAIN_GRID=1, EXPLAIN_HEATMAP_SIZE=8).test_client()
    with open("samples/rocket.jpg", "rb") as photo:
        body = client.post("/model/explain", data={"image": (photo, "rocket.jpg")}).get_json()
    heatmap = body["heatmap"]
    assert (len(heatmap), len(heatmap[0])) == (5, 8)
    # One window, the whole crop: one value inside it, neutral outside.
    assert len({value for row in heatmap[1:-1] for value in row[1:-1]}) == 1
    with pytest.raises(config.SettingsError, match="EXPLAIN_GRID must be 0 or more, not -1"):
        create_app(model=model, EXPLAIN_GRID=-1)


def test_fp32_maps_on_a_plain_two_by_two_grid_and_the_offset_windows_can_be_added(model):
    """By default a 2x2 grid gives four flat quadrants inside the crop; the centre window that
    EXPLAIN_OFFSET_WINDOWS adds splits them further."""
    def values_inside(**settings):
        client = create_app(model=model, EXPLAIN_HEATMAP_SIZE=16, **settings).test_client()
        with open("samples/astronaut.jpg", "rb") as photo:
            heatmap = client.post("/model/explain", data={"image": (photo, "a.jpg")}).get_json()["heatmap"]
        return {heatmap[r][c] for r in (2, 5, 10, 13) for c in (2, 5, 10, 13)}

    assert len(values_inside()) == 4
    assert len(values_inside(EXPLAIN_OFFSET_WINDOWS=True)) > 4


def test_the_fast_tier_maps_on_a_three_by_three_grid_in_the_same_time():
    model = open_model(MODEL_PRECISION="lite-int8")
    client = create_app(model=model, EXPLAIN_HEATMAP_SIZE=18).test_client()
    with open("samples/astronaut.jpg", "rb") as photo:
        effects = client.post("/model/explain", data={"image": (photo, "a.jpg")}).get_json()["effects"]
    model.close()
    # Cells 3, 8 and 13 of 18 lie inside the first, second and third thirds of the crop.
    assert len({effects[r][c] for r in (3, 8, 13) for c in (3, 8, 13)}) == 9
