"""Helpers for the tests: the app on a fresh data folder, users, petitions and real small files."""
import datetime
import io
import os
from wsgiref.util import is_hop_by_hop

import transaction
import webtest  # noqa: F401

from casefiles.idnumber import make_id_number

PASSWORD = "secret-pass-1"
ROLES = ("clerk", "assigner", "supervisor", "analyst", "reviewer", "unit", "auditor", "admin")


class ServerRules:
    """``app`` as a real WSGI server calls it: ``start_response`` refuses what PEP 3333
    forbids and what waitress refuses with a 500 (a hop-by-hop header such as
    ``Connection``, a header or status that is not a string or holds a line break). WebTest
    and webob pass such responses on, so without this a test could pass on a response the
    served app never gives."""

    def __init__(self, app):
        self.app = app

    def __getattr__(self, name):
        return getattr(self.app, name)

    def __call__(self, environ, start_response):
        def checked(status, headers, exc_info=None):
            assert isinstance(status, str) and not ({"\r", "\n"} & set(status)), f"bad status {status!r}"
            for name, value in headers:
                assert isinstance(name, str) and isinstance(value, str), f"header not a string: {(name, value)!r}"
                assert not ({"\r", "\n"} & set(name + value)), f"line break in header {(name, value)!r}"
                assert not is_hop_by_hop(name), f"hop-by-hop header {name!r}: a WSGI server refuses it"
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)
        return self.app(environ, checked)


def make_app(var, **extra):
    from views import main
    settings = {"casefiles.var": str(var), "casefiles.secret": "test-secret", "retry.attempts": "8"}
    settings.update(extra)
    return main({}, **settings)


def close_app(app):
    """Stop the app's background workers (search index, OCR), then close its databases."""
    from cli import close_app as close_registry
    close_registry(app.registry)


def open_site(app):
    """(connection, site) on the app's database, outside any request."""
    from casefiles.site import ROOT_KEY
    db = app.registry._zodb_databases[""]
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    return conn, conn.root()[ROOT_KEY]


def change(app, fn):
    """Run ``fn(site)`` in its own transaction outside any request, retrying conflicts with
    the background index writer (requests get the same from pyramid_retry)."""
    conn, _site = open_site(app)
    try:
        for attempt in conn.transaction_manager.attempts(5):
            with attempt:
                result = fn(conn.root()["casefiles"])
        return result
    finally:
        conn.close()


def add_users(app, users):
    def create(site):
        for username, roles, unit in users:
            site.users.create(username, roles, PASSWORD, name=username, unit=unit, units=site.units)
    change(app, create)


class API:
    """A bearer-token client of the JSON API."""

    def __init__(self, testapp, username):
        self.testapp = testapp
        res = testapp.post_json("/api/login", {"username": username, "password": PASSWORD})
        self.token = res.json["token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def get(self, url, status=200, **kw):
        return self.testapp.get(url, headers=self.headers, status=status, **kw)

    def post_json(self, url, body, status=200, **kw):
        return self.testapp.post_json(url, body, headers=self.headers, status=status, **kw)

    def post(self, url, params=None, status=200, **kw):
        return self.testapp.post(url, params or {}, headers=self.headers, status=status, **kw)


def id_number(seq=1, region=411502, born=datetime.date(1975, 6, 1)):
    return make_id_number(region, born, seq)


def petition(**overrides):
    body = {
        "channel": "letter",
        "received_at": "2025-03-01T09:30:00",
        "subject": "平桥区某小区拆迁补偿款未足额发放",
        "content": "本人房屋于2024年被征收，补偿款至今未足额发放，请求依法处理。",
        "petitioners": [{"name": "王建国", "id_number": id_number(1), "phone": "13800000001",
                         "address": "信阳市平桥区平西街道", "primary": True}],
        "district": "平桥区",
        "category": "城乡建设",
        "petition_type": "complaint",
    }
    body.update(overrides)
    return body


def pdf_bytes(text="信访材料 测试页", pages=1):
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    for i in range(pages):
        c.setFont("STSong-Light", 14)
        c.drawString(72, 760, f"{text} 第{i + 1}页")
        c.showPage()
    c.save()
    return buf.getvalue()


def png_bytes(size=(64, 48)):
    import struct
    import zlib
    width, height = size
    raw = b"".join(b"\x00" + bytes([200, 30, 30]) * width for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def tiff_bytes():
    # a minimal little-endian baseline TIFF header followed by filler
    return b"II*\x00\x08\x00\x00\x00" + b"\x00" * 200


def jpeg_bytes():
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200 + b"\xff\xd9"


os.environ.setdefault("TZ", "Asia/Shanghai")
