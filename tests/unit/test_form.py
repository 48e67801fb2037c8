"""Contract (the tiny bucket): a field's default and bounds that a setting holds are that app's, in
swagger.json and in what the route does (api/form.py reads them per app; the fields test covers
the default settings over HTTP)."""
import io

from app import create_app
from tests.imagegen import sample_bytes


def parameters(client, path):
    operation = client.get("/swagger.json").get_json()["paths"][path]["post"]
    return {param["name"]: param for param in operation["parameters"]}


def test_model_tta_mirror_is_stables_default_in_swagger_and_in_the_route(model):
    for tta, stable in (("off", False), ("mirror", True)):
        client = create_app(model=model, MODEL_TTA=tta).test_client()
        assert parameters(client, "/model/predict")["stable"]["default"] is stable
        body = client.post("/model/predict", data={"image": (io.BytesIO(sample_bytes()), "a.jpg")}).get_json()
        assert ("mirror_delta" in body["predictions"][0]) is stable, body


def test_max_video_fps_is_fps_maximum_in_swagger_and_in_the_route(model):
    client = create_app(model=model, MAX_VIDEO_FPS=4.0).test_client()
    fps = parameters(client, "/model/video")["fps"]
    assert (fps["minimum"], fps.get("exclusiveMinimum"), fps["maximum"], fps["default"]) == (0, True, 4.0, 1.0)
    response = client.post("/model/video", data={"video": (io.BytesIO(b"x"), "a.mp4"), "fps": "4.5"})
    assert response.get_json() == {"status": "error",
                                   "message": "fps must be above 0 and at most 4 (MAX_VIDEO_FPS), not 4.5"}
