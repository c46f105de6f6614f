"""Hardening of multipart uploads and the web forms (findings of the exploratory test):
file parts without a plain ``filename``, single-valued fields sent twice, the version form's
message, precise size messages, GBK and UTF-16 text files, files kept across a refused
registration, input attributes, the link chosen in the similar-cases panel, ID numbers typed
with spaces, the case list's bad parameters."""
import re
from urllib.parse import quote

import lxml.html
import pytest
import webtest

from casefiles.documents import Upload, sniff, too_large_message

from .support import API, add_users, close_app, id_number, make_app, pdf_bytes, petition

BOUNDARY = "----hardeningforms7d3a"


def multipart(parts):
    """(content type, body) of a multipart form from (headers line, bytes) pairs, written by
    hand so that the Content-Disposition is exactly as given."""
    out = []
    for disposition, data, *ctype in parts:
        out.append(f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode())
        if ctype:
            out.append(f"Content-Type: {ctype[0]}\r\n".encode())
        out.append(b"\r\n" + (data.encode("utf-8") if isinstance(data, str) else data) + b"\r\n")
    out.append(f"--{BOUNDARY}--\r\n".encode())
    return f"multipart/form-data; boundary={BOUNDARY}", b"".join(out)


def post_raw(client, url, parts, status):
    ctype, body = multipart(parts)
    headers = dict(client.headers, **{"Content-Type": ctype})
    return client.testapp.request(url, method="POST", body=body, headers=headers, status=status)


def data_part(**overrides):
    import json
    return ('form-data; name="data"', json.dumps(petition(**overrides), ensure_ascii=False), "application/json")


def documents(client, number):
    case = client.get(f"/api/cases/{number}").json
    return [d for folder in case["folders"] for d in folder["documents"]]


def register(client, **overrides):
    return client.post_json("/api/cases", petition(**overrides), status=201).json["number"]


def html(res):
    return lxml.html.fromstring(res.text)


def login(testapp, username="clerk"):
    testapp.reset()
    form = testapp.get("/login").forms[0]
    form["username"] = username
    form["password"] = "secret-pass-1"
    form.submit(status=303)


# ---------------------------------------------------------------- 1. file parts without a filename

def test_file_part_without_filename_is_filed_not_dropped(api):
    clerk = api("clerk")
    pdf = pdf_bytes("无文件名的扫描件")
    res = post_raw(clerk, "/api/cases", [data_part(), ('form-data; name="file"', pdf, "application/pdf")], 201)
    docs = documents(clerk, res.json["number"])
    scans = [d for d in docs if d["media_type"] == "application/pdf"]
    assert len(scans) == 1, docs
    assert scans[0]["filename"] == "附件.pdf"       # named by its type
    got = clerk.get(f"/api/cases/{res.json['number']}/documents/{scans[0]['id']}/file")
    assert got.body == pdf


def test_file_part_with_only_rfc5987_filename_keeps_its_name(api):
    clerk = api("clerk")
    pdf = pdf_bytes()
    res = post_raw(clerk, "/api/cases", [
        data_part(), ("form-data; name=\"file\"; filename*=UTF-8''%E6%9D%A5%E4%BF%A1.pdf", pdf, "application/pdf")], 201)
    names = {d["filename"]: d["media_type"] for d in documents(clerk, res.json["number"])}
    assert names.get("来信.pdf") == "application/pdf", names


def test_rfc2231_continuations_and_plain_filename(api):
    clerk = api("clerk")
    number = register(clerk)
    encoded = quote("信访材料（第二页）.pdf", safe="")
    half = len(encoded) // 2
    res = post_raw(clerk, f"/api/cases/{number}/documents", [
        ('form-data; name="kind"', "evidence"),
        (f"form-data; name=\"file\"; filename*0*=UTF-8''{encoded[:half]}; filename*1*={encoded[half:]}",
         pdf_bytes(), "application/pdf")], 201)
    assert res.json["filename"] == "信访材料（第二页）.pdf"
    names = [d["filename"] for d in documents(clerk, number)]
    assert "信访材料（第二页）.pdf" in names


def test_documents_and_versions_take_a_file_part_without_filename(api):
    clerk = api("clerk")
    number = register(clerk)
    res = post_raw(clerk, f"/api/cases/{number}/documents", [
        ('form-data; name="kind"', "evidence"), ('form-data; name="file"', pdf_bytes("证据"))], 201)
    doc = res.json
    assert doc["title"] and any(d["media_type"] == "application/pdf" and d["id"] == doc["id"]
                                for d in documents(clerk, number))
    post_raw(clerk, f"/api/cases/{number}/documents/{doc['id']}/versions",
             [('form-data; name="file"', pdf_bytes("更正"))], 201)
    again = clerk.get(f"/api/cases/{number}/documents/{doc['id']}").json
    assert len(again["versions"]) == 2


# ---------------------------------------------------------------- 2. single-valued fields sent twice

def test_data_sent_twice_is_400_naming_the_field(api):
    clerk = api("clerk")
    res = post_raw(clerk, "/api/cases", [data_part(), data_part(subject="另一个事由")], 400)
    assert "data" in res.json["fields"]
    assert "data" in res.json["message"] and re.search(r"[\u4e00-\u9fff]", res.json["message"])
    assert clerk.get("/api/cases").json["total"] == 0


def test_title_sent_twice_is_400_and_files_nothing(api):
    clerk = api("clerk")
    number = register(clerk)
    before = len(documents(clerk, number))
    res = post_raw(clerk, f"/api/cases/{number}/documents", [
        ('form-data; name="title"', "甲"), ('form-data; name="title"', "乙"),
        ('form-data; name="file"; filename="a.pdf"', pdf_bytes())], 400)
    assert list(res.json["fields"]) == ["title"]
    assert len(documents(clerk, number)) == before


# ---------------------------------------------------------------- 3. the version form's message

def test_version_form_without_a_file_asks_for_the_corrected_file(testapp, api):
    clerk = api("clerk")
    number = register(clerk)
    doc = documents(clerk, number)[0]
    login(testapp)
    url = f"/cases/{number[3:7]}/{number}/{doc['folder']}/{doc['id']}/@@versions"
    form = [f for f in testapp.get(url).forms.values() if (f.action or "").endswith("@@versions")][0]
    res = form.submit(status=422)
    text = html(res).text_content()
    assert "请选择更正后的文件" in text
    assert "填写文本" not in text
    api_res = clerk.post(f"/api/cases/{number}/documents/{doc['id']}/versions", {"note": "x"}, status=422)
    assert "填写文本" not in api_res.json["message"]


# ---------------------------------------------------------------- 4. sizes said precisely

def test_size_one_byte_over_the_limit_is_said_in_bytes():
    limit = 50 * 1048576
    message = too_large_message("扫描.pdf", limit + 1, limit)
    assert message.mapping["size"] == "52,428,801" and message.mapping["limit"] == "52,428,800"
    far = too_large_message("扫描.pdf", 60_000_000, limit)
    assert far.mapping["size"] == "57.2" and far.mapping["limit"] == "50"


def test_upload_one_byte_over_the_limit_says_so(tmp_path):
    app = make_app(tmp_path / "var", **{"casefiles.max_upload_bytes": str(1048576)})
    try:
        add_users(app, [("clerk", ["clerk"], None)])
        clerk = API(webtest.TestApp(app), "clerk")
        number = register(clerk)
        data = b"%PDF-1.4\n" + b"0" * (1048577 - 9)
        res = clerk.post(f"/api/cases/{number}/documents", {"kind": "evidence"},
                         upload_files=[("file", "大.pdf", data)], status=413)
        assert "1,048,577" in res.json["message"] and "1,048,576" in res.json["message"], res.json["message"]
        assert "1.0 MB" not in res.json["message"]
    finally:
        close_app(app)


# ---------------------------------------------------------------- 5. GBK and UTF-16 text files

TEXTS = [
    ("gbk.txt", "信访人反映：补偿款未足额发放。\r\n请求依法处理。\r\n".encode("gbk"), "gb18030"),
    ("utf16.txt", "信访人反映：补偿款未足额发放。\r\n".encode("utf-16"), "utf-16"),
    ("utf16be.txt", b"\xfe\xff" + "来信内容：道路维修".encode("utf-16-be"), "utf-16"),
    ("bom.txt", "来信内容".encode("utf-8-sig"), "utf-8"),
]


@pytest.mark.parametrize("name,data,charset", TEXTS, ids=[t[0] for t in TEXTS])
def test_chinese_text_files_are_accepted_kept_and_served_in_their_charset(testapp, api, name, data, charset):
    clerk = api("clerk")
    number = register(clerk)
    doc = clerk.post(f"/api/cases/{number}/documents", {"kind": "evidence", "title": "文本材料"},
                     upload_files=[("file", name, data)], status=201).json
    assert doc["media_type"] == "text/plain"
    got = clerk.get(f"/api/cases/{number}/documents/{doc['id']}/file")
    assert got.body == data                                  # byte-identical
    assert got.headers["Content-Type"].lower() == f"text/plain; charset={charset}"
    login(testapp)
    page = testapp.get(f"/cases/{number[3:7]}/{number}/origin/{doc['id']}/")
    assert "补偿款未足额发放" in page.text or "来信内容" in page.text


def test_binary_is_still_not_text():
    import os
    assert sniff(bytes(range(128, 256)) * 20) == "application/octet-stream"
    assert sniff(b"\x81\x30\x01\x02" * 100) == "application/octet-stream"    # control bytes: not GB18030 text
    assert sniff("<html><script>x</script>".encode("utf-16")) == "text/html"   # markup in UTF-16 is still markup
    assert Upload.from_bytes("a.txt", "中文".encode("gbk") * 5000).media_type == "text/plain"   # cut mid-character
    assert sniff(os.urandom(4096) + b"\x00") == "application/octet-stream"


# ---------------------------------------------------------------- 6. files kept across a refused registration

def intake_fields(token, **over):
    fields = {"csrf_token": token, "channel": "letter", "received_at": "2025-03-01 09:30", "subject": "来信附扫描件",
              "district": "平桥区", "petition_type": "complaint", "primary": "0", "content": "请求处理补偿款问题。",
              "petitioners.0.name": "王建国", "petitioners.0.id_number": id_number(1)}
    fields.update(over)
    return fields


def test_files_are_kept_after_a_refused_registration_and_filed_on_resubmit(testapp, api):
    login(testapp)
    token = testapp.get("/register").forms["intake-form"]["csrf_token"].value
    scan, other = pdf_bytes("来信扫描件"), pdf_bytes("附件二")
    bad = id_number(1)[:-1] + ("0" if id_number(1)[-1] != "0" else "1")
    res = testapp.post("/register", intake_fields(token, **{"petitioners.0.id_number": bad}),
                       upload_files=[("files", "扫描件.pdf", scan), ("files", "附件二.pdf", other)], status=422)
    doc = html(res)
    kept = doc.xpath('//div[@id="pending-files"]//span[@class="filename"]/text()')
    assert kept == ["扫描件.pdf", "附件二.pdf"]
    assert "已附" in doc.xpath('//div[@id="pending-files"]')[0].text_content()
    pending = doc.xpath('//input[@name="pending"]/@value')[0]
    remove_second = doc.xpath('//li[span="附件二.pdf"]//input[@name="pending_remove"]/@value')[0]
    # corrected and sent again without choosing the files again; the second one removed
    res = testapp.post("/register", intake_fields(token, pending=pending, pending_remove=remove_second), status=303)
    number = re.search(r"XY-\d{4}-\d{6}", res.location).group(0)
    docs = documents(api("clerk"), number)
    pdfs = [d for d in docs if d["media_type"] == "application/pdf"]
    assert [d["filename"] for d in pdfs] == ["扫描件.pdf"]
    assert api("clerk").get(f"/api/cases/{number}/documents/{pdfs[0]['id']}/file").body == scan
    # the kept files are gone once filed: the same form sent again is refused, not registered
    # without the files it lists
    before = api("clerk").get("/api/cases").json["total"]
    res = testapp.post("/register", intake_fields(token, pending=pending, subject="另一封来信"), status=422)
    assert "重新选择" in html(res).xpath('//*[@id="f-files-error"]')[0].text_content()
    assert api("clerk").get("/api/cases").json["total"] == before


def test_kept_files_belong_to_their_session(app, testapp, api):
    login(testapp)
    token = testapp.get("/register").forms["intake-form"]["csrf_token"].value
    res = testapp.post("/register", intake_fields(token, subject=""),
                       upload_files=[("files", "扫描件.pdf", pdf_bytes())], status=422)
    pending = html(res).xpath('//input[@name="pending"]/@value')[0]
    before = api("clerk").get("/api/cases").json["total"]
    for username in ("clerk", "admin"):     # the same user in another session; another user
        other = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543"})
        login(other, username)
        token2 = other.get("/register").forms["intake-form"]["csrf_token"].value
        res = other.post("/register", intake_fields(token2, pending=pending), status=422)
        assert html(res).xpath('//*[@id="f-files-error"]')
        assert api("clerk").get("/api/cases").json["total"] == before
    # ... and neither removed the files: their own session still files them
    res = testapp.post("/register", intake_fields(token, pending=pending), status=303)
    number = re.search(r"XY-\d{4}-\d{6}", res.location).group(0)
    assert [d["filename"] for d in documents(api("clerk"), number) if d["media_type"] == "application/pdf"] \
        == ["扫描件.pdf"]


# ---------------------------------------------------------------- 7. input attributes escaped once

def test_extra_input_attributes_are_real_attributes(testapp):
    login(testapp)
    res = testapp.get("/register?channel=visit")
    assert "&quot;" not in res.text and "&#34;numeric" not in res.text
    received = html(res).xpath('//input[@name="received_at"]')[0]
    assert received.get("inputmode") == "numeric" and received.get("autocomplete") == "off"
    size = html(res).xpath('//input[@name="group_size"]')[0]
    assert size.get("min") == "0" and size.get("max") == "100000"


# ---------------------------------------------------------------- 8. a bad link is shown where it can be corrected

def test_bad_link_into_is_marked_on_a_visible_field(testapp):
    login(testapp)
    token = testapp.get("/register").forms["intake-form"]["csrf_token"].value
    res = testapp.post("/register", intake_fields(token, link_type="join", link_into="XY-2025-999999"), status="*")
    assert res.status_int >= 400
    doc = html(res)
    field = doc.xpath('//input[@id="f-link_into"]')[0]
    assert field.get("type") in (None, "text") and field.get("value") == "XY-2025-999999"
    assert field.get("aria-invalid") == "true"
    error = doc.xpath('//*[@id="f-link_into-error"]')[0].text_content().strip()
    assert error
    assert doc.xpath('//select[@name="link_type"]/option[@selected]/@value') == ["join"]
    assert len(doc.xpath('//*[@name="link_into"]')) == 1      # one field: the hidden one is not sent as well


# ---------------------------------------------------------------- 9. ID numbers typed with spaces

def test_id_number_input_takes_the_spaced_form_and_lookup_ignores_spaces(testapp, api):
    clerk = api("clerk")
    register(clerk)
    login(testapp)
    field = html(testapp.get("/register")).xpath('//input[@name="petitioners.0.id_number"]')[0]
    spaced = " ".join(re.findall(r".{1,4}", id_number(1)))        # 4115 0219 7506 0100 1X
    assert len(spaced) == 22 and int(field.get("maxlength")) >= len(spaced)
    found = clerk.get("/api/petitioners", params={"id_number": spaced}).json
    assert found["petitioner"] and found["petitioner"]["name"] == "王建国" and len(found["cases"]) == 1


# ---------------------------------------------------------------- 11. the case list's bad parameters

def test_case_list_page_beyond_the_end_says_so(testapp, api):
    register(api("clerk"))
    login(testapp)
    res = testapp.get("/cases/?page=999999")
    doc = html(res)
    beyond = doc.xpath('//div[contains(@class, "list-beyond")]')
    assert beyond and "999999" in beyond[0].text_content()
    assert not doc.xpath('//table[contains(@class, "cases")]//tbody/tr')      # not page 1 in disguise
    assert doc.xpath('//div[contains(@class, "list-beyond")]//a/@href')[0].endswith("page=1")


def test_case_list_unknown_status_is_reported(testapp, api):
    register(api("clerk"))
    login(testapp)
    doc = html(testapp.get("/cases/?status=foo"))
    problems = [p.text_content() for p in doc.xpath('//div[contains(@class, "list-problem")]')]
    assert problems and "foo" in problems[0] and "status" in problems[0]
    assert not html(testapp.get("/cases/?status=open")).xpath('//div[contains(@class, "list-problem")]')


def test_a_utf16_text_file_is_read_in_the_encoding_found_when_filed(app, api):
    """What reads a text file's text (the page's preview, the archive dossier) reads it in the
    encoding found when it was filed."""
    from casefiles.documents import decode_text
    clerk = api("clerk")
    number = register(clerk)
    data = "调查笔录：补偿款已于三月发放。".encode("utf-16")
    doc = clerk.post(f"/api/cases/{number}/documents", {"kind": "evidence", "title": "笔录"},
                     upload_files=[("file", "笔录.txt", data)], status=201).json
    from .support import open_site
    conn, site = open_site(app)
    try:
        version = [d for d in site.cases.by_number(number).documents() if d.id == doc["id"]][0].current
        assert version.charset == "utf-16"
        assert version.text() == "调查笔录：补偿款已于三月发放。"
        assert decode_text(data, version.charset) == version.text()
    finally:
        conn.close()


def test_files_of_a_form_abandoned_over_a_day_ago_are_removed(app, testapp):
    import os
    import time
    login(testapp)
    token = testapp.get("/register").forms["intake-form"]["csrf_token"].value
    testapp.post("/register", intake_fields(token, subject=""), upload_files=[("files", "扫描件.pdf", pdf_bytes())],
                 status=422)
    root = os.path.join(app.registry.settings["casefiles.var"], "pending")
    abandoned, = os.listdir(root)
    old = time.time() - 2 * 24 * 3600
    os.utime(os.path.join(root, abandoned, "meta.json"), (old, old))
    testapp.post("/register", intake_fields(token, subject="另一封来信"), status=303)   # a later registration
    assert os.listdir(root) == []
