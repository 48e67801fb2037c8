"""The `image` files of a multipart request, read the same way by every endpoint that takes images."""
from flask import request
from werkzeug.exceptions import BadRequest


def image_uploads():
    """The bytes of every `image` field, in upload order; a 400 that names the fields sent if none."""
    uploads = request.files.getlist("image")
    if not uploads:
        sent = ", ".join(sorted(request.files)) or "none"
        raise BadRequest("no file in the form field 'image' (file fields sent: "
                         f"{sent}); send multipart/form-data, e.g. curl -F image=@photo.jpg")
    return [upload.read() for upload in uploads]
