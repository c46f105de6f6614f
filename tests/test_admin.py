"""Administrators manage users, roles and tokens; users manage their own tokens; who can
open a case and why."""
import pytest
import webtest
from pyramid.authorization import ACLHelper

from casefiles.access import route_to_unit
from casefiles.security import VIEW, Authenticated, Everyone

from .support import PASSWORD, ROLES, change, open_site, petition

NEW_USER = {"username": "zhangsan", "password": "first-pass-9", "roles": ["clerk"], "name": "张三"}


def patch(testapp, client, url, body, status=200):
    return testapp.patch_json(url, body, headers=client.headers, status=status)


def delete(testapp, client, url, status=200):
    return testapp.delete(url, headers=client.headers, status=status)


def form_login(testapp, username, password=PASSWORD, status=303):
    testapp.reset()
    form = testapp.get("/login").forms[0]
    form["username"], form["password"] = username, password
    return form.submit(status=status)


# --- JSON API -------------------------------------------------------------------------------------

def test_admin_lists_users_without_secrets(api):
    data = api("admin").get("/api/users").json["users"]
    names = {u["username"] for u in data}
    assert set(ROLES) <= names
    unit = [u for u in data if u["username"] == "unit"][0]
    assert unit["unit"] == "411502" and unit["active"] is True and unit["locked"] is False
    assert "password_hash" not in unit and all("hash" not in k for k in unit)


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_only_administrators_manage_users(api, testapp, role):
    client = api(role)
    client.get("/api/users", status=403)
    client.post_json("/api/users", NEW_USER, status=403)
    client.get("/api/users/clerk", status=403)
    patch(testapp, client, "/api/users/clerk", {"active": False}, status=403)
    client.get("/api/users/clerk/tokens", status=403)
    client.post_json("/api/users/clerk/unlock", {}, status=403)
    client.post_json("/api/users/clerk/password", {"password": "x" * 12}, status=403)


def test_create_edit_and_log_in(api, testapp):
    admin = api("admin")
    res = admin.post_json("/api/users", NEW_USER, status=201)
    assert res.json["roles"] == ["clerk"] and res.headers["Location"].endswith("/api/users/zhangsan")
    testapp.post_json("/api/login", {"username": "zhangsan", "password": "first-pass-9"})
    data = patch(testapp, admin, "/api/users/zhangsan", {"roles": ["unit"], "unit": "411503", "name": "张三丰"}).json
    assert data["roles"] == ["unit"] and data["unit"] == "411503" and data["name"] == "张三丰"
    data = patch(testapp, admin, "/api/users/zhangsan", {"roles": ["analyst"]}).json
    assert data["unit"] is None   # only unit users belong to a unit
    assert admin.get("/api/users/zhangsan").json["roles"] == ["analyst"]


@pytest.mark.parametrize("body,field", [
    (dict(NEW_USER, username="clerk"), "username"),
    (dict(NEW_USER, username="bad name!"), "username"),
    (dict(NEW_USER, roles=["boss"]), "roles"),
    (dict(NEW_USER, roles=["unit"]), "unit"),
    (dict(NEW_USER, roles=["unit"], unit="999999"), "unit"),
    (dict(NEW_USER, password="short"), "password"),
])
def test_create_refuses_bad_values(api, body, field):
    res = api("admin").post_json("/api/users", body, status=422)
    assert field in res.json["fields"] and res.json["message"]
    assert "zhangsan" not in {u["username"] for u in api("admin").get("/api/users").json["users"]}


@pytest.mark.parametrize("body,field", [({"roles": []}, "roles"), ({"roles": ["boss"]}, "roles"),
                                        ({"roles": ["unit"], "unit": ""}, "unit"), ({"active": "no"}, "active"),
                                        ({"name": ""}, "name"), ({"roles": "clerk admin"}, "roles")])
def test_update_refuses_bad_values(api, testapp, body, field):
    res = patch(testapp, api("admin"), "/api/users/analyst", body, status=422)
    assert field in res.json["fields"]
    assert api("admin").get("/api/users/analyst").json["roles"] == ["analyst"]


def test_the_last_administrator_stays(api, testapp):
    admin = api("admin")
    patch(testapp, admin, "/api/users/admin", {"active": False}, status=409)
    patch(testapp, admin, "/api/users/admin", {"roles": ["auditor"]}, status=409)
    admin.get("/api/users")


def test_unknown_user_is_404(api, testapp):
    api("admin").get("/api/users/nobody", status=404)
    patch(testapp, api("admin"), "/api/users/nobody", {"active": False}, status=404)


def test_admin_reset_ends_sessions_and_tokens(api, testapp):
    victim = api("clerk")
    api("admin").post_json("/api/users/clerk/password", {"password": "reset-pass-77"})
    victim.get("/api/me", status=401)
    testapp.post_json("/api/login", {"username": "clerk", "password": PASSWORD}, status=401)
    testapp.post_json("/api/login", {"username": "clerk", "password": "reset-pass-77"})


# --- tokens -----------------------------------------------------------------------------------------

def test_tokens_have_ids_and_can_be_revoked_by_an_admin(api, testapp):
    first = api("reviewer")
    second = testapp.post_json("/api/login", {"username": "reviewer", "password": PASSWORD},
                               headers={"User-Agent": "scanner-client"}).json["token"]
    admin = api("admin")
    tokens = admin.get("/api/users/reviewer/tokens").json["tokens"]
    assert len(tokens) == 2
    for t in tokens:
        assert len(t["id"]) == 12 and t["id"] not in (first.token, second) and t["created"] and t["expires"]
    labelled = [t for t in tokens if t["label"] == "scanner-client"][0]
    delete(testapp, admin, f"/api/users/reviewer/tokens/{labelled['id']}")
    testapp.get("/api/me", headers={"Authorization": f"Bearer {second}"}, status=401)
    first.get("/api/me")
    delete(testapp, admin, f"/api/users/reviewer/tokens/{labelled['id']}", status=404)
    # a token id of another user is not this user's
    other = admin.get("/api/users/clerk/tokens").json["tokens"]
    mine = first.get("/api/me/tokens").json["tokens"][0]["id"]
    delete(testapp, admin, f"/api/users/clerk/tokens/{mine}", status=404)
    assert not other or other[0]["id"] != mine


def test_users_list_and_revoke_their_own_tokens(api, testapp):
    me = api("analyst")
    other = testapp.post_json("/api/login", {"username": "analyst", "password": PASSWORD}).json["token"]
    tokens = me.get("/api/me/tokens").json["tokens"]
    assert len(tokens) == 2 and sum(t["current"] for t in tokens) == 1
    target = [t for t in tokens if not t["current"]][0]
    delete(testapp, me, f"/api/me/tokens/{target['id']}")
    testapp.get("/api/me", headers={"Authorization": f"Bearer {other}"}, status=401)
    # someone else's token id is not found among mine
    clerk_id = api("clerk").get("/api/me/tokens").json["tokens"][0]["id"]
    delete(testapp, me, f"/api/me/tokens/{clerk_id}", status=404)
    api("clerk").get("/api/me")


# --- pages ------------------------------------------------------------------------------------------

def test_admin_pages_create_edit_unlock_and_revoke(app, testapp):
    form_login(testapp, "admin")
    listing = testapp.get("/admin/users")
    for username in ROLES:
        assert listing.html.find("tr", {"data-user": username}) is not None
    page = testapp.get("/admin/users/new")
    form = [f for f in page.forms.values() if (f.action or "").endswith("/admin/users/new")][0]
    form["username"], form["name"], form["password"] = "lisi", "李四", "lisi-pass-123"
    form.get("roles", index=ROLES.index("reviewer")).checked = True
    res = form.submit(status=303).follow()
    assert "李四" in res.text
    form = [f for f in res.forms.values() if (f.action or "").endswith("/admin/users/lisi")][0]
    form["active"] = False
    form.submit(status=303)
    conn, site = open_site(app)
    try:
        assert site.users["lisi"].active is False and site.users["lisi"].roles == ("reviewer",)
    finally:
        conn.close()
    # a bad create shows the form again with the errors, nothing written
    page = testapp.get("/admin/users/new")
    form = [f for f in page.forms.values() if (f.action or "").endswith("/admin/users/new")][0]
    form["username"], form["password"] = "wangwu", "short"
    res = form.submit(status=422)
    assert "has-error" in res.text or "alert" in res.text
    assert "wangwu" not in testapp.get("/admin/users").text


def test_admin_unlocks_from_the_page(app, testapp):
    other = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543"})
    for _ in range(5):
        other.post_json("/api/login", {"username": "clerk", "password": "wrong-password"}, status=401)
    other.post_json("/api/login", {"username": "clerk", "password": PASSWORD}, status=429)
    form_login(testapp, "admin")
    page = testapp.get("/admin/users/clerk")
    form = [f for f in page.forms.values() if (f.action or "").endswith("/unlock")][0]
    form.submit(status=303)
    other.post_json("/api/login", {"username": "clerk", "password": PASSWORD})


def test_admin_pages_refuse_other_roles(testapp):
    form_login(testapp, "auditor")
    testapp.get("/admin/users", status=403)
    testapp.get("/admin/users/clerk", status=403)
    assert "/admin/users" not in testapp.get("/").text
    assert "/account/password" in testapp.get("/").text


# --- who can open a case and why --------------------------------------------------------------------

def _allowed(site, user, case):
    principals = [Everyone, Authenticated] + list(user.principals)
    return bool(ACLHelper().permits(case, principals, VIEW))


def test_access_explains_every_user_from_the_acls(app, api):
    number = api("clerk").post_json("/api/cases", petition(), status=201).json["number"]

    def setup(site):
        case = site.cases.by_number(number)
        case.accused_unit = "411503"
        route_to_unit(site, case, "411502")
    change(app, setup)
    data = api("admin").get(f"/api/cases/{number}/access").json
    rows = {r["username"]: r for r in data["can"] + data["cannot"]}
    assert rows["unit"]["reason"] == "routed_unit" and rows["unit"] in data["can"]
    assert rows["unit2"]["reason"] == "accused_unit" and rows["unit2"] in data["cannot"]
    assert rows["admin"]["reason"] == "admin"
    assert rows["clerk"]["reason"] == "role" and rows["clerk"]["full_identity"] is True
    assert rows["analyst"]["reveal"] is False and rows["supervisor"]["reveal"] is True
    assert data["accused_unit"] == "411503" and "unit:411502" in data["principals"]
    # the same answers Pyramid gives
    conn, site = open_site(app)
    try:
        case = site.cases.by_number(number)
        for username, row in rows.items():
            assert _allowed(site, site.users[username], case) == (row in data["can"]), username
    finally:
        conn.close()


def test_an_unrouted_case_is_closed_to_units(api):
    number = api("clerk").post_json("/api/cases", petition(), status=201).json["number"]
    data = api("auditor").get(f"/api/cases/{number}/access").json
    cannot = {r["username"]: r["reason"] for r in data["cannot"]}
    assert cannot == {"unit": "no_grant", "unit2": "no_grant"}


@pytest.mark.parametrize("role", ["clerk", "supervisor", "analyst"])
def test_access_is_for_admins_and_auditors(api, role):
    number = api("clerk").post_json("/api/cases", petition(), status=201).json["number"]
    api(role).get(f"/api/cases/{number}/access", status=403)


def test_access_page(app, api, testapp):
    number = api("clerk").post_json("/api/cases", petition(), status=201).json["number"]
    form_login(testapp, "admin")
    case_page = testapp.get(f"/cases/{number[3:7]}/{number}/")
    assert "@@access" in case_page.text
    page = testapp.get(f"/cases/{number[3:7]}/{number}/@@access")
    assert page.html.find("tr", {"data-user": "clerk", "data-reason": "role"}) is not None
    assert page.html.find("tr", {"data-user": "unit", "data-reason": "no_grant"}) is not None
    form_login(testapp, "supervisor")
    testapp.get(f"/cases/{number[3:7]}/{number}/@@access", status=403)


def test_acl_decision_agrees_with_pyramid(app, api):
    """The explanation walks the ACLs exactly as Pyramid does, for every permission."""
    from casefiles.security import ADMINISTER, FILE, LIST, LOOKUP, REGISTER, REVEAL, acl_decision
    number = api("clerk").post_json("/api/cases", petition(), status=201).json["number"]
    other = api("clerk").post_json("/api/cases", petition(), status=201).json["number"]

    def setup(site):
        route_to_unit(site, site.cases.by_number(number), "411502")
        case = site.cases.by_number(other)
        case.accused_unit = "411502"
        route_to_unit(site, case, "411502")
    change(app, setup)
    conn, site = open_site(app)
    try:
        for n in (number, other):
            case = site.cases.by_number(n)
            for user in site.users.values():
                principals = [Everyone, Authenticated] + list(user.principals)
                for permission in (VIEW, FILE, LIST, LOOKUP, REGISTER, REVEAL, ADMINISTER):
                    assert acl_decision(case, principals, permission)[0] == \
                        bool(ACLHelper().permits(case, principals, permission)), (n, user.username, permission)
    finally:
        conn.close()


def test_cookie_authenticated_changes_need_the_csrf_token(testapp):
    form_login(testapp, "admin")
    testapp.patch_json("/api/users/analyst", {"active": False}, status=400)
    testapp.post_json("/api/users", NEW_USER, status=400)
    page = testapp.get("/admin/users/analyst")
    token = page.html.find("input", {"name": "csrf_token"})["value"]
    testapp.patch_json("/api/users/analyst", {"name": "分析员"}, headers={"X-CSRF-Token": token})
    assert testapp.get("/api/users/analyst").json["name"] == "分析员"
