"""Contract (the tiny bucket): the video limits, each a setting, each a 400 (or 413) that names it;
checked on an app with small limits, so that the files stay small."""
import io

import pytest

from app import create_app
from tests.videogen import clip


def post(client, data, **form):
    return client.post("/model/video", data={"video": (io.BytesIO(data), "clip.mp4"), **form})


@pytest.mark.parametrize("limits, form, status, message", [
    ({"MAX_VIDEO_BYTES": 1000}, {}, 413, "over the limit of 1000 bytes"),
    ({"MAX_VIDEO_SECONDS": 1}, {}, 400, "the upload lasts 2.0 s; the limit is 1 s (MAX_VIDEO_SECONDS)"),
    ({"MAX_VIDEO_FRAMES": 3}, {"fps": "2"}, 400,
     "at 2 frames a second gives 4 frames; the limit is 3 (MAX_VIDEO_FRAMES)"),
    ({"MAX_VIDEO_FPS": 4.0}, {"fps": "5"}, 400, "fps must be above 0 and at most 4 (MAX_VIDEO_FPS), not 5"),
    ({"MAX_IMAGE_PIXELS": 1000}, {}, 400, "has frames of 512x384: too many pixels (the limit is 1000)"),
])
def test_each_video_limit_is_a_setting_and_a_clear_error(model, limits, form, status, message):
    client = create_app(model=model, **limits).test_client()
    response = post(client, clip(["astronaut.jpg"], seconds=2), **form)
    assert response.status_code == status
    assert message in response.get_json()["message"]


def test_the_defaults_admit_a_ten_minute_1080p_clip_of_100_mb_at_1_fps():
    import config

    settings = config.Settings.from_env({})
    assert settings.MAX_VIDEO_BYTES >= 100 * 2**20 and settings.MAX_VIDEO_SECONDS >= 600
    assert settings.MAX_VIDEO_FRAMES >= 600 and settings.MAX_VIDEO_FPS >= 1
    assert 1920 * 1080 <= settings.MAX_IMAGE_PIXELS


def test_image_requests_keep_their_own_limit(model):
    """MAX_VIDEO_BYTES raises the body limit for /model/video only."""
    client = create_app(model=model, MAX_CONTENT_LENGTH=1000, MAX_VIDEO_BYTES=10**7).test_client()
    data = clip(["astronaut.jpg"], seconds=1)
    assert post(client, data).status_code == 200
    response = client.post("/model/predict", data={"image": (io.BytesIO(data), "a.mp4")})
    assert response.status_code == 413


def test_a_videos_frames_are_held_in_the_decode_budget_a_chunk_at_a_time(model):
    """Frames share MAX_DECODE_PIXELS with photos: a chunk reserves its frames before they are
    decoded, holds no more than the budget, and every pixel is given back."""
    from core.analyses.video import VideoReader
    from core.inputs.budget import PixelBudget

    seen, predict, budget = [], model.predict, model.pipeline.budget
    frame = 512 * 384
    model.pipeline.budget = small = PixelBudget(3 * frame)  # room for three frames

    def counting(images, stable=False):
        seen.append((len(images), small.used))
        return predict(images, stable)

    model.predict = counting
    try:
        source = io.BytesIO(clip(["astronaut.jpg", "coffee.jpg"], seconds=2))
        with VideoReader(source, "clip.mp4", model.settings) as video:
            scored = video.timeline(model, fps=2)
    finally:
        model.pipeline.budget, model.predict = budget, predict
    assert len(scored) == 8 and [count for count, _ in seen] == [3, 3, 2]
    assert all(used <= small.limit for _, used in seen) and seen[0][1] >= 3 * frame
    assert small.used == 0
