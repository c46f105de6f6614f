"""The web layer: the WSGI app factory, the Chinese web UI and the JSON API.

Views are thin: they parse a request, call a domain function in ``casefiles`` and render
or redirect. The object database is opened through pyramid_zodbconn, each request runs
in one transaction (pyramid_tm) and conflicts are retried (pyramid_retry).
"""
import os
import secrets

import transaction
from pyramid.config import Configurator
from pyramid.renderers import JSON
from pyramid_zodbconn import get_connection

from casefiles.site import ROOT_KEY, bootstrap

DEFAULTS = {
    "casefiles.max_upload_bytes": 50 * 1024 * 1024,
    "casefiles.session_timeout": 8 * 3600,
    "casefiles.token_lifetime": 12 * 3600,
    "casefiles.number_prefix": "XY",
    "casefiles.page_size": 25,
}


def var_dir(settings):
    """Where all data lives: CASEFILES_VAR wins over the ini's casefiles.var."""
    path = os.environ.get("CASEFILES_VAR") or settings.get("casefiles.var") or os.path.abspath("var")
    os.makedirs(path, exist_ok=True)
    return os.path.abspath(path)


def configure_settings(settings):
    settings = dict(settings)
    for key, value in DEFAULTS.items():
        raw = settings.get(key)
        settings[key] = type(value)(raw) if raw not in (None, "") else value
    var = var_dir(settings)
    settings["casefiles.var"] = var
    uri = settings.get("casefiles.zodb_uri")
    if not uri or os.environ.get("CASEFILES_VAR"):
        cache = settings.get("zodbconn.cache_size", "50000")
        uri = (f"file://{var}/Data.fs?blobstorage_dir={var}/blobs&blobstorage_layout=bushy"
               f"&connection_cache_size={cache}")
    settings["zodbconn.uri"] = uri
    if not settings.get("casefiles.secret"):
        settings["casefiles.secret"] = _stored_secret(var)
    settings.setdefault("pyramid.default_locale_name", "zh_CN")
    settings.setdefault("jinja2.i18n.domain", "casefiles")
    # compiled templates are kept on disk: a new process renders its first page without
    # compiling them again (half a second for the case page)
    settings.setdefault("jinja2.bytecode_caching", "true")
    if not settings.get("jinja2.bytecode_caching_directory"):
        settings["jinja2.bytecode_caching_directory"] = os.path.join(var, "cache", "templates")
        os.makedirs(settings["jinja2.bytecode_caching_directory"], exist_ok=True)
    settings.setdefault("tm.manager_hook", "pyramid_tm.explicit_manager")
    settings.setdefault("retry.attempts", "8")
    return settings


def _stored_secret(var):
    path = os.path.join(var, "secret")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    with open(path) as f:
        return f.read().strip()


def root_factory(request):
    return get_connection(request).root()[ROOT_KEY]


def get_site(request):
    """The site root, whatever the route's context is."""
    return root_factory(request)


def main(global_config, **settings):
    settings = configure_settings(settings)
    with Configurator(settings=settings, root_factory=root_factory) as config:
        config.include("pyramid_jinja2")
        config.include("pyramid_tm")
        config.include("pyramid_retry")
        config.include("pyramid_zodbconn")
        config.add_jinja2_renderer(".jinja2")
        config.add_jinja2_search_path("templates:", name=".jinja2")
        config.add_translation_dirs("views:locale/")
        config.add_renderer("json", json_renderer())
        config.add_request_method(get_site, "site", reify=True)
        config.include(".i18n")
        config.include(".auth")
        config.include(".errors")
        config.include(".headers")
        config.include(".routes")
        config.include(".audit")
        config.include("indexing")
        config.include("archive")
        config.scan(".")
        app = config.make_wsgi_app()
    open_site(config.registry)
    from .uploads import limit_body
    # room for the form fields beside the largest accepted file
    return limit_body(app, settings["casefiles.max_upload_bytes"] + 1024 * 1024)


def open_site(registry):
    """Create or evolve the site in the database before the first request."""
    db = registry._zodb_databases[""]
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        with tm:
            bootstrap(conn.root(), registry.settings["casefiles.number_prefix"])
    finally:
        conn.close()


class _JSON(JSON):
    """Pyramid's JSON renderer, answering dates and times without its adapter look-up (a
    case's JSON holds dozens of them); anything else goes to the registered adapters."""

    def _make_default(self, request):
        import datetime
        adapted = super()._make_default(request)

        def default(obj):
            if isinstance(obj, (datetime.date, datetime.datetime)):
                return obj.isoformat()
            return adapted(obj)
        return default


def json_renderer():
    import datetime

    from translationstring import TranslationString

    renderer = _JSON(ensure_ascii=False)
    renderer.add_adapter(datetime.datetime, lambda obj, request: obj.isoformat())
    renderer.add_adapter(datetime.date, lambda obj, request: obj.isoformat())
    renderer.add_adapter(TranslationString, lambda obj, request: request.localizer.translate(obj))
    return renderer
