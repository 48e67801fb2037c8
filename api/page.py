"""The web page at /app: static files from web/, plus the limits the page checks before upload."""
from pathlib import Path

from flask import jsonify, send_from_directory

from core.inputs.kinds import HEAD_BYTES
from core.model.outputs import default_output, field

# The measures whose fields the page reads and exports: their names are outputs.field's, not the page's.
MEASURES = ("mirror_delta", "delta_vs_center", "effect", "spread", "verdict")

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def register_page(app):
    """Serve web/ at /app on the API's own origin, so the page needs no CORS."""

    @app.get("/app")
    @app.get("/app/")
    def page():
        return send_from_directory(WEB_DIR, "index.html")

    @app.get("/app/limits.json")
    def limits():
        settings, outputs = app.extensions["max_settings"], list(app.extensions["max_model"].outputs)
        return jsonify(max_bytes=settings.MAX_CONTENT_LENGTH, max_pixels=settings.MAX_IMAGE_PIXELS,
                       max_files=settings.MAX_FILES, effect_scale=settings.EXPLAIN_EFFECT_SCALE,
                       tie_threshold=settings.TIE_THRESHOLD, outputs=outputs,
                       default_output=default_output(outputs),  # the page's main number, as the API's
                       fields={name: {"score": field(name), **{m: field(name, m) for m in MEASURES}}
                               for name in outputs},
                       kind_bytes=HEAD_BYTES)  # what /model/kind reads of a file: all the page sends it

    @app.get("/app/<path:name>")
    def asset(name):
        return send_from_directory(WEB_DIR, name)
