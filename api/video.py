"""POST /model/video: a memorability timeline of a clip, its most memorable moments and its best clip."""
import base64
import io
import statistics

from flask import current_app, request
from flask_restx import fields
from maxfw.core import MAX_API, MAXAPI
from PIL import Image
from werkzeug.exceptions import BadRequest

from api.errors import upload_errors
from api.form import Field, Form, Number
from api.predict import output_fields
from api.uploads import output_field, stable_field
from core.analyses.video import Thumbnails, VideoReader, best_clip, moments
from core.inputs.formats import VIDEO_TEXT
from core.model.outputs import KNOWN, field, fields_of

THUMBNAIL_SIDE = 320
TOP = Number(int, minimum=1, maximum=20)

form = Form()
form.add_argument(Field("video", location="files", required=True, example="clip.mp4", help=(
    f"One video file: {VIDEO_TEXT} "
    "(H.264, HEVC, VP8, VP9, AV1, MPEG-4, ...); other formats are a 400 that names them.")))
form.add_argument(Field("fps", type=Number(float, above=0, maximum="MAX_VIDEO_FPS"), default=1.0, help=(
    "Frames sampled a second, at times 0, 1/fps, 2/fps, ...; default 1, at most MAX_VIDEO_FPS.")))
form.add_argument(Field("top", type=TOP, default=3, help=f"How many moments to return, {TOP.range()}; default 3."))
form.add_argument(Field("clip", type=Number(float, above=0), help=(
    "A clip length in seconds: also return the window of that length with the highest mean.")))
form.add_argument(stable_field("true: score each frame as the mean of it and its mirror image, as /model/predict "
                               "does, and add mirror_delta; the default is the server's MODEL_TTA."))
form.add_argument(output_field("The output that chooses the moments and the clip and that the statistics describe: "
                               "memorability (the default) or false_alarm. The timeline has every output."))

point = MAX_API.model("TimelinePoint", {
    "time": fields.Float(required=True, description="Presentation time of the frame, seconds"),
    **output_fields(),  # each output's score of the frame, as /model/predict gives it
})
# The moments, the clip and the statistics are of one output (`output`: memorability where it is
# served, else the one served); the moment's and the clip's field names it.
moment = MAX_API.model("Moment", {
    "time": fields.Float(required=True),
    **{field(name): fields.Float(required=False, min=0, max=1, description=f"The frame's {name}") for name in KNOWN},
    "thumbnail": fields.String(required=True, description="JPEG, base64, at most 320 px a side"),
})
clip = MAX_API.model("Clip", {
    "start": fields.Float(required=True), "end": fields.Float(required=True),
    **{field(name): fields.Float(required=False, description=f"Mean {name} of the frames inside") for name in KNOWN},
})
video_response = MAX_API.model("ModelVideoResponse", {
    "status": fields.String(required=True, example="ok"),
    "duration": fields.Float(required=True, description="Seconds"),
    "fps": fields.Float(required=True, description="Frames sampled a second, as used"),
    "frames": fields.Integer(required=True, description="Frames scored"),
    "complete": fields.Boolean(required=True, description=(
        "False when the file ended early or broke: the frames before are scored")),
    "timeline": fields.List(fields.Nested(point, skip_none=True), required=True),
    "moments": fields.List(fields.Nested(moment, skip_none=True), required=True, description=(
        "The most memorable frames, each at least 2 s (or 1/fps) from the others")),
    "clip": fields.Nested(clip, required=False, skip_none=True, allow_null=True),
    "mean": fields.Float(required=True), "median": fields.Float(required=True),
    "min": fields.Float(required=True), "max": fields.Float(required=True),
})


def thumbnail(rgb):
    image = Image.fromarray(rgb)
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class ModelVideoAPI(MAXAPI):

    @MAX_API.doc("video")
    @MAX_API.expect(form)
    @upload_errors("Missing, empty or unreadable video, an image, or fps, top or clip out of range")
    @MAX_API.marshal_with(video_response, skip_none=True)
    def post(self):
        """A memorability timeline of a video, its most memorable moments and its best clip

        Frames are sampled at presentation times 0, 1/fps, 2/fps, ... (the frame shown at each
        time, turned as the video's display matrix says) and each is scored as the same picture
        sent to /model/predict. The upload is spooled to a temporary file, never held in memory,
        and decoded once: the moments' thumbnails are made as their frames are scored.
        """
        settings = current_app.extensions["max_settings"]
        request.max_content_length = settings.MAX_VIDEO_BYTES  # not the image requests' limit
        values = form.parse()
        fps, top, length, stable, upload = values.fps, values.top, values.clip, values.stable, values.video[0]
        upload.stream.seek(0, io.SEEK_END)
        if not upload.stream.tell():
            raise BadRequest("the upload is empty")
        upload.stream.seek(0)
        model = current_app.extensions["max_model"]
        output = values.output  # what the moments and the clip are chosen by
        with VideoReader(upload.stream, "the upload", settings) as video:
            if length is not None and length > video.duration:
                raise BadRequest(f"clip is {length:g} s, longer than the video ({video.duration:.1f} s)")
            kept = Thumbnails(top, fps, thumbnail)  # made as the frames are scored: no second decoding
            # A hung-up client stops it at its next wait for passes (api/passes.py, core/inputs/deadline.py).
            scored = video.timeline(model, fps, stable,
                                    each=lambda index, rgb, prediction: kept.offer(index, rgb, prediction[output]))
            times, scores = [t for t, _ in scored], [p[output] for _, p in scored]
            if not scores:
                raise BadRequest("the upload has no frame that could be decoded; it is truncated or corrupt")
            chosen = moments(times, scores, top, fps)
            found = [{"time": times[i], field(output): scores[i], "thumbnail": kept.of(i)} for i in chosen]
            complete = video.complete
            duration = video.duration
        best = best_clip(times, scores, length, duration) if length is not None else None
        return {"status": "ok", "duration": duration, "fps": fps, "frames": len(scores), "complete": complete,
                "timeline": [{"time": t, **fields_of(p)} for t, p in scored], "moments": found,
                "clip": {"start": best[0], "end": best[1], field(output): best[2]} if best else None,
                "mean": statistics.fmean(scores), "median": statistics.median(scores),
                "min": min(scores), "max": max(scores)}
