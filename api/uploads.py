"""The form of a request that takes images, read the same way by every such endpoint: the `image`
files and the few option fields the endpoint documents."""
import json

from flask import current_app, request
from werkzeug.exceptions import BadRequest

OPTIONS = ("stable",)  # the option fields an image endpoint takes beside `image`


def refuse_unknown_fields(files, options):
    """A 400 that names any form field but ``files`` and ``options``: a typo must not pass silently."""
    # A part whose name is no text (undecodable bytes) has the name None: unknown too.
    unknown = sorted(((set(request.files) | set(request.form)) - {files, *options}), key=str)
    if unknown:
        raise BadRequest(f"unknown form field{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(repr(name) if name is not None else 'without a readable name' for name in unknown)}"
                         ": this endpoint takes only "
                         f"files in the field {files!r}, and the field{'s' if len(options) > 1 else ''} "
                         f"{', '.join(map(repr, options))}")


def image_uploads(options=OPTIONS):
    """The bytes of every `image` field, in upload order. A 400 names any field sent but those
    and ``options``; a 400 too when there is no `image` at all."""
    refuse_unknown_fields("image", options)
    uploads = request.files.getlist("image")
    if not uploads:
        raise BadRequest("no file in the form field 'image'; send multipart/form-data, "
                         "e.g. curl -F image=@photo.jpg")
    return [upload.read() for upload in uploads]


def stable_option():
    """The form field `stable`, "true" or "false" as its schema says, else MODEL_TTA's default;
    anything else is a 400."""
    value = request.form.get("stable")
    if value is None:
        return current_app.extensions["max_settings"].stable_by_default
    if value not in ("true", "false"):
        raise BadRequest(f"stable must be true or false, not {value[:40]!r}")
    return value == "true"


def output_option(outputs, field="output"):
    """The form field ``field``: one of the served ``outputs`` (MODEL_OUTPUTS), default the first;
    anything else is a 400 that lists them."""
    value = request.form.get(field)
    if value is None:
        return outputs[0]
    if value not in outputs:
        raise BadRequest(f"{field} must be one of the outputs this server predicts ({', '.join(outputs)}), "
                         f"not {value[:40]!r}")
    return value


def json_field(name, required=True, example="[...]"):
    """The decoded JSON of form field ``name`` (None when absent and not ``required``); a 400
    that names the field when it is missing or not JSON."""
    text = request.form.get(name)
    if text is None:
        if required:
            raise BadRequest(f"no form field {name!r}; send it as JSON, e.g. -F '{name}={example}'")
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BadRequest(f"{name} is not valid JSON ({error.msg} at character {error.pos})") from None
    except ValueError as error:  # valid JSON Python will not hold: an integer of over 4,300 digits
        raise BadRequest(f"{name} cannot be read as JSON ({str(error)[:120]})") from None
    except RecursionError:  # "[[[[..." a few thousand deep: Python's parser gives up, not a ValueError
        raise BadRequest(f"{name} is nested too deeply to be read as JSON") from None
