"""Logging in and out of the JSON API, tokens, and what each role may do."""
import datetime

from .support import API, PASSWORD, ROLES, open_site, petition


def _error(res, status, code=None):
    assert res.status_int == status
    assert res.content_type == "application/json"
    body = res.json
    assert set(body) == {"error", "message", "fields"}
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    if code:
        assert body["error"] == code
    return body


def _has_chinese(text):
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_login_returns_token_and_user(testapp):
    res = testapp.post_json("/api/login", {"username": "clerk", "password": PASSWORD})
    assert res.status_int == 200
    assert isinstance(res.json["token"], str) and len(res.json["token"]) >= 32
    assert res.json["user"]["username"] == "clerk"
    assert res.json["user"]["roles"] == ["clerk"]
    me = testapp.get("/api/me", headers={"Authorization": f"Bearer {res.json['token']}"})
    assert me.json["username"] == "clerk" and me.json["roles"] == ["clerk"]


def test_unit_user_login_names_the_unit(testapp):
    res = testapp.post_json("/api/login", {"username": "unit", "password": PASSWORD})
    assert res.json["user"]["roles"] == ["unit"]
    assert res.json["user"]["unit"] == "411502"


def test_bad_credentials_are_401(testapp):
    for body in ({"username": "clerk", "password": "wrong-password"},
                 {"username": "nobody", "password": PASSWORD},
                 {"username": "CLERK", "password": PASSWORD}):
        res = testapp.post_json("/api/login", body, status=401)
        assert _has_chinese(_error(res, 401, "unauthorized")["message"])
        assert "token" not in res.json


def test_malformed_or_mistyped_login_is_400(testapp):
    for raw in (b"", b"not json", b"[1, 2]", b'{"username": "clerk"', b'"clerk"', b"\xff\xfe"):
        res = testapp.post("/api/login", raw, headers={"Content-Type": "application/json"}, status=400)
        _error(res, 400, "bad_json")
    for body in ({"username": "clerk"}, {"username": ["clerk"], "password": PASSWORD},
                 {"username": "clerk", "password": 12345678}, {"username": "", "password": ""}):
        _error(testapp.post_json("/api/login", body, status=400), 400, "bad_request")


def test_no_token_is_401(testapp, api):
    number = api("clerk").post_json("/api/cases", petition(), status=201).json["number"]
    for url in ("/api/me", "/api/cases", "/api/units", f"/api/cases/{number}", "/api/cases/XY-2025-000999",
                f"/api/cases/{number}/documents", "/api/petitioners?id_number=x"):
        body = _error(testapp.get(url, status=401), 401, "unauthorized")
        assert _has_chinese(body["message"])


def test_no_token_post_is_401_and_registers_nothing(testapp, api):
    _error(testapp.post_json("/api/cases", petition(), status=401), 401)
    assert api("clerk").get("/api/cases").json["total"] == 0


def test_unknown_token_is_401(testapp):
    for header in ("Bearer not-a-real-token", "Bearer ", "Basic Y2xlcms6c2VjcmV0", "bearer x y"):
        _error(testapp.get("/api/cases", headers={"Authorization": header}, status=401), 401, "unauthorized")


def test_logout_revokes_the_token(testapp, api):
    clerk = api("clerk")
    clerk.get("/api/me")
    res = clerk.post_json("/api/logout", {})
    assert res.json == {"revoked": True}
    _error(clerk.get("/api/me", status=401), 401)
    _error(clerk.post_json("/api/cases", petition(), status=401), 401)
    # a second token of the same user is not affected
    other = API(testapp, "clerk")
    assert other.get("/api/me").json["username"] == "clerk"


def test_expired_token_is_401(app, testapp):
    conn, site = open_site(app)
    with conn.transaction_manager:
        past = datetime.datetime.now() - datetime.timedelta(hours=13)
        expired = site.users.issue_token("clerk", 12 * 3600, now=past)
        valid = site.users.issue_token("clerk", 12 * 3600)
    conn.close()
    _error(testapp.get("/api/me", headers={"Authorization": f"Bearer {expired}"}, status=401), 401)
    assert testapp.get("/api/me", headers={"Authorization": f"Bearer {valid}"}).json["username"] == "clerk"


def test_token_lifetime_setting_expires_tokens(tmp_path):
    import time

    import webtest

    from .support import add_users, close_app, make_app
    app = make_app(tmp_path / "var", **{"casefiles.token_lifetime": "1"})
    try:
        add_users(app, [("clerk", ["clerk"], None)])
        client = API(webtest.TestApp(app), "clerk")
        client.get("/api/me")
        time.sleep(1.2)
        _error(client.get("/api/me", status=401), 401)
    finally:
        close_app(app)


def test_inactive_user_token_is_refused(app, api):
    clerk = api("clerk")
    conn, site = open_site(app)
    with conn.transaction_manager:
        site.users["clerk"].active = False
    conn.close()
    _error(clerk.get("/api/me", status=401), 401)


def test_only_intake_roles_register(api):
    for role in ("analyst", "auditor", "unit", "reviewer", "supervisor"):
        body = _error(api(role).post_json("/api/cases", petition(), status=403), 403, "forbidden")
        assert _has_chinese(body["message"])
    assert api("clerk").get("/api/cases").json["total"] == 0
    for role in ("clerk", "assigner", "admin"):
        res = api(role).post_json("/api/cases", petition(), status=201)
        assert res.json["registered_by"] == role
    assert api("clerk").get("/api/cases").json["total"] == 3


def test_bureau_roles_read_every_case_and_a_unit_none_unrouted(api):
    number = api("clerk").post_json("/api/cases", petition(), status=201).json["number"]
    for role in ("clerk", "assigner", "supervisor", "analyst", "reviewer", "auditor", "admin"):
        assert api(role).get(f"/api/cases/{number}").json["number"] == number
        listed = api(role).get("/api/cases").json
        assert listed["total"] == 1 and listed["cases"][0]["number"] == number
    _error(api("unit").get(f"/api/cases/{number}", status=403), 403, "forbidden")
    assert api("unit").get("/api/cases").json == {"total": 0, "page": 1, "size": 25, "cases": []}


def test_every_role_can_see_units_and_itself(api):
    for role in ROLES:
        units = api(role).get("/api/units").json["units"]
        assert {"code": "411502"}.items() <= next(u for u in units if u["code"] == "411502").items()
        assert any(u["name"] == "浉河区" or u["district"] == "浉河区" for u in units)
        assert api(role).get("/api/me").json["roles"] == [role]


def test_wrong_method_is_405(api):
    res = api("clerk").testapp.put("/api/cases", headers=api("clerk").headers, status=405)
    _error(res, 405, "method_not_allowed")
    assert res.headers["Allow"] == "GET, POST"


def test_unknown_api_address_is_json_404(api):
    _error(api("clerk").get("/api/no-such-thing", status=404), 404, "not_found")


def test_bearer_post_needs_no_csrf_but_cookie_post_does(testapp, api):
    api("clerk").post_json("/api/cases", petition(), status=201)
    # a browser session (cookie) posting to the API without a CSRF token is refused
    login = testapp.get("/login")
    form = login.forms[0]
    form["username"] = "clerk"
    form["password"] = PASSWORD
    form.submit(status=303)
    res = testapp.post_json("/api/cases", petition(), status=400)
    assert res.json["error"] == "csrf"
    assert api("clerk").get("/api/cases").json["total"] == 1
