"""POST /model/kind: what each uploaded file is, image, video or neither, from its first bytes, as
every route decides it (core/inputs/kinds.py): where to send it, before sending it whole."""
from flask_restx import fields
from maxfw.core import MAX_API, MAXAPI

from api.errors import upload_errors
from api.form import Field, Form
from core.inputs.formats import IMAGE_TEXT, VIDEO_TEXT
from core.inputs.kinds import HEAD_BYTES, classify

ROUTES = {"image": "/model/predict", "video": "/model/video"}  # where each kind is scored

form = Form()
form.add_argument(Field("file", location="files", required=True, most="MAX_FILES", example="clip.mp4", help=(
    f"A file, or only its first {HEAD_BYTES // 1024} KiB: no more is looked at. Repeat the field for several "
    "(at most MAX_FILES); the kinds come back in upload order.")))

kind_model = MAX_API.model("Kind", {
    "kind": fields.String(required=True, enum=["image", "video", "neither"], example="video", description=(
        f"image: one of {IMAGE_TEXT}; video: one of {VIDEO_TEXT}; neither: anything else")),
    "format": fields.String(required=False, example="MP4/MOV/3GP", description=(
        "The format taken that its bytes are in; absent for neither")),
    "route": fields.String(required=False, example="/model/video", description=(
        "Where to send the whole file: /model/predict (and the other image routes) or /model/video; "
        "absent for neither")),
})
kind_response = MAX_API.model("ModelKindResponse", {
    "status": fields.String(required=True, example="ok"),
    "kinds": fields.List(fields.Nested(kind_model, skip_none=True), required=True,
                         description="One per uploaded file, in upload order"),
})


class ModelKindAPI(MAXAPI):

    @MAX_API.doc("kind")
    @MAX_API.expect(form)
    @upload_errors("Missing, empty or too many files")
    @MAX_API.marshal_with(kind_response, skip_none=True)
    def post(self):
        """Tell an image from a video: what each file is, from its first bytes

        The bytes decide, never the file name or the content type, exactly as /model/predict
        and /model/video decide: a video named photo.jpg is a video, a photo named clip.mp4 an
        image. Only the first 64 KiB of each file are looked at, so a client may send just those
        (the page does), and then send the whole file to its route. Up to MAX_FILES files, each
        in a field named `file`. An empty file is a 400 that names it (`file 2 is empty`); a file
        of neither kind is no error here: /model/predict would answer it with a 400.
        """
        uploads = form.parse().file
        kinds = [classify(upload.stream.read(HEAD_BYTES), f"file {index}") for index, upload in enumerate(uploads, 1)]
        return {"status": "ok", "kinds": [{"kind": kind.kind, "format": kind.format, "route": ROUTES.get(kind.kind)}
                                          for kind in kinds]}
