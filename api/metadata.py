"""GET /model/metadata: what model is being served, where it comes from and its licence."""
from flask import current_app
from maxfw.core import MAX_API, MetadataAPI, METADATA_SCHEMA


class ModelMetadataAPI(MetadataAPI):

    @MAX_API.marshal_with(METADATA_SCHEMA)
    def get(self):
        """Return the metadata of the served model"""
        return current_app.extensions["max_model"].MODEL_META_DATA
