"""Contract (the tiny bucket): one classifier of inputs (core/inputs/kinds.py): image, video or
neither, from the first bytes of real files, never their names; the routes that take images or
videos refuse the other kind with what it is, and POST /model/kind tells them apart."""
import io
import os

import pytest

from app import create_app
from core.inputs.formats import IMAGE_TEXT, VIDEO_TEXT
from core.inputs.images import ImageError
from core.inputs.kinds import HEAD_BYTES, IMAGE, NEITHER, VIDEO, Kind, classify
from tests.imagegen import NOT_IMAGES, SAMPLES, encode, sample_rgb
from tests.unit.test_video_formats import DOCUMENTED
from tests.videogen import audio_only, clip

# Every container the API documents, as its format's label says it.
LABELS = {"mp4": "MP4/MOV/3GP", "mov": "MP4/MOV/3GP", "3gp": "MP4/MOV/3GP", "webm": "WebM/Matroska",
          "matroska": "WebM/Matroska", "avi": "AVI", "mpegts": "MPEG-TS", "mpeg": "MPEG-PS", "flv": "FLV",
          "ogg": "Ogg", "asf": "ASF", "mxf": "MXF"}


@pytest.fixture(scope="module")
def client(model):
    return create_app(model=model).test_client()


@pytest.mark.parametrize("name", sorted(path.name for path in SAMPLES.glob("*.jpg")))
def test_each_sample_photo_is_an_image_by_its_path_its_bytes_and_its_first_bytes(name):
    data = (SAMPLES / name).read_bytes()
    for source in (SAMPLES / name, str(SAMPLES / name), data, data[:HEAD_BYTES], io.BytesIO(data)):
        kind = classify(source)
        assert (kind.kind, kind.format) == (IMAGE, "JPEG"), source


@pytest.mark.parametrize("fmt, label", [("PNG", "PNG"), ("GIF", "GIF"), ("BMP", "BMP"), ("TIFF", "TIFF"),
                                        ("WEBP", "WebP")])
def test_every_image_format_taken_is_an_image(fmt, label):
    kind = classify(encode(sample_rgb(), fmt))
    assert (kind.kind, kind.format) == (IMAGE, label)


@pytest.mark.parametrize("container, codec, fps", DOCUMENTED)
def test_every_documented_container_is_a_video_from_its_first_bytes(container, codec, fps):
    data = clip(["astronaut.jpg", "rocket.jpg"], seconds=3, fps=fps, container=container, codec=codec,
                size=(160, 128))
    whole, head = classify(data), classify(data[:HEAD_BYTES])
    assert whole == head and (whole.kind, whole.format) == (VIDEO, LABELS[container])


def test_names_are_never_read_a_video_named_jpg_and_a_photo_named_mp4(tmp_path):
    (tmp_path / "photo.jpg").write_bytes(clip(["coffee.jpg"], seconds=1))
    (tmp_path / "clip.mp4").write_bytes((SAMPLES / "coffee.jpg").read_bytes())
    (tmp_path / "notes.png").write_text("a list of stimuli, not a photo\n")
    assert classify(tmp_path / "photo.jpg").kind == VIDEO
    assert classify(tmp_path / "clip.mp4").kind == IMAGE
    assert classify(tmp_path / "notes.png").kind == NEITHER


@pytest.mark.parametrize("name", sorted(set(NOT_IMAGES) - {"jpeg_magic_then_noise"}))
def test_text_documents_and_images_not_taken_are_neither(name):
    kind = classify(NOT_IMAGES[name][2])
    assert kind.kind == NEITHER and kind.format is None
    assert kind.other is (name != "icon")  # an ICO is an image of a format not taken, not a README


def test_stills_in_an_mp4_box_and_sound_alone_are_no_videos():
    """FFmpeg's MP4 demuxer opens AVIF and HEIC photos too; a WAV is a container without video."""
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)
    assert classify(encode(sample_rgb(), "AVIF")) == Kind(NEITHER, image_format="AVIF")
    assert classify(heic) == Kind(NEITHER, image_format="HEIF")
    assert classify(audio_only()).kind == NEITHER
    assert classify((SAMPLES / "LICENSES.md").read_bytes()).other


def test_an_empty_file_a_folder_and_a_fifo_are_errors_not_kinds(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageError, match="empty.jpg is empty"):
        classify(tmp_path / "empty.jpg", "empty.jpg")
    with pytest.raises(ImageError, match="is not a regular file: it is a folder"):
        classify(tmp_path, "it")
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ImageError, match="a named pipe"):  # refused from its stat: nothing blocks
        classify(tmp_path / "pipe", "pipe")


def test_a_video_sent_as_a_photo_is_a_400_that_says_it_is_a_video(client):
    data = clip(["coffee.jpg"], seconds=1)
    response = client.post("/model/predict", data={"image": (io.BytesIO(data), "photo.jpg")})
    assert response.status_code == 400
    assert response.get_json()["message"] == "image 1 is a video (MP4/MOV/3GP), not an image: send it to /model/video"


def test_a_photo_sent_as_a_video_is_a_400_that_says_it_is_a_photo(client):
    photo = (SAMPLES / "coffee.jpg").read_bytes()
    response = client.post("/model/video", data={"video": (io.BytesIO(photo), "clip.mp4")})
    assert response.status_code == 400
    assert response.get_json()["message"] == "the upload is a JPEG image, not a video; send photos to /model/predict"


def test_the_kind_route_answers_from_the_first_bytes_in_upload_order(client):
    video = clip(["rocket.jpg"], seconds=2)
    photo = (SAMPLES / "rocket.jpg").read_bytes()
    files = [(io.BytesIO(video[:HEAD_BYTES]), "photo.jpg"), (io.BytesIO(photo), "clip.mp4"),
             (io.BytesIO(b"stimulus list\n"), "list.txt")]
    response = client.post("/model/kind", data={"file": files})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "ok", "kinds": [
        {"kind": "video", "format": "MP4/MOV/3GP", "route": "/model/video"},
        {"kind": "image", "format": "JPEG", "route": "/model/predict"},
        {"kind": "neither"}]}


@pytest.mark.parametrize("data, status, message", [
    ({}, 400, "no file in the form field 'file'"),
    ({"file": (io.BytesIO(b""), "a.jpg")}, 400, "file 1 is empty"),
    ({"file": (io.BytesIO(b"x"), "a.jpg"), "image": (io.BytesIO(b"x"), "b.jpg")}, 400,
     "unknown form field 'image': this endpoint takes only files in the field 'file'"),
])
def test_the_kind_route_refuses_a_bad_form_with_a_clear_400(client, data, status, message):
    response = client.post("/model/kind", data=data)
    assert response.status_code == status and response.get_json()["message"].startswith(message)


def test_the_swagger_documents_the_kind_route_and_every_help_text_lists_the_one_format_list(client):
    spec = client.get("/swagger.json").get_json()
    kind = spec["paths"]["/model/kind"]["post"]
    assert "the first 64 KiB" in kind["description"] and "a video named photo.jpg is a video" in kind["description"]
    helps = {route: next(p["description"] for p in spec["paths"][f"/model/{route}"]["post"]["parameters"]
                         if p["name"] == field)
             for route, field in [("predict", "image"), ("explain", "image"), ("regions", "image"),
                                  ("crops", "image"), ("video", "video")]}
    assert all(IMAGE_TEXT in text for route, text in helps.items() if route != "video"), helps
    assert VIDEO_TEXT in helps["video"]


def test_text_is_never_a_video_even_when_ffmpeg_sees_packets_in_it():
    """FFmpeg's MPEG-TS probe finds 204-byte packets in lines of 17 characters with a G in each."""
    kind = classify(b"not a PNG at all\n" * 200)
    assert kind.kind == NEITHER and kind.other
