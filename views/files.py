"""Serving a document's original bytes: inline or as a download, under its original name.

The name in ``Content-Disposition`` is the one the file was uploaded with, made safe to
hand to a browser: no directory part (``../``, ``C:\\``), no control or bidirectional
formatting characters (a right-to-left override can disguise ``gpj.exe`` as ``exe.jpg``),
no leading dots, and an extension that matches the type the bytes were judged to be.
Non-ASCII names travel exactly in RFC 5987 ``filename*``, with an ASCII fallback.
"""
import os
import unicodedata
from urllib.parse import quote

from pyramid.response import FileResponse, Response

from casefiles.documents import ACCEPTED_TYPES

INLINE_TYPES = ("application/pdf", "image/jpeg", "image/png", "text/plain")
EXTENSIONS = {
    "image/jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "image/tiff": (".tif", ".tiff"),
    "text/plain": (".txt", ".text", ".log", ".csv", ".md"),
}


def safe_filename(name, media_type=None):
    """The name to offer for download (see the module docstring)."""
    name = "".join(ch for ch in (name or "") if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = name.strip().lstrip(". ").strip()
    stem, ext = os.path.splitext(name)
    expected = EXTENSIONS.get(media_type) or ((ACCEPTED_TYPES[media_type],) if media_type in ACCEPTED_TYPES else ())
    stem = stem or "file"
    if expected and ext.lower() not in expected:
        stem, ext = stem + ext, expected[0]
    if len(ext) > 16:
        stem, ext = stem + ext, ""
    return stem[:255 - len(ext)] + ext   # a long name loses the end of its stem, never its extension


def content_disposition(kind, filename, media_type=None):
    """RFC 6266/5987: an ASCII fallback and the exact UTF-8 name in ``filename*``."""
    filename = safe_filename(filename, media_type)
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\/%;' else "_" for ch in filename) or "file"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_response(request, document, version=None, inline=False):
    version = version or document.current
    kind = "inline" if inline and version.media_type in INLINE_TYPES else "attachment"
    path = version.blob.committed() if version.blob._p_blob_committed else None
    content_type = version.media_type
    if content_type == "text/plain":   # the bytes as filed, named in their own encoding (GBK, UTF-16...)
        content_type = f"text/plain; charset={getattr(version, 'text_encoding', 'utf-8')}"
    if path:
        response = FileResponse(path, request=request, content_type=content_type)
    else:   # conditional, like FileResponse: it answers Range requests with 206 too
        response = Response(body=version.read(), content_type=None, conditional_response=True)
        response.headers["Content-Type"] = content_type
    response.headers["Accept-Ranges"] = "bytes"     # on the 200 as on a 206 (RFC 9110 14.3)
    response.headers["Content-Disposition"] = content_disposition(kind, version.filename, version.media_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["ETag"] = f'"{version.sha256}"'
    response.headers["Cache-Control"] = "private, no-cache"
    if version.media_type != "application/pdf":
        # an uploaded file must never run script in our origin, even when shown inline
        response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; " \
                                                      "style-src 'unsafe-inline'; sandbox"
    return response
