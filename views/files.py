"""Serving a document's original bytes: inline or as a download, under its original name."""
from urllib.parse import quote

from pyramid.response import FileResponse, Response

INLINE_TYPES = ("application/pdf", "image/jpeg", "image/png", "text/plain")


def content_disposition(kind, filename):
    """RFC 6266/5987: an ASCII fallback and the exact UTF-8 name in ``filename*``."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\/' else "_" for ch in filename) or "file"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_response(request, document, version=None, inline=False):
    version = version or document.current
    kind = "inline" if inline and version.media_type in INLINE_TYPES else "attachment"
    path = version.blob.committed() if version.blob._p_blob_committed else None
    content_type = version.media_type
    if content_type == "text/plain":
        content_type = "text/plain; charset=utf-8"
    if path:
        response = FileResponse(path, request=request, content_type=content_type)
    else:
        response = Response(body=version.read(), content_type=None)
        response.headers["Content-Type"] = content_type
    response.headers["Content-Disposition"] = content_disposition(kind, version.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["ETag"] = f'"{version.sha256}"'
    response.headers["Cache-Control"] = "private, no-cache"
    if version.media_type != "application/pdf":
        # an uploaded file must never run script in our origin, even when shown inline
        response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; " \
                                                      "style-src 'unsafe-inline'; sandbox"
    return response
