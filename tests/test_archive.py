"""The archive: archiving writes a valid DA/T 48-style XML and BagIt bag into the store and
makes the case read-only; verify names a case whose bytes changed; export then import into
an empty installation restores the cases, their files and their search; past their
retention period, cases are disposed of by two different administrators."""
import datetime
import io
import os
import re
import zipfile

import bagit
import pytest
import transaction
from lxml import etree

from archive import package as P
from archive import store as S
from casefiles import archival
from cli import archive as archive_cli

from .support import ROLES, add_users, close_app, make_app, open_site, pdf_bytes
from .test_archive_support import quiet_indexer  # noqa: F401  (an autouse fixture)
from .test_archive_support import (add_admin, archive_case, closed_case, standard_documents, wait_for_indexer,
                                   write_ini)


def settings(app):
    return app.registry.settings


def bag_path(app, number):
    return S.Store.from_settings(settings(app)).path(number)


def test_archiving_writes_a_valid_package_and_bag(app):
    number = closed_case(app, standard_documents()[:4])
    ref = archive_case(app, number, "Y")
    assert ref == f"XY·{datetime.date.today().year}·Y·0001"
    bag = bag_path(app, number)
    assert bagit.Bag(bag).validate()  # full validation: every checksum recomputed
    names = sorted(os.listdir(os.path.join(bag, "data")))
    assert names == ["audit", "dossier.pdf", "originals", "package.xml"]
    xml = open(os.path.join(bag, "data", "package.xml"), "rb").read()
    schema = etree.XMLSchema(etree.parse(P.XSD_PATH))
    root = etree.fromstring(xml)
    assert schema.validate(root), schema.error_log
    assert root.tag == "{http://www.saac.gov.cn/standards/ERM/encapsulation}电子文件封装包"
    data = P.read_xml(xml)
    conn, site = open_site(app)
    try:
        case = site.cases.by_number(number)
        assert case.status == "archived" and case.archival_ref == ref and case.retention_due is None
        live = {(d.id, v.number): (v.sha256, v.size, v.media_type) for d in case.documents() for v in d.versions}
        packaged = {(d["id"], v["number"]): (v["sha256"], v["size"], v["media_type"]) for d in data.documents
                    for v in d["versions"]}
        assert packaged == live
        actions = [h[0] for h in data.history]
        assert actions[0] == "register" and actions[-2:] == ["close", "archive"]
        assert data.petitioners[0]["name"] == "王建国" and data.petitioners[0]["primary"]
        # every original is in the bag, byte for byte
        for document in data.documents:
            for v in document["versions"]:
                with open(os.path.join(bag, "data", v["path"]), "rb") as f:
                    assert f.read() == case.document(document["id"]).version(v["number"]).read()
    finally:
        conn.close()
    assert S.verify_case(settings(app), None, number) == []


def test_archival_references_are_sequential_per_year_and_retention(app):
    numbers = [closed_case(app) for _ in range(3)]
    year = datetime.date.today().year
    assert archive_case(app, numbers[0], "30") == f"XY·{year}·30·0001"
    assert archive_case(app, numbers[1], "30") == f"XY·{year}·30·0002"
    assert archive_case(app, numbers[2], "10") == f"XY·{year}·10·0001"
    conn, site = open_site(app)
    try:
        case = site.cases.by_number(numbers[2])
        assert case.retention_due == datetime.date(year + 11, 1, 1)
    finally:
        conn.close()


def test_only_a_closed_case_is_archived_and_retention_is_checked(app, api):
    res = api("clerk").post_json("/api/cases", _petition(), status=201)
    number = res.json["number"]
    conn, site = open_site(app)
    try:
        case = site.cases.by_number(number)
        with pytest.raises(archival.Conflict):
            archival.archive_case(site, case, "Y", "admin")
        transaction.abort()
        case.status = "closed"
        with pytest.raises(archival.ValidationError) as info:
            archival.archive_case(site, case, "5", "admin")
        assert "retention" in info.value.fields
        with pytest.raises(archival.ValidationError):
            archival.archive_case(site, case, "Y", "admin", on=datetime.date.today() + datetime.timedelta(days=3))
        conn.transaction_manager.abort()
    finally:
        conn.close()


def test_an_aborted_archiving_leaves_no_bag(app):
    number = closed_case(app)
    conn, site = open_site(app)
    try:
        tm = conn.transaction_manager
        tm.begin()
        S.archive(site, site.cases.by_number(number), "Y", "admin", settings(app))
        tm.abort()
    finally:
        conn.close()
    store = S.Store.from_settings(settings(app))
    assert not store.exists(number)
    staging = os.path.join(store.root, S.STAGING)
    assert not os.path.isdir(staging) or os.listdir(staging) == []
    conn, site = open_site(app)
    assert site.cases.by_number(number).status == "closed"
    conn.close()


def test_an_archived_case_refuses_changes_with_409(app, api):
    number = closed_case(app)
    archive_case(app, number, "30")
    res = api("assigner").post(f"/api/cases/{number}/documents", {"kind": "other", "title": "补充"},
                               upload_files=[("file", "补充.pdf", pdf_bytes())], status=409)
    assert res.json["error"] == "conflict"
    doc = api("assigner").get(f"/api/cases/{number}").json["folders"][0]["documents"][0]["id"]
    api("assigner").post(f"/api/cases/{number}/documents/{doc}/versions", {}, upload_files=[
        ("file", "新版.pdf", pdf_bytes())], status=409)
    api("admin").post_json(f"/api/cases/{number}/actions/close", {}, status=409)


def test_the_workflow_archive_action_writes_the_package(app, api):
    number = closed_case(app, standard_documents()[:1])
    res = api("admin").post_json(f"/api/cases/{number}/actions/archive", {"retention": "10"})
    assert res.json["status"] == "archived"
    store = S.Store.from_settings(settings(app))
    assert store.exists(number)
    res = api("auditor").get(f"/api/cases/{number}/package")
    assert res.content_type == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(res.body))
    assert f"{number}/bagit.txt" in archive.namelist()
    stored = open(store.dossier_path(number), "rb").read()
    assert archive.read(f"{number}/data/dossier.pdf") == stored
    assert api("auditor").get(f"/api/cases/{number}/dossier.pdf").body == stored
    # the zip of a bag is always the same bytes
    assert api("auditor").get(f"/api/cases/{number}/package").body == res.body
    # the workflow's 归档 document is in the package too
    data = P.read_bag(store.path(number))
    assert any(d["folder"] == "closing" and d["kind"] == "other" for d in data.documents)


def test_package_of_a_case_not_archived_is_409(app, api):
    number = closed_case(app)
    api("admin").get(f"/api/cases/{number}/package", status=409)


def test_a_tampered_package_xml_fails_the_schema(app):
    number = closed_case(app)
    archive_case(app, number)
    xml = open(os.path.join(bag_path(app, number), "data", "package.xml"), "rb").read()
    broken = xml.replace("<档号值>".encode(), "<档号>".encode(), 1).replace("</档号值>".encode(), "</档号>".encode(), 1)
    with pytest.raises(P.PackageInvalid):
        P.validate(broken)
    text = xml.decode("utf-8")
    digest = re.search(r'摘要算法="SHA-256">([0-9a-f]{64})<', text).group(1)
    bad_digest = text.replace(digest, digest[:-1], 1).encode("utf-8")  # not a SHA-256 any more
    with pytest.raises(P.PackageInvalid):
        P.validate(bad_digest)


# the console script ----------------------------------------------------------------------

@pytest.fixture
def cli_app(var, monkeypatch):
    """An app for building data; close it before running the script on the same folder."""
    monkeypatch.setenv("CASEFILES_VAR", str(var))
    app = make_app(var)
    add_users(app, [(role, [role], "411502" if role == "unit" else None) for role in ROLES])
    conn, site = open_site(app)
    with conn.transaction_manager:
        add_admin(site)
    conn.close()
    return app


def test_verify_names_the_case_whose_original_changed(cli_app, var, capsys):
    numbers = [closed_case(cli_app, standard_documents()[:2]) for _ in range(2)]
    for number in numbers:
        archive_case(cli_app, number, "30")
    bags = [bag_path(cli_app, n) for n in numbers]
    wait_for_indexer(cli_app)
    close_app(cli_app)
    ini = write_ini(var)
    assert archive_cli.main([ini, "verify"]) == 0
    out = capsys.readouterr()
    assert "2" in out.err
    # flip one byte of an original of the second case
    originals = os.path.join(bags[1], "data", "originals")
    victim = os.path.join(originals, sorted(os.listdir(originals))[0])
    with open(victim, "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0x01]))
    assert archive_cli.main([ini, "verify"]) == 1
    out = capsys.readouterr()
    assert numbers[1] in out.out and numbers[0] not in out.out
    assert numbers[1] in out.err
    assert os.path.basename(victim) in out.out
    # the embedded manifest and the XML are checked too
    with open(victim, "r+b") as f:
        f.seek(100)
        f.write(byte)
    assert archive_cli.main([ini, "verify"]) == 0
    xml_path = os.path.join(bags[0], "data", "package.xml")
    xml = open(xml_path, "rb").read()
    open(xml_path, "wb").write(xml.replace("王建国".encode(), "王建軍".encode()))
    assert archive_cli.main([ini, "verify"]) == 1
    out = capsys.readouterr().out
    assert numbers[0] in out and "package.xml" in out


def test_export_then_import_into_an_empty_installation(cli_app, var, tmp_path, capsys, monkeypatch):
    docs = standard_documents()[:3]
    archived = [closed_case(cli_app, docs, subject=f"{s}补偿款未足额发放") for s in ("平桥区甲小区", "浉河区乙小区")]
    open_case = closed_case(cli_app)
    refs = [archive_case(cli_app, n, r) for n, r in zip(archived, ("Y", "30"))]
    conn, site = open_site(cli_app)
    before = {}
    for number in archived:
        case = site.cases.by_number(number)
        before[number] = {(d.id, v.number): (v.sha256, v.read()) for d in case.documents() for v in d.versions}
    conn.close()
    wait_for_indexer(cli_app)
    close_app(cli_app)
    export_dir = tmp_path / "export"
    assert archive_cli.main([write_ini(var), "export", str(export_dir)]) == 0
    assert sorted(n for n in os.listdir(export_dir) if n != "index.tsv") == sorted(archived)
    assert open_case not in os.listdir(export_dir)

    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("CASEFILES_VAR", str(other))
    ini = write_ini(other)
    assert archive_cli.main([ini, "import", str(export_dir), "--dry-run"]) == 0
    app = make_app(other)
    conn, site = open_site(app)
    assert site.cases.by_number(archived[0]) is None
    conn.close()
    wait_for_indexer(app)
    close_app(app)
    assert archive_cli.main([ini, "import", str(export_dir)]) == 0
    assert archive_cli.main([ini, "import", str(export_dir)]) == 0   # again: already there, skipped
    assert archive_cli.main([ini, "verify"]) == 0

    app = make_app(other)
    add_users(app, [("reviewer", ["reviewer"], None), ("clerk", ["clerk"], None)])
    try:
        conn, site = open_site(app)
        for number, ref in zip(archived, refs):
            case = site.cases.by_number(number)
            assert case.status == "archived" and case.archival_ref == ref
            restored = {(d.id, v.number): (v.sha256, v.read()) for d in case.documents() for v in d.versions}
            assert restored == before[number]
            assert [h.action for h in case.history][-1] == "archive"
        assert site.petitioners.by_id_number(site.petitioners.get(
            site.cases.by_number(archived[0]).petitioners[0][0]).id_number) is not None
        # a rebuild of the imported case gives the stored dossier, byte for byte
        from archive import dossier as D
        stored = open(S.Store.from_settings(settings(app)).dossier_path(archived[0]), "rb").read()
        assert D.build_dossier(site, site.cases.by_number(archived[0])) == stored
        conn.close()
        # the new installation numbers on from the imported cases
        year = int(archived[0].split("-")[1])
        conn, site = open_site(app)
        assert site.cases.year(year).sequence >= max(int(n.split("-")[2]) for n in archived)
        conn.close()
        import webtest
        client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543"})
        token = client.post_json("/api/login", {"username": "reviewer", "password": "secret-pass-1"}).json["token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get(f"/api/cases/{archived[1]}", headers=headers).json["status"] == "archived"
        indexer = getattr(app.registry, "search_indexer", None)
        if indexer is not None:
            indexer.wait_idle(60)
        hits = client.get("/api/search", {"q": "浉河区乙小区"}, headers=headers).json
        assert archived[1] in [h["number"] for h in hits["hits"]]
    finally:
        wait_for_indexer(app)
        close_app(app)


def test_due_and_disposal_by_two_administrators(cli_app, var, capsys):
    old = datetime.datetime(2010, 5, 1, 10, 0)
    ten = closed_case(cli_app, standard_documents()[:1], when=old)
    thirty = closed_case(cli_app, when=old)
    forever = closed_case(cli_app, when=old)
    archive_case(cli_app, ten, "10", on="2010-06-01")
    archive_case(cli_app, thirty, "30", on="2010-06-01")
    archive_case(cli_app, forever, "Y", on="2010-06-01")
    conn, site = open_site(cli_app)
    case = site.cases.by_number(ten)
    assert case.archival_ref == "XY·2010·10·0001" and case.retention_due == datetime.date(2021, 1, 1)
    person = case.petitioners[0][0]
    conn.close()
    bag = bag_path(cli_app, ten)
    wait_for_indexer(cli_app)
    close_app(cli_app)
    ini = write_ini(var)
    capsys.readouterr()
    assert archive_cli.main([ini, "due"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == [ten]
    assert archive_cli.main([ini, "dispose", thirty, "--by", "admin"]) == 2     # not past its retention
    assert archive_cli.main([ini, "dispose", ten, "--by", "clerk"]) == 2        # not an administrator
    assert archive_cli.main([ini, "dispose", ten, "--by", "admin", "--note", "保管期满"]) == 0
    assert archive_cli.main([ini, "dispose", ten, "--by", "admin"]) == 2        # the same one twice
    assert os.path.isdir(bag)
    assert archive_cli.main([ini, "dispose", ten, "--by", "admin2"]) == 0
    assert not os.path.exists(bag)
    app = make_app(var)
    try:
        conn, site = open_site(app)
        assert site.cases.by_number(ten) is None
        record = site.archival.disposals[ten]
        assert [a[0] for a in record.approvals] == ["admin", "admin2"]
        assert record.archival_ref == "XY·2010·10·0001" and record.note == "保管期满"
        assert len(record.documents) == 2 and all(len(v[4]) == 64 for d in record.documents for v in d["versions"])
        assert record.history[-1][0] == "archive"
        assert ten not in site.petitioners[person].cases
        total, numbers = site.catalog.query(["role:admin"], {})
        assert ten not in numbers and thirty in numbers
        assert "XY·2010·10·0001" in site.archival.refs   # a reference is never handed out again
        conn.close()
        disposal = os.path.join(S.Store.from_settings(settings(app)).root, S.DISPOSALS, f"{ten}.json")
        assert os.path.isfile(disposal)
    finally:
        wait_for_indexer(app)
        close_app(app)
    assert archive_cli.main([ini, "verify"]) == 0


def test_archive_pages(app, testapp, api):
    old = datetime.datetime(2010, 5, 1, 10, 0)
    number = closed_case(app, when=old)
    archive_case(app, number, "10", on="2010-06-01")
    waiting = closed_case(app)
    from .test_dossier import login
    login(testapp, "admin")
    page = testapp.get("/archive")
    assert number in page.text and waiting in page.text and "XY·2010·10·0001" in page.text
    form = next(f for f in page.forms.values() if f.action.endswith("/archive/dispose"))
    assert form["number"].value == number
    res = form.submit(status=303).follow()
    assert "另一名管理员" in res.text
    case_page = testapp.get(f"/cases/2010/{number}/")
    assert "XY·2010·10·0001" in case_page.text and "@@read" in case_page.text and "@@package.zip" in case_page.text
    res = api("admin").post_json("/api/archive/dispose", {"number": number}, status=409)
    assert res.json["error"] == "conflict"
    conn, site = open_site(app)
    with conn.transaction_manager:
        add_admin(site)
    conn.close()
    from .support import API
    res = API(testapp, "admin2").post_json("/api/archive/dispose", {"number": number})
    assert res.json["disposed"] is True and [a["by"] for a in res.json["approvals"]] == ["admin", "admin2"]
    assert number in testapp.get("/archive/disposals").text
    api("clerk").post_json("/api/archive/dispose", {"number": number}, status=403)


def _petition():
    from .support import petition
    return petition(received_at=(datetime.datetime.now() - datetime.timedelta(days=2)).isoformat(timespec="seconds"))
