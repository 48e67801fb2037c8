"""The fields that several routes declare alike (api/form.py): the `image` file field, `stable`
and `output`; each route adds them to its own Form with its own help."""
from flask import current_app

from api.form import Boolean, Choice, Field, settings
from core.inputs.formats import IMAGE_TEXT
from core.model.outputs import default_output


def image_field(help=f"One image file: {IMAGE_TEXT}.", most=1):
    """The file field `image`: ``most`` files (a number, or the setting that says)."""
    return Field("image", location="files", required=True, most=most, example="photo.jpg", help=help)


def image_bytes(values):
    """The bytes of every `image` of a parsed form, in upload order."""
    return [upload.read() for upload in values.image]


def stable_field(help):
    """`stable`: true or false; left out, the server's default (MODEL_TTA), as Swagger says it."""
    return Field("stable", type=Boolean(), default=lambda: settings().stable_by_default, help=help)


def served_outputs():
    return current_app.extensions["max_model"].outputs


def output_field(help):
    """`output`: one of the outputs the server predicts (MODEL_OUTPUTS); left out,
    core.model.outputs.default_output (memorability where it is served)."""
    return Field("output", type=Choice(served_outputs, "the outputs this server predicts"),
                 default=lambda: default_output(served_outputs()), help=help)
