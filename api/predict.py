"""POST /model/predict: the memorability and the false-alarm rate of one image, or of several in
one request (a field an output of MODEL_OUTPUTS: core/model/outputs.py)."""
from flask import current_app
from flask_restx import fields
from maxfw.core import MAX_API, PredictAPI

from api.errors import upload_errors
from api.form import Form
from api.uploads import image_bytes, image_field, stable_field
from core.inputs.formats import IMAGE_TEXT
from core.model.outputs import KNOWN, field, fields_of

# `image` is documented as one file so Swagger UI shows a file picker (Swagger 2.0 has no arrays of
# files); the form takes up to MAX_FILES of them, so clients repeat it for a batch.
form = Form()
form.add_argument(image_field(most="MAX_FILES", help=(
    f"An image file: {IMAGE_TEXT}. Repeat the field to score a batch (at most MAX_FILES); "
    "the predictions come back in upload order.")))
form.add_argument(stable_field(
    "true: score each image as the mean of it and its mirror image (twice the passes), and "
    "add mirror_delta; the default is the server's MODEL_TTA (off: ResMem's own score)."))

EXAMPLES = {"memorability": 0.83, "false_alarm": 0.07}


def output_fields():
    """A field an output, in MODEL_OUTPUTS' order of the default, and its mirror delta."""
    described = {}
    for name, (_, meaning) in KNOWN.items():
        described[name] = fields.Float(required=False, min=0, max=1, example=EXAMPLES[name], description=(
            f"0 to 1: {meaning}. Present when MODEL_OUTPUTS has it (the default has both)"))
        described[field(name, "mirror_delta")] = fields.Float(required=False, example=0.021, description=(
            f"Only with stable: {name} of the image minus that of its mirror image. The model's noise: "
            "a viewer would see both alike (docs/stability.md)"))
    return described


prediction = MAX_API.model("Prediction", output_fields())
predict_response = MAX_API.model("ModelPredictResponse", {
    "status": fields.String(required=True, description='"ok"', example="ok"),
    "predictions": fields.List(fields.Nested(prediction, skip_none=True), required=True,
                               description="One prediction per uploaded image, in upload order"),
})


class ModelPredictAPI(PredictAPI):

    @MAX_API.doc("predict")
    @MAX_API.expect(form)
    @upload_errors("Missing, empty, unreadable or too many images")
    @MAX_API.marshal_with(predict_response, skip_none=True)
    def post(self):
        """Predict the memorability of one or more images

        The form takes up to MAX_FILES files, each in a field named `image`, and optionally
        `stable`, and no other field.
        Swagger 2.0 types each as any file, but only images are accepted, by their bytes: an empty,
        truncated or non-image file, or one over MAX_IMAGE_PIXELS, is a 400 that names it
        (`image 2 ...`), and a video's says it is one. POST /model/kind tells which a file is.
        """
        values = form.parse()
        # A bad upload raises core.inputs.images.ImageError, which api/errors.py answers with a 400.
        predictions = current_app.extensions["max_model"].predict(image_bytes(values), stable=values.stable)
        return {"status": "ok", "predictions": [fields_of(scores) for scores in predictions]}
