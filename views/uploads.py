"""Reading request bodies safely: JSON objects, multipart files and their size limit."""
import json

from casefiles.documents import Upload
from casefiles.i18n import _

from .errors import APIError


def json_body(request):
    """The request's JSON object, or a 400 that says what is wrong with it."""
    try:
        body = json.loads(request.body.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError):
        raise APIError(400, "bad_json", _("bad_json", default="The request body is not valid JSON."))
    if not isinstance(body, dict):
        raise APIError(400, "bad_json", _("body_object", default="The request body must be an object."))
    return body


def uploads_from(request, field="file"):
    """Upload objects for every non-empty file part named ``field``."""
    out = []
    for value in request.POST.getall(field):
        if hasattr(value, "file") and getattr(value, "filename", None) is not None:
            upload = Upload(value.filename, value.file)
            if upload.size or value.filename:
                out.append(upload)
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
