"""Hostile inputs: XML with external entities and entity expansion (the package parser, the
archive verifier, uploads), decompression-bomb images (filing, OCR, dossier), oversized and
lying request bodies, and file names made to escape a folder or split a header."""
import io
import os
import re
import socket
import struct
import time
import zlib

import pytest
import webob

from archive import package as P
from casefiles.documents import MAX_IMAGE_PIXELS, Upload, image_pixels
from cli import archive as archive_cli

from .support import PASSWORD, ROLES, ServerRules, add_users, change, close_app, make_app, open_site, pdf_bytes, petition
from .test_archive_support import quiet_indexer  # noqa: F401  (an autouse fixture)
from .test_archive_support import add_admin, archive_case, closed_case, wait_for_indexer, write_ini

APP_DIRS = ("archive", "cli", "views", "casefiles", "indexing")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --------------------------------------------------------------------------- helpers

def documents_of(app, number):
    conn, site = open_site(app)
    try:
        case = site.cases.by_number(number)
        return sorted((d.id, len(d.versions)) for d in case.documents())
    finally:
        conn.close()


def case_total(api_client):
    return api_client.get("/api/cases").json["total"]


def register(api_client):
    return api_client.post_json("/api/cases", petition(), status=201).json["number"]


def png_claiming(width, height):
    """A valid little PNG whose header claims ``width`` × ``height`` pixels (one short IDAT)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b""))


def tiff_claiming(width, height):
    """A baseline little-endian greyscale TIFF whose tags claim ``width`` × ``height``."""
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 8 + 2 + 12 * 9 + 4), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, 64)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, kind, count, value) if kind == 4 else struct.pack("<HHIHH", tag, kind, count,
                                                                                     value, 0)
        for tag, kind, count, value in entries) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00" * 64


def jpeg_claiming(width, height):
    from PIL import Image
    buf = io.BytesIO()
    Image.new("L", (8, 8), 128).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def multipart(fields, files, boundary="----hostile-boundary-7d2"):
    """A multipart/form-data body written by hand (so that names carry exactly what we want)."""
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n".encode())
        out.write(value.encode("utf-8") + b"\r\n")
    for name, filename, data in files:
        out.write(f"--{boundary}\r\n".encode())
        out.write(b"Content-Disposition: form-data; name=\"" + name.encode() + b"\"; filename=\"" + filename + b"\"\r\n")
        out.write(b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


# ------------------------------------------------------------- XML: entities and DTDs

SECRET = "hostile-secret-8f3c1e"


@pytest.fixture
def listener():
    """A TCP port on localhost that records whether anything connected to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.setblocking(False)
    yield server
    server.close()


def connected(server):
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


def xxe_documents(secret_path, port):
    root = '<电子文件封装包 xmlns="http://www.saac.gov.cn/standards/ERM/encapsulation">&x;</电子文件封装包>'
    return {
        "file": f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret_path}">]>{root}',
        "http": f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:{port}/x">]>{root}',
        "parameter": (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p.dtd"> %p;'
                      f']>{root.replace("&x;", "")}'),
        "external dtd": f'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:{port}/r.dtd">'
                        f'{root.replace("&x;", "")}',
        "xinclude": ('<?xml version="1.0"?><电子文件封装包 xmlns="http://www.saac.gov.cn/standards/ERM/encapsulation" '
                     f'xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file://{secret_path}" '
                     'parse="text"/></电子文件封装包>'),
    }


def billion_laughs(levels=10):
    lines = ['<!ENTITY lol0 "lollollollollollollollollollol">']
    for i in range(1, levels):
        lines.append(f'<!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">')
    return ('<?xml version="1.0"?><!DOCTYPE r [' + "".join(lines) + ']>'
            f'<电子文件封装包 xmlns="http://www.saac.gov.cn/standards/ERM/encapsulation">&lol{levels - 1};'
            '</电子文件封装包>').encode("utf-8")


def test_the_package_parser_reads_no_entity_file_or_network(tmp_path, listener):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    port = listener.getsockname()[1]
    for name, xml in xxe_documents(secret, port).items():
        with pytest.raises(P.PackageInvalid) as caught:
            P.read_xml(xml.encode("utf-8"))
        assert SECRET not in str(caught.value), name
        assert not connected(listener), f"{name}: the parser went to the network"


def test_entity_expansion_is_refused_at_once():
    started = time.monotonic()
    with pytest.raises(P.PackageInvalid):
        P.validate(billion_laughs())
    assert time.monotonic() - started < 2


def test_a_package_naming_files_outside_its_bag_is_invalid(app):
    number = closed_case(app)
    archive_case(app, number)
    from archive import store as S
    bag = S.Store.from_settings(app.registry.settings).path(number)
    xml = open(os.path.join(bag, "data", "package.xml"), "rb").read().decode("utf-8")
    first = re.search(r"<存储位置>([^<]+)</存储位置>", xml).group(1)
    for path in ("../../../etc/passwd", "/etc/passwd", "originals/../../x", ".hidden", "a\\b"):
        with pytest.raises(P.PackageInvalid):
            P.read_xml(xml.replace(f"<存储位置>{first}</存储位置>", f"<存储位置>{path}</存储位置>", 1).encode("utf-8"))


def test_every_xml_parse_in_the_app_is_hardened():
    """Every place the app's code parses XML passes the hardened parser (or reads the schema
    shipped with it): grep for the lxml and standard-library parse calls."""
    calls = re.compile(r"\b(etree\.(fromstring|parse|XML|iterparse|fromstringlist)|XMLParser|minidom\.parse|"
                       r"ElementTree\.(parse|fromstring)|sax\.parse|expat\.)\s*\(")
    unsafe = []
    for top in APP_DIRS:
        for folder, _dirs, names in os.walk(os.path.join(ROOT, top)):
            for name in names:
                if not name.endswith(".py"):
                    continue
                path = os.path.join(folder, name)
                for number, line in enumerate(open(path, encoding="utf-8"), 1):
                    if not calls.search(line):
                        continue
                    if "PARSER_OPTIONS" in line or "XSD_PATH" in line or "lxml.html" in line:
                        continue
                    unsafe.append(f"{os.path.relpath(path, ROOT)}:{number}: {line.strip()}")
    assert not unsafe, "XML parsed without archive.package.PARSER_OPTIONS:\n" + "\n".join(unsafe)
    assert P.PARSER_OPTIONS["resolve_entities"] is False and P.PARSER_OPTIONS["no_network"] is True
    assert not P.PARSER_OPTIONS["huge_tree"] and not P.PARSER_OPTIONS["load_dtd"]


@pytest.fixture
def cli_app(var, monkeypatch):
    monkeypatch.setenv("CASEFILES_VAR", str(var))
    app = make_app(var)
    add_users(app, [(role, [role], "411502" if role == "unit" else None) for role in ROLES])
    conn, site = open_site(app)
    with conn.transaction_manager:
        add_admin(site)
    conn.close()
    return app


def test_verify_reports_a_package_with_external_entities_without_reading_them(cli_app, var, tmp_path, capsys,
                                                                              listener):
    from archive import store as S
    number = closed_case(cli_app)
    archive_case(cli_app, number)
    bag = S.Store.from_settings(cli_app.registry.settings).path(number)
    wait_for_indexer(cli_app)
    close_app(cli_app)
    ini = write_ini(var)
    assert archive_cli.main([ini, "verify"]) == 0
    capsys.readouterr()
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    xml_path = os.path.join(bag, "data", "package.xml")
    xml = open(xml_path, encoding="utf-8").read()
    port = listener.getsockname()[1]
    # the real package with an external entity in its title: valid but for the DTD
    declaration, body = xml.split("?>", 1)
    hostile = (declaration + "?>" + f'<!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">'
               f'<!ENTITY y SYSTEM "http://127.0.0.1:{port}/y">]>'
               + re.sub(r"<题名>[^<]*</题名>", "<题名>&x;&y;</题名>", body, count=1))
    open(xml_path, "w", encoding="utf-8").write(hostile)
    import bagit
    bagit.Bag(bag).save(manifests=True)   # a forged package: its checksums match the new XML
    assert archive_cli.main([ini, "verify"]) == 1
    out = capsys.readouterr()
    assert number in out.out and "package.xml" in out.out
    assert SECRET not in out.out + out.err
    assert not connected(listener)


# ------------------------------------------------------------- uploads of markup

def test_xml_html_and_svg_uploads_are_refused_by_type(app, api, tmp_path):
    clerk = api("clerk")
    number = register(clerk)
    before = documents_of(app, number)
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    samples = {
        "xxe.xml": f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]><r>&x;</r>'.encode(),
        "lol.xml": billion_laughs(),
        "page.html": b"<!DOCTYPE html><html><script>alert(1)</script></html>",
        "image.svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        "bom.xml": b"\xef\xbb\xbf\n  <?xml version='1.0'?><r/>",
    }
    for name, data in samples.items():
        res = clerk.post(f"/api/cases/{number}/documents", {"kind": "evidence", "title": name},
                         upload_files=[("file", name, data)], status=415)
        assert res.json["error"] == "unsupported_type", name
        assert SECRET not in res.text
    assert documents_of(app, number) == before
    # typed text that merely starts like markup is still a text document
    res = clerk.post(f"/api/cases/{number}/documents", {"kind": "other", "title": "说明",
                                                         "text": "<html>这是信访人原话</html>"}, status=201)
    assert res.json["media_type"] == "text/plain"


# ------------------------------------------------------------- decompression bombs

BOMBS = {
    "bomb.png": lambda: png_claiming(40000, 40000),
    "bomb.tif": lambda: tiff_claiming(40000, 40000),
    "bomb.jpg": lambda: jpeg_claiming(60000, 60000),
    "wide.png": lambda: png_claiming(1_000_000, 100),   # 100 million: over the limit, under Pillow's own
}


def test_the_bomb_samples_are_what_they_claim():
    for name, make in BOMBS.items():
        data = make()
        assert len(data) < 4096, name
        assert image_pixels(io.BytesIO(data)) > MAX_IMAGE_PIXELS, name
    assert Upload.from_bytes("ok.png", png_claiming(4960, 7016)).media_type == "image/png"
    assert image_pixels(io.BytesIO(png_claiming(4960, 7016))) == 4960 * 7016


def test_decompression_bomb_images_are_refused_at_filing(app, api):
    clerk = api("clerk")
    number = register(clerk)
    before = documents_of(app, number)
    for name, make in BOMBS.items():
        started = time.monotonic()
        res = clerk.post(f"/api/cases/{number}/documents", {"kind": "letter_scan", "title": name},
                         upload_files=[("file", name, make())], status=422)
        assert time.monotonic() - started < 5
        assert res.json["fields"].get("file"), res.json
        assert name in res.json["message"]
    assert documents_of(app, number) == before
    # a scan of an ordinary A4 page at 600 dpi is accepted
    clerk.post(f"/api/cases/{number}/documents", {"kind": "letter_scan", "title": "A4"},
               upload_files=[("file", "a4.png", png_claiming(4960, 7016))], status=201)
    # at registration nothing is registered
    count = case_total(clerk)
    import json
    res = clerk.post("/api/cases", {"data": json.dumps(petition(), ensure_ascii=False)},
                     upload_files=[("file", "bomb.png", BOMBS["bomb.png"]())], status=422)
    assert "bomb.png" in res.json["message"]
    assert case_total(clerk) == count
    # and on a new version of an existing document
    doc = before[0][0]
    clerk.post(f"/api/cases/{number}/documents/{doc}/versions", {"note": "x"},
               upload_files=[("file", "bomb.tif", BOMBS["bomb.tif"]())], status=422)
    assert dict(documents_of(app, number))[doc] == dict(before)[doc]


def test_a_bomb_already_in_a_case_does_not_break_ocr_or_the_dossier(app, api, tmp_path):
    """Filed before the limit existed (or restored from an old package): the text
    recognition reports a failure and the dossier shows the page as unreadable."""
    from indexing import extract
    path = tmp_path / "bomb.png"
    path.write_bytes(BOMBS["wide.png"]())
    started = time.monotonic()
    with pytest.raises(ValueError):
        extract._ocr_image(str(path), "chi_sim")
    assert time.monotonic() - started < 5
    number = register(api("clerk"))

    def smuggle(site):
        case = site.cases.by_number(number)
        for name, make in BOMBS.items():
            case.file_document("origin", "letter_scan", name, Upload.from_bytes(name, make()),
                               case.registered_at, "clerk")
    change(app, smuggle)
    started = time.monotonic()
    res = api("admin").get(f"/api/cases/{number}/dossier.pdf", status="*")
    assert res.status_int < 500
    assert time.monotonic() - started < 60


# ------------------------------------------------------------- oversized bodies

LIMIT = 200_000   # casefiles.max_upload_bytes of the small app


@pytest.fixture
def small_app(var):
    application = make_app(var, **{"casefiles.max_upload_bytes": str(LIMIT)})
    add_users(application, [("clerk", ["clerk"], None)])
    yield application
    close_app(application)


def _token(app):
    req = webob.Request.blank("/api/login", method="POST", content_type="application/json",
                              body=b'{"username": "clerk", "password": "' + PASSWORD.encode() + b'"}')
    import json
    return json.loads(req.get_response(app).body)["token"]


def _raw(app, path, body, content_type, token, length=None, chunked=False):
    """Send a request straight to the WSGI app, with any Content-Length we like (or none)."""
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "localhost", "SERVER_PORT": "6543",
               "HTTP_HOST": "localhost:6543", "wsgi.url_scheme": "http", "CONTENT_TYPE": content_type,
               "wsgi.input": io.BytesIO(body), "HTTP_AUTHORIZATION": f"Bearer {token}"}
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
    else:
        environ["CONTENT_LENGTH"] = str(len(body) if length is None else length)
    return webob.Request(environ).get_response(ServerRules(app))


def test_oversized_bodies_are_413_and_store_nothing(small_app):
    app = small_app
    token = _token(app)
    import json
    create = _raw(app, "/api/cases", json.dumps(petition(), ensure_ascii=False).encode(), "application/json", token)
    assert create.status_int == 201, create.body
    number = json.loads(create.body)["number"]
    before = documents_of(app, number)
    path = f"/api/cases/{number}/documents"
    big_pdf = pdf_bytes() + b"%" * (LIMIT + 10)
    # over the upload limit, under the body cap: the domain refuses the file
    body, ctype = multipart({"kind": "evidence", "title": "大文件"}, [("file", b"big.pdf", big_pdf)])
    res = _raw(app, path, body, ctype, token)
    assert res.status_int == 413 and json.loads(res.body)["error"] == "too_large"
    # over the body cap: refused before anything reads it
    huge = pdf_bytes() + b"%" * (LIMIT + 2 * 1024 * 1024)
    body, ctype = multipart({"kind": "evidence", "title": "更大"}, [("file", b"huge.pdf", huge)])
    res = _raw(app, path, body, ctype, token)
    assert res.status_int == 413
    # the same body without a Content-Length (chunked): read only up to the cap, then 413
    res = _raw(app, path, body, ctype, token, chunked=True)
    assert res.status_int == 413
    # a Content-Length that claims less than is sent: the rest is not read, the form is cut short
    res = _raw(app, path, body, ctype, token, length=4096)
    assert 400 <= res.status_int < 500
    # ...or more than is sent
    small, ctype = multipart({"kind": "evidence", "title": "小"}, [("file", b"s.pdf", pdf_bytes())])
    res = _raw(app, path, small[:-200], ctype, token, length=len(small))
    assert 400 <= res.status_int < 500
    # a huge JSON body, chunked
    res = _raw(app, "/api/cases", b'{"subject": "' + b"x" * (LIMIT + 2 * 1024 * 1024) + b'"}', "application/json",
               token, chunked=True)
    assert res.status_int == 413
    assert documents_of(app, number) == before
    # a chunked body under the cap still arrives whole
    res = _raw(app, path, small, ctype, token, chunked=True)
    assert res.status_int == 201, res.body
    assert len(documents_of(app, number)) == len(before) + 1


# ------------------------------------------------------------- file names

NAMES = {
    "traversal": "../../etc/passwd".encode(),
    "windows": "..\\..\\windows\\win.ini".encode(),
    "nul": b"a\x00b.pdf",
    "header": b"x.pdf\r\nSet-Cookie: pwned=1\r\nX-Injected: 1",
    "long": ("长" * 300 + ".pdf").encode("utf-8"),
    "rtl": "invoice\u202efdp.exe".encode("utf-8"),
    "chinese": "信访材料（第一批）.pdf".encode("utf-8"),
    "quotes": b'a"; filename="evil.html',
    "absolute": b"/etc/cron.d/job",
}


def test_hostile_file_names_are_stored_as_names_and_served_safely(app, api, var):
    clerk = api("clerk")
    number = register(clerk)
    token = clerk.token
    pdf = pdf_bytes("名称测试")
    stored = {}
    for key, name in NAMES.items():
        body, ctype = multipart({"kind": "evidence", "title": f"名称-{key}"}, [("file", name, pdf)])
        res = clerk.testapp.post(f"/api/cases/{number}/documents", body, headers={
            "Authorization": f"Bearer {token}", "Content-Type": ctype}, status="*")
        assert res.status_int < 500, (key, res.status_int)
        if res.status_int == 201:
            stored[key] = res.json["id"]
    assert {"traversal", "chinese", "rtl", "long", "nul"} <= set(stored)
    for key, doc in stored.items():
        res = clerk.get(f"/api/cases/{number}/documents/{doc}/file")
        assert res.body == pdf
        disposition = res.headers["Content-Disposition"]
        assert "\r" not in disposition and "\n" not in disposition and "\x00" not in disposition
        assert "Set-Cookie" not in res.headers.get("Set-Cookie", "") or "pwned" not in res.headers.get("Set-Cookie", "")
        assert "X-Injected" not in res.headers
        match = re.fullmatch(r'attachment; filename="([ -~]*)"; filename\*=UTF-8\'\'([A-Za-z0-9%._~!*\'()-]+)',
                             disposition)
        assert match, disposition
        fallback = match.group(1)
        assert "/" not in fallback and "\\" not in fallback and '"' not in fallback
        from urllib.parse import unquote
        name = unquote(match.group(2))
        assert "/" not in name and "\\" not in name and not name.startswith(".")
        assert "\u202e" not in name and len(name) <= 255
        assert name.endswith(".pdf"), name
    assert unquote_name(clerk, number, stored["chinese"]) == "信访材料（第一批）.pdf"
    # no file anywhere under the data folder (or /etc) was named after what the client sent
    for folder, _dirs, files in os.walk(var):
        for f in files:
            assert "passwd" not in f and "win.ini" not in f and "长长长" not in f and "信访材料" not in f, f
    assert not os.path.exists(os.path.join(str(var), "..", "etc"))


def unquote_name(client, number, doc):
    from urllib.parse import unquote
    disposition = client.get(f"/api/cases/{number}/documents/{doc}/file").headers["Content-Disposition"]
    return unquote(disposition.split("filename*=UTF-8''", 1)[1])


# ------------------------------------------------------------- the session cookie

def test_refusals_never_shown_do_not_overflow_the_session_cookie(testapp, api):
    """Each refused workflow form leaves a message for the next page; a client that does
    not follow the redirects (or a file name of 255 Chinese characters in the message) must
    not make the session cookie too long to set, which failed the response."""
    number = register(api("clerk"))
    testapp.reset()
    form = testapp.get("/login").forms[0]
    form["username"], form["password"] = "clerk", PASSWORD
    form.submit(status=303)
    token = re.search(r'name="csrf_token" value="([^"]+)"', testapp.get("/").text).group(1)
    url = f"/cases/{number[3:7]}/{number}/@@reject"
    for i in range(25):
        res = testapp.post(url, {"csrf_token": token, "reason": ""}, status=303)
        assert "wf_open=" in res.headers["Location"]
    body, ctype = multipart({"csrf_token": token, "summary": "x"},
                            [("file", ("长" * 255).encode(), b"\x00not a pdf" * 10)])
    for i in range(5):
        res = testapp.post(f"/cases/{number[3:7]}/{number}/@@report", body, headers={"Content-Type": ctype},
                           status="*")
        assert res.status_int < 500
    page = testapp.get(f"/cases/{number[3:7]}/{number}/")
    assert page.status_int == 200 and page.html.select(".flash")
    assert len(page.html.select(".flash")) <= 3


# --------------------------------------------------------------------------- zip bombs

def test_an_imported_package_that_expands_without_limit_is_refused(tmp_path):
    """A package zip whose member inflates far beyond its compressed size (a zip bomb) stops
    while it is written, whatever the zip's directory claims; a plain package unzips."""
    import zipfile
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bag/bagit.txt", "BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n")
        z.writestr("bag/data/scan.pdf", b"\0" * (40 * 1024 * 1024))
    assert bomb.stat().st_size < 200 * 1024
    into = tmp_path / "out"
    with pytest.raises(ValueError, match="zip bomb"):
        archive_cli.unzip_bag(str(bomb), str(into))
    written = sum(f.stat().st_size for f in into.rglob("*") if f.is_file())
    assert written < 12 * 1024 * 1024          # stopped near the ratio limit, not at 40 MB

    capped = tmp_path / "capped.zip"
    with zipfile.ZipFile(capped, "w", zipfile.ZIP_STORED) as z:
        z.writestr("bag/bagit.txt", "BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n")
        z.writestr("bag/data/a.bin", os.urandom(600 * 1024))
    with pytest.raises(ValueError, match="zip bomb"):
        archive_cli.unzip_bag(str(capped), str(tmp_path / "capped"), max_bytes=512 * 1024)
    bag = archive_cli.unzip_bag(str(capped), str(tmp_path / "fine"))
    assert os.path.isfile(os.path.join(bag, "data", "a.bin"))


def test_a_zip_naming_paths_outside_its_folder_is_refused(tmp_path):
    import zipfile
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../escape.txt", "x")
    with pytest.raises(ValueError, match="unsafe path"):
        archive_cli.unzip_bag(str(evil), str(tmp_path / "out"))
    assert not (tmp_path / "escape.txt").exists()
