"""The Chinese web UI, through WebTest on the real app: logging in, registering from every
channel, validation messages next to the fields, uploads (limits, types, odd names), filing
documents and corrected versions, inline views, the case list, and who may see and do what."""
import re
from urllib.parse import quote, unquote

import lxml.html
import pytest
import webtest
from argon2 import PasswordHasher

from casefiles import users
from casefiles.access import route_to_unit

from .support import (PASSWORD, add_users, change, close_app, id_number, jpeg_bytes, make_app, open_site, pdf_bytes,
                      petition, png_bytes, tiff_bytes)

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 400


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    """Passwords are not what these tests are about: a cheap argon2 keeps log-ins fast."""
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


# ---------------------------------------------------------------- helpers

def login(testapp, username):
    testapp.reset()
    form = testapp.get("/login").forms[0]
    form["username"] = username
    form["password"] = PASSWORD
    res = form.submit(status=303)
    return res.follow()


def intake_form(testapp, channel="letter"):
    return testapp.get(f"/register?channel={channel}").forms["intake-form"]


def fill_common(form, subject="平桥区某小区拆迁补偿款未足额发放", district="平桥区", received="2025-03-01 09:30"):
    form["received_at"] = received
    form["subject"] = subject
    form["district"] = district
    form["category"] = "城乡建设"


def fill_person(form, row=0, name="王建国", number=None, phone="13800000001", address="信阳市平桥区平西街道"):
    form[f"petitioners.{row}.name"] = name
    form[f"petitioners.{row}.id_number"] = id_number(1) if number is None else number
    form[f"petitioners.{row}.phone"] = phone
    form[f"petitioners.{row}.address"] = address


def page(res):
    return lxml.html.fromstring(res.text)


def field_error(res, name):
    """The error message shown next to the field ``name`` (None if there is none)."""
    doc = page(res)
    fid = "f-" + name.replace(".", "-")
    errors = doc.xpath(f'//*[@id="{fid}-error"]')
    if not errors:
        return None
    # next to the field: inside the same field container as the input
    container = errors[0].getparent()
    assert container.xpath(f'.//*[@name="{name}"]'), f"the message for {name} is not beside its field"
    return errors[0].text_content().strip()


def value_of(res, name):
    doc = page(res)
    node = doc.xpath(f'//*[@name="{name}"]')[0]
    if node.tag == "textarea":
        return node.text or ""
    if node.tag == "select":
        selected = node.xpath(".//option[@selected]")
        return selected[0].get("value") if selected else ""
    return node.get("value", "")


def register_letter(testapp, data=None, filename="来信扫描件.pdf", **fields):
    form = intake_form(testapp, "letter")
    fill_common(form)
    fill_person(form)
    form["content"] = fields.pop("content", "请求依法处理补偿款问题。")
    for key, value in fields.items():
        form[key] = value
    if data is not None:
        form["files"] = [webtest.Upload(filename, data, "application/pdf")]
    res = form.submit(status=303)
    case_page = res.follow()
    number = re.search(r"XY-\d{4}-\d{6}", res.location).group(0)
    return number, case_page


def documents(api_client, number):
    case = api_client.get(f"/api/cases/{number}").json
    return [d for folder in case["folders"] for d in folder["documents"]]


def document_json(api_client, number, doc_id):
    return api_client.get(f"/api/cases/{number}/documents/{doc_id}").json


def case_url(testapp, number):
    return f"/cases/{number[3:7]}/{number}/"


def document_page_url(number, folder, doc_id):
    return f"/cases/{number[3:7]}/{number}/{folder}/{doc_id}/"


def filing_form(res):
    forms = [f for f in res.forms.values() if (f.action or "").endswith("@@file")]
    assert forms, "no filing form on the page"
    return forms[0]


def csrf(testapp):
    res = testapp.get("/")
    return page(res).xpath('//input[@name="csrf_token"]/@value')[0]


def disposition_name(header):
    return unquote(header.split("filename*=UTF-8''", 1)[1])


# ---------------------------------------------------------------- log in, dashboard, layout

def test_login_page_and_dashboard_for_a_clerk(testapp, api):
    api("clerk").post_json("/api/cases", petition(), status=201)
    res = login(testapp, "clerk")
    assert "工作台" in res.text
    doc = page(res)
    # search box for the search feature, register links per channel, counts from the catalog
    assert doc.xpath('//form[@action="http://localhost:6543/search"]//input[@name="q"]')
    assert len(doc.xpath('//div[@class="quick-register"]/a')) == 6
    assert doc.xpath('//*[@data-stat="total"]')[0].text.strip() == "1"
    assert "最近登记" in res.text and "XY-2025-000001" in res.text
    assert 'http-equiv' not in res.text and "<script>" not in res.text and "onclick" not in res.text


def test_wrong_password_stays_on_the_login_page(testapp):
    form = testapp.get("/login").forms[0]
    form["username"] = "clerk"
    form["password"] = "wrong-password"
    res = form.submit(status=401)
    assert "用户名或密码错误" in res.text


def test_logged_out_users_are_sent_to_log_in(testapp):
    res = testapp.get("/cases/", status=302)
    assert "/login?came_from=%2Fcases%2F" in res.location
    res = testapp.get("/register", status=302)
    assert "/login" in res.location


def test_logout(testapp):
    login(testapp, "clerk")
    token = csrf(testapp)
    testapp.post("/logout", {"csrf_token": token}, status=303)
    assert testapp.get("/", status=302).location.startswith("http://localhost:6543/login")


def test_unit_dashboard_counts_only_their_cases(testapp, api, app):
    clerk = api("clerk")
    mine = clerk.post_json("/api/cases", petition(subject="交本单位的件"), status=201).json["number"]
    clerk.post_json("/api/cases", petition(subject="其他单位的件"), status=201)
    route(app, mine, "411502")
    res = login(testapp, "unit")
    assert "交本单位办理的信访件" in res.text
    assert page(res).xpath('//*[@data-stat="total"]')[0].text.strip() == "1"
    assert "交本单位的件" in res.text and "其他单位的件" not in res.text
    assert not page(res).xpath('//div[@class="quick-register"]')


def route(app, number, unit):
    change(app, lambda site: route_to_unit(site, site.cases.by_number(number), unit))


# ---------------------------------------------------------------- intake, every channel

def test_register_a_letter_with_its_scan(testapp, api):
    login(testapp, "clerk")
    scan = pdf_bytes("来信原件")
    number, res = register_letter(testapp, scan)
    assert number == "XY-2025-000001"
    assert f"登记成功，信访件编号：{number}。" in res.text
    assert "王建国" in res.text and id_number(1) in res.text      # a clerk sees the full ID number
    assert "2025-03-01 09:30" in res.text
    assert "来信" in res.text and "已登记" in res.text and "平桥区" in res.text
    doc = page(res)
    folder_names = [a.text_content().strip() for a in doc.xpath('//a[@class="folder-name"]')]
    assert folder_names == ["来源材料", "告知文书", "办理材料", "督办材料", "复查复核", "结案材料"]
    download = doc.xpath('//a[contains(@class, "download")]/@href')[0]
    got = testapp.get(download)
    assert got.body == scan
    assert got.content_type == "application/pdf"
    assert disposition_name(got.headers["Content-Disposition"]) == "来信扫描件.pdf"
    assert got.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("channel", ["visit", "video"])
def test_register_a_group_visit_with_representatives(testapp, api, channel):
    login(testapp, "clerk")
    form = intake_form(testapp, channel)
    # without script the form shows all five representative rows
    assert len(page(testapp.get(f"/register?channel={channel}")).xpath('//fieldset[@class="person-row"]')) == 5
    fill_common(form, subject="集体访：反映拖欠农民工工资")
    names = ["张一", "张二", "张三", "张四", "张五"]
    for i, name in enumerate(names):
        fill_person(form, i, name=name, number=id_number(10 + i), phone=f"1380000001{i}")
    form["primary"] = "2"
    form["group_size"] = "23"
    form["visit_place"] = "市信访局接待大厅"
    form["leader"] = "李副市长"
    form["content"] = "来访人反映某工地拖欠工资，要求尽快解决。"
    res = form.submit(status=303).follow()
    number = re.search(r"XY-\d{4}-\d{6}", res.request.url).group(0)
    case = api("clerk").get(f"/api/cases/{number}").json
    assert case["channel"] == channel
    assert case["group_size"] == 23 and case["leader"] == "李副市长"
    assert [p["name"] for p in case["petitioners"]] == names
    assert [p["primary"] for p in case["petitioners"]] == [False, False, True, False, False]
    assert documents(api("clerk"), number)[0]["kind"] == "visit_transcript"
    assert "23" in res.text and "市信访局接待大厅" in res.text


def test_register_an_online_complaint_without_id_number(testapp, api):
    login(testapp, "clerk")
    form = intake_form(testapp, "online")
    fill_common(form, subject="网上投诉：噪音扰民", district="浉河区")
    fill_person(form, number="", name="网友甲")
    form["online_source"] = "wechat"
    form["external_ref"] = "WX-20250301-0007"
    form["content"] = "夜间施工噪音扰民。"
    res = form.submit(status=303).follow()
    number = re.search(r"XY-\d{4}-\d{6}", res.request.url).group(0)
    case = api("clerk").get(f"/api/cases/{number}").json
    assert case["online_source"] == "wechat" and case["external_ref"] == "WX-20250301-0007"
    assert case["petitioners"][0]["id_number"] == ""
    assert "微信" in res.text and "WX-20250301-0007" in res.text


def test_register_an_anonymous_phone_call(testapp, api):
    login(testapp, "clerk")
    form = intake_form(testapp, "phone")
    fill_common(form, subject="来电反映道路破损")
    form["petitioners.0.anonymous"] = True
    form["content"] = "某路段路面破损严重。"
    res = form.submit(status=303).follow()
    number = re.search(r"XY-\d{4}-\d{6}", res.request.url).group(0)
    case = api("clerk").get(f"/api/cases/{number}").json
    assert case["channel"] == "phone" and case["petitioners"][0]["anonymous"] is True
    assert "匿名" in res.text


def test_register_items_sent_down_in_every_mode(testapp, api):
    login(testapp, "clerk")
    for level, mode in [("national", "forward"), ("provincial", "assign"), ("national", "supervise"),
                        ("provincial", "copy")]:
        form = intake_form(testapp, "transfer")
        fill_common(form, subject="上级转交：土地征收补偿")
        fill_person(form)
        form["source.level"] = level
        form["source.mode"] = mode
        form["source.ref"] = "国信转〔2025〕123号"
        form["source.due"] = "2025-04-30"
        form["files"] = [webtest.Upload("交办单.png", png_bytes(), "image/png")]
        res = form.submit(status=303).follow()
        number = re.search(r"XY-\d{4}-\d{6}", res.request.url).group(0)
        case = api("clerk").get(f"/api/cases/{number}").json
        assert case["source"] == {"level": level, "mode": mode, "ref": "国信转〔2025〕123号", "due": "2025-04-30"}
        kinds = [d["kind"] for d in documents(api("clerk"), number)]
        assert kinds == ["transfer_sheet", "transfer_sheet"]
        text = page(res).text_content()
        assert "国信转〔2025〕123号" in text and "2025-04-30" in text
        assert {"national": "国家信访局", "provincial": "省信访局"}[level] in text
        assert {"forward": "转送", "assign": "交办", "supervise": "督办", "copy": "抄送"}[mode] in text


def test_register_with_several_scans_of_every_accepted_type(testapp, api):
    login(testapp, "clerk")
    form = intake_form(testapp, "letter")
    token = form["csrf_token"].value
    fields = {"csrf_token": token, "channel": "letter", "received_at": "2025-03-01 09:30", "subject": "多页来信",
              "district": "息县", "petition_type": "complaint", "primary": "0",
              "petitioners.0.name": "王建国", "petitioners.0.id_number": id_number(1)}
    files = [("files", "第1页.pdf", pdf_bytes()), ("files", "第2页.jpg", jpeg_bytes()),
             ("files", "第3页.png", png_bytes()), ("files", "第4页.tif", tiff_bytes()),
             ("files", "附件.txt", "补充说明".encode("utf-8"))]
    res = testapp.post("/register", fields, upload_files=files, status=303)
    number = re.search(r"XY-\d{4}-\d{6}", res.location).group(0)
    docs = {d["filename"]: d for d in documents(api("clerk"), number)}
    assert {name: docs[name]["media_type"] for _f, name, _d in files} == {
        "第1页.pdf": "application/pdf", "第2页.jpg": "image/jpeg", "第3页.png": "image/png",
        "第4页.tif": "image/tiff", "附件.txt": "text/plain"}
    assert docs["第1页.pdf"]["kind"] == "letter" and docs["附件.txt"]["kind"] == "evidence"
    for _f, name, data in files:
        got = testapp.get(document_page_url(number, "origin", docs[name]["id"]) + "@@download")
        assert got.body == data and disposition_name(got.headers["Content-Disposition"]) == name
    # the case page lists them in filing order: the letter, its further scans, then the other documents
    titles = [a.text for a in page(testapp.get(case_url(testapp, number))).xpath('//a[@class="doc-title"]')]
    assert titles == ["来信：多页来信", "来信：多页来信（扫描件2）", "来信：多页来信（扫描件3）",
                      "来信：多页来信（扫描件4）", "附件.txt"]


def test_accusation_names_the_accused(testapp, api):
    login(testapp, "clerk")
    form = intake_form(testapp, "letter")
    fill_common(form, subject="检举某单位违规收费")
    fill_person(form)
    form["content"] = "检举内容。"
    form["petition_type"] = "accusation"
    res = form.submit(status=422)
    assert field_error(res, "accused.unit") is None
    assert "检举" in page(res).xpath('//fieldset[contains(@class, "accused")]//p[@class="field-error"]')[0].text
    form = res.forms["intake-form"]
    form["accused.unit"] = "GAJ"
    form["accused.person"] = "某科长"
    res = form.submit(status=303).follow()
    number = re.search(r"XY-\d{4}-\d{6}", res.request.url).group(0)
    assert api("clerk").get(f"/api/cases/{number}").json["accused"] == {"unit": "GAJ", "person": "某科长"}


# ---------------------------------------------------------------- validation: 422 next to the field

def test_invalid_id_number_is_refused_next_to_the_field_with_values_kept(testapp, api):
    login(testapp, "clerk")
    form = intake_form(testapp, "letter")
    fill_common(form)
    bad = id_number(1)[:-1] + ("0" if id_number(1)[-1] != "0" else "1")
    fill_person(form, number=bad)
    form["content"] = "请求依法处理。"
    res = form.submit(status=422)
    assert field_error(res, "petitioners.0.id_number") == "身份证号校验位不正确，请逐位核对。"
    assert "信访事项未能登记：请更正标出的字段。" in res.text
    # everything entered is still there
    assert value_of(res, "petitioners.0.id_number") == bad
    assert value_of(res, "petitioners.0.name") == "王建国"
    assert value_of(res, "subject") == "平桥区某小区拆迁补偿款未足额发放"
    assert value_of(res, "content") == "请求依法处理。"
    assert value_of(res, "district") == "平桥区"
    assert value_of(res, "received_at") == "2025-03-01 09:30"
    assert api("clerk").get("/api/cases").json["total"] == 0


def test_missing_subject_and_district(testapp, api):
    login(testapp, "clerk")
    form = intake_form(testapp, "visit")
    form["received_at"] = "2025-03-01 09:30"
    fill_person(form)
    res = form.submit(status=422)
    assert field_error(res, "subject") == "请填写事由。"
    assert field_error(res, "district") == "请选择问题属地。"
    assert field_error(res, "content") == "请填写接谈记录。"
    assert field_error(res, "petitioners.0.id_number") is None
    assert api("clerk").get("/api/cases").json["total"] == 0


def test_received_date_future_or_unparseable(testapp, api):
    login(testapp, "clerk")
    form = intake_form(testapp, "letter")
    fill_common(form)
    fill_person(form)
    form["content"] = "内容"
    for value, message in [("2999-01-01 09:00", "收到日期不能晚于今天。"),
                           ("not a date", "收到日期不是有效日期（格式：年-月-日）。"),
                           ("2025-02-30", "收到日期不是有效日期（格式：年-月-日）。"),
                           ("", "请填写收到日期。")]:
        form["received_at"] = value
        res = form.submit(status=422)
        assert field_error(res, "received_at") == message
        assert value_of(res, "received_at") == value
        assert value_of(res, "subject") == "平桥区某小区拆迁补偿款未足额发放"
        form = res.forms["intake-form"]
    assert api("clerk").get("/api/cases").json["total"] == 0


def test_transfer_needs_level_mode_and_reference(testapp):
    login(testapp, "clerk")
    form = intake_form(testapp, "transfer")
    fill_common(form)
    fill_person(form)
    res = form.submit(status=422)
    assert field_error(res, "source.ref") == "请填写转交单文号。"
    assert field_error(res, "source.level")
    assert field_error(res, "source.mode")


def test_a_refused_form_shows_the_earlier_cases_of_a_known_petitioner(testapp, api):
    earlier = api("clerk").post_json("/api/cases", petition(subject="早先的信访件"), status=201).json["number"]
    login(testapp, "clerk")
    form = intake_form(testapp, "letter")
    fill_person(form)                 # same ID number as the earlier case
    res = form.submit(status=422)
    box = page(res).xpath('//div[@data-lookup-for="0"]')[0]
    assert earlier in box.text_content() and "早先的信访件" in box.text_content()


def test_petitioner_lookup_api_works_with_the_session_cookie(testapp, api):
    earlier = api("clerk").post_json("/api/cases", petition(), status=201).json["number"]
    login(testapp, "clerk")
    res = testapp.get(f"/api/petitioners?id_number={id_number(1)}", headers={"Accept": "application/json"})
    assert res.json["petitioner"]["name"] == "王建国"
    assert [c["number"] for c in res.json["cases"]] == [earlier]
    register = testapp.get("/register")
    form = page(register).xpath('//form[@id="intake-form"]')[0]
    assert form.get("data-lookup-url") == "http://localhost:6543/api/petitioners"
    assert page(register).xpath('//input[@data-lookup="0"][@name="petitioners.0.id_number"]')


# ---------------------------------------------------------------- uploads: 413, 415, names

@pytest.fixture
def small_app(var):
    application = make_app(var, **{"casefiles.max_upload_bytes": "1000"})
    add_users(application, [("clerk", ["clerk"], None)])
    yield application
    close_app(application)


def test_upload_over_the_limit_is_413_and_nothing_is_stored(small_app):
    testapp = webtest.TestApp(small_app, extra_environ={"HTTP_HOST": "localhost:6543"})
    login(testapp, "clerk")
    form = intake_form(testapp, "letter")
    fill_common(form)
    fill_person(form, number=id_number(77))
    form["content"] = "内容"
    form["files"] = [webtest.Upload("大文件.pdf", pdf_bytes(pages=3) + b"\n" * 2000, "application/pdf")]
    res = form.submit(status=413)
    message = field_error(res, "files")
    assert "大文件.pdf" in message and "超过上限" in message
    assert value_of(res, "subject") == "平桥区某小区拆迁补偿款未足额发放"
    conn, site = open_site(small_app)
    try:
        assert len(site.cases) == 0 and len(site.petitioners) == 0
        assert site.petitioners.by_id_number(id_number(77)) is None
        assert site.catalog.query(["role:clerk"])[0] == 0
    finally:
        conn.close()


def test_exe_renamed_pdf_is_415_and_nothing_is_stored(testapp, api):
    login(testapp, "clerk")
    form = intake_form(testapp, "letter")
    fill_common(form)
    fill_person(form)
    form["content"] = "内容"
    form["files"] = [webtest.Upload("扫描件.pdf", EXE, "application/pdf")]
    res = form.submit(status=415)
    message = field_error(res, "files")
    assert "扫描件.pdf" in message and "类型不在接受范围内" in message
    assert api("clerk").get("/api/cases").json["total"] == 0
    assert api("clerk").get(f"/api/petitioners?id_number={id_number(1)}").json["petitioner"] is None


def test_odd_file_names_are_stored_and_served_under_their_name(testapp, api):
    names = [  # sent, kept as metadata, offered for download (never with a directory part)
        ("../../etc/passwd.pdf", "../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\boot.ini.pdf", "..\\..\\boot.ini.pdf", "boot.ini.pdf"),
        ("扫描\x01件\x7f\t.pdf", "扫描件.pdf", "扫描件.pdf"),
        ("信访人王建国来信（第一页）.pdf", "信访人王建国来信（第一页）.pdf", "信访人王建国来信（第一页）.pdf"),
        ("a;b%20c.pdf", "a;b%20c.pdf", "a;b%20c.pdf"),
    ]
    login(testapp, "clerk")
    token = intake_form(testapp, "letter")["csrf_token"].value
    files = [("files", sent, pdf_bytes(f"第{i}份")) for i, (sent, _s, _d) in enumerate(names)]
    res = testapp.post("/register", {"csrf_token": token, "channel": "letter", "received_at": "2025-03-01 09:30",
                                     "subject": "多份材料", "district": "新县", "primary": "0",
                                     "petitioners.0.name": "王建国", "petitioners.0.id_number": id_number(1)},
                       upload_files=files, status=303)
    number = re.search(r"XY-\d{4}-\d{6}", res.location).group(0)
    docs = {d["filename"]: d for d in documents(api("clerk"), number)}
    assert sorted(docs) == sorted(stored for _s, stored, _d in names)
    for (sent, stored, served), (_f, _n, data) in zip(names, files):
        url = document_page_url(number, "origin", docs[stored]["id"])
        got = testapp.get(url + "@@download")
        assert got.body == data
        header = got.headers["Content-Disposition"]
        assert "\n" not in header and "\r" not in header
        assert disposition_name(header) == served
        fallback = header.split('filename="', 1)[1].split('"', 1)[0]
        assert "/" not in fallback and "\\" not in fallback
        assert stored in page(testapp.get(url)).text_content()


# ---------------------------------------------------------------- filing documents and versions

def test_file_a_document_into_a_folder(testapp, api):
    login(testapp, "clerk")
    number, case_page = register_letter(testapp, pdf_bytes())
    form = filing_form(case_page)
    form["folder"] = "handling"
    form["kind"] = "handling_report"
    form["title"] = "办结报告"
    form["ref"] = "平政信〔2025〕8号"
    report = pdf_bytes("办结报告")
    form["file"] = webtest.Upload("办结报告.pdf", report, "application/pdf")
    res = form.submit(status=303)
    doc_page = res.follow()
    assert "已将“办结报告”存入办理材料。" in doc_page.text
    assert "平政信〔2025〕8号" in doc_page.text
    assert testapp.get(res.location + "@@download").body == report
    folder = testapp.get(f"/cases/2025/{number}/handling/")
    assert "办结报告" in folder.text and "办结报告.pdf" in folder.text
    case_page = testapp.get(case_url(testapp, number))
    assert "存入材料" in case_page.text          # history entry


def test_file_text_only_document_and_see_it_inline(testapp, api):
    login(testapp, "clerk")
    number, _ = register_letter(testapp, pdf_bytes())
    form = filing_form(testapp.get(case_url(testapp, number) + "@@file?folder=notices"))
    assert form["folder"].value == "notices"
    form["kind"] = "notice"
    form["title"] = "受理告知书"
    form["text"] = "您反映的问题已受理。\n特此告知。"
    doc_page = form.submit(status=303).follow()
    pre = page(doc_page).xpath('//pre[contains(@class, "viewer-text")]')[0]
    assert "您反映的问题已受理。" in pre.text_content()
    inline = testapp.get(doc_page.request.url + "@@inline")
    assert inline.content_type == "text/plain" and inline.headers["Content-Disposition"].startswith("inline")
    assert inline.body.decode("utf-8") == "您反映的问题已受理。\n特此告知。"


def test_filing_form_errors_are_shown_next_to_the_fields(testapp, api):
    login(testapp, "clerk")
    number, _ = register_letter(testapp, pdf_bytes())
    form = filing_form(testapp.get(case_url(testapp, number) + "@@file"))
    res = form.submit(status=422)
    assert field_error(res, "title") == "请填写文件题名。"
    assert field_error(res, "file") == "请选择文件或填写文本。"
    form = filing_form(res)
    form["title"] = "程序"
    form["file"] = webtest.Upload("程序.pdf", EXE, "application/pdf")
    res = form.submit(status=415)
    assert "程序.pdf" in field_error(res, "file")
    assert value_of(res, "title") == "程序"
    assert len(documents(api("clerk"), number)) == 1


def test_file_a_corrected_version_keeps_the_old_one(testapp, api):
    login(testapp, "clerk")
    original = pdf_bytes("原件")
    number, case_page = register_letter(testapp, original)
    doc = documents(api("clerk"), number)[0]
    url = document_page_url(number, "origin", doc["id"])
    form = [f for f in testapp.get(url).forms.values() if (f.action or "").endswith("@@versions")][0]
    corrected = pdf_bytes("更正件")
    form["file"] = webtest.Upload("来信扫描件（更正）.pdf", corrected, "application/pdf")
    form["note"] = "补扫第二页"
    res = form.submit(status=303).follow()
    assert "第 2 版" in res.text
    assert testapp.get(url + "@@download").body == corrected
    old = testapp.get(url + "@@download?version=1")
    assert old.body == original
    assert disposition_name(old.headers["Content-Disposition"]) == "来信扫描件.pdf"
    versions = testapp.get(url + "@@versions")
    assert "补扫第二页" in versions.text and "来信扫描件（更正）.pdf" in versions.text
    earlier = testapp.get(url + "?version=1")
    assert "您正在查看旧版本" in earlier.text
    assert page(earlier).xpath('//iframe[contains(@src, "@@inline?version=1")]')
    testapp.get(url + "@@download?version=3", status=404)
    testapp.get(url + "@@download?version=abc", status=404)


def test_new_version_without_a_file_is_422(testapp, api):
    login(testapp, "clerk")
    number, _ = register_letter(testapp, pdf_bytes())
    doc = documents(api("clerk"), number)[0]
    url = document_page_url(number, "origin", doc["id"])
    form = [f for f in testapp.get(url + "@@versions").forms.values() if (f.action or "").endswith("@@versions")][0]
    res = form.submit(status=422)
    assert field_error(res, "file") == "请选择更正后的文件。"    # the version form has no text field
    assert len(document_json(api("clerk"), number, doc["id"])["versions"]) == 1


def test_inline_views_of_pdf_and_images(testapp, api):
    login(testapp, "clerk")
    number, _ = register_letter(testapp, pdf_bytes())
    form = filing_form(testapp.get(case_url(testapp, number) + "@@file"))
    form["kind"] = "evidence"
    form["file"] = webtest.Upload("现场照片.png", png_bytes(), "image/png")
    png_page = form.submit(status=303).follow()
    img = page(png_page).xpath('//div[contains(@class, "viewer-image")]/img/@src')[0]
    got = testapp.get(img)
    assert got.content_type == "image/png" and got.headers["Content-Disposition"].startswith("inline")
    assert got.body == png_bytes()
    pdf_doc = documents(api("clerk"), number)[0]
    pdf_page = testapp.get(document_page_url(number, "origin", pdf_doc["id"]))
    src = page(pdf_page).xpath('//iframe[contains(@class, "viewer-pdf")]/@src')[0]
    got = testapp.get(src)
    assert got.content_type == "application/pdf" and got.headers["Content-Disposition"].startswith("inline")
    # a TIFF is not shown inline by browsers: the page offers the download
    form = filing_form(testapp.get(case_url(testapp, number) + "@@file"))
    form["file"] = webtest.Upload("扫描.tif", tiff_bytes(), "image/tiff")
    tif_page = form.submit(status=303).follow()
    assert "此类文件无法在浏览器中预览" in tif_page.text
    assert testapp.get(tif_page.request.url + "@@inline").headers["Content-Disposition"].startswith("attachment")


# ---------------------------------------------------------------- case list

def test_case_list_filters_and_paging(testapp, api, app):
    clerk = api("clerk")
    made = []
    for i, (channel, district, year) in enumerate([("letter", "平桥区", 2024), ("online", "浉河区", 2025),
                                                    ("phone", "平桥区", 2025), ("letter", "息县", 2025),
                                                    ("letter", "平桥区", 2025)]):
        body = petition(channel=channel, district=district, received_at=f"{year}-0{i + 1}-10T09:00:00",
                        subject=f"事项{i}")
        if channel in ("online", "phone"):
            body["petitioners"][0]["id_number"] = ""
        made.append(clerk.post_json("/api/cases", body, status=201).json["number"])
    route(app, made[3], "411528")
    login(testapp, "clerk")

    def numbers(url):
        res = testapp.get(quote(url.replace("http://localhost:6543", ""), safe="/?=&%"))
        return res, [a.text for a in page(res).xpath('//table[contains(@class, "cases")]//td[@class="col-number"]/a')]

    res, got = numbers("/cases/")
    assert got == list(reversed(made))         # newest received first
    assert page(res).xpath('//*[@data-total]')[0].get("data-total") == "5"
    assert numbers("/cases/?channel=letter")[1] == [made[4], made[3], made[0]]
    assert numbers("/cases/?district=平桥区&year=2025")[1] == [made[4], made[2]]
    assert numbers("/cases/?unit=411528")[1] == [made[3]]
    assert numbers("/cases/?status=registered&year=2024")[1] == [made[0]]
    assert numbers("/cases/?status=closed")[1] == []
    assert "没有符合筛选条件的信访件" in testapp.get("/cases/?status=closed").text
    # paging keeps the filters
    res, first = numbers("/cases/?channel=letter&size=2")
    assert first == [made[4], made[3]]
    next_link = page(res).xpath('//a[@rel="next"]/@href')[0]
    assert "channel=letter" in next_link and "page=2" in next_link and "size=2" in next_link
    res, second = numbers(next_link)
    assert second == [made[0]]
    assert not page(res).xpath('//a[@rel="next"]')
    # nonsense in the query string is ignored, never a 500
    res, got = numbers("/cases/?page=abc&year=zzz&status=bogus&size=-4&unit=nope")
    assert len(got) == 5
    assert numbers("/cases/?page=99")[1] == []
    # the year bucket redirects to the list for that year
    assert testapp.get("/cases/2024/", status=303).location.endswith("/cases/?year=2024")


# ---------------------------------------------------------------- who may see and do what

def test_unit_user_sees_only_their_units_cases(testapp, api, app):
    clerk = api("clerk")
    mine = clerk.post_json("/api/cases", petition(subject="浉河区承办"), status=201).json["number"]
    other = clerk.post_json("/api/cases", petition(subject="平桥区承办"), status=201).json["number"]
    loose = clerk.post_json("/api/cases", petition(subject="尚未交办"), status=201).json["number"]
    route(app, mine, "411502")
    route(app, other, "411503")
    login(testapp, "unit")
    res = testapp.get("/cases/")
    assert mine in res.text and other not in res.text and loose not in res.text
    assert page(res).xpath('//*[@data-total]')[0].get("data-total") == "1"
    assert not page(res).xpath('//select[@name="unit"]')
    testapp.get(case_url(testapp, other), status=403)
    testapp.get(case_url(testapp, loose), status=403)
    doc = documents(clerk, other)[0]
    testapp.get(document_page_url(other, "origin", doc["id"]) + "@@download", status=403)
    testapp.get("/register", status=403)
    # their own case: open it, masked personal data, file a report
    case_page = testapp.get(case_url(testapp, mine))
    assert id_number(1) not in case_page.text
    assert "4115**********" in case_page.text and "138****0001" in case_page.text
    form = filing_form(case_page)
    form["kind"] = "handling_report"
    form["file"] = webtest.Upload("办结报告.pdf", pdf_bytes(), "application/pdf")
    form.submit(status=303)
    assert any(d["kind"] == "handling_report" for d in documents(clerk, mine))


def test_auditor_reads_everything_and_changes_nothing(testapp, api):
    number = api("clerk").post_json("/api/cases", petition(), status=201).json["number"]
    doc = documents(api("clerk"), number)[0]
    url = document_page_url(number, "origin", doc["id"])
    login(testapp, "auditor")
    assert number in testapp.get("/cases/").text
    case_page = testapp.get(case_url(testapp, number))
    # identity numbers masked until revealed with a purpose (casefiles.privacy)
    assert id_number(1) not in case_page.text and id_number(1)[:4] + "*" * 10 in case_page.text
    assert [f for f in case_page.forms.values() if "@@reveal" in (f.action or "")]
    assert not [f for f in case_page.forms.values() if "@@file" in (f.action or "")]
    assert "存入材料" not in page(case_page).xpath('//div[@class="page-head case-head"]')[0].text_content()
    doc_page = testapp.get(url)
    assert not [f for f in doc_page.forms.values() if (f.action or "").endswith("@@versions")]
    assert testapp.get(url + "@@download").body
    token = csrf(testapp)
    testapp.get(case_url(testapp, number) + "@@file", status=403)
    testapp.post(case_url(testapp, number) + "@@file", {"csrf_token": token, "kind": "other", "title": "x",
                                                         "text": "y"}, status=403)
    testapp.post(url + "@@versions", {"csrf_token": token}, upload_files=[("file", "a.pdf", pdf_bytes())],
                 status=403)
    testapp.get("/register", status=403)
    assert len(documents(api("clerk"), number)) == 1


def test_reviewer_opens_any_case_and_reads_every_document(testapp, api):
    number = api("clerk").post_json("/api/cases", petition(), status=201).json["number"]
    login(testapp, "reviewer")
    for doc in documents(api("clerk"), number):
        url = document_page_url(number, doc["folder"], doc["id"])
        assert testapp.get(url).status_int == 200
        assert testapp.get(url + "@@download").body


def test_analyst_sees_masked_personal_data(testapp, api):
    number = api("clerk").post_json("/api/cases", petition(), status=201).json["number"]
    login(testapp, "analyst")
    res = testapp.get(case_url(testapp, number))
    assert "王建国" in res.text and id_number(1) not in res.text and "13800000001" not in res.text


def test_posts_without_csrf_token_are_400(testapp, api):
    number = api("clerk").post_json("/api/cases", petition(), status=201).json["number"]
    login(testapp, "clerk")
    res = testapp.post("/register", {"channel": "letter", "subject": "x"}, status=400)
    assert "页面已过期" in res.text
    testapp.post(case_url(testapp, number) + "@@file", {"kind": "other", "title": "x", "text": "y"}, status=400)
    assert api("clerk").get("/api/cases").json["total"] == 1


def test_archived_case_has_no_filing_form_and_refuses_filing(testapp, api, app):
    number = api("clerk").post_json("/api/cases", petition(), status=201).json["number"]
    change(app, lambda site: setattr(site.cases.by_number(number), "status", "archived"))
    login(testapp, "clerk")
    case_page = testapp.get(case_url(testapp, number))
    assert not [f for f in case_page.forms.values() if "@@file" in (f.action or "")]
    res = testapp.post(case_url(testapp, number) + "@@file", {"csrf_token": csrf(testapp), "kind": "other",
                                                               "title": "x", "text": "y"}, status=409)
    assert "已归档" in res.text


def test_missing_things_are_404_not_500(testapp, api):
    number = api("clerk").post_json("/api/cases", petition(), status=201).json["number"]
    login(testapp, "clerk")
    testapp.get("/cases/2025/XY-2025-999999/", status=404)
    testapp.get(f"/cases/2025/{number}/nowhere/", status=404)
    testapp.get(f"/cases/2025/{number}/origin/nodoc/", status=404)
    testapp.get(f"/cases/{number}/", status=200)       # a case is also found by its number alone
    res = testapp.get("/register?channel=bogus")
    assert page(res).xpath('//a[contains(@class, "tab") and contains(@class, "active")]')[0].text == "来信"
