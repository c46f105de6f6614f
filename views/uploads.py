"""Reading request bodies safely: JSON objects, multipart forms and files, the size limit.

Whatever a client sends, these functions either return plain values or raise an
``APIError`` with status 400: never an exception that would end as a 500.
"""
import hashlib
import json
import math
import os
import re
from urllib.parse import quote, unquote

from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header
from pyramid.events import NewRequest, subscriber
from webob.multidict import MultiDict
from ZODB.blob import Blob
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
        if is_multipart(request):
            return parse_multipart(request)
        return request.POST
    except (ValueError, UnicodeError, TypeError, LookupError, EOFError, OSError):
        request.content_type = "application/octet-stream"   # whatever reads the form next (the error page) finds none
        raise APIError(400, "bad_form", _("bad_form", default="The form data could not be read."))


# -- multipart bodies, read once as they arrive ---------------------------------------------
#
# A multipart body is parsed in 64 KB chunks (``multipart.PushMultipartParser``), not line by
# line as webob's ``cgi.FieldStorage`` does: each file part is written straight into a new
# ZODB blob, its SHA-256, size and first bytes computed on the way, so that filing it hands
# that blob to the document (``Upload.take``) instead of copying the bytes into another
# file and hashing them again. Text parts are decoded as UTF-8 (what cannot be decoded is
# replaced, as webob did; a JSON part is then refused as bad JSON). The parsed form is what
# ``request.POST`` returns for the rest of the request (webob's cache of it); the files not
# filed are removed when the request ends.

MAX_PARTS = 1000
HEAD_BYTES = 8192
_PARSED = "webob._parsed_post_vars"


class FilePart:
    """A file part of a multipart body: ``.name``, ``.filename``, ``.type``, ``.file`` (open
    for reading once complete), and what the domain's ``Upload`` needs without reading it
    again: ``.blob`` (holding the bytes, not yet stored), ``.size``, ``.sha256``, ``.head``."""

    def __init__(self, name, filename, content_type):
        self.name = name
        self.filename = filename
        self.type = content_type or "application/octet-stream"
        self.blob = Blob()
        self.file = self._out = self.blob.open("w")
        self.size = 0
        self.head = b""
        self.sha256 = ""
        self._digest = hashlib.sha256()

    def write(self, chunk):
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[:HEAD_BYTES - len(self.head)]
        self._digest.update(chunk)
        self.size += len(chunk)
        self._out.write(chunk)

    def complete(self):
        self._out.close()
        # read through a plain file, not ``blob.open("r")``: ZODB refuses to commit a blob
        # open for reading, and whoever reads the upload does not close it before the commit
        self.file = open(self._out.name, "rb")
        self.sha256 = self._digest.hexdigest()

    def discard(self):
        """Close the files; remove the bytes unless a document took the blob."""
        if not self.sha256:        # the body ended inside this part: the blob is still open for writing
            self._out.close()
        self.file.close()
        blob, self.blob = self.blob, None
        if blob is not None and blob._p_jar is None:   # not filed: nothing else will remove it
            try:
                os.unlink(self._out.name)
            except FileNotFoundError:
                pass

    def __repr__(self):
        return f"FilePart({self.name!r}, {self.filename!r}, {self.size})"


# the parts that always carry a file, with or without a ``filename`` in their header
FILE_PARTS = ("file", "files")


def _rfc2231_value(value):
    """The text of an RFC 5987/2231 extended value (``UTF-8'zh'%E6%9D%A5%E4%BF%A1.pdf``)."""
    charset, _sep, rest = value.partition("'")
    _lang, sep, encoded = rest.partition("'")
    if not sep:                      # no charset'language' prefix: percent-encoded UTF-8
        charset, encoded = "utf-8", value
    try:
        return unquote(encoded, encoding=charset or "utf-8", errors="replace")
    except LookupError:              # a charset Python does not know
        return unquote(encoded, encoding="utf-8", errors="replace")


_EXTENDED = re.compile(r';\s*filename\*(?:(\d+)(\*?))?\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)', re.I)


def filename_star(segment):
    """The ``filename*`` of a part's Content-Disposition (RFC 5987; RFC 2231 continuations
    ``filename*0*=...; filename*1*=...``), decoded; None when there is none."""
    header = next((v for k, v in segment.headerlist if k == "Content-Disposition"), "")
    whole, pieces = None, {}
    for number, star, raw in _EXTENDED.findall(header):
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) > 1:
            raw = re.sub(r'\\(.)', r'\1', raw[1:-1])
        if not number:
            whole = raw
        elif number.isdigit() and int(number) < 100:
            pieces[int(number)] = (raw, bool(star))
    if whole is not None:
        return _rfc2231_value(whole)
    if pieces:
        first_encoded = pieces.get(0, ("", False))[1]
        joined = "".join(raw if encoded else quote(raw, safe="")
                         for _n, (raw, encoded) in sorted(pieces.items()))
        return _rfc2231_value(joined) if first_encoded else unquote(joined, errors="replace")
    return None


def part_filename(segment):
    """The file name of a multipart part, or None for a text part. A ``filename*`` (RFC 5987)
    is preferred to a plain ``filename`` (RFC 6266: a client sending both means it as the
    exact name); a part named ``file`` or ``files`` is a file even without either (its name
    is then empty: the domain names it by its type), so that no file is ever dropped."""
    star = filename_star(segment)
    if star is not None:
        return star
    if segment.filename is not None:
        return segment.filename
    return "" if segment.name in FILE_PARTS else None


def parse_multipart(request):
    """The multipart form of the request as a webob ``MultiDict`` (text parts as ``str``,
    file parts as ``FilePart``), parsed once and cached as ``request.POST``. Raises
    ``ValueError`` for a body that is not complete, well-formed multipart."""
    env = request.environ
    cached = env.get(_PARSED)
    if cached is not None and cached[1] is request.body_file_raw and isinstance(cached[0], MultiDict):
        return cached[0]
    _ctype, options = parse_options_header(request.headers.get("Content-Type", ""))
    boundary = options.get("boundary")
    if not boundary:
        raise ValueError("multipart body without a boundary")
    length = request.content_length
    if length is None:
        raise ValueError("multipart body without a length")
    body = request.body_file
    if request.is_body_seekable:
        body.seek(0)
    files = []
    form = MultiDict()
    state = {"segment": None, "text": None, "part": None}

    def discard_files(_request=None):
        for f in files:
            f.discard()
        if env.get(_PARSED, (None,))[0] is form:
            del env[_PARSED]

    def on_event(event):
        if event is None:                       # the end of a part
            segment, text, part = state["segment"], state["text"], state["part"]
            if text is not None:
                form.add(segment.name, b"".join(text).decode(segment.charset or "utf-8", "replace"))
            elif part is not None:
                part.complete()
                if part.filename or part.size:   # not an empty file input (a browser sends filename="")
                    form.add(part.name, part)
            state["text"] = state["part"] = None
        elif isinstance(event, MultipartSegment):   # the headers of a new part
            state["segment"] = event
            filename = part_filename(event)
            if filename is None:
                state["text"] = []
            else:
                state["part"] = FilePart(event.name, filename, event.content_type)
                files.append(state["part"])
        elif state["text"] is not None:
            state["text"].append(bytes(event))
        else:
            state["part"].write(event)

    try:
        with PushMultipartParser(boundary, length, max_segment_count=MAX_PARTS) as parser:
            left = length
            while not parser.closed:
                chunk = body.read(min(1 << 16, left)) if left > 0 else b""
                left -= len(chunk)
                for event in parser.parse(chunk):
                    on_event(event)
                if not chunk:
                    break
    except MultipartError as exc:
        discard_files()
        raise ValueError(str(exc)) from None
    except BaseException:
        discard_files()
        raise
    env[_PARSED] = (form, request.body_file_raw)
    request.add_finished_callback(discard_files)
    return form


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
            message = _("field_text", default="The field ${name} must be text.", mapping={"name": name[:100]})
            raise APIError(400, "bad_request", message, {name[:100]: message})


def single(request, name):
    """The one value of a single-valued field, or None; the field sent twice is a 400 (which
    of the two was meant cannot be told)."""
    values = form(request).getall(name)
    if len(values) > 1:
        message = _("field_twice", default="The field ${name} was sent more than once.", mapping={"name": name[:100]})
        raise APIError(400, "bad_request", message, {name[:100]: message})
    return values[0] if values else None


def form_text(request, name, default=""):
    """A text field of the form; a file sent where text is expected, or the field sent
    twice, is a 400."""
    value = single(request, name)
    if value is None:
        return default
    if not isinstance(value, str):
        message = _("field_text", default="The field ${name} must be text.", mapping={"name": name})
        raise APIError(400, "bad_request", message, {name: message})
    return value


def form_json(request, name):
    """A JSON object sent as one part of a multipart form (as text or as a file), once."""
    value = single(request, name)
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
            out.append(Upload.spooled(value.filename, value.file, value.blob, value.size, value.sha256, value.head)
                       if isinstance(value, FilePart) else Upload(value.filename, value.file))
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
        # no "Connection: close": that is the server's to say (PEP 3333), and waitress turns
        # an application's hop-by-hop header into a 500
        start_response("413 Request Entity Too Large", [("Content-Type", "application/json; charset=UTF-8"),
                                                         ("Content-Length", str(len(body)))])
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
                                               ("Content-Length", str(len(cut)))])
            return [cut]

    middleware.registry = app.registry
    return middleware
