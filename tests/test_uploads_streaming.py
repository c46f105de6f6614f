"""Multipart bodies are read once, as they arrive: each file part goes straight into a new
blob with its SHA-256, and filing it stores that blob. Nothing is left behind, whether the
registration is filed, refused or cut short; and the catalog's buffer of new cases is merged
by the search indexer's thread, not by the registration that fills it."""
import hashlib
import tempfile
import threading

import pytest

import casefiles.catalog

from .support import open_site, pdf_bytes, petition, png_bytes
from .test_api_cases import blob_files, error_of, multipart, post_multipart


@pytest.fixture
def spool(tmp_path, monkeypatch):
    """The folder new (not yet stored) blobs are written to: the system's temporary folder."""
    folder = tmp_path / "spool"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _register(api, files, status=201, **overrides):
    import json
    return post_multipart(api("clerk"), "/api/cases",
                          [("data", json.dumps(petition(**overrides), ensure_ascii=False))], files, status=status)


def test_uploaded_files_are_stored_byte_for_byte_and_nothing_is_left_behind(api, spool, var):
    scan, photo = pdf_bytes("来信扫描件 第一页", pages=3), png_bytes()
    res = _register(api, [("file", "来信.pdf", scan), ("file", "现场照片.png", photo)])
    assert list(spool.iterdir()) == []
    documents = {d["filename"]: d for f in res.json["folders"] for d in f["documents"]}
    for name, data in (("来信.pdf", scan), ("现场照片.png", photo)):
        doc = documents[name]
        assert doc["sha256"] == hashlib.sha256(data).hexdigest() and doc["size"] == len(data)
        got = api("clerk").get(f"/api/cases/{res.json['number']}/documents/{doc['id']}/file")
        assert got.body == data
    assert {documents["来信.pdf"]["media_type"], documents["现场照片.png"]["media_type"]} == \
        {"application/pdf", "image/png"}


def test_refused_and_cut_registrations_leave_no_file(app, api, spool, var):
    stored = blob_files(var)
    # an invalid ID number: 422, after the file was read
    body = error_of(_register(api, [("file", "来信.pdf", pdf_bytes())], status=422, petitioners=[
        {"name": "张三", "id_number": "411502197506010000", "primary": True}]), 422)
    assert body["fields"]
    # a file of a refused type: 415
    error_of(_register(api, [("file", "a.pdf", b"MZ\x90\x00" + b"\x00" * 500)], status=415), 415)
    # a body cut inside the file part: 400
    whole, content_type = multipart([("data", "{}")], [("file", "来信.pdf", pdf_bytes())])
    clerk = api("clerk")
    res = clerk.testapp.post("/api/cases", whole[: len(whole) // 2], status="*",
                             headers={**clerk.headers, "Content-Type": content_type})
    error_of(res, 400, "bad_form")
    assert list(spool.iterdir()) == []
    assert blob_files(var) == stored
    conn, site = open_site(app)
    try:
        assert len(site.cases) == 0 or all(len(y) == 0 for y in site.cases.values())
    finally:
        conn.close()


def test_the_indexer_merges_the_catalog_buffer_after_the_registrations(app, api, monkeypatch):
    conn, site = open_site(app)
    merge_at = site.catalog.merge_at
    conn.close()
    threads = []
    merge = casefiles.catalog.CaseCatalog.merge

    def recording(self, *args, **kwargs):
        merged = merge(self, *args, **kwargs)
        if merged:
            threads.append(threading.current_thread().name)
        return merged
    monkeypatch.setattr(casefiles.catalog.CaseCatalog, "merge", recording)
    for i in range(merge_at + 2):
        api("clerk").post_json("/api/cases", petition(subject=f"第{i + 1}件"), status=201)
    app.registry.search_indexer.wait_idle(30)
    assert threads and set(threads) == {"casefiles-indexer"}
    conn, site = open_site(app)
    try:
        assert len(site.catalog.recent) < merge_at
        assert site.catalog.catalog["received"].indexed_count() >= merge_at
    finally:
        conn.close()
    listed = api("clerk").get("/api/cases?size=200").json
    assert listed["total"] == merge_at + 2
