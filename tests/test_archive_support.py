"""Helpers of the dossier and archive tests (no tests here): real small files of every kind
a case holds, closed cases built outside a request, and reading dossiers back with pypdf."""
import datetime
import io
import os
import re

import pytest

from casefiles import intake, localtime
from casefiles.documents import Upload

from .support import PASSWORD, open_site, petition



@pytest.fixture(autouse=True)
def quiet_indexer(request):
    """Let the search indexer and its text extraction finish before the test's app closes
    (their threads must not be caught holding a connection when the database closes)."""
    app = request.getfixturevalue("app") if "app" in request.fixturenames else None
    yield
    if app is not None:
        wait_for_indexer(app)


def wait_for_indexer(app):
    indexer = getattr(app.registry, "search_indexer", None)
    if indexer is not None:
        indexer.wait_idle(60)
        if getattr(indexer, "ocr", None) is not None:
            indexer.ocr.wait_idle(60)


def embedded_pdf(marker, pages=1, rotate=0):
    """A PDF whose Chinese text uses an embedded TrueType font; page i says "{marker} 原件第i页"."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas
    from archive.dossier import font_file
    path, index = font_file()
    if "TestCJK" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("TestCJK", path, subfontIndex=index))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1, initialFontName="TestCJK")
    for i in range(pages):
        c.setFont("TestCJK", 14)
        c.drawString(72, 760, f"{marker} 原件第{i + 1}页")
        c.showPage()
    c.save()
    data = buf.getvalue()
    if rotate:
        from pypdf import PdfReader, PdfWriter
        reader = PdfReader(io.BytesIO(data))
        writer = PdfWriter()
        for page in reader.pages:
            writer.add_page(page).rotate(rotate)
        out = io.BytesIO()
        writer.write(out)
        data = out.getvalue()
    return data


def jpeg(size=(120, 90), color=(30, 90, 160), dpi=150):
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", quality=80, dpi=(dpi, dpi))
    return buf.getvalue()


def png(size=(80, 60), mode="RGBA"):
    from PIL import Image
    buf = io.BytesIO()
    Image.new(mode, size, (200, 30, 30, 128) if mode == "RGBA" else (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def tiff(frames=2, size=(100, 140)):
    from PIL import Image
    images = [Image.new("L", size, 60 + 40 * i) for i in range(frames)]
    buf = io.BytesIO()
    images[0].save(buf, "TIFF", save_all=True, append_images=images[1:], dpi=(200, 200))
    return buf.getvalue()


def scan_pdf(pages=2, size=(160, 220)):
    """A "scanned" PDF: one JPEG image per page, no text."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas
    embedded_pdf("", 1)  # registers the test's embedded font
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1, initialFontName="TestCJK")  # no unembedded Helvetica
    for i in range(pages):
        c.drawImage(ImageReader(io.BytesIO(jpeg(size, (20 * i % 255, 120, 80)))), 40, 40, A4[0] - 80, A4[1] - 80)
        c.showPage()
    c.save()
    return buf.getvalue()


def add_admin(site, username="admin2", name="复核管理员"):
    if username not in site.users:
        site.users.create(username, ["admin"], PASSWORD, name=name)


def closed_case(app, documents=(), when=None, received=None, subject=None, petitioners=None):
    """Register a case, file ``documents`` ((stage, kind, title, Upload or None, text)), close it.
    ``when``: the datetime everything happens at (default two hours ago, bureau time, so that
    the closing an hour later is never after the bureau's today). Returns the case number."""
    when = when or localtime.now() - datetime.timedelta(hours=2)
    body = petition(received_at=(received or when - datetime.timedelta(days=30)).isoformat(timespec="seconds"))
    if subject:
        body["subject"] = subject
    if petitioners:
        body["petitioners"] = petitioners
    conn, site = open_site(app)
    try:
        for attempt in conn.transaction_manager.attempts(5):  # the indexer thread may conflict
            with attempt:
                case = intake.register(site, body, [Upload.from_bytes("来信.pdf", embedded_pdf("来信", 2))],
                                       by="clerk", now=when)
                for i, (stage, kind, title, upload, text) in enumerate(documents):
                    if upload is not None:
                        upload.stream.seek(0)
                    intake.file_document(site, case, stage, kind, title, upload, "assigner", text=text,
                                         now=when + datetime.timedelta(minutes=i + 1),
                                         ref=f"信访〔{when.year}〕{i + 1}号" if kind in ("reply", "notice") else "")
                case.status = "closed"
                case.record("close", when + datetime.timedelta(hours=1), "assigner", "办结")
                site.catalog.reindex(case)
                number = case.number
        return number
    finally:
        conn.close()


def standard_documents():
    """One of every kind of original a dossier binds."""
    return [
        ("origin", "evidence", "现场照片", Upload.from_bytes("现场.jpg", jpeg()), ""),
        ("origin", "evidence", "补充材料扫描件", Upload.from_bytes("扫描.pdf", scan_pdf(3)), ""),
        ("origin", "evidence", "附图", Upload.from_bytes("附图.png", png()), ""),
        ("origin", "evidence", "多页扫描", Upload.from_bytes("多页.tif", tiff(2)), ""),
        ("notices", "notice", "受理告知书", None, "王建国：\n你反映的问题已受理。"),
        ("handling", "investigation", "调查笔录", None, "调查情况如下：\n" + "经查，补偿款尚有部分未发放。" * 120),
        ("handling", "reply", "信访处理意见书", None, "处理意见：予以支持。"),
        ("closing", "closing_summary", "结案报告", None, "本事项办结。"),
    ]


def archive_case(app, number, retention="Y", by="admin", on=None):
    from archive import store
    conn, site = open_site(app)
    try:
        for attempt in conn.transaction_manager.attempts(5):
            with attempt:
                case = site.cases.by_number(number)
                store.archive(site, case, retention, by, app.registry.settings, on=on)
                ref = case.archival_ref
        return ref
    finally:
        conn.close()


def read_pdf(data):
    from pypdf import PdfReader
    return PdfReader(io.BytesIO(data))


def outline_items(reader):
    """[(title, page number (1-based), depth)] of the bookmarks."""
    out = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                out.append((item.title, reader.get_destination_page_number(item) + 1, depth))
    walk(reader.outline, 0)
    return out


def fonts_of(resources, seen=None):
    """Every font dictionary reachable from a resource dictionary (forms included)."""
    seen = seen if seen is not None else set()
    out = []
    if resources is None:
        return out
    resources = resources.get_object()
    for ref in (resources.get("/Font") or {}).values():
        font = ref.get_object()
        out.append(font)
        for descendant in font.get("/DescendantFonts") or []:
            out.append(descendant.get_object())
    for ref in (resources.get("/XObject") or {}).values():
        key = getattr(ref, "idnum", id(ref))
        if key in seen:
            continue
        seen.add(key)
        xobject = ref.get_object()
        if xobject.get("/Subtype") == "/Form":
            out.extend(fonts_of(xobject.get("/Resources"), seen))
    return out


def font_is_embedded(font):
    if font.get("/Subtype") in ("/Type0", "/Type3"):
        return True  # checked through its descendant / it is drawn by its own procedures
    descriptor = font.get("/FontDescriptor")
    return descriptor is not None and any(k in descriptor.get_object() for k in ("/FontFile", "/FontFile2",
                                                                                    "/FontFile3"))


DATE_PAGE = re.compile(r"(\d{8})\s+(\d+)(?:-(\d+))?")


def write_ini(var):
    """An ini for the console scripts on the data folder ``var``."""
    path = os.path.join(str(var), "test.ini")
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"[app:main]\nuse = egg:casefiles\ncasefiles.var = {var}\ncasefiles.secret = test-secret\n"
                "retry.attempts = 3\n")
    return path
