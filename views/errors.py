"""Errors as users and clients see them.

API requests (``/api/...``) get the JSON error format of the API contract:
``{"error", "message", "fields"}`` with a Chinese message. Browser requests get an error
page in the layout, or the login page when they are not logged in. Whatever went wrong,
the transaction is aborted, so nothing is half-written.
"""
import logging

from pyramid.exceptions import URLDecodeError
from pyramid.httpexceptions import HTTPException, HTTPFound
from pyramid.renderers import render_to_response
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import forbidden_view_config, notfound_view_config, view_config

from casefiles.errors import DomainError
from casefiles.i18n import _

log = logging.getLogger(__name__)


class APIError(Exception):
    """An error a view raises with its HTTP status, code, message and field messages."""

    def __init__(self, status, code, message, fields=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = dict(fields or {})


def wants_json(request):
    path = request.environ.get("PATH_INFO", "")   # undecoded: a malformed URL must not break this
    if path.startswith("/api/") or path == "/api":
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(request, status, code, message, fields=None):
    message = request.t(message) if message is not None else ""
    fields = {k: request.t(v) for k, v in (fields or {}).items()}
    if wants_json(request):
        body = {"error": code, "message": message, "fields": fields}
        response = render_to_response("json", body, request=request)
    else:
        response = render_to_response("error.jinja2", {"status": status, "code": code, "message": message,
                                                       "fields": fields}, request=request)
    response.status_int = status
    return response


STATUS_MESSAGES = {
    400: (_("bad_request", default="The request is malformed.")),
    401: (_("unauthorized", default="Please log in.")),
    403: (_("forbidden", default="You are not allowed to do this.")),
    404: (_("not_found", default="There is nothing at this address.")),
    405: (_("method_not_allowed", default="This address does not accept this method.")),
    409: (_("conflict", default="This is not allowed in the case's current state.")),
    413: (_("too_large", default="The request is too large.")),
    415: (_("unsupported_type", default="This file type is not accepted.")),
    422: (_("invalid", default="Some values are invalid.")),
}
STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_type",
                422: "invalid"}


@view_config(context=DomainError, permission=NO_PERMISSION_REQUIRED)
def domain_error(exc, request):
    return error_response(request, exc.status, exc.code, exc.message, exc.fields)


@view_config(context=APIError, permission=NO_PERMISSION_REQUIRED)
def api_error(exc, request):
    return error_response(request, exc.status, exc.code, exc.message, exc.fields)


@forbidden_view_config()
def forbidden(exc, request):
    if request.user is None:
        if wants_json(request):
            return error_response(request, 401, "unauthorized", STATUS_MESSAGES[401])
        return HTTPFound(request.route_url("login", _query={"came_from": request.path_qs}))
    if getattr(exc, "detail", None) and "CSRF" in str(exc.detail):
        return error_response(request, 400, "csrf", _("csrf", default="The page has expired; reload it and try again."))
    return error_response(request, 403, "forbidden", STATUS_MESSAGES[403])


@notfound_view_config()
def not_found(exc, request):
    return error_response(request, 404, "not_found", STATUS_MESSAGES[404])


@view_config(context=HTTPException, permission=NO_PERMISSION_REQUIRED)
def http_error(exc, request):
    if exc.status_int < 400:
        return exc
    status = exc.status_int
    if exc.__class__.__name__ == "BadCSRFToken":
        return error_response(request, 400, "csrf",
                              _("csrf", default="The page has expired; reload it and try again."))
    message = STATUS_MESSAGES.get(status, exc.title)
    return error_response(request, status, STATUS_CODES.get(status, "error"), message)


@view_config(context=Exception, permission=NO_PERMISSION_REQUIRED)
def server_error(exc, request):
    if isinstance(exc, (URLDecodeError, UnicodeDecodeError)):   # a path or query string that is not UTF-8
        if wants_json(request):
            return error_response(request, 400, "bad_request", STATUS_MESSAGES[400])
        # not the page layout: it shows the (undecodable) path
        return Response(request.t(STATUS_MESSAGES[400]), status=400, content_type="text/plain", charset="utf-8")
    from pyramid_retry import is_error_retryable, is_last_attempt
    if is_error_retryable(request, exc) and not is_last_attempt(request):
        # a write conflict: pyramid_retry runs the request again; not an error worth a traceback
        log.debug("retrying %s %r after %s", request.method, request.environ.get("PATH_INFO", ""),
                  type(exc).__name__)
    else:
        log.exception("unhandled error on %s %r", request.method, request.environ.get("PATH_INFO", ""))
    response = error_response(request, 500, "server_error",
                              _("server_error", default="An internal error occurred; nothing was saved."))
    return response


def includeme(config):
    pass
