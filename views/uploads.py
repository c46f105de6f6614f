"""Reading request bodies safely: JSON objects, multipart forms and files, the size limit.

Whatever a client sends, these functions either return plain values or raise an
``APIError`` with status 400: never an exception that would end as a 500.
"""
import json
import math

from pyramid.events import NewRequest, subscriber
from webob.request import DisconnectionError

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
    """The parsed form (``request.POST``), or a 400 when the body is not a readable form or
    a multipart body stops before its closing boundary (a cut connection, a Content-Length
    shorter than the body): a file cut short is never filed."""
    try:
        if is_multipart(request) and not _multipart_complete(request):
            raise ValueError("multipart body without its closing boundary")
        return request.POST
    except (ValueError, UnicodeError, TypeError, LookupError, EOFError, OSError):
        request.content_type = "application/octet-stream"   # whatever reads the form next (the error page) finds none
        raise APIError(400, "bad_form", _("bad_form", default="The form data could not be read."))


def _multipart_complete(request, tail=4096):
    import re
    found = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', request.headers.get("Content-Type", ""), re.I)
    if not found:
        return False
    if getattr(request, "_multipart_complete", None) is None:
        boundary = (found.group(1) or found.group(2)).encode("latin-1", "replace")
        body = request.body_file_seekable
        body.seek(max(0, (request.content_length or 0) - tail))
        end = body.read(tail)
        body.seek(0)
        request._multipart_complete = b"--" + boundary + b"--" in end
    return request._multipart_complete


# the form fields that carry files (uploads_from, form_json); every other field is text
FILE_FIELDS = ("file", "files", "data")
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


@subscriber(NewRequest)
def readable_form(event):
    """Before any view (or the CSRF check) reads ``request.POST``: a form body that cannot be
    read, or that sends a file where a text field is expected, is a 400 here, so that code
    reading ``request.POST.get(name)`` gets text or nothing."""
    request = event.request
    if request.method not in ("POST", "PUT", "PATCH") or request.content_type not in FORM_TYPES:
        return
    for name, value in form(request).items():
        if not isinstance(value, str) and name not in FILE_FIELDS:
            request.content_type = "application/octet-stream"   # the error page finds no form either
            raise APIError(400, "bad_request", _("field_text", default="The field ${name} must be text.",
                                                 mapping={"name": name[:100]}), {name[:100]: "text"})


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


def _unsized_body(environ):
    return bool(environ.get("wsgi.input_terminated")) or \
        "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()


def _read_limited(stream, max_bytes, chunk=1 << 16):
    """The body in a temporary file (``.length`` set), or None when it is over ``max_bytes``."""
    import tempfile
    out = tempfile.SpooledTemporaryFile(max_size=1 << 20)
    total = 0
    while True:
        data = stream.read(chunk)
        if not data:
            break
        total += len(data)
        if total > max_bytes:
            out.close()
            return None
        out.write(data)
    out.seek(0)
    out.length = total
    return out


def limit_body(app, max_bytes):
    """WSGI middleware: refuse a body over the limit before anything reads it (413)."""
    body = json.dumps({"error": "too_large", "message": f"请求过大：上限为 {max_bytes // 1048576} MB。",
                       "fields": {}}, ensure_ascii=False).encode("utf-8")
    cut = json.dumps({"error": "bad_form", "message": "请求内容不完整：连接在发送完毕前中断。", "fields": {}},
                     ensure_ascii=False).encode("utf-8")

    def too_large(start_response):
        start_response("413 Request Entity Too Large", [("Content-Type", "application/json; charset=UTF-8"),
                                                         ("Content-Length", str(len(body))),
                                                         ("Connection", "close")])
        return [body]

    def middleware(environ, start_response):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > max_bytes:
            return too_large(start_response)
        if not environ.get("CONTENT_LENGTH") and _unsized_body(environ):
            # a chunked body (no Content-Length): read it up to the limit, into a file
            spooled = _read_limited(environ["wsgi.input"], max_bytes)
            if spooled is None:
                return too_large(start_response)
            environ["wsgi.input"] = spooled
            environ["CONTENT_LENGTH"] = str(spooled.length)
            environ.pop("wsgi.input_terminated", None)
        try:
            return app(environ, start_response)
        except DisconnectionError:   # the body ended before its Content-Length: nothing was read into the site
            start_response("400 Bad Request", [("Content-Type", "application/json; charset=UTF-8"),
                                               ("Content-Length", str(len(cut))), ("Connection", "close")])
            return [cut]

    middleware.registry = app.registry
    return middleware
