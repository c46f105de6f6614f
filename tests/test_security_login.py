"""Login hardening: lock-out per account (in the database) and throttling per address,
the same answers for unknown users, session lifetime and epochs, password change,
tokens of deactivated users, and the security headers."""
import re

import pytest
import webtest

from casefiles import users as U

from .support import PASSWORD, close_app, make_app, open_site

NEW = "another-pass-2"


def assert_message(text):
    """A message for the user (Chinese once /tmp/i18n/login.tsv is merged into the catalog;
    tests/test_i18n.py checks that every message is translated)."""
    assert text and text.strip()


def logged_out(client):
    res = client.get("/", status="*")
    return res.status_int == 302 and "/login" in res.location


def form_login(testapp, username, password, status=None, **kw):
    form = testapp.get("/login").forms[0]
    form["username"], form["password"] = username, password
    return form.submit(status=status, **kw)


def api_login(testapp, username, password, status=200, **kw):
    return testapp.post_json("/api/login", {"username": username, "password": password}, status=status, **kw)


def user_state(app, username):
    conn, site = open_site(app)
    try:
        user = site.users[username]
        return {"failures": len(user.failures), "locked_until": user.locked_until, "epoch": user.session_epoch}
    finally:
        conn.close()


# --- per account ----------------------------------------------------------------------------------

def test_five_failures_lock_the_account_and_the_count_is_committed(app, testapp):
    for i in range(4):
        res = api_login(testapp, "clerk", "wrong-password", status=401)
        assert res.json["error"] == "unauthorized"
        assert user_state(app, "clerk")["failures"] == i + 1    # a 401 still commits the count
    res = api_login(testapp, "clerk", "wrong-password", status=401)
    assert user_state(app, "clerk")["locked_until"] > 0
    # locked: even the right password is refused, with Retry-After and a Chinese message
    res = api_login(testapp, "clerk", PASSWORD, status=429)
    assert int(res.headers["Retry-After"]) > 0 and res.json["error"] == "too_many_requests"
    assert_message(res.json["message"])
    assert "15" in res.json["message"]
    # another account is not affected
    api_login(testapp, "assigner", PASSWORD)


def test_the_form_is_locked_too_and_says_so_in_chinese(testapp):
    for _ in range(5):
        res = form_login(testapp, "reviewer", "wrong-password", status=401)
    assert "登录" in res.text
    res = form_login(testapp, "reviewer", PASSWORD, status=429)
    assert int(res.headers["Retry-After"]) > 0
    assert_message(res.html.find(attrs={"role": "alert"}).text)


def test_failures_and_lock_outs_are_in_the_audit_trail(testapp, var):
    import json
    import time
    for _ in range(5):
        api_login(testapp, "clerk", "wrong-password", status=401)
    api_login(testapp, "clerk", PASSWORD, status=429)
    deadline, actions = time.time() + 5, []
    while time.time() < deadline and actions.count("login.locked") < 2:
        actions = []
        for path in sorted(var.rglob("audit-*.jsonl")):
            for line in path.read_text("utf-8").splitlines():
                entry = json.loads(line)
                if entry.get("user") == "clerk" or "clerk" in json.dumps(entry.get("detail") or {}):
                    actions.append(entry.get("action"))
        time.sleep(0.1)
    assert actions.count("login.failed") == 5
    assert actions.count("login.locked") >= 2     # when it locked, and the refused attempt


def test_a_success_resets_the_count(app, testapp):
    for _ in range(4):
        api_login(testapp, "clerk", "wrong-password", status=401)
    api_login(testapp, "clerk", PASSWORD)
    assert user_state(app, "clerk")["failures"] == 0
    for _ in range(4):
        api_login(testapp, "clerk", "wrong-password", status=401)
    api_login(testapp, "clerk", PASSWORD)


def test_the_lock_survives_a_restart(var, app, testapp):
    for _ in range(5):
        api_login(testapp, "clerk", "wrong-password", status=401)
    close_app(app)
    again = make_app(var)
    try:
        fresh = webtest.TestApp(again, extra_environ={"HTTP_HOST": "localhost:6543"})
        api_login(fresh, "clerk", PASSWORD, status=429)
    finally:
        close_app(again)


def test_the_lock_ends_after_its_time(app, testapp, monkeypatch):
    for _ in range(5):
        api_login(testapp, "clerk", "wrong-password", status=401)
    api_login(testapp, "clerk", PASSWORD, status=429)
    import time as real_time
    later = real_time.time() + U.LOCK_SECONDS + 1
    monkeypatch.setattr("views.auth.time.time", lambda: later)
    api_login(testapp, "clerk", PASSWORD)


def test_unknown_users_get_the_same_answers(testapp):
    answers = [api_login(testapp, "nobody-here", "wrong-password", status=401).json for _ in range(5)]
    known = api_login(testapp, "analyst", "wrong-password", status=401).json
    assert answers[0] == known
    res = api_login(testapp, "nobody-here", "wrong-password", status=429)   # locked, like an account
    assert res.headers["Retry-After"]


def test_an_administrator_unlocks(app, testapp, api):
    admin = api("admin")
    for _ in range(5):
        api_login(testapp, "clerk", "wrong-password", status=401)
    assert admin.get("/api/users/clerk").json["locked"] is True
    admin.post_json("/api/users/clerk/unlock", {})
    assert admin.get("/api/users/clerk").json["locked"] is False
    api_login(testapp, "clerk", PASSWORD)


# --- per address ----------------------------------------------------------------------------------

def test_one_address_is_throttled_across_accounts(testapp):
    from views.auth import ADDRESS_FAILURES
    attacker = {"REMOTE_ADDR": "203.0.113.9"}
    for i in range(ADDRESS_FAILURES):
        api_login(testapp, f"guess{i}", "wrong-password", status=401, extra_environ=attacker)
    res = api_login(testapp, "clerk", PASSWORD, status=429, extra_environ=attacker)
    assert int(res.headers["Retry-After"]) > 0
    # another address logs in
    api_login(testapp, "clerk", PASSWORD, extra_environ={"REMOTE_ADDR": "198.51.100.7"})


# --- sessions -------------------------------------------------------------------------------------

def test_login_rotates_the_session(testapp):
    testapp.get("/login")
    before = testapp.cookies.get("casefiles")
    form_login(testapp, "clerk", PASSWORD, status=303)
    assert testapp.cookies.get("casefiles") != before


def test_sessions_have_an_absolute_lifetime(var):
    app = make_app(var, **{"casefiles.session_max_age": "2"})
    try:
        from .support import add_users
        add_users(app, [("clerk", ["clerk"], None)])
        testapp = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543"})
        form_login(testapp, "clerk", PASSWORD, status=303)
        testapp.get("/", status=200)
        import time
        time.sleep(2.2)
        assert logged_out(testapp)
    finally:
        close_app(app)


def test_password_change_ends_other_sessions_and_tokens(testapp, api, app):
    other = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543"})
    form_login(other, "supervisor", PASSWORD, status=303)
    other.get("/", status=200)
    token = api("supervisor")
    form_login(testapp, "supervisor", PASSWORD, status=303)
    page = testapp.get("/account/password")
    form = page.forms[[k for k, f in page.forms.items() if (f.action or "").endswith("/account/password")][0]]
    form["old"], form["new"], form["confirm"] = PASSWORD, NEW, NEW
    res = form.submit(status=303).follow()
    assert res.status_int == 200 and "f-old" in res.text            # this browser stays logged in
    testapp.get("/", status=200)
    assert logged_out(other)
    token.get("/api/me", status=401)
    api_login(testapp, "supervisor", PASSWORD, status=401)
    api_login(testapp, "supervisor", NEW)


def test_password_change_over_the_api_keeps_the_calling_token(testapp, api):
    first, second = api("reviewer"), None
    second = api_login(testapp, "reviewer", PASSWORD).json["token"]
    res = first.post_json("/api/me/password", {"old": PASSWORD, "new": NEW})
    assert res.json["tokens_revoked"] == 1
    first.get("/api/me")
    testapp.get("/api/me", headers={"Authorization": f"Bearer {second}"}, status=401)


@pytest.mark.parametrize("body,field", [
    ({"old": "wrong-password", "new": NEW}, "old"),
    ({"old": PASSWORD, "new": "short"}, "new"),
    ({"old": PASSWORD, "new": "reviewer"}, "new"),
    ({"old": PASSWORD, "new": PASSWORD}, "new"),
    ({"new": NEW}, "old"),
])
def test_password_rules(api, body, field):
    client = api("reviewer")
    res = client.post_json("/api/me/password", body, status=422)
    assert field in res.json["fields"]
    assert_message(res.json["message"])
    client.get("/api/me")   # nothing changed


def test_guessing_the_current_password_locks_the_account(app, api, testapp):
    client = api("reviewer")
    for i in range(U.LOCK_FAILURES):
        client.post_json("/api/me/password", {"old": f"guess-{i}-pass", "new": NEW}, status=422)
    assert user_state(app, "reviewer")["locked_until"] > 0
    res = client.post_json("/api/me/password", {"old": PASSWORD, "new": NEW}, status=429)
    assert res.headers["Retry-After"]
    api_login(testapp, "reviewer", PASSWORD, status=429)


def test_username_as_password_is_refused_for_new_users(api):
    res = api("admin").post_json("/api/users", {"username": "newclerk1", "password": "newclerk1",
                                                "roles": ["clerk"]}, status=422)
    assert "password" in res.json["fields"]


def test_deactivation_ends_sessions_and_tokens(app, testapp, api):
    browser = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543"})
    form_login(browser, "analyst", PASSWORD, status=303)
    token = api("analyst")
    testapp.patch_json("/api/users/analyst", {"active": False}, headers=api("admin").headers)
    token.get("/api/me", status=401)
    assert logged_out(browser)
    api_login(testapp, "analyst", PASSWORD, status=401)


def test_role_change_ends_the_sessions(app, testapp, api):
    form_login(testapp, "analyst", PASSWORD, status=303)
    testapp.get("/", status=200)
    epoch = user_state(app, "analyst")["epoch"]
    webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543"}).patch_json(
        "/api/users/analyst", {"roles": ["analyst", "auditor"]}, headers=api("admin").headers)
    assert user_state(app, "analyst")["epoch"] == epoch + 1
    assert logged_out(testapp)


def test_logout_ends_the_session_even_for_a_copied_cookie(app, testapp):
    form_login(testapp, "clerk", PASSWORD, status=303)
    cookie = testapp.cookies["casefiles"]
    thief = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543"})
    thief.set_cookie("casefiles", cookie)
    thief.get("/", status=200)
    page = testapp.get("/")
    form = [f for f in page.forms.values() if (f.action or "").endswith("/logout")][0]
    form.submit(status=303)
    assert logged_out(thief)
    # other sessions of the user go on
    other = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543"})
    form_login(other, "clerk", PASSWORD, status=303)
    other.get("/", status=200)


def test_logout_revokes_the_token(api):
    client = api("clerk")
    client.post_json("/api/logout", {})
    client.get("/api/me", status=401)


# --- headers and templates ------------------------------------------------------------------------

def _frame_and_script_checks(res, frameable=False):
    csp = res.headers["Content-Security-Policy"]
    scripts = csp.split("script-src")[1].split(";")[0]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["Referrer-Policy"]
    if frameable:
        assert res.headers["X-Frame-Options"] == "SAMEORIGIN" and "frame-ancestors 'self'" in csp
    else:
        assert res.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in csp


def test_security_headers_on_html_json_and_files(testapp, api):
    from .support import pdf_bytes, petition
    _frame_and_script_checks(testapp.get("/login"))
    _frame_and_script_checks(api("clerk").get("/api/me"))
    _frame_and_script_checks(testapp.get("/api/me", status=401))
    number = api("clerk").post_json("/api/cases", petition(), status=201).json["number"]
    doc = api("clerk").testapp.post(f"/api/cases/{number}/documents", {"kind": "letter", "title": "来信"},
                                    upload_files=[("file", "letter.pdf", pdf_bytes())],
                                    headers=api("clerk").headers, status=201).json
    res = api("clerk").get(f"/api/cases/{number}/documents/{doc['id']}/file")
    assert res.content_type == "application/pdf"
    _frame_and_script_checks(res, frameable=True)


def test_templates_have_no_inline_script_or_event_handlers():
    import pathlib
    folder = pathlib.Path(__file__).parent.parent / "templates"
    for path in folder.glob("*.jinja2"):
        text = path.read_text("utf-8")
        for m in re.finditer(r"<script\b([^>]*)>(.*?)</script>", text, re.S | re.I):
            assert "src=" in m.group(1) and not m.group(2).strip(), f"inline script in {path.name}"
        assert not re.search(r"<[^>]*\son[a-z]+\s*=", text, re.I), f"inline event handler in {path.name}"
        assert "javascript:" not in text.lower(), path.name


def test_unknown_user_costs_an_argon2_verification(monkeypatch):
    calls = []

    class Hasher:
        def hash(self, value):
            calls.append("hash")
            return "x"

        def verify(self, hashed, value):
            calls.append("verify")
            raise U.VerificationError()
    site_users = U.Users()
    monkeypatch.setattr(U, "_hasher", Hasher())
    assert site_users.authenticate("nobody", "whatever") is None
    assert "verify" in calls   # the same argon2 work as checking a real password
