"""The index never disagrees with the database: it follows commits only, survives a crash
between the two commits, is rebuilt and checked by casefiles-reindex, and reads scans."""
import json
import os
import shutil
import time

import pytest
import webtest
from ZODB.POSException import ConflictError

from casefiles import intake
from casefiles.access import route_to_unit
from casefiles.events import CaseModified, notify
from indexing import schema as S
from indexing.extract import ocr_available
from indexing.sync import queued

from .support import API, add_users, change, close_app, id_number, make_app, open_site, petition

FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


@pytest.fixture
def fresh(var):
    """An app on ``var`` that the test may close and reopen (the CLI needs the files)."""
    apps = []

    def start():
        application = make_app(var)
        apps.append(application)
        return application
    yield start
    for application in apps:
        try:
            close_app(application)
        except Exception:
            pass


def index_ids(app):
    indexer = app.registry.search_indexer
    indexer.wait_idle(5)
    searcher = indexer.store.open().searcher()
    try:
        return sorted(f[S.ID_] for f in searcher.all_stored_fields())
    finally:
        searcher.close()


def find(app, text, principals=("role:clerk",)):
    from indexing.query import parse
    from indexing.search import Caches, search
    indexer = app.registry.search_indexer
    indexer.wait_idle(5)
    results = search(indexer.store.searcher(), parse(text), list(principals), Caches())
    return [h.get(S.ID_) for h in results.hits]


def test_a_registration_is_searchable_at_once(api, app):
    from indexing.analysis import tokenizer
    tokenizer()    # jieba's dictionary is loaded once per process, on first use (not timed here)
    number = api("clerk").post_json("/api/cases", petition(subject="浉河区五里墩街道噪音扰民"), status=201).json["number"]
    started = time.monotonic()
    hits = api("clerk").get("/api/search", params={"q": "噪音扰民"}).json["hits"]
    assert time.monotonic() - started < 1.5
    assert [h["number"] for h in hits if h["document"] is None] == [number]


def test_an_aborted_transaction_leaves_the_index_unchanged(app):
    before = index_ids(app)
    conn, site = open_site(app)
    tm = conn.transaction_manager
    tm.begin()
    intake.register(site, petition(subject="中止的登记不应进入索引"), by="clerk")
    tm.abort()
    indexer = app.registry.search_indexer
    indexer.wait_idle(2)
    assert index_ids(app) == before
    tm.begin()
    assert queued(site.index_queue) == [] and queued(site.extract_queue) == []
    tm.abort()
    conn.close()
    assert find(app, "中止") == []


def test_a_rolled_back_savepoint_drops_what_was_recorded_after_it(app):
    conn, site = open_site(app)
    tm = conn.transaction_manager
    tm.begin()
    kept = intake.register(site, petition(subject="保留的信访件关于物业"), by="clerk")
    savepoint = tm.savepoint()
    case = site.cases.by_number(kept.number)
    case.subject = "回滚后不应出现的事由"
    notify(CaseModified(case))
    intake.register(site, petition(subject="回滚的第二件"), by="clerk")
    savepoint.rollback()
    tm.commit()
    conn.close()
    assert find(app, "保留 type:case") == [S.case_id(kept.number)]
    assert find(app, "回滚") == []


def test_a_retry_after_a_conflict_indexes_once(app):
    indexer = app.registry.search_indexer
    conn_a, site_a = open_site(app)
    with conn_a.transaction_manager:
        number = intake.register(site_a, petition(subject="冲突测试原始事由"), by="clerk").number
    indexer.wait_idle(5)
    indexer.applied.clear()
    conn_b, site_b = open_site(app)
    tm_b = conn_b.transaction_manager
    tm_b.begin()
    site_b.cases.by_number(number).content  # B reads the case before A changes it
    with conn_a.transaction_manager:
        case = site_a.cases.by_number(number)
        case.subject = "冲突测试甲修改"
        notify(CaseModified(case))
    indexer.wait_idle(5)
    assert indexer.applied.get(S.case_id(number)) == 1
    attempts = 0
    while attempts < 3:          # what pyramid_retry does: abort, begin again, redo
        attempts += 1
        try:
            case = site_b.cases.by_number(number)
            case.content = f"乙的第{attempts}次尝试"
            notify(CaseModified(case))
            tm_b.commit()         # B's first attempt conflicts with A's commit
            break
        except ConflictError:
            tm_b.abort()
            tm_b.begin()
    assert attempts == 2
    indexer.wait_idle(5)
    assert indexer.applied.get(S.case_id(number)) == 2   # A's commit and B's successful retry, once each
    assert find(app, "第2次尝试 type:case") == [S.case_id(number)]
    assert find(app, "第1次尝试") == []
    assert index_ids(app).count(S.case_id(number)) == 1
    conn_a.close()
    conn_b.close()


def test_a_crash_between_the_commits_is_repaired_at_start(fresh):
    app = fresh()
    indexer = app.registry.search_indexer
    indexer.committed = lambda keys: None     # the process dies right after ZODB committed
    conn, site = open_site(app)
    with conn.transaction_manager:
        number = intake.register(site, petition(subject="断电前提交的固始县信访件"), by="clerk").number
    with conn.transaction_manager:
        assert S.case_id(number) in site.index_queue
    conn.close()
    assert find(app, "固始县") == []
    close_app(app)

    app = fresh()            # start again: the durable queue is applied
    assert find(app, "固始县 type:case") == [S.case_id(number)]
    conn, site = open_site(app)
    with conn.transaction_manager:
        assert queued(site.index_queue) == []
    conn.close()


def test_a_filing_is_queued_for_text_extraction_once_indexed_even_across_a_crash(fresh):
    """The request writes only the index queue; the indexer queues the letter's PDF for text
    extraction when it takes the case off that queue. A crash before that leaves the case in
    the index queue, and the next start indexes it, queues the PDF and reads its text."""
    from casefiles.documents import Upload
    from .support import pdf_bytes
    app = fresh()
    indexer = app.registry.search_indexer
    indexer.committed = lambda keys: None     # the process dies right after ZODB committed
    conn, site = open_site(app)
    with conn.transaction_manager:
        case = intake.register(site, petition(subject="商城县来信"), [Upload.from_bytes("来信.pdf",
                               pdf_bytes("商城县茶园补偿款未发放"))], by="clerk")
        number = case.number
    with conn.transaction_manager:
        assert S.case_id(number) in site.index_queue and queued(site.extract_queue) == []
    conn.close()
    close_app(app)

    app = fresh()
    app.registry.search_indexer.ocr.wait_idle(30)
    app.registry.search_indexer.wait_idle(10)    # the text read is indexed in turn
    conn, site = open_site(app)
    with conn.transaction_manager:
        letter = next(site.cases.by_number(number).documents())
        assert letter.ocr_state == "text" and "茶园补偿款" in letter.extracted_text
        assert queued(site.index_queue) == [] and queued(site.extract_queue) == []
    conn.close()
    assert find(app, "茶园补偿款 type:document") != []


def test_access_changes_reach_the_index(api, app):
    number = api("clerk").post_json("/api/cases", petition(subject="光山县道路破损"), status=201).json["number"]
    unit = api("unit")
    assert unit.get("/api/search", params={"q": "道路破损"}).json["total"] == 0
    conn, site = open_site(app)
    with conn.transaction_manager:
        route_to_unit(site, site.cases.by_number(number), "411502")
    assert unit.get("/api/search", params={"q": "道路破损"}).json["total"] == 2   # case and its letter
    with conn.transaction_manager:
        route_to_unit(site, site.cases.by_number(number), "411503")
    conn.close()
    assert unit.get("/api/search", params={"q": "道路破损"}).json["total"] == 0
    assert api("unit2").get("/api/search", params={"q": "道路破损"}).json["total"] == 2


def _in_step(app):
    """The index holds exactly the database's items (ids and values)."""
    from indexing.reindex import check
    indexer = app.registry.search_indexer
    indexer.wait_idle(5)
    report = check(indexer)
    return report.differences == 0, report.as_json()


def test_a_petitioners_new_details_reach_their_earlier_cases(api, app):
    clerk = api("clerk")
    first = clerk.post_json("/api/cases", petition(subject="平桥区拆迁补偿款未发放"), status=201).json["number"]
    assert S.case_id(first) in find(app, "phone:13800000001")
    # the same person (same ID number) comes back with a new name (the change confirmed), phone and address
    person = {"name": "王建华", "id_number": id_number(1), "phone": "13900000009",
              "address": "信阳市浉河区湖东街道", "primary": True, "rename": True}
    second = clerk.post_json("/api/cases", petition(subject="浉河区路灯损坏", petitioners=[person]),
                             status=201).json["number"]
    for query in ("phone:13900000009", "湖东街道", "王建华"):
        found = find(app, query)
        assert S.case_id(first) in found and S.case_id(second) in found, query
    assert find(app, "phone:13800000001") == []
    assert S.case_id(first) not in find(app, "平西街道")
    assert _in_step(app)[0], _in_step(app)[1]


def test_a_renamed_unit_is_found_by_its_new_name_in_the_cases_routed_to_it(api, app):
    from casefiles.units import load_units
    number = api("clerk").post_json("/api/cases", petition(subject="浉河区排水管道堵塞"), status=201).json["number"]
    other = api("clerk").post_json("/api/cases", petition(subject="罗山县排水管道堵塞"), status=201).json["number"]
    change(app, lambda site: route_to_unit(site, site.cases.by_number(number), "411502"))
    assert find(app, "群众诉求服务中心") == []

    def rename(site):
        unit = site.units["411502"]
        load_units(site.units, [{"code": "411502", "name": "浉河区群众诉求服务中心", "kind": unit.kind,
                                 "district": unit.district}])
    change(app, rename)
    found = find(app, "群众诉求服务中心")
    assert S.case_id(number) in found and S.case_id(other) not in found
    assert _in_step(app)[0], _in_step(app)[1]


# --- casefiles-reindex ------------------------------------------------------------------------

def _ini(var):
    path = os.path.join(str(var), "test.ini")
    with open(path, "w") as f:
        f.write(f"[app:main]\nuse = egg:casefiles\ncasefiles.var = {var}\ncasefiles.secret = test-secret\n"
                "casefiles.ocr = false\n")
    return path


def _populate(app, n=3):
    testapp = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost"})
    add_users(app, [("clerk", ["clerk"], None)])
    clerk = API(testapp, "clerk")
    subjects = ["潢川县小区物业费纠纷", "息县农民工工资拖欠", "淮滨县宅基地争议", "罗山县低保评定不公"]
    return [clerk.post_json("/api/cases", petition(subject=subjects[i % 4]), status=201).json["number"]
            for i in range(n)]


def test_reindex_rebuilds_into_a_new_folder_and_swaps(fresh, var, capsys):
    from cli.reindex import main
    app = fresh()
    numbers = _populate(app)
    before = index_ids(app)
    old = app.registry.search_indexer.store.path
    close_app(app)
    ini = _ini(var)

    assert main([ini, "--dry-run", "--json"]) == 0
    out = capsys.readouterr().out
    result = json.loads(out.strip().splitlines()[-1])
    assert result == dict(result, cases=3, items=6, dry_run=True)

    shutil.rmtree(os.path.join(old))            # lose the live index entirely
    assert main([ini]) == 0
    app = fresh()
    assert app.registry.search_indexer.store.path != old
    assert index_ids(app) == before
    assert find(app, "宅基地 type:case") == [S.case_id(numbers[2])]


def test_reindex_check_finds_and_repairs_every_difference(fresh, var, capsys):
    from cli.reindex import main
    from indexing.sync import storable
    app = fresh()
    numbers = _populate(app, 4)
    indexer = app.registry.search_indexer
    indexer.wait_idle(5)
    writer = indexer.store.writer()
    writer.delete_by_term(S.ID_, S.case_id(numbers[0]))                       # missing
    writer.add_document(**storable({S.ID_: "c:XY-2025-999999", S.NUMBER: "XY-2025-999999", S.TYPE: "case",
                                    S.TEXT: "幽灵", S.ALLOWED: "role:clerk", S.STAMP: "x"}))   # extra
    stored = dict(indexer.store.searcher().document(**{S.ID_: S.case_id(numbers[1])}))
    writer.update_document(**storable(dict(stored, **{S.STAMP: "old", S.TEXT: "旧"})))  # stale
    writer.add_document(**storable(dict(indexer.store.searcher().document(**{S.ID_: S.case_id(numbers[2])}),
                                        **{S.TEXT: "重复"})))                             # duplicate
    writer.commit()
    close_app(app)
    ini = _ini(var)

    assert main([ini, "--check", "--json"]) == 1
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["missing"] == [S.case_id(numbers[0])]
    assert report["extra"] == ["c:XY-2025-999999"]
    assert report["stale"] == [S.case_id(numbers[1])]
    assert report["duplicate"] == [S.case_id(numbers[2])]

    assert main([ini, "--check", "--repair"]) == 0
    out = capsys.readouterr().out
    assert "索引与数据库一致" in out or "agrees" in out
    assert main([ini, "--check"]) == 0


# --- text extraction and OCR -------------------------------------------------------------------

needs_ocr = pytest.mark.skipif(not (ocr_available("chi_sim") and os.path.exists(FONT)),
                               reason="tesseract with chi_sim or the WenQuanYi font is not installed")

SCAN_LINES = ["尊敬的信阳市信访局领导：", "我是商城县居民，小区物业费", "收费标准过高，业主多次反映无果，", "请求依法处理乱收费问题。"]


def scanned_page(lines=SCAN_LINES, fmt="PNG"):
    import io

    from PIL import Image, ImageDraw, ImageFont
    font = ImageFont.truetype(FONT, 44)
    image = Image.new("L", (1400, 120 + 90 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((70, 60 + i * 90), line, font=font, fill=0)
    buf = io.BytesIO()
    image.save(buf, fmt, **({"resolution": 200.0} if fmt == "PDF" else {}))
    return buf.getvalue()


def _wait_for_text(app, timeout=90):
    indexer = app.registry.search_indexer
    assert indexer.ocr.wait_idle(timeout)
    assert indexer.wait_idle(10)


@needs_ocr
@pytest.mark.slow
def test_a_scanned_chinese_letter_becomes_searchable_by_its_words(api, app, testapp):
    clerk = api("clerk")
    body = petition(subject="来信扫描件", content="")
    res = clerk.post("/api/cases", {"data": json.dumps(body, ensure_ascii=False)},
                     upload_files=[("file", "来信.png", scanned_page())], status=201)
    number = res.json["number"]
    doc = res.json["folders"][0]["documents"][0]
    _wait_for_text(app)
    hits = clerk.get("/api/search", params={"q": "乱收费"}).json["hits"]
    assert [(h["number"], h["document"]) for h in hits] == [(number, doc["id"])]
    assert "<mark>乱收费</mark>" in hits[0]["highlights"][0] or "<mark>收费</mark>" in hits[0]["highlights"][0]
    assert clerk.get("/api/search", params={"q": "物业费 商城县"}).json["total"] >= 1
    page = testapp.get(hits[0]["url"].replace("http://localhost:6543", ""), headers=clerk.headers)
    assert "已完成文字识别" in page.text and "<mark>" in page.text


@needs_ocr
@pytest.mark.slow
def test_an_image_only_pdf_is_read_by_ocr_and_a_text_pdf_by_its_text(api, app):
    from .support import pdf_bytes
    clerk = api("clerk")
    number = clerk.post_json("/api/cases", petition(), status=201).json["number"]
    clerk.post(f"/api/cases/{number}/documents", {"kind": "evidence", "title": "扫描的证据"},
               upload_files=[("file", "scan.pdf", scanned_page(["淮滨县某村土地流转合同", "租金长期拖欠未付"], "PDF"))],
               status=201)
    clerk.post(f"/api/cases/{number}/documents", {"kind": "evidence", "title": "文本证据"},
               upload_files=[("file", "text.pdf", pdf_bytes("调解协议书 双方同意和解"))], status=201)
    _wait_for_text(app)
    assert clerk.get("/api/search", params={"q": "土地流转"}).json["total"] == 1
    assert clerk.get("/api/search", params={"q": "和解"}).json["total"] == 1
    conn, site = open_site(app)
    with conn.transaction_manager:
        states = sorted(d.ocr_state for d in site.cases.by_number(number).documents())
    conn.close()
    assert states == ["", "ocr", "text"]


def test_extraction_never_fails_a_filing_and_reports_broken_files(api, app):
    clerk = api("clerk")
    number = clerk.post_json("/api/cases", petition(), status=201).json["number"]
    broken = b"%PDF-1.4\n" + b"\x00garbage" * 200
    res = clerk.post(f"/api/cases/{number}/documents", {"kind": "evidence", "title": "损坏的PDF"},
                     upload_files=[("file", "broken.pdf", broken)], status=201)
    app.registry.search_indexer.wait_idle(5)     # indexed, and so queued for extraction
    app.registry.search_indexer.ocr.run_pending()
    app.registry.search_indexer.wait_idle(5)
    conn, site = open_site(app)
    with conn.transaction_manager:
        document = site.cases.by_number(number).document(res.json["id"])
        assert document.ocr_state in ("failed", "empty")
        assert queued(site.extract_queue) == []
    conn.close()


def test_extraction_is_bounded_in_time(tmp_path):
    from indexing.extract import extract_file
    path = tmp_path / "x.pdf"
    from .support import pdf_bytes
    path.write_bytes(pdf_bytes("信访", pages=3))
    text, state, error = extract_file(str(path), "application/pdf", timeout=0.001)
    assert (text, state) == ("", "failed") and "timed out" in error
    text, state, error = extract_file(str(path), "application/pdf", max_pages=2)
    assert state == "text" and "第2页" in text and "第3页" not in text

