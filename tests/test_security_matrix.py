"""The authorization matrix: every view the app registers × every role (and anonymous).

The list of addresses is not written down here: it is read from the app's own registry
(Pyramid's introspector, categories ``routes`` and ``views``), so a route or view someone adds
joins the matrix by itself. What each role may do is derived from the view's declared
permission, the role bundles of ``casefiles.security.ROLE_PERMISSIONS`` and the per-case ACL
(the routed unit may view and file; an accused unit never sees anything), written here as an
independent model rather than by asking the app's own ACL code.

The fixture world has four cases:

- ``own``: routed to unit 411502 (user ``unit``);
- ``accusation``: accuses unit 411502, routed to 411503 (user ``unit2``);
- ``nobody``: routed to no unit;
- ``misrouted``: accuses unit 411502 *and* is routed to it (the deny must still win).

A view the matrix cannot place (an unknown context, URL placeholder or route factory) fails
:func:`test_every_view_is_classified` with a message that says what to add to the tables below.
"""
import re
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
import webtest
from argon2 import PasswordHasher
from pyramid.interfaces import Interface
from pyramid.security import NO_PERMISSION_REQUIRED

from casefiles import intake, users
from casefiles import security as SEC
from casefiles.access import route_to_unit
from casefiles.documents import Upload

from .support import PASSWORD, ROLES, add_users, change, close_app, id_number, make_app, pdf_bytes, petition

ANON = None
CLIENTS = ROLES + ("unit2", ANON)
USER_ROLE = {r: r for r in ROLES} | {"unit2": "unit"}
USER_UNIT = {"unit": "411502", "unit2": "411503"}
VICTIM = "victim"   # the user the admin routes act on (/api/users/{username}...): an analyst nobody logs in as

# A word and a name that appear only in the accusation case: they must never reach ``unit``.
SECRET_WORD = "钒钛磁铁矿"
SECRET_NAME = "欧阳举报"

# -- the expectation tables ----------------------------------------------------------------

# Route factory (by function name) → what its context is.
FACTORIES = {"site_factory": "site", "case_factory": "case", "document_factory": "document"}

# Traversal context class (by name) → which resource of the world it is and its URL.
CONTEXTS = {
    "Site": "site",
    "Cases": "cases",
    "CaseYear": "year",
    "Case": "case",
    "Stage": "stage",
    "Document": "document",
}

# URL placeholders → how to fill them (callable(world, case_key, user) → str).
PLACEHOLDERS = {
    "number": lambda w, case, user: w.cases[case].number,
    "doc": lambda w, case, user: w.cases[case].doc,
    "action": lambda w, case, user: "accept",
    "year": lambda w, case, user: "2025",
    "id": lambda w, case, user: w.saved.get(user, "missing"),
    "username": lambda w, case, user: VICTIM,
    "name": lambda w, case, user: VICTIM,
    "code": lambda w, case, user: "411502",
    "unit": lambda w, case, user: "411502",
    "version": lambda w, case, user: "1",
}

# Views deliberately outside the matrix, with the reason.
IGNORED_ROUTES = {"__static/": "static files: no permission, nothing private"}

# Statuses an *allowed* request may also get on a view, beyond 2xx/3xx/400/409/422, and why.
EXTRA_ALLOWED = {
    ("api_search_saved", "DELETE"): {404: "saved searches are private: another user's id or a deleted one is 404"},
    ("search_saved_delete", "POST"): {404: "saved searches are private: another user's id or a deleted one is 404"},
    ("api_login", "GET"): {405: "the login API takes POST only"},
    ("login", "POST"): {401: "the log-in form without a username and password"},
    ("api_logout", "GET"): {405: "the logout API takes POST only"},
}
for _route in ("api_me", "api_units", "api_petitioners", "api_cases", "api_case", "api_documents",
               "api_document", "api_document_file", "api_document_versions"):
    EXTRA_ALLOWED[(_route, "POST")] = {405: "a method the API address does not take"}
    EXTRA_ALLOWED[(_route, "GET")] = {405: "a method the API address does not take"}
del _route

# Views whose permission lets a role in and whose code then checks more itself:
# (route or view key, method) → the roles the code lets through (admin always), or
# ("permission", P): the code checks permission P on the same context (modelled like the ACL).
_LOOKUP_ROLES = {r for r, perms in SEC.ROLE_PERMISSIONS.items() if SEC.LOOKUP in perms}
def _full_identity_roles():
    try:
        from casefiles.privacy import FULL_IDENTITY_ROLES
    except ImportError:
        return ()
    return tuple(FULL_IDENTITY_ROLES)


# the REVEAL permission, or a role whose work shows full numbers anyway (casefiles/privacy.py)
_REVEAL = ("permission", getattr(SEC, "REVEAL", "reveal"), _full_identity_roles())
DOMAIN_ROLES = {
    ("api_experts", "POST"): {"reviewer"},
    ("api_reception", "POST"): {"clerk"},
    ("api_refusal_offers", "GET"): _LOOKUP_ROLES,
    # the audit trail: auditors and administrators (views/audit.py AUDIT_ROLES)
    ("audit", "GET"): {"auditor"},
    ("audit_csv", "GET"): {"auditor"},
    ("api_audit", "GET"): {"auditor"},
    # who may open a case and why: administrators and auditors (views/identity.py)
    ("api_case_access", "GET"): {"auditor"},
    ("Case@@access", "GET"): {"auditor"},
    ("Case@@access", "POST"): {"auditor"},
    # full ID and phone numbers, with a purpose: the REVEAL permission on the case
    ("api_case_reveal", "POST"): _REVEAL,
    ("Case@@reveal", "POST"): _REVEAL,
    # the archival package keeps the full numbers: only those who may reveal them (views/archive_views.py)
    ("api_case_package", "GET"): _REVEAL,
    ("Case@@package.zip", "GET"): _REVEAL,
    ("Case@@package.zip", "POST"): _REVEAL,
    # the pages of the expert pool and the reception days
    ("experts_page", "POST"): {"reviewer"},
    ("reception_page", "POST"): {"clerk"},
}


# -- the world ------------------------------------------------------------------------------

@dataclass
class CaseRef:
    key: str
    number: str
    doc: str
    unit: str
    accused: str

    @property
    def url(self):
        return f"/cases/{self.number[3:7]}/{self.number}"


class World:
    def __init__(self, app):
        self.app = app
        self.cases = {}
        self.saved = {}
        self.clients = {}
        self.tokens = {}
        self.csrf = {}


def _build(app):
    world = World(app)
    specs = {
        "own": (petition(subject="平桥区道路破损长期未修", content="路面坑洼，雨天积水。"), "411502", None),
        "accusation": (petition(subject=f"举报某局违规审批{SECRET_WORD}开采", petition_type="accusation",
                                content=f"{SECRET_WORD}开采审批存在违规，请求查处。",
                                accused={"unit": "411502", "person": "某科长"},
                                petitioners=[{"name": SECRET_NAME, "id_number": id_number(7), "phone": "13800000007",
                                              "address": "信阳市浉河区", "primary": True}]),
                       "411503", "411502"),
        "nobody": (petition(subject="商城县集贸市场占道经营", content="市场占道经营影响通行。"), None, None),
        "misrouted": (petition(subject="羊山新区举报材料误转", petition_type="accusation",
                               content="举报内容，不应由被举报单位看到。",
                               accused={"unit": "411502", "person": ""}), "411502", "411502"),
    }
    for key, (body, unit, accused) in specs.items():
        def create(site, body=body, unit=unit):
            case = intake.register(site, body, uploads=[Upload.from_bytes(f"{key}-材料.pdf",
                                                                          pdf_bytes(f"{key} 材料"))], by="clerk")
            if unit:
                route_to_unit(site, case, unit)
            doc = next(iter(case.stages()[0].keys()))
            return case.number, doc
        number, doc = change(app, create)
        world.cases[key] = CaseRef(key, number, doc, unit, accused)
    for i, user in enumerate(ROLES + ("unit2",)):
        # one client address each: the log-in throttle counts failures per address
        client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543", "REMOTE_ADDR": f"10.0.0.{i + 1}"})
        world.clients[user] = client
        _login(world, user)
        res = client.post_json("/api/searches", {"name": f"{user}的检索", "q": "拆迁"},
                               headers={"Authorization": f"Bearer {world.tokens[user]}"}, status="*")
        if res.status_int in (200, 201):
            world.saved[user] = str(res.json.get("id"))
    world.clients[ANON] = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543", "REMOTE_ADDR": "10.0.1.1"})
    return world


def _login(world, user):
    client = world.clients[user]
    client.reset()
    form = client.get("/login").forms[0]
    form["username"] = user
    form["password"] = PASSWORD
    form.submit(status=303)
    page = client.get("/")
    world.csrf[user] = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    world.tokens[user] = client.post_json("/api/login", {"username": user, "password": PASSWORD}).json["token"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("CASEFILES_VAR", raising=False)
        mp.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        app = make_app(tmp_path_factory.mktemp("matrix-var"))
        try:
            add_users(app, [(role, [role], USER_UNIT.get(role)) for role in ROLES] + [("unit2", ["unit"], "411503"),
                                                                                       (VICTIM, ["analyst"], None)])
            yield _build(app)
        finally:
            close_app(app)


# -- reading the registry -----------------------------------------------------------------

@dataclass
class Target:
    key: str            # route name, or "Context@@name" for traversal
    method: str
    permission: str
    kind: str           # site | cases | year | case | stage | document
    pattern: str        # the URL with {placeholders}
    module: str
    view_name: str
    route: str

    @property
    def label(self):
        return f"{self.method} {self.key}"


def _permission(view):
    perms = [p["value"] for p in view["related"] if p.category_name == "permissions"]
    return perms[0] if perms else None


def _is_exception_view(intr):
    context = intr["context"]
    if intr.get("exception_only"):
        return True
    if isinstance(context, type) and issubclass(context, BaseException):
        return True
    # an exception interface (IExceptionResponse); any other interface context must be classified
    return isinstance(context, type(Interface)) and "Exception" in getattr(context, "__name__", "")


def read_registry(app):
    """(targets, problems): every (address, method) with its effective view, or why it cannot be placed."""
    registry = app.registry
    intr = registry.introspector
    default_perm = None
    for item in intr.get_category("default permission") or ():
        default_perm = item["introspectable"]["value"]
    groups, problems = {}, []
    for entry in intr.get_category("views"):
        view = entry["introspectable"]
        if _is_exception_view(view):
            continue
        route_name, name = view["route_name"], view["name"] or ""
        if route_name in IGNORED_ROUTES:
            continue
        callable_ = view["callable"]
        module = getattr(callable_, "__module__", "") or ""
        permission = _permission(entry) or default_perm
        if route_name:
            route = intr.get("routes", route_name)
            if route is None:
                problems.append(f"view {name!r} on unknown route {route_name!r}")
                continue
            factory = route["factory"]
            fname = getattr(factory, "__name__", repr(factory))
            kind = FACTORIES.get(fname)
            if kind is None:
                problems.append(f"route {route_name} ({route['pattern']}): its factory {fname} is not in FACTORIES "
                                "of tests/test_security_matrix.py; add what context it returns")
                continue
            pattern = route["pattern"]
            if not pattern.startswith("/"):
                pattern = "/" + pattern
            key = route_name
        else:
            context = view["context"]
            cname = getattr(context, "__name__", repr(context))
            kind = CONTEXTS.get(cname)
            if kind is None:
                problems.append(f"traversal view {name!r} on context {cname} ({module}): the context is not in "
                                "CONTEXTS of tests/test_security_matrix.py; add which resource of the world it is")
                continue
            pattern = "{%s}" % kind + (f"/@@{name}" if name else "/")
            key = f"{cname}@@{name}"
        for placeholder in re.findall(r"{(\w+)(?::[^}]*)?}", pattern if route_name else ""):
            if placeholder not in PLACEHOLDERS:
                problems.append(f"route {key} ({pattern}): no value for the URL placeholder {{{placeholder}}}; "
                                "add it to PLACEHOLDERS in tests/test_security_matrix.py")
        methods = view["request_methods"]
        if isinstance(methods, str):
            methods = (methods,)
        groups.setdefault(key, []).append((tuple(methods) if methods else None, permission, kind, pattern, module,
                                           name, route_name or ""))
    targets = []
    for key, views in groups.items():
        explicit = {m for methods, *_ in views if methods for m in methods} - {"HEAD", "OPTIONS"}
        wanted = set(explicit)
        if any(methods is None for methods, *_ in views):
            wanted |= {"GET", "POST"}
        for method in sorted(wanted):
            chosen = [v for v in views if v[0] and method in v[0]] or [v for v in views if v[0] is None]
            methods, permission, kind, pattern, module, name, route = chosen[0]
            if permission is None:
                problems.append(f"{method} {key}: the view has no permission and there is no default permission")
                continue
            targets.append(Target(key, method, permission, kind, pattern, module, name, route))
    return targets, problems


# -- the model ------------------------------------------------------------------------------

def _unit_grants():
    """The permissions a case's ACL gives the unit it is routed to."""
    from types import SimpleNamespace
    probe = SimpleNamespace(unit="999999", accused_unit=None)
    return {p for action, principal, perms in SEC.case_acl(probe)
            if action == SEC.Allow and principal == SEC.unit_principal("999999") for p in perms}


UNIT_GRANTS = _unit_grants()


def allowed_by_acl(user, permission, case):
    """The designed answer: may ``user`` (None: anonymous) use ``permission`` on ``case`` (or the site)?"""
    if permission == NO_PERMISSION_REQUIRED:
        return True
    if user is None:
        return False
    role, unit = USER_ROLE[user], USER_UNIT.get(user)
    if case is not None and case.accused and unit == case.accused:
        return False   # an accused unit never, whatever else
    if role == "admin":
        return True
    if permission in SEC.ROLE_PERMISSIONS.get(role, ()):
        return True
    return bool(case is not None and unit and case.unit == unit and permission in UNIT_GRANTS)


def allowed_by_code(user, target, case):
    """The refinement the view's code makes after the ACL (workflow roles, expert pool...)."""
    from casefiles.workflow import ACTIONS
    role = USER_ROLE[user]
    if role == "admin":
        return True
    action = None
    if target.module == "views.workflow" and target.kind == "case" and target.view_name in ACTIONS:
        action = ACTIONS[target.view_name]
    elif target.key == "api_case_action":
        action = ACTIONS[PLACEHOLDERS["action"](None, None, None)]
    if action is not None:
        roles = {role} & set(action.roles)
        if not roles:
            return False
        if roles == {"unit"}:
            return bool(case is not None and case.unit == USER_UNIT.get(user))
        return True
    rule = DOMAIN_ROLES.get((target.key, target.method))
    if isinstance(rule, tuple) and rule[0] == "permission":
        return allowed_by_acl(user, rule[1], case) or role in rule[2]
    if rule is not None:
        return role in rule
    return True


def fresh_token_id(world, owner):
    """A new bearer token of ``owner`` (its id) for the routes that revoke a token by id."""
    client = world.clients[ANON]
    token = client.post_json("/api/login", {"username": owner, "password": PASSWORD}).json["token"]
    mine = client.get("/api/me/tokens", headers={"Authorization": f"Bearer {token}"}).json["tokens"]
    return next(str(t["id"]) for t in mine if t.get("current"))


def url_for(world, target, case_key, user):
    if target.route and "/tokens/{id}" in target.pattern:
        owner = VICTIM if "{username}" in target.pattern or user is None else user
        target_id = fresh_token_id(world, owner)
        return re.sub(r"{(\w+)(?::[^}]*)?}", lambda m: target_id if m.group(1) == "id" else
                      PLACEHOLDERS[m.group(1)](world, case_key, user), target.pattern)
    if target.route:
        return re.sub(r"{(\w+)(?::[^}]*)?}", lambda m: PLACEHOLDERS[m.group(1)](world, case_key, user), target.pattern)
    case = world.cases.get(case_key)
    base = {"site": "", "cases": "/cases", "year": "/cases/2025", "case": case and case.url,
            "stage": case and f"{case.url}/origin", "document": case and f"{case.url}/origin/{case.doc}"}[target.kind]
    return target.pattern.replace("{%s}" % target.kind, base)


def cases_for(target):
    if target.kind in ("case", "stage", "document"):
        return ["own", "accusation", "nobody", "misrouted"]
    return [None]


def request(world, user, method, url):
    client = world.clients[user]
    headers = {}
    api = url.startswith("/api/")
    if user is not None and api:
        headers["Authorization"] = f"Bearer {world.tokens[user]}"
    if method == "GET":
        return client.get(url, headers=headers, status="*", expect_errors=True)
    if method in ("POST", "PUT", "PATCH"):
        if api:
            return client.request(url, method=method, body=b"{}", headers=dict(headers, **{"Content-Type": "application/json"}),
                                  status="*", expect_errors=True)
        params = {"csrf_token": world.csrf[user]} if user is not None else {}
        return client.request(url, method=method, POST=params, headers=headers, status="*", expect_errors=True)
    return client.request(url, method=method, headers=headers, status="*", expect_errors=True)


def judge(world, target, user, case, res):
    """None when the status is as designed, else what is wrong."""
    status = res.status_int
    location = res.headers.get("Location", "")
    to_login = status in (301, 302, 303, 307) and "/login" in location
    if status >= 500:
        return f"{status} (a server error)"
    acl = allowed_by_acl(user, target.permission, case)
    if target.permission == NO_PERMISSION_REQUIRED:
        if status in (401, 403) and status not in EXTRA_ALLOWED.get((target.key, target.method), {}):
            return f"{status} on a view that needs no permission"
        return None
    if user is None:
        return None if status == 401 or to_login else f"{status} for anonymous (expected 401 or the login page)"
    if not acl:
        return None if status in (403, 404) else f"{status} but the role must be refused (403/404)"
    if not allowed_by_code(user, target, case):
        if status == 403:
            return None
        if target.kind == "case" and status == 303 and "wf_open=" in location:
            return None   # the workflow form: back to the case with the refusal shown on the open form
        return f"{status} but the view's own role check must refuse (403)"
    if to_login or status in (401, 403, 404):
        extra = EXTRA_ALLOWED.get((target.key, target.method), {})
        return None if status in extra else f"{status} but the role is allowed (designed: 2xx/3xx/400/409/422)"
    if 200 <= status < 400 or status in (400, 409, 415, 422):
        return None
    if status in EXTRA_ALLOWED.get((target.key, target.method), {}):
        return None
    return f"{status}: not a designed status"


# -- the tests ------------------------------------------------------------------------------

def test_every_view_is_classified(world):
    targets, problems = read_registry(world.app)
    assert not problems, ("views the authorization matrix cannot place — add them to the expectation tables in "
                          "tests/test_security_matrix.py:\n  " + "\n  ".join(problems))
    assert set(world.saved) == set(ROLES) | {"unit2"}, "every user has a saved search for the {id} routes"
    keys = {t.key for t in targets}
    # the registry reading finds routes, traversal views and the workflow actions
    assert {"api_cases", "api_case", "api_document_file", "search", "Case@@", "Document@@download",
            "Case@@accept", "Case@@dossier.pdf", "Site@@register"} <= keys


def test_matrix(world):
    targets, problems = read_registry(world.app)
    assert not problems
    failures = []
    count = 0
    for target in targets:
        for case_key in cases_for(target):
            case = world.cases.get(case_key)
            for user in CLIENTS:
                url = url_for(world, target, case_key, user)
                res = request(world, user, target.method, url)
                count += 1
                problem = judge(world, target, user, case, res)
                if problem:
                    failures.append(f"{target.method} {url} as {user or 'anonymous'} ({target.key}, permission "
                                    f"{target.permission}{', case ' + case_key if case_key else ''}): {problem}")
                if user is not None and "logout" in target.key:
                    _login(world, user)   # the request may have ended the session or revoked the token
    assert count > 500
    failures.sort(key=lambda f: (f.split(" as ")[1].split("):")[-1], f))
    assert not failures, f"{len(failures)} of {count} requests not as designed:\n" + "\n".join(failures[:80])


def _all_get_urls(world, user):
    targets, _problems = read_registry(world.app)
    for target in targets:
        if target.method != "GET":
            continue
        for case_key in cases_for(target):
            yield target, url_for(world, target, case_key, user)


def _shown(body, secrets, asked):
    """The secrets a response shows, leaving out what the request itself sent (a search box
    or an error message repeats the query: that tells the user nothing they did not know)."""
    return [secret for secret in secrets if secret in body and secret not in asked]


def test_accused_unit_never_sees_the_accusation(world):
    """Through no page, API call, search hit, count, facet, dossier or export: nothing of the
    accusation cases reaches the accused unit's users."""
    accusation, misrouted = world.cases["accusation"], world.cases["misrouted"]
    secrets = [accusation.number, misrouted.number, SECRET_WORD, SECRET_NAME, accusation.doc, misrouted.doc]
    leaks = []
    for target, url in _all_get_urls(world, "unit"):
        res = request(world, "unit", "GET", url)
        if accusation.number in url or misrouted.number in url:
            # 405: an API address that takes only POST; it says no more than the 403 beside it
            if res.status_int not in (403, 404, 405):
                leaks.append(f"{url}: {res.status_int}")
            continue
        for secret in _shown(res.body.decode("utf-8", "replace"), secrets, url):
            leaks.append(f"{url} shows {secret!r}")
    auth = {"Authorization": f"Bearer {world.tokens['unit']}"}
    client = world.clients["unit"]
    own = world.cases["own"].number
    # search: the hits, the total and the facet counts
    for q in (SECRET_WORD, SECRET_NAME, "举报", accusation.number, misrouted.number, ""):
        found = client.get("/api/search", params={"q": q}, headers=auth).json
        numbers = {h["number"] for h in found["hits"]}
        if numbers - {own}:
            leaks.append(f"/api/search?q={q} hits {sorted(numbers)}")
        if q != "" and q != "举报" and found["total"]:
            leaks.append(f"/api/search?q={q} counts {found['total']}")
        if q == "":
            if found["total"] != len({(h["number"], h["document"]) for h in found["hits"]}):
                leaks.append(f"/api/search total {found['total']} counts more than the {len(found['hits'])} hits shown")
            for field, counts in found["facets"].items():
                if field in ("unit",) and set(counts) - {"411502"}:
                    leaks.append(f"/api/search facet {field} counts other units' cases: {counts}")
                if field != "unit" and sum(counts.values()) > found["total"]:
                    leaks.append(f"/api/search facet {field} counts {counts} over a total of {found['total']}")
        page = client.get("/search", params={"q": q}).text
        for secret in _shown(page, secrets, q):
            leaks.append(f"/search?q={q} shows {secret!r}")
        if accusation.url in page or misrouted.url in page:
            leaks.append(f"/search?q={q} links to an accusation case")
    # searching inside the case, similar cases, the petitioner look-up, the expert pool filter,
    # the queues, the lists and the archive's due list
    for url, params in (("/api/search", {"q": "举报", "case": accusation.number}),
                        ("/api/similar", {"subject": f"举报某局违规审批{SECRET_WORD}开采", "content": SECRET_WORD,
                                          "id_number": id_number(7)}),
                        ("/api/experts", {"case": accusation.number}),
                        ("/api/queue", {}),
                        ("/api/cases", {"q": SECRET_WORD}),
                        ("/api/cases", {}),
                        ("/api/archive/due", {})):
        res = client.get(url, params=params, headers=auth, status="*")
        if res.status_int >= 500:
            leaks.append(f"{url}?{params}: {res.status_int}")
        for secret in _shown(res.body.decode("utf-8", "replace"), secrets, " ".join(params.values())):
            leaks.append(f"{url}?{params} shows {secret!r}")
    for page_url in ("/", "/cases", "/cases/2025", "/queue", "/search?" + urlencode({"case": accusation.number,
                                                                                      "q": "举报"})):
        res = client.get(page_url, status="*")
        for secret in _shown(res.body.decode("utf-8", "replace"), secrets, page_url + " 举报"):
            leaks.append(f"{page_url} shows {secret!r}")
        if accusation.url in res.text or misrouted.url in res.text:
            leaks.append(f"{page_url} links to an accusation case")
    assert not leaks, "the accused unit sees the accusation:\n" + "\n".join(leaks)
    # ...while the unit it is routed to finds it, so the checks above look at the right things
    auth2 = {"Authorization": f"Bearer {world.tokens['unit2']}"}
    seen = world.clients["unit2"].get("/api/search", params={"q": SECRET_WORD}, headers=auth2).json
    assert accusation.number in {h["number"] for h in seen["hits"]}
    world.clients["unit2"].get(f"/api/cases/{accusation.number}/documents/{accusation.doc}/file", headers=auth2)
    assert SECRET_WORD in world.clients["clerk"].get(accusation.url + "/").text
    assert own in {h["number"] for h in client.get("/api/search", params={"q": ""}, headers=auth).json["hits"]}
