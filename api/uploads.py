"""The `image` files of a multipart request, read the same way by every endpoint that takes images."""
from flask import request
from werkzeug.exceptions import BadRequest


def image_uploads():
    """The bytes of every `image` field, in upload order. A 400 names any other field sent (a
    typo must not pass silently); a 400 too when there is no `image` at all."""
    unknown = sorted((set(request.files) | set(request.form)) - {"image"})
    if unknown:
        raise BadRequest(f"unknown form field{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(repr(name) for name in unknown)}: this endpoint takes only "
                         "files in the field 'image'")
    uploads = request.files.getlist("image")
    if not uploads:
        raise BadRequest("no file in the form field 'image'; send multipart/form-data, "
                         "e.g. curl -F image=@photo.jpg")
    return [upload.read() for upload in uploads]
