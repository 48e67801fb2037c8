"""POST /model/explain: one image's scores (every output) and a map of the regions that drive one
of them: memorability by default, or ``output=false_alarm`` (what makes a photo feel familiar)."""
from flask import current_app
from flask_restx import fields
from maxfw.core import MAX_API, MAXAPI

from api.errors import upload_errors
from api.form import Form
from api.predict import output_fields
from api.uploads import image_bytes, image_field, output_field, stable_field
from core.analyses.explain import map_photo
from core.analyses.heatmap import png_base64
from core.model.outputs import fields_of

form = Form()
form.add_argument(image_field())
form.add_argument(stable_field(
    "true: score the image as the mean of it and its mirror image (twice the passes), and "
    "add mirror_delta; the default is the server's MODEL_TTA (off: ResMem's own score)."))
form.add_argument(output_field(
    "Which output the map explains: memorability (the default) or false_alarm (what makes the "
    "photo feel familiar to people who never saw it). Every output is scored either way."))

explain_response = MAX_API.model("ModelExplainResponse", {
    "status": fields.String(required=True, description='"ok"', example="ok"),
    **output_fields(),  # each output's score, as /model/predict gives it; the map is the image's own
    "heatmap": fields.List(fields.List(fields.Float(min=0, max=1)), required=True, description=(
        "Rows top to bottom over the whole photo, as it is displayed (EXIF orientation applied), "
        "with the photo's aspect ratio. 0.5 is neutral; towards 1, greying the region lowers "
        "the score (it makes the photo memorable); towards 0, greying it raises the score.")),
    "effects": fields.List(fields.List(fields.Float), required=True, description=(
        "The same grid in the score's own units: how far the score falls when the region is "
        "hidden (greyed, by default). +0.03: hiding it lowers the score by 0.03, so the region makes the "
        "photo memorable; negative: hiding it raises the score. 0 is no change.")),
    "effect_scale": fields.Float(required=True, example=0.05, description=(
        "The effect, in score units, that the overlay draws in full colour (EXPLAIN_EFFECT_SCALE)")),
    "overlay": fields.String(required=True, description=(
        "A PNG, base64-encoded, of the photo with the effects over it on a fixed diverging "
        "scale: red where the region raises memorability, blue where it lowers it, full colour "
        "at effect_scale. Show it with src=\"data:image/png;base64,...\".")),
})


class ModelExplainAPI(MAXAPI):

    @MAX_API.doc("explain")
    @MAX_API.expect(form)
    @upload_errors("Missing, empty, unreadable or several images")
    @MAX_API.marshal_with(explain_response, skip_none=True)
    def post(self):
        """Map which regions of an image raise or lower its memorability (occlusion)

        The form takes one file in the field `image`, optionally `stable` and `output`, and no
        other field. Swagger 2.0 types it as any file, but only an image is accepted: an empty,
        truncated or non-image file, or one over MAX_IMAGE_PIXELS, is a 400 that says which.
        """
        values = form.parse()
        model = current_app.extensions["max_model"]
        # The same pipeline as /model/predict; a bad upload raises core.inputs.images.ImageError,
        # which api/errors.py answers with a 400.
        maps, stable, output = current_app.extensions["max_maps"], values.stable, values.output
        photo = model.pipeline.prepare(image_bytes(values)[0], "the upload", mirror=stable,
                                       keep_image=maps.overlay_size)
        found = map_photo(model, photo, maps, stable=stable, output=output)
        return {"status": "ok", **fields_of(found.scores),
                "heatmap": found.heatmap.round(4).tolist(), "effects": found.effects.round(5).tolist(),
                "effect_scale": current_app.extensions["max_maps"].effect_scale,
                "overlay": png_base64(found.overlay)}
