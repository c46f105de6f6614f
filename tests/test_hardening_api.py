"""Exact, truthful error answers of the JSON API outside intake: users, log-in and log-out,
the calendar, the case list's filters, the audit trail's paging, reveals and file downloads."""
import io
import os
import sys
from urllib.parse import quote

import pytest

from .support import PASSWORD, close_app, make_app, open_site, pdf_bytes, petition

NEW_USER = {"username": "zhangsan", "password": "first-pass-9", "roles": ["clerk"], "name": "张三"}


def patch(testapp, client, url, body, status=200):
    return testapp.patch_json(url, body, headers=client.headers, status=status)


def error_of(res, status, code=None):
    assert res.status_int == status
    body = res.json
    assert set(body) == {"error", "message", "fields"}
    if code:
        assert body["error"] == code
    return body


def usernames(api):
    return {u["username"] for u in api("admin").get("/api/users").json["users"]}


# --- 1. users: unit, roles, one username rule ------------------------------------------------------

def test_patch_with_an_unknown_unit_is_422_on_unit(api, testapp):
    res = patch(testapp, api("admin"), "/api/users/reviewer", {"unit": "NOPE"}, status=422)
    body = error_of(res, 422, "invalid")
    assert "NOPE" in body["fields"]["unit"]
    user = api("admin").get("/api/users/reviewer").json
    assert user["unit"] is None and user["roles"] == ["reviewer"]
    # a known unit is accepted (and, for a user who is not a unit user, not kept)
    assert patch(testapp, api("admin"), "/api/users/reviewer", {"unit": "411502"}).json["unit"] is None
    # a unit user's stored unit is not refused when it is not sent again
    assert patch(testapp, api("admin"), "/api/users/unit", {"name": "单位用户"}).json["unit"] == "411502"


def test_create_with_an_unknown_unit_is_refused_whatever_the_roles(api):
    res = api("admin").post_json("/api/users", dict(NEW_USER, unit="NOPE"), status=422)
    assert "NOPE" in error_of(res, 422)["fields"]["unit"]
    assert "zhangsan" not in usernames(api)


@pytest.mark.parametrize("roles", ["clerk", {"clerk": True}, 1, [1], ["clerk", None]])
def test_roles_must_be_a_list_of_names(api, testapp, roles):
    res = api("admin").post_json("/api/users", dict(NEW_USER, roles=roles), status=422)
    message = error_of(res, 422)["fields"]["roles"]
    assert "列表" in message
    assert "zhangsan" not in usernames(api)
    res = patch(testapp, api("admin"), "/api/users/analyst", {"roles": roles}, status=422)
    assert "列表" in res.json["fields"]["roles"]
    assert api("admin").get("/api/users/analyst").json["roles"] == ["analyst"]


def test_unknown_roles_are_named(api, testapp):
    res = api("admin").post_json("/api/users", dict(NEW_USER, roles=["clerk", "boss"]), status=422)
    message = error_of(res, 422)["fields"]["roles"]
    assert "boss" in message and "clerk" in message and "assigner" in message
    res = patch(testapp, api("admin"), "/api/users/analyst", {"roles": ["boss"]}, status=422)
    assert "boss" in res.json["fields"]["roles"]
    assert "zhangsan" not in usernames(api)


def test_chinese_usernames_are_allowed_and_the_message_says_so(api, testapp):
    admin = api("admin")
    created = admin.post_json("/api/users", dict(NEW_USER, username="新用户"), status=201).json
    assert created["username"] == "新用户"
    res = testapp.post_json("/api/login", {"username": "新用户", "password": NEW_USER["password"]})
    assert res.json["user"]["username"] == "新用户"
    assert admin.get("/api/users/%E6%96%B0%E7%94%A8%E6%88%B7").json["username"] == "新用户"
    # the refusal names every kind of character the rule allows
    message = error_of(admin.post_json("/api/users", dict(NEW_USER, username="a b"), status=422),
                       422)["fields"]["username"]
    assert "汉字" in message and "字母" in message and "数字" in message


@pytest.mark.parametrize("username", ["a b", "ｃｌｅｒｋ", "clérk", "клерк", "-", "...", "a/b",
                                      "\uf900x", "x\u200bx"])
def test_other_characters_are_refused_by_one_rule(api, username):
    res = api("admin").post_json("/api/users", dict(NEW_USER, username=username), status=422)
    assert "汉字" in error_of(res, 422)["fields"]["username"]
    assert username not in usernames(api)


def _form_create(testapp, username):
    from .test_admin import form_login
    form_login(testapp, "admin")
    page = testapp.get("/admin/users/new")
    form = [f for f in page.forms.values() if (f.action or "").endswith("/admin/users/new")][0]
    form["username"], form["password"] = username, "first-pass-9"
    form.get("roles", index=0).checked = True
    return form.submit(status="*")


def test_the_admin_form_applies_the_same_rule(app, testapp):
    assert _form_create(testapp, "王五").status_int == 303
    refused = _form_create(testapp, "a b")
    assert refused.status_int == 422 and "汉字" in refused.text
    conn, site = open_site(app)
    try:
        assert "王五" in site.users and "a b" not in site.users
    finally:
        conn.close()


def test_adduser_applies_the_same_rule(var, monkeypatch, capsys):
    from cli import adduser
    config = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "development.ini")
    monkeypatch.setenv("CASEFILES_VAR", str(var))
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-password\n"))
    assert adduser.main([config, "新用户", "--role", "clerk"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-password\n"))
    assert adduser.main([config, "a b", "--role", "clerk"]) == 2
    assert "汉字" in capsys.readouterr().err
    app = make_app(var)
    try:
        conn, site = open_site(app)
        assert "新用户" in site.users and "a b" not in site.users
        conn.close()
    finally:
        close_app(app)


# --- 2. messages that say what is wrong ------------------------------------------------------------

@pytest.mark.parametrize("username, says, never", [
    ("", "不能为空", "应为文字"),
    ("   ", "请填写用户名", "应为文字"),
    ("x" * 1000, "最多 64 个字符", "应为文字"),
    (123, "应为文字", "为空"),
    (["x"], "应为文字", "为空"),
])
def test_create_user_username_messages(api, username, says, never):
    body = dict(NEW_USER, username=username)
    res = api("admin").post_json("/api/users", body, status=422)
    message = error_of(res, 422, "invalid")["fields"]["username"]
    assert says in message and never not in message


def test_create_user_missing_username_is_required(api):
    body = {k: v for k, v in NEW_USER.items() if k != "username"}
    message = error_of(api("admin").post_json("/api/users", body, status=422), 422)["fields"]["username"]
    assert "必填" in message


def test_change_password_with_values_of_the_wrong_type(api):
    client = api("reviewer")
    res = client.post_json("/api/me/password", {"old": 1, "new": []}, status=422)
    fields = error_of(res, 422, "invalid")["fields"]
    assert "应为文字" in fields["old"] and "应为文字" in fields["new"]
    assert "8" not in fields["new"]
    res = client.post_json("/api/me/password", {"old": PASSWORD, "new": {"x": 1}}, status=422)
    assert "应为文字" in res.json["fields"]["new"]
    client.get("/api/me")     # nothing changed: the token still works
    # a wrong type is not a guess of the password: it does not lock the account
    for _i in range(6):
        client.post_json("/api/me/password", {"old": 12345678, "new": "another-pass-1"}, status=422)
    client.post_json("/api/me/password", {"old": PASSWORD, "new": "another-pass-1"})


def test_admin_password_reset_with_a_number_says_text(api):
    res = api("admin").post_json("/api/users/clerk/password", {"password": 123456789}, status=422)
    assert "应为文字" in res.json["fields"]["password"]


def test_domain_password_rule_says_text_for_a_non_text_password():
    from casefiles.users import User
    assert "must be text" in User("x", ["clerk"]).password_problem(["a-long-password"]).default


@pytest.mark.parametrize("body, field", [({"username": ["clerk"], "password": PASSWORD}, "username"),
                                         ({"username": "clerk", "password": 12345678}, "password")])
def test_login_with_a_value_that_is_not_text(testapp, body, field):
    res = testapp.post_json("/api/login", body, status=400)
    fields = error_of(res, 400, "bad_request")["fields"]
    assert list(fields) == [field] and "应为文字" in fields[field]
    assert "required" not in res.text


def test_login_with_missing_fields_says_required_in_chinese(testapp):
    res = testapp.post_json("/api/login", {}, status=400)
    fields = error_of(res, 400, "bad_request")["fields"]
    assert set(fields) == {"username", "password"}
    assert all("必填" in v for v in fields.values()) and "required" not in res.text


def test_audit_page_out_of_range_says_so(api):
    auditor = api("auditor")
    res = auditor.get("/api/audit?page=99999999", status=422)
    message = error_of(res, 422, "invalid")["fields"]["page"]
    assert "1000000" in message and "正整数" not in message
    for page in ("9" * 5000, "0000000001000001"):
        assert "1000000" in auditor.get(f"/api/audit?page={page}", status=422).json["fields"]["page"]
    for page in ("0", "-1", "x", "²", "١"):
        assert "正整数" in auditor.get(f"/api/audit?page={quote(page)}", status=422).json["fields"]["page"]
    assert auditor.get("/api/audit?page=1000000").json["entries"] == []


def _register(api):
    return api("clerk").post_json("/api/cases", petition(), status=201).json["number"]


@pytest.mark.parametrize("purpose", [123, ["x"], {"x": "y"}, True])
def test_reveal_with_a_purpose_that_is_not_text(api, purpose):
    number = _register(api)
    res = api("supervisor").post_json(f"/api/cases/{number}/reveal", {"purpose": purpose}, status=422)
    assert "应为文字" in error_of(res, 422, "invalid")["fields"]["purpose"]


def test_reveal_without_a_purpose_still_asks_for_one(api):
    number = _register(api)
    res = api("supervisor").post_json(f"/api/cases/{number}/reveal", {}, status=422)
    assert "应为文字" not in res.json["fields"]["purpose"]


# --- 3. log-out without a token ------------------------------------------------------------------------

def test_logout_without_a_token_is_401(testapp):
    error_of(testapp.post_json("/api/logout", {}, status=401), 401, "unauthorized")
    error_of(testapp.post("/api/logout", status=401), 401, "unauthorized")
    error_of(testapp.post_json("/api/logout", {}, headers={"Authorization": "Bearer not-a-token"}, status=401),
             401, "unauthorized")


def test_logout_twice_is_401_the_second_time(api):
    client = api("clerk")
    assert client.post_json("/api/logout", {}).json == {"revoked": True}
    error_of(client.post_json("/api/logout", {}, status=401), 401, "unauthorized")


def test_a_browser_session_posting_logout_still_needs_the_csrf_token(testapp):
    from .test_admin import form_login
    form_login(testapp, "clerk")
    error_of(testapp.post_json("/api/logout", {}, status=400), 400, "csrf")
    testapp.get("/api/me")      # the session goes on


# --- 4. the calendar's years -------------------------------------------------------------------------

@pytest.mark.parametrize("year", ["-1", "0", "1999", "2101", "99999999", "9" * 500])
def test_calendar_years_outside_the_range_are_refused_for_get_as_for_post(api, year):
    res = api("clerk").get(f"/api/calendar/{year}", status=422)
    body = error_of(res, 422, "invalid")
    assert "2000" in body["fields"]["year"]
    posted = api("admin").post_json(f"/api/calendar/{year}", {"holidays": ["2025-01-01"]}, status=422)
    assert posted.json["error"] == body["error"] and posted.json["fields"] == body["fields"]


def test_calendar_year_that_is_not_a_number_is_400(api):
    for year in ("abc", "20x5", "+-5", "2_025"):
        res = api("clerk").get(f"/api/calendar/{year}", status=400)
        assert "year" in error_of(res, 400, "bad_request")["fields"]


def test_calendar_years_in_range_answer(api):
    for year in ("2000", "2025", "2100"):
        assert api("clerk").get(f"/api/calendar/{year}").json["year"] == int(year)


# --- 5. the case list's status filter -----------------------------------------------------------------

def test_cases_status_filter_takes_the_ui_groups(api, app):
    number = _register(api)
    clerk = api("clerk")
    assert [c["number"] for c in clerk.get("/api/cases?status=open").json["cases"]] == [number]
    assert clerk.get("/api/cases?status=done").json["total"] == 0
    assert clerk.get("/api/cases?status=registered").json["total"] == 1
    assert clerk.get("/api/cases?status=closed").json["total"] == 0


@pytest.mark.parametrize("value", ["bogus", "unauthorized", "OPEN"])
def test_cases_unknown_status_echoes_the_value_and_the_choices(api, value):
    res = api("clerk").get(f"/api/cases?status={value}", status=400)
    message = error_of(res, 400, "bad_request")["fields"]["status"]
    assert f"“{value}”" in message or f'"{value}"' in message
    for accepted in ("open", "done", "registered", "closed"):
        assert accepted in message
    assert "请先登录" not in message      # "unauthorized" is a message id: never translated here


def test_list_parameters_report_messages_not_the_raw_value(api):
    res = api("clerk").get("/api/cases?page=unauthorized", status=400)
    message = error_of(res, 400, "bad_request")["fields"]["page"]
    assert "整数" in message and "请先登录" not in message
    res = api("clerk").get("/api/cases?page=" + "9" * 5000, status=400)
    assert "100000" in res.json["fields"]["page"]
    res = api("clerk").get("/api/cases?channel=unauthorized", status=400)
    assert "letter" in res.json["fields"]["channel"]


# --- 6. file downloads advertise ranges ---------------------------------------------------------------

def test_file_download_sends_accept_ranges_on_200_and_206(api):
    number = _register(api)
    clerk = api("clerk")
    data = pdf_bytes("调查笔录")
    doc = clerk.post(f"/api/cases/{number}/documents", {"kind": "investigation", "title": "调查笔录"},
                     upload_files=[("file", "调查笔录.pdf", data)], status=201).json
    url = f"/api/cases/{number}/documents/{doc['id']}/file"
    whole = clerk.get(url)
    assert whole.status_int == 200 and whole.headers["Accept-Ranges"] == "bytes" and whole.body == data
    part = clerk.testapp.get(url, headers=dict(clerk.headers, Range="bytes=0-9"), status=206)
    assert part.body == data[:10] and part.headers["Accept-Ranges"] == "bytes"


def test_uncommitted_blob_response_honours_ranges_too():
    """The fallback (a blob not yet committed to a file) answers a Range as it advertises."""
    from types import SimpleNamespace
    from pyramid.testing import DummyRequest
    from webob import Request
    from views.files import file_response
    data = b"0123456789abcdef"
    blob = SimpleNamespace(_p_blob_committed=None)
    version = SimpleNamespace(blob=blob, media_type="application/pdf", read=lambda: data, filename="a.pdf",
                              sha256="x")
    response = file_response(DummyRequest(), SimpleNamespace(current=version))
    assert response.headers["Accept-Ranges"] == "bytes"
    got = Request.blank("/", headers={"Range": "bytes=2-5"}).get_response(response)
    assert got.status_int == 206 and got.body == b"2345"


# --- 7. other field messages of views/api.py -----------------------------------------------------------

def test_two_files_for_one_document_says_so_in_the_field(api):
    number = _register(api)
    res = api("clerk").post(f"/api/cases/{number}/documents", {"kind": "evidence"},
                            upload_files=[("file", "a.pdf", pdf_bytes("一")), ("file", "b.pdf", pdf_bytes("二"))],
                            status=400)
    fields = error_of(res, 400)["fields"]
    assert fields["file"] != "one" and fields["file"] == res.json["message"]


def test_unknown_version_reports_a_message(api):
    number = _register(api)
    clerk = api("clerk")
    doc = clerk.post(f"/api/cases/{number}/documents", {"kind": "evidence", "title": "证据"},
                     upload_files=[("file", "a.pdf", pdf_bytes("一"))], status=201).json
    url = f"/api/cases/{number}/documents/{doc['id']}/file"
    res = clerk.get(url + "?version=7", status=404)
    assert res.json["fields"]["version"] == res.json["message"]
    res = clerk.get(url + "?version=unauthorized", status=400)
    assert "整数" in res.json["fields"]["version"]
    clerk.get(url + "?version=" + "9" * 5000, status=400)


def test_the_shared_text_helper():
    from casefiles.errors import ValidationError
    from views.errors import APIError
    from views.fields import text_field, text_fields
    assert text_fields({"a": "x", "b": "y"}, "a", "b", required=True) == ["x", "y"]
    assert text_field({}, "a") is None
    with pytest.raises(ValidationError) as e:
        text_fields({"a": 1, "b": ""}, "a", "b", "c", required=True)
    assert set(e.value.fields) == {"a", "b", "c"}
    with pytest.raises(APIError) as e:
        text_field({"a": "xyz"}, "a", max_length=2, status=400)
    assert e.value.status == 400 and e.value.fields["a"].default.startswith("The field ${name} has at most")



def test_due_filters_answer_with_a_message_not_the_value_sent(api):
    clerk = api("clerk")
    res = clerk.get("/api/cases?overdue=maybe", status=400).json
    assert res["fields"]["overdue"] == res["message"] and "maybe" not in res["fields"]["overdue"]
    for within in ("%EF%BC%95", "abc", "99999"):    # a full-width 5, not text, too far
        res = clerk.get(f"/api/cases?due_within={within}", status=400).json
        assert res["fields"]["due_within"] == res["message"] and "3650" in res["message"]
    assert clerk.get("/api/cases?due_within=5").json["total"] == 0
