"""POST /model/crops: the most memorable crops of a photo for each aspect ratio, each with its
effect on every output (memorability and false_alarm); ranked by memorability unless `output`
says otherwise."""
from flask import current_app
from flask_restx import fields
from maxfw.core import MAX_API, MAXAPI
from werkzeug.exceptions import BadRequest

from api.errors import upload_errors
from api.form import Field, Form, Json, Number, Text
from api.uploads import image_bytes, image_field, output_field, stable_field
from core.analyses.crops import (
    DEFAULT_RATIOS,
    MAX_BOXES,
    parse_boxes,
    parse_keep,
    parse_ratios,
    score_boxes,
    search_crops,
    shortest_cut,
)
from core.analyses.marks import FieldError
from core.model.outputs import KNOWN, field

form = Form()
form.add_argument(image_field())
form.add_argument(Field("ratios", type=Text(parse_ratios), example="1:1,16:9", help=(
    f"Aspect ratios W:H, comma-separated, each between 1:4 and 4:1; default {DEFAULT_RATIOS}, "
    "or none when `boxes` is sent without `ratios`.")))
TOP, MIN_SCALE = Number(int, minimum=1, maximum=10), Number(float, minimum=0.5, maximum=1)
form.add_argument(Field("top", type=TOP, default=3, help=f"Crops returned per ratio, {TOP.range()}; default 3."))
form.add_argument(Field("min_scale", type=MIN_SCALE, default=1.0, help=(
    f"The smallest crop, as a share {MIN_SCALE.range()} of the largest crop of the ratio that fits; "
    "default 1: the largest crop only, its position chosen.")))
form.add_argument(Field("keep", type=Json(parse_keep), example="[[0.4, 0.3, 0.6, 0.5]]", help=(
    "A JSON list of boxes [x0, y0, x1, y1] (fractions 0..1 of the photo) that every "
    "crop must contain, e.g. [[0.4, 0.3, 0.6, 0.5]].")))
# Whether a box lies inside the photo is known once it is decoded: the route parses the boxes then.
form.add_argument(Field("boxes", type=Json(), example="[[0, 0, 64, 64]]", help=(
    f"A JSON list of at most {MAX_BOXES} crops [x, y, w, h] (whole pixels of the photo as "
    "displayed) to score as they are, in `boxes`: a designer's own. Without `ratios`, only these are scored.")))
form.add_argument(stable_field("true: each crop scored as the mean of it and its mirror image; default MODEL_TTA."))
form.add_argument(output_field("The output that ranks the crops, highest first: memorability (the default) "
                               "or false_alarm. Every crop is scored for every output either way."))


def score_fields():
    """A crop's fields of each output: its score and its difference with the centre crop's."""
    described = {}
    for name in KNOWN:
        described[name] = fields.Float(required=False, min=0, max=1, description=f"The crop's {name}")
        described[field(name, "delta_vs_center")] = fields.Float(required=False, description=(
            f"This crop's {name} minus the centre crop's"))
    return described


crop = MAX_API.model("Crop", {
    "box": fields.List(fields.Integer, required=True, example=[120, 0, 480, 480],
                       description="[x, y, width, height] in pixels of the photo as displayed (EXIF applied)"),
    **score_fields(),
    "tie": fields.Boolean(required=True, description="Within the noise band (TIE_THRESHOLD) of the best crop, "
                                                     "in the output that ranks them"),
    "export": fields.Raw(required=True, example={
        "xywh": "120,0,480,480", "thumbor": "120x0:600x480", "imgproxy": "crop:480:480:nowe:120:0",
        "cloudinary": "c_crop,x_120,y_0,w_480,h_480"}, description=(
        "The crop as image CDNs take it: x,y,w,h; thumbor's /AxB:CxD/; imgproxy's crop option; "
        "Cloudinary's transformation")),
})
ratio_crops = MAX_API.model("RatioCrops", {
    "ratio": fields.String(required=True, example="1:1"),
    "crops": fields.List(fields.Nested(crop, skip_none=True), required=True, description=(
        "The best crops, best first; ties (within the noise band of the best) larger first. Compare "
        "scores only within a ratio: the model squashes every crop to a square")),
    "center": fields.Nested(crop, required=True, skip_none=True,
                            description="The centre crop of the largest size: the baseline"),
    "passes": fields.Integer(required=True, description="Crops scored for this ratio (forward passes)"),
    "candidates": fields.Integer(required=True, description="Windows on this ratio's candidate grid"),
})
crops_response = MAX_API.model("ModelCropsResponse", {
    "status": fields.String(required=True, example="ok"),
    **{name: fields.Float(required=False, min=0, max=1, description=f"The whole photo's {name}") for name in KNOWN},
    "width": fields.Integer(required=True), "height": fields.Integer(required=True),
    "noise_band": fields.Float(required=True, example=0.061),
    "map_passes": fields.Integer(required=True, description="Passes of the occlusion map that ranks the windows"),
    "ratios": fields.List(fields.Nested(ratio_crops), required=True),
    "boxes": fields.List(fields.Nested(MAX_API.model("ScoredBox", {
        "box": fields.List(fields.Integer, required=True),
        **{name: fields.Float(required=False) for name in KNOWN}}), skip_none=True),
        required=False, description="Only with `boxes`: each given crop's score, in order"),
})


def crop_row(found):
    """A core.analyses.crops.Crop of the search: its box, each output's score and its difference
    from the centre crop's."""
    x, y, w, h = found.box
    row = {"box": [x, y, w, h], "tie": found.tie, "export": found.export()}
    for name, score in found.scores.items():
        row[field(name)], row[field(name, "delta_vs_center")] = score, found.delta[name]
    return row


class ModelCropsAPI(MAXAPI):

    @MAX_API.doc("crops")
    @MAX_API.expect(form)
    @upload_errors("A missing, empty or unreadable image; a bad ratio, top, min_scale or keep box")
    @MAX_API.marshal_with(crops_response, skip_none=True)
    def post(self):
        """Find the most memorable crops of an image for each aspect ratio

        The form takes one file in `image`, optionally `ratios`, `top`, `min_scale`, `keep`,
        `boxes`, `stable` and `output`, and no other field. Scores are compared within a ratio, never across.
        """
        values = form.parse()
        images, boxes, top, min_scale = image_bytes(values), values.boxes, values.top, values.min_scale
        # No ratios said: the default ones, or none beside boxes.
        ratios = values.ratios if values.ratios is not None else parse_ratios(DEFAULT_RATIOS) if boxes is None else []
        keep, stable, output = values.keep or [], values.stable, values.output
        model = current_app.extensions["max_model"]
        settings = current_app.extensions["max_settings"]
        photo = model.pipeline.prepare(images[0], "the upload", mirror=stable, keep_image=False)
        try:
            boxes = parse_boxes(boxes, photo.size) if boxes is not None else None
        except FieldError as error:
            raise BadRequest(str(error)) from None
        # The crops are cut from a decode fine enough for the smallest of them, held while cut.
        with model.pipeline.for_cuts(images[0], photo, shortest_cut(photo.size, ratios, min_scale, boxes or ()),
                                     "the upload") as photo:
            try:
                found = search_crops(model, photo, ratios, current_app.extensions["max_maps"],
                                     top, min_scale, keep, settings.TIE_THRESHOLD, stable, output=output)
            except FieldError as error:
                raise BadRequest(str(error)) from None
            scored_boxes = score_boxes(model, photo, boxes, stable) if boxes else []
        answer = {"status": "ok", **{field(name): score for name, score in found["scores"].items()},
                  "width": photo.size[0], "height": photo.size[1], "noise_band": settings.TIE_THRESHOLD,
                  "map_passes": found["map_passes"],
                  "ratios": [{"ratio": r.ratio, "crops": [crop_row(c) for c in r.crops], "center": crop_row(r.center),
                              "passes": r.passes, "candidates": r.candidates}
                             for r in found["ratios"]]}
        if boxes:
            answer["boxes"] = [{"box": list(c.box), **{field(name): score for name, score in c.scores.items()}}
                               for c in scored_boxes]
        return answer
