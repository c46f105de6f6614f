"""Reading request bodies safely: JSON objects, multipart forms and files, the size limit.

Whatever a client sends, these functions either return plain values or raise an
``APIError`` with status 400: never an exception that would end as a 500.
"""
import json
import math

from casefiles.documents import Upload
from casefiles.i18n import _

from .errors import APIError


def _bad_json(message=None):
    return APIError(400, "bad_json", message or _("bad_json", default="The request body is not valid JSON."))


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def parse_json_object(raw):
    """A JSON object from bytes or text, or a 400 that says what is wrong with it.

    Refuses what ``json.loads`` would otherwise let through and the rest of the code cannot
    handle: NaN and infinities, nesting deep enough to exhaust the stack, and lone UTF-16
    surrogates (which no UTF-8 response could carry).
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        body = json.loads(text or "null", parse_constant=_reject_constant, parse_float=_finite_float)
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError):
        raise _bad_json()
    if not isinstance(body, dict):
        raise _bad_json(_("body_object", default="The request body must be an object."))
    return body


def json_body(request):
    """The request's JSON object, or a 400."""
    return parse_json_object(request.body)


def is_multipart(request):
    return (request.content_type or "").startswith("multipart/form-data")


def form(request):
    """The parsed form (``request.POST``), or a 400 when the body is not a readable form."""
    try:
        return request.POST
    except (ValueError, UnicodeError, TypeError, LookupError, EOFError):
        raise APIError(400, "bad_form", _("bad_form", default="The form data could not be read."))


def form_text(request, name, default=""):
    """A text field of the form; a file sent where text is expected is a 400."""
    value = form(request).get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise APIError(400, "bad_request", _("field_text", default="The field ${name} must be text.",
                                             mapping={"name": name}), {name: "text"})
    return value


def form_json(request, name):
    """A JSON object sent as one part of a multipart form (as text or as a file)."""
    value = form(request).get(name)
    if value is None:
        raise _bad_json(_("data_missing", default="Send the petition as JSON in the form field ${name}.",
                          mapping={"name": name}))
    if not isinstance(value, str):
        try:
            value.file.seek(0)
            value = value.file.read()
        except (AttributeError, OSError):
            raise _bad_json()
    return parse_json_object(value)


def uploads_from(request, field="file"):
    """Upload objects for every file part named ``field`` (parts without a file are ignored)."""
    out = []
    for value in form(request).getall(field):
        if hasattr(value, "file") and getattr(value, "filename", None) is not None:
            out.append(Upload(value.filename, value.file))
    return out


def limit_body(app, max_bytes):
    """WSGI middleware: refuse a body over the limit before anything reads it (413)."""
    body = json.dumps({"error": "too_large", "message": f"请求过大：上限为 {max_bytes // 1048576} MB。",
                       "fields": {}}, ensure_ascii=False).encode("utf-8")

    def middleware(environ, start_response):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > max_bytes:
            start_response("413 Request Entity Too Large", [("Content-Type", "application/json; charset=UTF-8"),
                                                             ("Content-Length", str(len(body))),
                                                             ("Connection", "close")])
            return [body]
        return app(environ, start_response)

    middleware.registry = app.registry
    return middleware
