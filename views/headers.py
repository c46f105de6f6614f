"""Security headers on every response: a CSP without inline script, frame denial (pages and
JSON may not be framed at all; only our own files — the PDFs the document page and the
dossier reader show in a frame — may be framed, by our own pages), no MIME sniffing, no
referrer leakage of case numbers, and no caching of pages that show personal data."""

_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "object-src 'self'; frame-src 'self'; frame-ancestors {frames}; base-uri 'none'; form-action 'self'")
CSP = _CSP.format(frames="'none'")
CSP_FILES = _CSP.format(frames="'self'")
FRAMEABLE = ("application/pdf", "image/", "text/plain")   # what our pages show in a frame


def frameable(response):
    content_type = (response.content_type or "").lower()
    return content_type.startswith(FRAMEABLE)


def security_headers_tween_factory(handler, registry):
    def tween(request):
        response = handler(request)
        headers = response.headers
        if frameable(response):
            headers.setdefault("Content-Security-Policy", CSP_FILES)
            headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        else:
            headers.setdefault("Content-Security-Policy", CSP)
            headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if not request.environ.get("PATH_INFO", "").startswith("/static/"):  # undecoded: never fails
            headers.setdefault("Cache-Control", "no-store")
        return response
    return tween


def includeme(config):
    config.add_tween("views.headers.security_headers_tween_factory")
