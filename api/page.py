"""The web page at /app: static files from web/, plus the limits the page checks before upload."""
from pathlib import Path

from flask import jsonify, send_from_directory

from core.inputs.kinds import HEAD_BYTES

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def register_page(app):
    """Serve web/ at /app on the API's own origin, so the page needs no CORS."""

    @app.get("/app")
    @app.get("/app/")
    def page():
        return send_from_directory(WEB_DIR, "index.html")

    @app.get("/app/limits.json")
    def limits():
        settings = app.extensions["max_settings"]
        return jsonify(max_bytes=settings.MAX_CONTENT_LENGTH, max_pixels=settings.MAX_IMAGE_PIXELS,
                       max_files=settings.MAX_FILES, effect_scale=settings.EXPLAIN_EFFECT_SCALE,
                       tie_threshold=settings.TIE_THRESHOLD, outputs=list(app.extensions["max_model"].outputs),
                       kind_bytes=HEAD_BYTES)  # what /model/kind reads of a file: all the page sends it

    @app.get("/app/<path:name>")
    def asset(name):
        return send_from_directory(WEB_DIR, name)
