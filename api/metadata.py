"""GET /model/metadata: what is being served, where it comes from and its licence: MAX's fields
for the whole (one model's, or every model's joined), and ``outputs``: each output's model."""
from flask import current_app
from flask_restx import fields
from maxfw.core import MAX_API, METADATA_SCHEMA, MetadataAPI

from api.form import Form

OUTPUT_MODEL = MAX_API.model("OutputModel", {
    "output": fields.String(required=True, description="The field of each prediction this model gives",
                            example="false_alarm"),
    "id": fields.String(required=True, description="The model's identifier"),
    "name": fields.String(required=True, description="The model's name"),
    "description": fields.String(required=True, description="What it predicts"),
    "type": fields.String(required=True, description="The model's type"),
    "source": fields.String(required=True, description="Where it comes from: its paper and its weights"),
    "license": fields.String(required=True, description="The licence of its weights"),
})
SCHEMA = MAX_API.inherit("ModelMetadataOfOutputs", METADATA_SCHEMA, {
    "outputs": fields.List(fields.Nested(OUTPUT_MODEL), required=True,
                           description="Each output the server predicts (MODEL_OUTPUTS), in order, and its model"),
})
form = Form()  # no field: a query parameter is a 400, as an unknown field is on every route


class ModelMetadataAPI(MetadataAPI):

    @MAX_API.expect(form)
    @MAX_API.marshal_with(SCHEMA)
    def get(self):
        """Return the metadata of the served models"""
        form.parse()
        return current_app.extensions["max_model"].MODEL_META_DATA
