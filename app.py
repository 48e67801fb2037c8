"""Builds the app: MAXApp, the model and the API resources. Serve it with
``gunicorn -c gunicorn.conf.py 'app:create_app()'`` (what `make run` does)."""
import config
from api.errors import register_error_handlers
from api.explain import ModelExplainAPI
from api.health import register_health
from api.metadata import ModelMetadataAPI
from api.page import register_page
from api.predict import ModelPredictAPI
from core.explain import check_settings
from core.model import ModelWrapper
from maxfw.core import MAX_API, MAXApp
from prometheus_flask_exporter import PrometheusMetrics
from werkzeug.routing import Map


def drop_static_route(app):
    """maxfw builds Flask(static_url_path=''), whose GET /<path:filename> matches every path:
    GET /model/predict answered 404 instead of 405, and every Allow header offered GET. The
    project has no static/ folder to serve, so the rule goes (Swagger UI has its own route)."""
    old = app.url_map
    app.url_map = Map([rule.empty() for rule in old.iter_rules() if rule.endpoint != "static"],
                      strict_slashes=old.strict_slashes, merge_slashes=old.merge_slashes,
                      host_matching=old.host_matching, converters=old.converters)


def create_app(model=None, **settings):
    """A new app serving ``model`` (default: the bucket at MODEL_BUCKET); ``settings`` override config."""
    max_app = MAXApp(config.API_TITLE, config.API_DESC, config.API_VERSION)
    app = max_app.app
    drop_static_route(app)
    app.config.from_object(config)
    app.config.update(settings)
    check_settings(app.config["EXPLAIN_GRID"], app.config["EXPLAIN_BASELINE"])
    if model is None:
        model = ModelWrapper(app.config["MODEL_BUCKET"], batch_size=app.config["BATCH_SIZE"],
                             max_pixels=app.config["MAX_IMAGE_PIXELS"],
                             precision=app.config["MODEL_PRECISION"],
                             max_wait=app.config["BATCH_WAIT_MS"] / 1000,
                             max_queue=app.config["MAX_QUEUE_IMAGES"],
                             cache_dir=app.config["MODEL_CACHE"],
                             threads=app.config["MODEL_THREADS"],
                             jpeg_draft=app.config["JPEG_DRAFT"])
    app.extensions["max_model"] = model
    # MAX_API is maxfw's module-level namespace: register our resources on it only once.
    if not MAX_API.resources:
        max_app.add_api(ModelMetadataAPI, "/metadata")
        max_app.add_api(ModelPredictAPI, "/predict")
        max_app.add_api(ModelExplainAPI, "/explain")
    register_error_handlers(app, max_app.api)
    register_page(app)
    register_health(app)
    # GET /metrics: request counts and latency histograms per route (by rule, so that stray
    # paths cannot grow the label set), with core/metrics.py's batch sizes and queue depth.
    PrometheusMetrics(app, group_by="url_rule")
    return app
