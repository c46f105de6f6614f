"""Uploads judged by their bytes, their size and SHA-256; documents and their versions kept
in blobs. Plain objects on a throwaway database."""
import datetime
import hashlib
import io
import zipfile

import pytest
import transaction
import ZODB
import ZODB.FileStorage

from casefiles import intake
from casefiles.documents import ACCEPTED_TYPES, Document, Upload, clean_filename, sniff, text_upload
from casefiles.errors import Conflict, TooLarge, UnsupportedType, ValidationError
from casefiles.site import bootstrap

from .support import jpeg_bytes, pdf_bytes, png_bytes, tiff_bytes

NOW = datetime.datetime(2025, 3, 2, 10, 0, 0)
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(300)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(300)


def _zip(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def docx_bytes():
    return _zip({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w:document/>"})


@pytest.fixture
def db(tmp_path):
    storage = ZODB.FileStorage.FileStorage(str(tmp_path / "Data.fs"), blob_dir=str(tmp_path / "blobs"))
    database = ZODB.DB(storage)
    yield database
    database.close()


@pytest.fixture
def site(db):
    tm = transaction.TransactionManager()
    conn = db.open(tm)
    root_site, _ = bootstrap(conn.root())
    tm.commit()
    yield root_site
    tm.abort()
    conn.close()


SNIFFED = [
    ("pdf", pdf_bytes(), "application/pdf"),
    ("jpeg", jpeg_bytes(), "image/jpeg"),
    ("png", png_bytes(), "image/png"),
    ("tiff", tiff_bytes(), "image/tiff"),
    ("tiff-be", b"MM\x00*\x00\x00\x00\x08" + bytes(100), "image/tiff"),
    ("text", "信访人反映：补偿款未发放。\r\n".encode("utf-8"), "text/plain"),
    ("ascii", b"plain ascii text", "text/plain"),
    ("docx", docx_bytes(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("zip", _zip({"a.txt": "x"}), "application/zip"),
    ("elf", ELF, "application/x-executable"),
    ("exe", EXE, "application/x-msdownload"),
    ("empty", b"", "application/x-empty"),
    ("binary", b"\x00\x01\x02\x03garbage", "application/octet-stream"),
    ("gbk", "信访材料测试文本".encode("gbk"), "text/plain"),   # GBK/GB18030 text is text (hardening: forms)
]


@pytest.mark.parametrize("label,data,media_type", SNIFFED, ids=[s[0] for s in SNIFFED])
def test_media_type_is_judged_from_the_bytes(label, data, media_type):
    # whatever the client calls it
    upload = Upload.from_bytes("document.pdf", data)
    assert upload.media_type == media_type
    assert upload.size == len(data)
    assert sniff(data[:8192]) == media_type


def test_text_cut_in_the_middle_of_a_character_is_still_text():
    data = ("中" * 3000).encode("utf-8")   # 9000 bytes: the 8192-byte window ends inside a character
    assert Upload.from_bytes("a.txt", data).media_type == "text/plain"


@pytest.mark.parametrize("label,data,media_type", SNIFFED, ids=[s[0] for s in SNIFFED])
def test_check_accepts_only_the_listed_types(label, data, media_type):
    upload = Upload.from_bytes("x.pdf", data)
    if not data:
        with pytest.raises(ValidationError) as e:
            upload.check(None)
        assert e.value.fields == {"file": "empty"}
    elif media_type in ACCEPTED_TYPES:
        upload.check(None)
        upload.check(len(data))
    else:
        with pytest.raises(UnsupportedType) as e:
            upload.check(None, field="files.0")
        assert e.value.status == 415 and e.value.fields == {"files.0": media_type}


def test_check_size_limit():
    data = pdf_bytes()
    upload = Upload.from_bytes("a.pdf", data)
    upload.check(len(data))
    upload.check(0)          # no limit
    with pytest.raises(TooLarge) as e:
        upload.check(len(data) - 1)
    assert e.value.status == 413 and e.value.fields == {"file": "too large"}
    # too large is reported before the type: a huge executable is "too large"
    with pytest.raises(TooLarge):
        Upload.from_bytes("a.exe", EXE).check(10)


def test_upload_reads_a_stream_without_consuming_it():
    stream = io.BytesIO(b"%PDF-1.4 " + b"x" * 100000)
    stream.seek(500)
    upload = Upload("a.pdf", stream)
    assert upload.size == 100009 and stream.tell() == 0 and upload.media_type == "application/pdf"


def test_client_file_names_are_kept_but_cleaned():
    assert clean_filename("证据材料.pdf") == "证据材料.pdf"
    assert clean_filename("a\x00b\r\nc\x7f.pdf") == "abc.pdf"
    assert clean_filename("   ") == "file" and clean_filename(None) == "file"
    assert len(clean_filename("长" * 400 + ".pdf")) == 255


def test_version_stores_bytes_size_and_sha256(site):
    case = intake.register(site, {"channel": "online", "received_at": "2025-03-01", "subject": "咨询",
                                  "content": "内容", "district": "息县", "petitioners": [{"name": "网民"}]},
                           by="clerk", now=NOW)
    data = pdf_bytes(pages=3)
    document = case.file_document("handling", "investigation", "调查笔录", Upload.from_bytes("笔录.pdf", data), NOW,
                                  "assigner")
    version = document.current
    assert (version.number, version.size, version.sha256) == (1, len(data), hashlib.sha256(data).hexdigest())
    assert (version.media_type, version.filename, version.filed_by) == ("application/pdf", "笔录.pdf", "assigner")
    assert version.read() == data
    transaction_manager = site._p_jar.transaction_manager
    transaction_manager.commit()
    # committed: the bytes now live in the blob directory
    assert version.blob.committed()
    with open(version.blob.committed(), "rb") as f:
        assert f.read() == data
    assert version.read() == data


def test_versions_keep_every_earlier_version(site):
    case = intake.register(site, {"channel": "phone", "received_at": "2025-03-01", "subject": "咨询",
                                  "content": "内容", "district": "息县", "petitioners": [{"anonymous": True}]},
                           by="clerk", now=NOW)
    first, second, third = pdf_bytes("初稿"), png_bytes(), "第三版".encode("utf-8")
    document = intake.file_document(site, case, "handling", "reply", "意见书", Upload.from_bytes("v1.pdf", first),
                                    by="assigner", now=NOW)
    later = NOW + datetime.timedelta(days=1)
    v2 = intake.file_version(case, document, Upload.from_bytes("v2.png", second), "assigner", note="改正",
                             now=later)
    v3 = intake.file_version(case, document, Upload.from_bytes("v3.txt", third), "unit", now=later)
    site._p_jar.transaction_manager.commit()
    assert [v.number for v in document.versions] == [1, 2, 3]
    assert document.current is v3 and document.version(2) is v2 and document.version(4) is None
    assert [document.version(n).read() for n in (1, 2, 3)] == [first, second, third]
    assert [document.version(n).media_type for n in (1, 2, 3)] == ["application/pdf", "image/png", "text/plain"]
    assert v2.note == "改正" and v2.filed_at == later and v3.filed_by == "unit"
    assert document.filed_at == NOW   # the document's own filing date stays
    assert [h.action for h in case.history] == ["register", "file", "version", "version"]
    # refused versions change nothing
    for bad, error in ((Upload.from_bytes("x.pdf", ELF), UnsupportedType), (Upload.from_bytes("e.pdf", b""),
                                                                             ValidationError)):
        with pytest.raises(error):
            intake.file_version(case, document, bad, "assigner")
    with pytest.raises(TooLarge):
        intake.file_version(case, document, Upload.from_bytes("big.pdf", pdf_bytes(pages=5)), "assigner",
                            max_bytes=1000)
    assert len(document.versions) == 3 and len(case.history) == 4
    case.status = "archived"
    with pytest.raises(Conflict):
        intake.file_version(case, document, Upload.from_bytes("v4.pdf", first), "assigner")
    with pytest.raises(Conflict):
        intake.file_document(site, case, "closing", "other", "补充", Upload.from_bytes("v4.pdf", first), by="a")


def test_file_document_validates_before_writing(site):
    case = intake.register(site, {"channel": "phone", "received_at": "2025-03-01", "subject": "咨询",
                                  "content": "内容", "district": "息县", "petitioners": [{"anonymous": True}]},
                           by="clerk", now=NOW)
    count = len(list(case.documents()))
    for kwargs, field in (({"stage": "attic"}, "folder"), ({"kind": "poem"}, "kind"), ({"title": " "}, "title"),
                          ({"upload": None, "text": ""}, "file")):
        args = {"stage": "handling", "kind": "investigation", "title": "笔录",
                "upload": Upload.from_bytes("a.pdf", pdf_bytes()), "text": ""}
        args.update(kwargs)
        with pytest.raises(ValidationError) as e:
            intake.file_document(site, case, args["stage"], args["kind"], args["title"], args["upload"], by="x",
                                 text=args["text"], now=NOW)
        assert field in e.value.fields
    assert len(list(case.documents())) == count and len(case.history) == 1
    text_doc = intake.file_document(site, case, "handling", "investigation", "回访记录", None, by="x",
                                    text="  已回访。 ", now=NOW)
    assert text_doc.text == "已回访。" and text_doc.current.read().decode("utf-8").strip() == "已回访。"
    assert text_doc.current.filename == "回访记录.txt"


def test_text_upload_and_document_defaults():
    upload = text_upload("标题", "正文")
    assert upload.filename == "标题.txt" and upload.media_type == "text/plain"
    assert upload.stream.read() == "正文".encode("utf-8")
    document = Document("notice", "受理告知书", NOW, "clerk")
    assert document.current is None and document.versions == () and len(document.id) == 32
    assert document.case is None and document.kind_title == "告知书"


def test_documents_filed_in_the_same_second_keep_their_filing_order():
    import datetime

    from casefiles.cases import Case
    from casefiles.documents import Upload
    case = Case("XY-2025-000001", 2025, 1)
    at = datetime.datetime(2025, 3, 1, 9, 30)
    titles = ["来信", "扫描件1", "扫描件2", "证据"]
    for title in titles:
        case.file_document("origin", "evidence", title, Upload.from_bytes("a.txt", title.encode()), at, "clerk")
    assert [d.title for d in sorted(case["origin"].values(), key=lambda d: d.order_key)] == titles


def test_versions_are_kept_in_their_document_and_older_version_records_still_open(db):
    """A version filed now is pickled with its document (no record of its own); a document
    whose versions were filed as records of their own keeps them readable, and a correction
    filed to it adds a version of the new kind."""
    from casefiles.documents import FileVersion, Version
    at = datetime.datetime(2025, 3, 1, 9, 0)
    conn = db.open()
    root = conn.root()
    old = Document("letter", "旧来信", at, "clerk")
    old.versions = (Version(1, Upload.from_bytes("旧.pdf", pdf_bytes("旧版本")), at, "clerk"),)
    new = Document("letter", "新来信", at, "clerk")
    new.add_version(Upload.from_bytes("新.pdf", pdf_bytes("新版本")), at, "clerk")
    root["old"], root["new"] = old, new
    transaction.commit()
    assert type(new.versions[0]) is FileVersion and getattr(new.versions[0], "_p_oid", None) is None
    assert old.versions[0]._p_oid is not None
    conn.close()
    conn = db.open()
    old, new = conn.root()["old"], conn.root()["new"]
    assert b"%PDF" in new.current.read() and new.current.sha256 == hashlib.sha256(new.current.read()).hexdigest()
    correction = old.add_version(Upload.from_bytes("更正.pdf", pdf_bytes("更正")), at, "clerk", note="更正")
    transaction.commit()
    assert [type(v) for v in old.versions] == [Version, FileVersion]
    assert old.version(1).read().startswith(b"%PDF") and old.version(2) is correction
    assert old.version(1).sha256 == hashlib.sha256(old.version(1).read()).hexdigest()
    conn.close()
