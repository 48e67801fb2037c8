"""Contract (the tiny bucket): what decoding a video may cost. A pass reads at most
MAX_VIDEO_DECODE_FRAMES of the stream's frames, counted (never timed), and stops there with a 400;
FFmpeg's threads are MODEL_THREADS; H.264 frames that no sample shows and no frame references
are not decoded, and every sample is still the very frame a full decode shows; the moments'
thumbnails come from the one pass. A stream of unknown frame size is a 400, not a 500."""
import base64
import io
import random

import numpy as np
import pytest

from app import create_app
from tests.settings import settings
from tests.videogen import clip, decoded_frames, numbered, without_sps, without_timestamps

NAMES = ["astronaut.jpg", "coffee.jpg"]


def post(client, data, name="clip.mp4", **form):
    return client.post("/model/video", data={"video": (io.BytesIO(data), name), **form})


def reader(data, **overrides):
    from core.analyses.video import VideoReader

    return VideoReader(io.BytesIO(data), "clip.ts", settings(**overrides))


def shown_at(everything, start, t):
    """The frame a full decode (decoded_frames) shows at ``t`` s from the stream's ``start``."""
    return [frame for time, frame in everything if time - start <= t + 1e-6][-1]


@pytest.fixture(scope="module")
def stamped():
    """40 frames of MPEG-TS (4 s at 10 fps) whose frames have no timestamps but the first and last."""
    return without_timestamps(clip(NAMES, seconds=2, fps=10, container="mpegts", size=(160, 128)))


def test_a_pass_stops_at_the_frame_bound_on_frames_without_timestamps(stamped):
    from core.analyses.video import VideoError

    with reader(stamped) as video:  # the default bound: the whole stream is read for 4 samples
        assert len(list(video.played_at(video.sample_times(1)))) == 4 and video.packets == 40
    with reader(stamped, MAX_VIDEO_DECODE_FRAMES=10) as video:
        with pytest.raises(VideoError, match=r"clip.ts has more than 10 frames to decode \(MAX_VIDEO_DECODE_FRAMES\)"):
            list(video.played_at(video.sample_times(1)))
        assert video.packets == 10 and video.decoded <= 10 and video.passes == 1


def test_the_service_answers_the_bound_with_a_400(model, stamped):
    client = create_app(model=model, MAX_VIDEO_DECODE_FRAMES=10).test_client()
    response = post(client, stamped, "clip.ts")
    assert response.status_code == 400
    assert "the upload has more than 10 frames to decode (MAX_VIDEO_DECODE_FRAMES)" in response.get_json()["message"]


def test_a_header_that_declares_more_frames_than_the_bound_is_refused_before_decoding():
    from core.analyses.video import VideoError

    with pytest.raises(VideoError, match=r"clip.ts has 40 frames; the limit is 39 \(MAX_VIDEO_DECODE_FRAMES\)"):
        reader(clip(NAMES, seconds=2, fps=10), MAX_VIDEO_DECODE_FRAMES=39)


def test_ffmpeg_decodes_on_model_threads():
    """Not FFmpeg's own choice, the node's cores + 1 (3 on 2 cores)."""
    with reader(clip(NAMES[:1], seconds=1), MODEL_THREADS=5) as video:
        list(video.played_at(video.sample_times(1)))
        context = video.stream.codec_context
        assert (context.thread_count, str(context.thread_type.name)) == (5, "AUTO")


@pytest.mark.parametrize("container", ["mp4", "mpegts", "matroska"])
def test_unreferenced_frames_no_sample_shows_are_not_decoded_and_every_sample_is_exact(container):
    """Against a full decode by PyAV: each sample is the last frame presented at or before it."""
    data = numbered(240, container=container)  # 8 s at 30 fps, B-frames
    everything = decoded_frames(data)
    for fps, threads in ((0.5, 1), (1, 2), (3.7, 2), (30, 2)):
        with reader(data, MODEL_THREADS=threads) as video:
            times = video.sample_times(fps)
            sampled = list(video.played_at(times))
            assert [t for t, _ in sampled] == times and video.complete
            for t, rgb in sampled:
                assert np.array_equal(rgb, shown_at(everything, video.start, t)), (container, fps, t)
            assert video.packets <= 240
            if fps <= 1:
                assert video.decoded < 0.9 * video.packets, (container, fps, video.decoded, video.packets)


def test_thumbnails_come_from_the_one_decoding_pass(model, monkeypatch):
    """Each moment's thumbnail is the one a second decode at its time would make, from the
    frames of the one pass: no seek, no second pass."""
    import core.analyses.video
    from api.video import thumbnail
    from core.analyses.video import VideoReader

    passes = []
    counted = getattr(core.analyses.video, "frames", None)  # the one decoding pass (core/inputs/video_frames.py)

    def counting(video, times=None):
        passes.append(times)
        return counted(video, times)

    def second_decode(self, t):
        raise AssertionError(f"the thumbnail at {t} s was decoded again")

    data = numbered(240, fps=30)
    monkeypatch.setattr(core.analyses.video, "frames", counting, raising=False)
    monkeypatch.setattr(VideoReader, "frame_at", second_decode)
    body = post(create_app(model=model).test_client(), data, fps="3", top="4").get_json()
    assert len(passes) == 1 and len(body["moments"]) >= 2, body.get("message")
    everything = decoded_frames(data)
    for moment in body["moments"]:
        assert moment["thumbnail"] == thumbnail(shown_at(everything, everything[0][0], moment["time"]))
        assert base64.b64decode(moment["thumbnail"])[:2] == b"\xff\xd8"


@pytest.mark.parametrize("fps", [0.3, 1, 2.5, 30])
def test_the_thumbnails_kept_hold_every_moment_chosen(fps):
    """Thumbnails keeps top x (1 + blocked) frames: the moments of any scores are among them,
    ties and runs of equal scores included."""
    from core.analyses.video import Thumbnails, moments

    rng = random.Random(fps)
    for trial in range(60):
        count = rng.randint(1, 400)
        top = rng.randint(1, 20)
        scores = [rng.choice([rng.random(), 0.5, 0.25]) if trial % 3 else 0.5 for _ in range(count)]
        times = [k / fps for k in range(count)]
        kept = Thumbnails(top, fps, make=lambda index: index)
        for index, score in enumerate(scores):
            kept.offer(index, index, score)
        assert len(kept.kept) <= kept.room
        for index in moments(times, scores, top, fps):
            assert kept.of(index) == index


def test_a_stream_of_unknown_frame_size_is_a_400_not_a_500(model):
    """An H.264 MPEG-TS without its SPS: PyAV reports 0x0 frames (it was a ZeroDivisionError)."""
    from core.analyses.video import VideoError

    poison = without_sps(clip(NAMES, seconds=2, container="mpegts", size=(160, 128)))
    with pytest.raises(VideoError, match=r"clip.ts has frames of unknown size \(0x0\)"):
        reader(poison)
    response = post(create_app(model=model).test_client(), poison, "poison.ts")
    assert response.status_code == 400, response.get_json()
    assert "the upload has frames of unknown size (0x0)" in response.get_json()["message"]
