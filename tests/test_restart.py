"""Everything survives closing the database and starting a new app on the same data folder."""
import hashlib
import json

import webtest

from .support import API, add_users, close_app, make_app, open_site, pdf_bytes, petition, png_bytes, tiff_bytes
from .test_api_cases import post_multipart


def test_cases_documents_and_bytes_survive_a_restart(tmp_path):
    var = tmp_path / "var"
    app = make_app(var)
    add_users(app, [("clerk", ["clerk"], None)])
    clerk = API(webtest.TestApp(app), "clerk")
    scan, photo, v1, v2 = pdf_bytes("来信"), png_bytes(), pdf_bytes("意见书 初稿"), tiff_bytes()
    res = post_multipart(clerk, "/api/cases", [("data", json.dumps(petition(), ensure_ascii=False))],
                         [("file", "来信.pdf", scan), ("file", "现场照片.png", photo)])
    number = res.json["number"]
    second = clerk.post_json("/api/cases", petition(subject="第二件", received_at="2025-04-01"), status=201).json
    doc = clerk.post(f"/api/cases/{number}/documents", {"kind": "reply", "title": "信访处理意见书"},
                     upload_files=[("file", "意见书.pdf", v1)], status=201).json
    clerk.post(f"/api/cases/{number}/documents/{doc['id']}/versions", {"note": "定稿"},
               upload_files=[("file", "意见书-定稿.tif", v2)], status=201)
    before = clerk.get(f"/api/cases/{number}").json
    listed_before = clerk.get("/api/cases").json
    token = clerk.token
    close_app(app)

    app = make_app(var)
    try:
        testapp = webtest.TestApp(app)
        # the token was stored (as a digest) and still works after the restart
        after_client = API(testapp, "clerk")
        assert testapp.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json["username"] == "clerk"
        after = after_client.get(f"/api/cases/{number}").json
        assert after == before
        assert after_client.get("/api/cases").json == listed_before
        assert after_client.get(f"/api/cases/{second['number']}").json["subject"] == "第二件"

        expected = {"来信.pdf": scan, "现场照片.png": photo}
        origin = next(f for f in after["folders"] if f["name"] == "origin")["documents"]
        assert len(origin) == 2
        for d in origin:
            got = after_client.get(f"/api/cases/{number}/documents/{d['id']}/file")
            assert hashlib.sha256(got.body).hexdigest() == d["sha256"]
            assert got.body in expected.values()
        base = f"/api/cases/{number}/documents/{doc['id']}/file"
        assert after_client.get(base).body == v2
        assert after_client.get(f"{base}?version=1").body == v1

        # the numbering goes on where it stopped, and the new app can write
        third = after_client.post_json("/api/cases", petition(), status=201).json["number"]
        assert third == "XY-2025-000003"

        # the objects themselves, outside any request
        conn, site = open_site(app)
        try:
            case = site.cases.by_number(number)
            assert len(list(case.documents())) == 3
            for document in case.documents():
                for version in document.versions:
                    data = version.read()
                    assert hashlib.sha256(data).hexdigest() == version.sha256 and len(data) == version.size
            assert number in site.petitioners.by_id_number(before["petitioners"][0]["id_number"]).cases
            assert site.catalog.query(["role:clerk"], {})[0] == 3
        finally:
            conn.close()
    finally:
        close_app(app)
