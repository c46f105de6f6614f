"""Filing documents into a case through the API, downloading their original bytes under
their original names, and new versions; refused files leave nothing behind."""
import hashlib
import json
import re
from urllib.parse import unquote

import webtest

from casefiles.access import route_to_unit

from .support import API, add_users, close_app, make_app, open_site, pdf_bytes, petition, png_bytes, tiff_bytes
from .test_api_cases import (DOCUMENT_KEYS, ELF, EXE, blob_files, chinese, error_of, post_multipart, route,
                             set_case)


def _register(client):
    return client.post_json("/api/cases", petition(), status=201).json["number"]


def _documents(app, number):
    conn, site = open_site(app)
    try:
        case = site.cases.by_number(number)
        return {d.id: len(d.versions) for d in case.documents()}, len(case.history)
    finally:
        conn.close()


def decoded_filename(response):
    """The file name a browser takes from Content-Disposition (RFC 6266: filename* wins)."""
    header = response.headers["Content-Disposition"]
    match = re.search(r"filename\*=UTF-8''([^;\s]+)", header)
    assert match, header
    assert re.search(r'filename="[ -~]*"', header), header   # an ASCII fallback too
    assert all(32 <= ord(ch) < 127 for ch in header)
    return unquote(match.group(1), encoding="utf-8", errors="strict")


def test_file_a_document_and_download_its_bytes(api):
    clerk = api("clerk")
    number = _register(clerk)
    data = pdf_bytes("调查笔录", pages=2)
    res = clerk.post(f"/api/cases/{number}/documents", {"kind": "investigation", "title": "调查笔录（一）",
                                                        "text": "调查笔录正文"},
                     upload_files=[("file", "调查笔录 2025-03.pdf", data)], status=201)
    doc = res.json
    assert DOCUMENT_KEYS <= set(doc)
    assert res.headers["Location"].endswith(f"/api/cases/{number}/documents/{doc['id']}")
    assert (doc["kind"], doc["title"], doc["folder"], doc["filed_by"], doc["version"]) == \
        ("investigation", "调查笔录（一）", "handling", "clerk", 1)
    assert doc["media_type"] == "application/pdf" and doc["size"] == len(data)
    assert doc["sha256"] == hashlib.sha256(data).hexdigest()
    assert clerk.get(f"/api/cases/{number}/documents/{doc['id']}").json == doc

    got = clerk.get(f"/api/cases/{number}/documents/{doc['id']}/file")
    assert got.body == data
    assert hashlib.sha256(got.body).hexdigest() == doc["sha256"]
    assert got.content_type == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert decoded_filename(got) == "调查笔录 2025-03.pdf"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    inline = clerk.get(f"/api/cases/{number}/documents/{doc['id']}/file?inline=1")
    assert inline.headers["Content-Disposition"].startswith("inline;") and inline.body == data

    case = clerk.get(f"/api/cases/{number}").json
    handling = next(f for f in case["folders"] if f["name"] == "handling")
    assert [d["id"] for d in handling["documents"]] == [doc["id"]]
    assert case["history"][-1]["action"] == "file" and case["history"][-1]["by"] == "clerk"
    listed = clerk.get(f"/api/cases/{number}/documents").json["documents"]
    assert doc["id"] in [d["id"] for d in listed] and len(listed) == 2


def test_folder_follows_kind_unless_named(api):
    clerk = api("clerk")
    number = _register(clerk)
    for kind, folder, expected in (("notice", "", "notices"), ("evidence", "", "origin"),
                                   ("hearing_record", "", "review"), ("evidence", "closing", "closing"),
                                   ("other", "supervision", "supervision")):
        res = clerk.post(f"/api/cases/{number}/documents", {"kind": kind, "title": kind, "folder": folder},
                         upload_files=[("file", "a.png", png_bytes())], status=201)
        assert res.json["folder"] == expected, kind


def test_text_only_document(api):
    clerk = api("clerk")
    number = _register(clerk)
    doc = clerk.post(f"/api/cases/{number}/documents", {"kind": "investigation", "title": "电话回访记录",
                                                        "text": "已电话回访，信访人表示认可。"}, status=201).json
    assert doc["media_type"] == "text/plain"
    got = clerk.get(f"/api/cases/{number}/documents/{doc['id']}/file")
    assert got.body.decode("utf-8") == "已电话回访，信访人表示认可。"
    assert got.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert decoded_filename(got) == "电话回访记录.txt"


def test_awkward_file_names_survive_safely(api):
    clerk = api("clerk")
    number = _register(clerk)
    png = png_bytes()
    cases = [
        ("信访人身份证（正反面）.png", "信访人身份证（正反面）.png"),
        ("../../etc/passwd.png", "passwd.png"),
        ("..\\..\\Windows\\照片.png", "照片.png"),
        ("C:\\Users\\王\\Desktop\\现场 照片.PNG", "现场 照片.PNG"),
        ("a\"b;c%20d.png", "a\"b;c%20d.png"),
        ("tab\there\x01.png", "tabhere.png"),
        ("evil\u202egnp.exe", "evilgnp.exe.png"),
        ("...", "file.png"),
        ("photo.exe", "photo.exe.png"),
        ("无扩展名", "无扩展名.png"),
    ]
    for sent, expected in cases:
        res = post_multipart(clerk, f"/api/cases/{number}/documents", [("kind", "evidence"), ("title", "照片")],
                             [("file", sent.replace('"', "%22"), png)])
        got = clerk.get(f"/api/cases/{number}/documents/{res.json['id']}/file")
        assert got.body == png
        name = decoded_filename(got)
        assert "/" not in name and "\\" not in name and not name.startswith(".")
        assert all(ch.isprintable() for ch in name) and "\u202e" not in name
        if sent.startswith('a"b'):
            continue  # how a client escapes a quote in a multipart header varies; checked above
        assert name == expected, sent


def test_new_version_keeps_the_old_one(api):
    clerk = api("clerk")
    number = _register(clerk)
    v1, v2 = pdf_bytes("答复意见 初稿"), pdf_bytes("答复意见 定稿", pages=2)
    doc = clerk.post(f"/api/cases/{number}/documents", {"kind": "reply", "title": "信访处理意见书"},
                     upload_files=[("file", "意见书-初稿.pdf", v1)], status=201).json
    base = f"/api/cases/{number}/documents/{doc['id']}"
    res = clerk.post(f"{base}/versions", {"note": "更正错别字"}, upload_files=[("file", "意见书-定稿.pdf", v2)],
                     status=201)
    meta = res.json
    assert meta["id"] == doc["id"] and meta["version"] == 2
    assert meta["sha256"] == hashlib.sha256(v2).hexdigest() and meta["size"] == len(v2)
    assert [v["version"] for v in meta["versions"]] == [1, 2]
    assert meta["versions"][1]["note"] == "更正错别字"
    assert meta["versions"][0]["sha256"] == hashlib.sha256(v1).hexdigest()
    assert clerk.get(base).json["version"] == 2

    latest = clerk.get(f"{base}/file")
    assert latest.body == v2 and decoded_filename(latest) == "意见书-定稿.pdf"
    first = clerk.get(f"{base}/file?version=1")
    assert first.body == v1 and decoded_filename(first) == "意见书-初稿.pdf"
    assert clerk.get(f"{base}/file?version=2").body == v2
    error_of(clerk.get(f"{base}/file?version=3", status=404), 404, "not_found")
    error_of(clerk.get(f"{base}/file?version=0", status=404), 404, "not_found")
    error_of(clerk.get(f"{base}/file?version=abc", status=400), 400, "bad_request")
    history = clerk.get(f"/api/cases/{number}").json["history"]
    assert history[-1]["action"] == "version"
    # a version needs exactly one file
    body = error_of(clerk.post(f"{base}/versions", {"note": "无文件"}, status=422), 422, "invalid")
    assert "file" in body["fields"]


def test_bad_documents_are_refused_and_nothing_is_filed(app, var, api):
    clerk = api("clerk")
    number = _register(clerk)
    doc = clerk.post(f"/api/cases/{number}/documents", {"kind": "evidence", "title": "证据"},
                     upload_files=[("file", "证据.pdf", pdf_bytes())], status=201).json
    before, blobs = _documents(app, number), blob_files(var)
    url = f"/api/cases/{number}/documents"
    attempts = [
        # (form fields, files, status, code, field)
        ({"kind": "evidence", "title": "可执行文件"}, [("file", "扫描件.pdf", ELF)], 415, "unsupported_type", "file"),
        ({"kind": "evidence", "title": "可执行文件"}, [("file", "scan.pdf", EXE)], 415, "unsupported_type", "file"),
        ({"kind": "evidence", "title": "压缩包"}, [("file", "材料.zip", _zip())], 415, "unsupported_type", "file"),
        ({"kind": "evidence", "title": "空文件"}, [("file", "空.pdf", b"")], 422, "invalid", "file"),
        ({"kind": "nonsense", "title": "x"}, [("file", "a.pdf", pdf_bytes())], 422, "invalid", "kind"),
        ({"kind": "evidence", "title": "x", "folder": "attic"}, [("file", "a.pdf", pdf_bytes())], 422, "invalid",
         "folder"),
        ({"kind": "evidence", "title": "长" * 201}, [("file", "a.pdf", pdf_bytes())], 422, "invalid", "title"),
        ({"kind": "evidence", "title": "无文件"}, [], 422, "invalid", "file"),
        ({"kind": "evidence"}, [], 422, "invalid", "title"),
        ({"kind": "evidence", "title": "两个"}, [("file", "a.pdf", pdf_bytes()), ("file", "b.png", png_bytes())],
         400, "bad_request", "file"),
    ]
    for fields, files, status, code, field in attempts:
        res = clerk.post(url, fields, upload_files=files, status="*")
        body = error_of(res, status, code)
        assert field in body["fields"] and chinese(body["message"]), (fields, body)
        assert _documents(app, number) == before and blob_files(var) == blobs, fields
    # the same for a new version
    for name, content, status in (("v2.pdf", ELF, 415), ("v2.pdf", EXE, 415), ("v2.pdf", b"", 422)):
        res = clerk.post(f"{url}/{doc['id']}/versions", {}, upload_files=[("file", name, content)], status="*")
        error_of(res, status)
        assert _documents(app, number) == before and blob_files(var) == blobs
    # a JSON body or a broken form is not a document
    error_of(clerk.post_json(url, {"kind": "evidence", "title": "x"}, status=422), 422)
    res = clerk.testapp.post(url, b"--x\r\nbroken", status="*",
                             headers={**clerk.headers, "Content-Type": "multipart/form-data"})
    assert chinese(error_of(res, 400, "bad_form")["message"])
    res = post_multipart(clerk, url, [("kind", "evidence")], [("title", "title.txt", b"a file where text belongs")],
                         status="*")
    error_of(res, 400, "bad_request")
    assert _documents(app, number) == before and blob_files(var) == blobs


def _zip():
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("材料.txt", "压缩的材料")
    return buf.getvalue()


def test_upload_limit_is_413_and_stores_nothing(tmp_path):
    var = tmp_path / "var"
    app = make_app(var, **{"casefiles.max_upload_bytes": "2000"})
    try:
        add_users(app, [("clerk", ["clerk"], None)])
        clerk = API(webtest.TestApp(app), "clerk")
        number = _register(clerk)
        small = png_bytes((8, 8))
        assert len(small) < 2000
        doc = clerk.post(f"/api/cases/{number}/documents", {"kind": "evidence", "title": "小图"},
                         upload_files=[("file", "small.png", small)], status=201).json
        before, blobs = _documents(app, number), blob_files(var)
        big = pdf_bytes(pages=4)
        assert len(big) > 2000
        res = clerk.post(f"/api/cases/{number}/documents", {"kind": "evidence", "title": "大文件"},
                         upload_files=[("file", "big.pdf", big)], status="*")
        body = error_of(res, 413, "too_large")
        assert chinese(body["message"]) and "file" in body["fields"]
        res = clerk.post(f"/api/cases/{number}/documents/{doc['id']}/versions", {},
                         upload_files=[("file", "big.pdf", big)], status="*")
        error_of(res, 413, "too_large")
        # a text-only document is held to the same limit
        res = clerk.post(f"/api/cases/{number}/documents", {"kind": "investigation", "title": "长文本",
                                                            "text": "很长的文字" * 400}, status="*")
        error_of(res, 413, "too_large")
        # a body far over the limit is refused before it is read
        res = clerk.post(f"/api/cases/{number}/documents", {"kind": "evidence", "title": "巨大"},
                         upload_files=[("file", "huge.tif", tiff_bytes() + b"\x00" * (1100 * 1024))], status="*")
        error_of(res, 413, "too_large")
        assert _documents(app, number) == before and blob_files(var) == blobs
        # exactly at the limit is allowed
        exact = b"%PDF-1.4\n" + b"%" * (2000 - 9)
        res = clerk.post(f"/api/cases/{number}/documents", {"kind": "evidence", "title": "刚好"},
                         upload_files=[("file", "exact.pdf", exact)], status=201)
        assert res.json["size"] == 2000
    finally:
        close_app(app)


def test_who_may_file_and_read_documents(app, api):
    clerk = api("clerk")
    number = _register(clerk)
    url = f"/api/cases/{number}/documents"
    upload = [("file", "a.png", png_bytes())]
    for role in ("analyst", "auditor", "unit", "unit2"):
        error_of(api(role).post(url, {"kind": "evidence", "title": "x"}, upload_files=upload, status=403), 403)
    for role in ("assigner", "supervisor", "reviewer", "admin"):
        assert api(role).post(url, {"kind": "evidence", "title": role}, upload_files=upload,
                              status=201).json["filed_by"] == role
    route(app, number, "411502")
    doc = api("unit").post(url, {"kind": "handling_report", "title": "办结报告"},
                           upload_files=[("file", "办结报告.pdf", pdf_bytes("办结报告"))], status=201).json
    assert doc["folder"] == "handling" and doc["filed_by"] == "unit"
    error_of(api("unit2").post(url, {"kind": "evidence", "title": "x"}, upload_files=upload, status=403), 403)
    error_of(api("unit2").get(f"{url}/{doc['id']}/file", status=403), 403)
    assert api("unit").post(f"{url}/{doc['id']}/versions", {}, upload_files=upload, status=201).json["version"] == 2
    error_of(api("analyst").post(f"{url}/{doc['id']}/versions", {}, upload_files=upload, status=403), 403)
    assert api("analyst").get(f"{url}/{doc['id']}/file?version=1").body == pdf_bytes("办结报告")
    # without a token: 401, and nothing about the document
    error_of(clerk.testapp.get(f"{url}/{doc['id']}/file", status=401), 401)


def test_archived_case_is_read_only(app, api):
    clerk = api("clerk")
    number = _register(clerk)
    doc = clerk.get(f"/api/cases/{number}").json["folders"][0]["documents"][0]
    set_case(app, number, status="archived")
    body = error_of(clerk.post(f"/api/cases/{number}/documents", {"kind": "evidence", "title": "补充"},
                               upload_files=[("file", "a.png", png_bytes())], status=409), 409, "conflict")
    assert chinese(body["message"])
    error_of(clerk.post(f"/api/cases/{number}/documents/{doc['id']}/versions", {},
                        upload_files=[("file", "a.png", png_bytes())], status=409), 409)
    assert clerk.get(f"/api/cases/{number}/documents/{doc['id']}/file").body


def test_registration_files_are_downloadable_by_the_routed_unit(app, api):
    clerk = api("clerk")
    scan = pdf_bytes("来信原件")
    res = post_multipart(clerk, "/api/cases", [("data", json.dumps(petition()))], [("file", "来信原件.pdf", scan)])
    number = res.json["number"]
    letter = res.json["folders"][0]["documents"][0]
    conn, site = open_site(app)
    with conn.transaction_manager:
        route_to_unit(site, site.cases.by_number(number), "411502")
    conn.close()
    got = api("unit").get(f"/api/cases/{number}/documents/{letter['id']}/file")
    assert got.body == scan and decoded_filename(got) == "来信原件.pdf"
