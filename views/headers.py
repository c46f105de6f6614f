"""Security headers on every response: a CSP without inline script, frame denial outside
our own origin (the dossier reader frames our own PDFs), no MIME sniffing, no referrer
leakage of case numbers, and no caching of pages that show personal data."""

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "object-src 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'")


def security_headers_tween_factory(handler, registry):
    def tween(request):
        response = handler(request)
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if not request.environ.get("PATH_INFO", "").startswith("/static/"):  # undecoded: never fails
            headers.setdefault("Cache-Control", "no-store")
        return response
    return tween


def includeme(config):
    config.add_tween("views.headers.security_headers_tween_factory")
