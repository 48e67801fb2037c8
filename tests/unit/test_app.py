"""The app factory: CORS as in MAX, and settings overridable per app."""
import pytest

from app import create_app


@pytest.mark.parametrize("enabled", [True, False])
def test_cors_enable_true_allows_cross_origin_requests(resmem, monkeypatch, enabled):
    monkeypatch.setenv("CORS_ENABLE", "true" if enabled else "false")
    client = create_app(model=resmem).test_client()
    response = client.get("/model/metadata", headers={"Origin": "https://example.org"})
    assert response.status_code == 200
    allowed = response.headers.get("Access-Control-Allow-Origin")
    assert (allowed in ("*", "https://example.org")) is enabled, allowed


def test_limits_come_from_settings(resmem):
    client = create_app(model=resmem, MAX_FILES=1).test_client()
    response = client.post("/model/predict", data={"image": [(open("samples/coffee.jpg", "rb"), "a.jpg"),
                                                             (open("samples/chelsea.jpg", "rb"), "b.jpg")]})
    assert response.status_code == 400
    assert response.get_json() == {"status": "error", "message": "2 images sent; at most 1 per request"}


def test_a_finer_explain_grid_is_a_setting_and_a_nonsense_one_stops_the_start(resmem):
    client = create_app(model=resmem, EXPLAIN_GRID=1, EXPLAIN_HEATMAP_SIZE=8).test_client()
    with open("samples/rocket.jpg", "rb") as photo:
        body = client.post("/model/explain", data={"image": (photo, "rocket.jpg")}).get_json()
    heatmap = body["heatmap"]
    assert (len(heatmap), len(heatmap[0])) == (5, 8)
    # One window, the whole crop: one value inside it, neutral outside.
    assert len({value for row in heatmap[1:-1] for value in row[1:-1]}) == 1
    with pytest.raises(ValueError, match="EXPLAIN_GRID"):
        create_app(model=resmem, EXPLAIN_GRID=0)


def test_the_offset_windows_can_be_turned_off(resmem):
    """Without the centre window, a 2x2 grid gives four flat quadrants inside the crop."""
    client = create_app(model=resmem, EXPLAIN_OFFSET_WINDOWS=False, EXPLAIN_HEATMAP_SIZE=16).test_client()
    with open("samples/astronaut.jpg", "rb") as photo:
        heatmap = client.post("/model/explain", data={"image": (photo, "a.jpg")}).get_json()["heatmap"]
    quadrants = {heatmap[r][c] for r in (2, 5, 10, 13) for c in (2, 5, 10, 13)}
    assert len(quadrants) == 4, heatmap
