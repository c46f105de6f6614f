"""The closing dossier, read back with pypdf: cover + contents + every document's pages +
备考表; one bookmark per document on its first page; the contents' page numbers; the stamp
on every page; Chinese text; embedded fonts; PDF/A parts; the same bytes every time."""
import datetime
import io
import os
import re
import subprocess
import sys

import pytest

from archive import contents as C
from archive import dossier as D
from archive import package as P
from casefiles.documents import Upload

from .support import ROLES, add_users, close_app, jpeg_bytes, make_app, open_site, pdf_bytes
from .test_archive_support import quiet_indexer  # noqa: F401  (an autouse fixture)
from .test_archive_support import (DATE_PAGE, archive_case, closed_case, embedded_pdf, font_is_embedded, fonts_of,
                                   outline_items, read_pdf, standard_documents, wait_for_indexer)

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build(app, number):
    conn, site = open_site(app)
    try:
        case = site.cases.by_number(number)
        return D.build(site, case), [e.document.title for e in C.entries(case)]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def archived_app(tmp_path_factory):
    """One app with one archived case of every kind of original, shared by the read-only tests."""
    var = tmp_path_factory.mktemp("var")
    app = make_app(var)
    add_users(app, [(role, [role], "411502" if role == "unit" else None) for role in ROLES])
    number = closed_case(app, standard_documents())
    ref = archive_case(app, number, "30")
    built, titles = build(app, number)
    yield app, (number, ref, built, titles)
    wait_for_indexer(app)
    close_app(app)


@pytest.fixture
def archived(archived_app):
    return archived_app[1]


def test_page_count_is_cover_contents_documents_and_notes(archived):
    number, ref, built, titles = archived
    reader = read_pdf(built.data)
    docs = built.documents
    assert len(reader.pages) == built.total
    # the originals are bound page for page; scans take a page each
    pages = {d["title"]: d["pages"] for d in docs}
    assert pages["来信：平桥区某小区拆迁补偿款未足额发放"] == 2
    assert pages["补充材料扫描件"] == 3
    assert pages["多页扫描"] == 2 and pages["现场照片"] == 1 and pages["附图"] == 1
    assert pages["调查笔录"] >= 2  # a long text runs over several pages
    contents_pages = docs[0]["start"] - 2
    assert contents_pages >= 1
    last = docs[-1]
    notes_pages = built.total - (last["start"] + last["pages"] - 1)
    assert notes_pages >= 1
    assert built.total == 1 + contents_pages + sum(d["pages"] for d in docs) + notes_pages
    # documents follow one another without gaps, in archival order: closing first, origin last
    for a, b in zip(docs, docs[1:]):
        assert b["start"] == a["start"] + a["pages"]
    folders = [d["folder"] for d in docs]
    assert folders == sorted(folders, key=C.ARCHIVAL_ORDER.index)
    assert folders[0] == "closing" and folders[-1] == "origin"
    assert "备 考 表" in reader.pages[built.total - notes_pages].extract_text()


def test_one_bookmark_per_document_on_its_first_page(archived):
    number, ref, built, titles = archived
    reader = read_pdf(built.data)
    items = outline_items(reader)
    documents = [(title, page) for title, page, depth in items if depth == 1]
    assert len(documents) == len(built.documents)
    for (title, page), d in zip(documents, built.documents):
        assert title == f"{d['seq']}. {d['title']}"
        assert page == d["start"]
    top = [(title, page) for title, page, depth in items if depth == 0]
    assert top[0] == ("封面", 1) and top[1] == ("卷内目录", 2) and top[-1][0] == "备考表"
    folders = [title for title, _page in top[2:-1]]
    assert folders[0].startswith("结案材料") and folders[-1].startswith("来源材料")


def test_contents_page_numbers_point_at_each_documents_first_page(archived):
    number, ref, built, titles = archived
    reader = read_pdf(built.data)
    first = built.documents[0]["start"]
    contents = "".join(reader.pages[i].extract_text() for i in range(1, first - 1))
    assert "卷 内 目 录" in contents
    for d in built.documents:
        found = re.search(r"\s*".join(map(re.escape, d["title"])), contents)  # a long title wraps
        assert found, d["title"]
        match = DATE_PAGE.search(contents, found.end())
        assert match, d["title"]
        assert int(match.group(2)) == d["start"], d["title"]
        page = reader.pages[d["start"] - 1].extract_text()
        if d["mode"] == "pdf" and d["title"].startswith("来信"):
            assert "来信 原件第1页" in page
            assert "来信 原件第2页" in reader.pages[d["start"]].extract_text()
        elif d["mode"] in ("text", "image"):
            assert d["title"] in page
    last = built.documents[-1]
    assert f"{last['start']}-{last['start'] + last['pages'] - 1}" in contents


def test_every_page_carries_the_stamp_and_chinese_text_extracts(archived):
    number, ref, built, titles = archived
    reader = read_pdf(built.data)
    total = len(reader.pages)
    for i, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert f"档号 {ref}" in text, i
        assert f"第{i}页 共{total}页" in text, i
    cover = reader.pages[0].extract_text()
    for words in ("信阳市信访局", "信访事项结案卷宗", ref, number, "王建国", "30年", f"共 {len(titles)} 件 {total} 页",
                  "立卷人", "检查人"):
        assert words in cover, words
    assert "本事项办结" in reader.pages[built.documents[0]["start"] - 1].extract_text()


def test_every_font_is_embedded_and_pdfa_parts_are_there(archived):
    number, ref, built, titles = archived
    reader = read_pdf(built.data)
    fonts = []
    for page in reader.pages:
        fonts.extend(fonts_of(page.get("/Resources")))
    assert fonts
    for font in fonts:
        assert font_is_embedded(font), font.get("/BaseFont")
    root = reader.trailer["/Root"]
    intent = root["/OutputIntents"][0].get_object()
    assert intent["/S"] == "/GTS_PDFA1"
    profile = intent["/DestOutputProfile"].get_object().get_data()
    assert profile[36:40] == b"acsp" and profile[12:16] == b"mntr" and profile[8] == 2
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    assert "<pdfaid:part>3</pdfaid:part>" in xmp and "<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    assert ref in xmp and reader.metadata.title.startswith(ref)
    assert root["/AF"][0].get_object()["/AFRelationship"] == "/Data"
    manifest = D.embedded_manifest(built.data)
    assert manifest == built.manifest
    lines = manifest.splitlines()
    assert len(lines) == len(titles) and all(re.fullmatch(r"[0-9a-f]{64}  data/originals/\S+", x) for x in lines)
    assert "/ID" in reader.trailer and reader.pdf_header.startswith("%PDF-1.7")


def test_two_builds_are_byte_identical_even_in_another_process(var):
    app = make_app(var)
    try:
        number = closed_case(app, standard_documents()[:3])
        archive_case(app, number, "Y")
        first, _titles = build(app, number)
        again, _titles = build(app, number)
        assert first.data == again.data
    finally:
        wait_for_indexer(app)
        close_app(app)
    script = ("import sys, hashlib; sys.path.insert(0, %r)\n"
              "from tests.support import make_app, close_app, open_site\n"
              "from archive import dossier\n"
              "app = make_app(%r); conn, site = open_site(app)\n"
              "print(hashlib.sha256(dossier.build_dossier(site, site.cases.by_number(%r))).hexdigest())\n"
              "conn.close(); close_app(app)\n") % (HERE, str(var), number)
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120,
                         cwd=HERE)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == first.sha256


def test_stored_dossier_is_the_one_a_rebuild_gives(archived_app):
    app, (number, ref, built, titles) = archived_app
    from archive.store import Store
    stored = Store.from_settings(app.registry.settings).dossier_path(number)
    with open(stored, "rb") as f:
        assert f.read() == built.data


def test_unreadable_originals_get_a_page_that_says_where_they_are(app):
    number = closed_case(app, [
        ("origin", "evidence", "坏图片", Upload.from_bytes("坏.jpg", jpeg_bytes()), "照片内容：门牌号"),
        ("origin", "evidence", "坏PDF", Upload.from_bytes("坏.pdf", b"%PDF-1.4\n garbage without objects"), ""),
    ])
    built, _titles = build(app, number)
    reader = read_pdf(built.data)
    by_title = {d["title"]: d for d in built.documents}
    bad = by_title["坏图片"]
    assert bad["mode"] == "missing" and bad["pages"] == 1
    text = reader.pages[bad["start"] - 1].extract_text()
    assert "无法在卷内呈现" in text and "照片内容：门牌号" in text and "originals/" in text
    assert by_title["坏PDF"]["mode"] == "missing"
    notes = reader.pages[-1].extract_text()
    assert "无法在卷内呈现" in notes


def test_fonts_not_embedded_in_an_original_are_reported(app):
    number = closed_case(app, [("origin", "evidence", "宋体材料", Upload.from_bytes("宋体.pdf", pdf_bytes()), "")])
    built, _titles = build(app, number)
    reader = read_pdf(built.data)
    notes = "".join(reader.pages[i].extract_text() for i in range(built.total - 2, built.total))
    assert "未嵌入的字体" in notes and "STSong-Light" in notes


def test_a_long_note_table_runs_on_to_the_next_page():
    """Whatever the originals are like, the 备考表 never overflows a page (one row a line)."""
    from types import SimpleNamespace

    from reportlab.platypus import SimpleDocTemplate
    D.cjk_font()
    parts = []
    for seq in range(1, 301):
        document = SimpleNamespace(versions=(1, 2), text="", title=f"文件{seq}")
        entry = SimpleNamespace(seq=seq, document=document, media_type="application/pdf")
        parts.append(SimpleNamespace(entry=entry, mode="pdf", pages=1, frames=(), reason="",
                                     fonts_not_embedded=(f"字体{seq}",)))
    facts = SimpleNamespace(reading_copy=False, compiled_by="甲", checked_by="乙", archived_at=None)
    story = D._notes(facts, parts, D._styles(), 400, 999)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=D.PAGE)
    doc.build(story)
    assert doc.page > 3
    assert "字体300" in "".join(p.extract_text() for p in read_pdf(buf.getvalue()).pages)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_stamp_matrix_puts_the_stamp_where_the_reader_sees_the_top_right(rotation):
    # the page as shown: user space rotated clockwise by /Rotate; the stamp is drawn in
    # display coordinates and must map back onto the same displayed point
    llx, lly, w, h = 10.0, 20.0, 600.0, 800.0
    a, b, c, d, e, f = D._stamp_matrix(llx, lly, w, h, rotation)
    dw, dh = (w, h) if rotation in (0, 180) else (h, w)
    for X, Y in ((dw - 30, dh - 20), (5, 5), (dw / 2, 7)):
        x, y = a * X + c * Y + e - llx, b * X + d * Y + f - lly
        assert 0 <= x <= w and 0 <= y <= h
        shown = {0: (x, y), 90: (y, w - x), 180: (w - x, h - y), 270: (h - y, x)}[rotation]
        assert shown == pytest.approx((X, Y))


def test_rotated_originals_are_bound_and_stamped(app):
    number = closed_case(app, [("origin", "evidence", "横向材料", Upload.from_bytes("横.pdf", embedded_pdf("横向", 1, 90)),
                                "")])
    built, _titles = build(app, number)
    reader = read_pdf(built.data)
    d = next(x for x in built.documents if x["title"] == "横向材料")
    page = reader.pages[d["start"] - 1]
    assert page.rotation == 90
    text = page.extract_text()
    assert "横向 原件第1页" in text and f"第{d['start']}页 共{built.total}页" in text


def test_reading_copy_of_an_open_case(app, api):
    res = api("clerk").post_json("/api/cases", _petition_with_text(), status=201)
    number = res.json["number"]
    res = api("reviewer").get(f"/api/cases/{number}/dossier.pdf")
    assert res.content_type == "application/pdf"
    reader = read_pdf(res.body)
    assert "阅卷副本" in reader.pages[0].extract_text()
    assert "阅卷副本" in reader.pages[-1].extract_text()
    # a user who may not open the case gets no dossier
    api("unit2").get(f"/api/cases/{number}/dossier.pdf", status=403)


def test_read_page_embeds_the_dossier_with_its_contents(app, testapp):
    number = closed_case(app, standard_documents()[:2])
    login(testapp, "reviewer")
    case_url = _case_url(number)
    page = testapp.get(case_url + "@@read")
    assert 'iframe name="dossier"' in page.text and "@@dossier.pdf" in page.text
    assert "现场照片" in page.text and "#page=" in page.text
    pdf = testapp.get(case_url + "@@dossier.pdf")
    assert pdf.content_type == "application/pdf" and pdf.body.startswith(b"%PDF-1.7")
    assert "inline" in pdf.headers["Content-Disposition"]
    # the same reading copy is served again until the case changes
    assert testapp.get(case_url + "@@dossier.pdf").body == pdf.body


def test_no_usable_font_is_a_clear_error(app, api, monkeypatch):
    number = closed_case(app)
    monkeypatch.setattr(D, "_font", None)
    monkeypatch.setattr(D, "_candidates", lambda: iter([("/nonexistent/font.ttc", 0)]))
    conn, site = open_site(app)
    try:
        with pytest.raises(D.FontMissing) as info:
            D.build(site, site.cases.by_number(number))
        assert "fonts-wqy-zenhei" in str(info.value)
    finally:
        conn.close()
    res = api("reviewer").get(f"/api/cases/{number}/dossier.pdf", status=503)
    assert res.json["error"] == "no_font" and "文泉驿" in res.json["message"]


def test_package_xml_describes_the_dossier(archived_app):
    app, (number, ref, built, titles) = archived_app
    from archive.store import Store
    bag = Store.from_settings(app.registry.settings).path(number)
    data = P.read_bag(bag)
    assert data.dossier["pages"] == built.total and data.dossier["sha256"] == built.sha256
    assert [(d["seq"], d["start"], d["pages"]) for d in data.documents] == \
        [(d["seq"], d["start"], d["pages"]) for d in built.documents]


# helpers

def login(testapp, username):
    form = testapp.get("/login").forms[0]
    form["username"] = username
    form["password"] = "secret-pass-1"
    form.submit(status=303)


def _petition_with_text():
    from .support import petition
    return petition(received_at=(datetime.datetime.now() - datetime.timedelta(days=2)).isoformat(timespec="seconds"))


def _case_url(number):
    year = number.split("-")[1]
    return f"/cases/{year}/{number}/"
