"""POST /model/regions: what each marked region of a photo does to its memorability."""
from flask import current_app
from flask_restx import fields
from maxfw.core import MAX_API, MAXAPI

from api.errors import upload_errors
from api.form import Field, Form, Json, bound
from api.uploads import image_bytes, image_field, stable_field
from core.analyses.marks import parse_regions
from core.analyses.regions import measure_regions
from core.model.outputs import KNOWN, default_output, field

EXAMPLE = ('[{"name": "logo", "box": [0.05, 0.05, 0.3, 0.2]}, '
           '{"name": "face", "points": [[0.4, 0.3], [0.6, 0.3], [0.5, 0.6]]}]')

form = Form()
form.add_argument(image_field())
form.add_argument(Field(
    "regions", type=Json(lambda value, name: parse_regions(value, bound("MAX_REGIONS"), name)), required=True,
    example=EXAMPLE,
    help="A JSON list of named regions in fractions 0..1 of the photo as displayed (EXIF orientation "
         "applied): {\"name\": ..., \"box\": [x0, y0, x1, y1]} or {\"name\": ..., \"points\": [[x, y], ...]}; "
         f"at most MAX_REGIONS. Example: {EXAMPLE}"))
form.add_argument(stable_field("true: every pass on the photo and on its mirror image (with each region "
                               "mirrored), averaged; the default is the server's MODEL_TTA."))

region_effect = MAX_API.model("RegionEffect", {
    "name": fields.String(required=True, example="logo"),
    "effect": fields.Float(required=True, example=0.04, description=(
        "How far the score falls when the region is hidden (greyed, as the maps hide), in score units: "
        "+0.04, hiding it lowers the score by 0.04, so the region makes the photo more memorable")),
    "spread": fields.Float(required=True, example=0.01, description=(
        "The largest change of effect when the region is moved by 2% of the photo's side, 4 ways")),
    "verdict": fields.String(required=True, enum=["raises", "lowers", "no clear effect"], description=(
        "raises or lowers only when |effect| is above both the spread and the noise band (noise_band)")),
    "alone": fields.Float(required=True, description="The score with everything but the region hidden"),
    "area_pct": fields.Float(required=True, description="The region's share of the photo, percent"),
    "in_model_view": fields.Float(required=True, min=0, max=1, description=(
        "The share of the region that the model sees: it squashes the photo to 256x256 and keeps "
        "the centre 227x227, so a region in the outer 5.5% has no effect by construction")),
    "warning": fields.String(required=False, description="A small region, or one partly out of the model's view"),
})
all_hidden = MAX_API.model("AllHidden", {
    "effect": fields.Float(required=True, description="The fall with every region hidden at once"),
    "sum_of_effects": fields.Float(required=True, description="The sum of the regions' own effects; "
                                   "far from effect when regions overlap or interact")})
other_output = MAX_API.model("RegionsOfAnotherOutput", {
    "output": fields.String(required=True, example="false_alarm", description="The output measured"),
    "score": fields.Float(required=True, min=0, max=1,
                          description="The photo's score of this output, as /model/predict gives it"),
    "mirror_delta": fields.Float(required=False, description="Only with stable: this score minus its mirror image's"),
    "regions": fields.List(fields.Nested(region_effect, skip_none=True), required=True, description=(
        "Each region's effect on this output, from the same passes")),
    "all_hidden": fields.Nested(all_hidden, required=False, allow_null=True, skip_none=True),
})


def top_fields():
    """The score (and with stable the mirror delta) of the output that the top level's regions are
    of: memorability where the server predicts it, else the one it predicts (MODEL_OUTPUTS=false_alarm)."""
    described = {}
    for output in KNOWN:
        described[field(output)] = fields.Float(required=False, min=0, max=1, description=(
            f"The photo's {output}, as /model/predict gives it"))
        described[field(output, "mirror_delta")] = fields.Float(required=False, description=(
            f"Only with stable: the photo's {output} minus its mirror image's"))
    return described


regions_response = MAX_API.model("ModelRegionsResponse", {
    "status": fields.String(required=True, example="ok"),
    **top_fields(),
    "noise_band": fields.Float(required=True, example=0.061, description=(
        "TIE_THRESHOLD: score differences smaller than this are within the model's own noise")),
    "regions": fields.List(fields.Nested(region_effect, skip_none=True), required=True),
    "all_hidden": fields.Nested(all_hidden, required=False, allow_null=True, skip_none=True,
                                description="Only with several regions"),
    "passes": fields.Integer(required=True, description="Forward passes of this request, all in one batch"),
    "outputs": fields.List(fields.Nested(other_output, skip_none=True), required=False, description=(
        "The same measures of the server's other outputs (beside memorability: false_alarm), "
        "from the same passes; absent when it predicts one")),
})


class ModelRegionsAPI(MAXAPI):

    @MAX_API.doc("regions")
    @MAX_API.expect(form)
    @upload_errors("A missing, empty or unreadable image, or a region that is malformed, outside the photo, "
                   "inverted, empty, crossing itself, or one too many")
    @MAX_API.marshal_with(regions_response, skip_none=True)
    def post(self):
        """Measure what each marked region of an image does to its memorability (hide it, rescore)

        The form takes one file in `image`, the JSON list `regions`, optionally `stable`, and no
        other field. Each region is hidden on the model's own input, moved 4 ways by 2% to
        measure its spread, and kept alone; all passes run in one batch.
        """
        values = form.parse()
        settings, stable = current_app.extensions["max_settings"], values.stable
        model = current_app.extensions["max_model"]
        photo = model.pipeline.prepare(image_bytes(values)[0], "the upload", mirror=stable, keep_image=False)
        measured = measure_regions(model, photo, values.regions, current_app.extensions["max_maps"].baseline,
                                   settings.TIE_THRESHOLD, stable)
        top = default_output(model.outputs)  # the answer's top level; the others in "outputs"
        return {"status": "ok", **of_output(measured, top, field(top), field(top, "mirror_delta")),
                "noise_band": settings.TIE_THRESHOLD, "passes": measured.passes,
                "outputs": [{"output": output, **of_output(measured, output)}
                            for output in model.outputs if output != top] or None}


def of_output(measured, output, score="score", mirror_delta="mirror_delta"):
    """The fields of ``output`` in a core.analyses.regions.RegionsResult: its score and mirror
    delta (named ``score`` and ``mirror_delta``), each region's measures and all hidden."""
    deltas = measured.scores.mirror_delta
    return {score: measured.scores[output], mirror_delta: deltas[output] if deltas else None,
            "regions": [{**vars(r), **{m: getattr(r, m)[output] for m in ("effect", "spread", "verdict", "alone")}}
                        for r in measured.regions],
            "all_hidden": measured.all_hidden[output] if measured.all_hidden else None}
