"""Builds the app: MAXApp, the model and the API resources. Serve it with
``gunicorn -c gunicorn.conf.py 'app:create_app()'`` (what `make run` does)."""
from maxfw.core import MAX_API, MAXApp
from prometheus_flask_exporter import PrometheusMetrics
from werkzeug.routing import Map

import config
from api.crops import ModelCropsAPI
from api.errors import register_error_handlers
from api.explain import ModelExplainAPI
from api.health import register_health
from api.kind import ModelKindAPI
from api.metadata import ModelMetadataAPI
from api.methods import refuse_unknown_methods
from api.oip.routes import oip
from api.page import register_page
from api.passes import register_passes
from api.predict import ModelPredictAPI
from api.regions import ModelRegionsAPI
from api.video import ModelVideoAPI
from core.analyses.explain import MapSettings
from core.model.wrapper import ModelWrapper


def drop_static_route(app):
    """maxfw builds Flask(static_url_path=''), whose GET /<path:filename> matches every path:
    GET /model/predict answered 404 instead of 405, and every Allow header offered GET. The
    project has no static/ folder to serve, so the rule goes (Swagger UI has its own route)."""
    old = app.url_map
    app.url_map = Map([rule.empty() for rule in old.iter_rules() if rule.endpoint != "static"],
                      strict_slashes=old.strict_slashes, merge_slashes=old.merge_slashes,
                      host_matching=old.host_matching, converters=old.converters)


def create_app(model=None, settings=None, **overrides):
    """A new app serving ``model`` (default: the bucket of ``settings``). ``settings`` is a
    config.Settings (default: this process's, read from the environment); ``overrides`` change
    single settings by name, e.g. ``create_app(MAX_FILES=4)``. A bad value raises here, at start."""
    settings = (settings or config.settings()).replace(**overrides)
    max_app = MAXApp(config.API_TITLE, config.API_DESC, config.API_VERSION)
    app = max_app.app
    drop_static_route(app)
    app.config.update(settings.flask_config())
    if model is None:
        model = ModelWrapper(settings)
    app.extensions["max_model"] = model
    app.extensions["max_settings"] = settings
    app.extensions["max_maps"] = MapSettings.from_settings(settings, model.precision)
    # MAX_API is maxfw's module-level namespace: register our resources on it only once.
    if not MAX_API.resources:
        max_app.add_api(ModelMetadataAPI, "/metadata")
        max_app.add_api(ModelPredictAPI, "/predict")
        max_app.add_api(ModelExplainAPI, "/explain")
        max_app.add_api(ModelVideoAPI, "/video")
        max_app.add_api(ModelRegionsAPI, "/regions")
        max_app.add_api(ModelCropsAPI, "/crops")
        max_app.add_api(ModelKindAPI, "/kind")
    register_error_handlers(app, max_app.api)
    register_page(app)
    register_health(app)
    app.register_blueprint(oip)  # the Open Inference Protocol's /v2 routes, beside MAX's
    register_passes(app)
    # GET /metrics: request counts and latency histograms per route (by rule, so that stray
    # paths cannot grow the label set), with core/model/metrics.py's batch sizes and queue depth.
    PrometheusMetrics(app, group_by="url_rule")
    refuse_unknown_methods(app)  # outermost: a made-up method never reaches the metrics
    return app
