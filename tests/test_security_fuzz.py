"""Malformed data thrown at every JSON API endpoint that takes a body and at every HTML form:
wrong types, huge strings, deep nesting, unicode controls, NUL, lone surrogates, NaN, broken
multipart. Never a 500; when the answer is a refusal, nothing in the database changed.

The endpoints come from the app's registry (the same reading as the authorization matrix),
so a new POST/PATCH route is fuzzed without being listed here. Each test builds one app and
fixture world and runs all its examples against it (hypothesis and function-scoped fixtures
do not mix: the world is built inside the test, once, not once per example); the database
fingerprint is taken before and after every request.
"""
import contextlib
import json
import tempfile

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casefiles import users
from casefiles.workflow import ACTIONS

from .support import ROLES, add_users, close_app, make_app, open_site, pdf_bytes, petition, png_bytes
from .test_security_matrix import USER_UNIT, VICTIM, _build, read_registry, url_for

SETTINGS = settings(max_examples=30, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])
# routes that end the caller's own session or credentials: fuzzing them would only log us out
SKIP = ("logout", "password", "token")
ACTOR = "admin"   # may use every view: the body, not the permission, is what is tested


@contextlib.contextmanager
def fuzz_world():
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        mp.delenv("CASEFILES_VAR", raising=False)
        mp.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        app = make_app(tmp)
        try:
            add_users(app, [(role, [role], USER_UNIT.get(role)) for role in ROLES]
                      + [("unit2", ["unit"], "411503"), (VICTIM, ["analyst"], None)])
            yield _build(app)
        finally:
            close_app(app)


def fingerprint(app):
    """What a refused request must leave as it was: cases, their documents and versions,
    their histories and statuses, petitioners and users."""
    conn, site = open_site(app)
    try:
        cases = []
        for case in site.cases.all_cases():
            docs = sorted((d.id, len(d.versions)) for d in case.documents())
            cases.append((case.number, case.status, case.unit, len(case.history), tuple(docs)))
        people = sorted((p.id, tuple(sorted(p.cases))) for p in site.petitioners.values())
        accounts = sorted((u.username, tuple(u.roles), u.unit, bool(u.active)) for u in site.users.values())
        return sorted(cases), people, accounts
    finally:
        conn.close()


def body_targets(world, api):
    targets, problems = read_registry(world.app)
    assert not problems, problems
    out = []
    for target in targets:
        if target.method not in ("POST", "PATCH", "PUT"):
            continue
        if any(word in target.key for word in SKIP):
            continue
        if target.pattern.startswith("/api/") != api:
            continue
        out.append(target)
    return sorted(out, key=lambda t: (t.key, t.method))


def target_url(world, target):
    case = "own" if target.kind in ("case", "stage", "document") else None
    return url_for(world, target, case, ACTOR)


# --- strategies ----------------------------------------------------------------------------------

NASTY_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8", categories=("Cc", "Cf", "Zl", "Zp", "Co")), max_size=20),
    st.sampled_from(["\x00", "a\x00b", "\u202egpj.exe", "\ud800", "\r\nX-Injected: 1", "../../etc/passwd",
                     "<script>window.__pwned=1</script>", "x" * 100_000, "长" * 20_000, "", " ", "null",
                     "2025-02-30", "9999-99-99T99:99:99", "-1", "1e309", "NaN", "411502", "XY-2025-000001",
                     "0" * 400]),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), NASTY_TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(NASTY_TEXT, inner, max_size=4),
                    max_leaves=12)

PETITION = json.dumps(petition(), ensure_ascii=False)
KEYS = sorted(set(petition()) | {p.name for a in ACTIONS.values() for p in a.params}
              | {"username", "password", "purpose", "name", "q", "number", "note", "roles", "unit", "active",
                 "old", "new", "kind", "title", "text", "on", "accused", "source", "id_number", "params",
                 "reason", "experts", "date", "days", "year", "entries", "folder", "document"})


@st.composite
def json_bodies(draw):
    """Arbitrary JSON, or a plausible body (a petition, an action's parameters) with some
    fields replaced by values of the wrong type or shape."""
    kind = draw(st.sampled_from(["arbitrary", "petition", "keys", "raw"]))
    if kind == "arbitrary":
        return json.dumps(draw(JSON), ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    if kind == "raw":
        return draw(st.sampled_from([b"", b"{", b"[]", b"null", b'{"a":', b"\xff\xfe{}", b'{"a": NaN}',
                                     b"[" * 100_000, b'{"subject": "\\ud800"}', b"\x00" * 10,
                                     b'{"a": 1e99999}', b'{"a": "' + b"x" * 300_000 + b'"}']))
    body = json.loads(PETITION) if kind == "petition" else {}
    for key in draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=6)):
        body[key] = draw(JSON)
    return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")


FILES = st.one_of(st.binary(max_size=300), st.sampled_from([b"", b"%PDF-1.4\n%broken", b"\x89PNG\r\n\x1a\n",
                                                            b"II*\x00" + b"\xff" * 40, b"PK\x03\x04" + b"\x00" * 40]),
                  st.just(None))
FILENAMES = st.one_of(st.text(max_size=30).map(lambda t: t.encode("utf-8", "surrogatepass")),
                      st.binary(max_size=30).filter(lambda b: b'"' not in b),
                      st.sampled_from([b"../../etc/passwd", b"a\x00b.pdf", b"x\r\nX-Injected: 1", b"",
                                       ("长" * 300).encode() + b".pdf"]))


@st.composite
def multipart_bodies(draw, csrf=None):
    boundary = "fuzz" + draw(st.text(alphabet="abcdef0123456789", min_size=4, max_size=12))
    parts = []
    fields = draw(st.lists(st.tuples(st.sampled_from(KEYS + ["file", "files", "data", "csrf_token"]), NASTY_TEXT),
                           max_size=6))
    if draw(st.booleans()):
        fields.append(("data", json_bodies_plain(draw)))
    if csrf is not None:
        fields.append(("csrf_token", csrf))
    for name, value in fields:
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n".encode()
                     + value.encode("utf-8", "surrogatepass") + b"\r\n")
    for _ in range(draw(st.integers(0, 2))):
        data = draw(FILES)
        if data is None:
            data = draw(st.sampled_from(_real_files()))
        name = draw(st.sampled_from(["file", "files", "data"] + KEYS))   # a file where text is expected, too
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"".encode()
                     + draw(FILENAMES) + b"\"\r\nContent-Type: application/octet-stream\r\n\r\n" + data + b"\r\n")
    ending = draw(st.sampled_from([f"--{boundary}--\r\n", f"--{boundary}--", "", f"--{boundary}\r\n",
                                   "--other--\r\n"]))
    body = b"".join(parts) + ending.encode()
    ctype = draw(st.sampled_from([f"multipart/form-data; boundary={boundary}", "multipart/form-data",
                                  f"multipart/form-data; boundary=\"{boundary}\"",
                                  f"multipart/form-data; boundary={boundary}x"]))
    return body, ctype


_FILES = []


def _real_files():
    if not _FILES:
        _FILES.extend([pdf_bytes("模糊"), png_bytes()])
    return _FILES


def json_bodies_plain(draw):
    return json.dumps(draw(JSON), ensure_ascii=False)


# --- the checks --------------------------------------------------------------------------------

def send(world, target, body, content_type, user=ACTOR):
    client = world.clients[user]
    headers = {"Content-Type": content_type}
    url = target_url(world, target)
    if url.startswith("/api/"):
        headers["Authorization"] = f"Bearer {world.tokens[user]}"
    return client.request(url, method=target.method, body=body, headers=headers, status="*", expect_errors=True)


def refused(res):
    """Whether the answer says the request was refused (so nothing may have changed)."""
    if res.status_int >= 400:
        return True
    return res.status_int in (302, 303) and "wf_open=" in res.headers.get("Location", "")


def check(world, target, body, content_type, user=ACTOR):
    before = fingerprint(world.app)
    res = send(world, target, body, content_type, user)
    label = f"{target.method} {target_url(world, target)} ({target.key}) with {body[:200]!r}"
    assert res.status_int < 500, f"{label}: {res.status_int}\n{res.text[:500]}"
    if refused(res):
        assert fingerprint(world.app) == before, f"{label}: refused with {res.status_int} but the database changed"
    if "/api/" in target.pattern and res.status_int >= 400 and res.status_int != 405:
        error = res.json
        assert set(error) >= {"error", "message", "fields"}, f"{label}: {error}"
    return res


FIXED_JSON = [b"", b"[]", b"null", b"{", b'{"a": NaN}', b"[" * 50_000, b'{"x": "\\ud800"}',
              json.dumps({k: {"$": [None, "\x00"]} for k in KEYS}).encode(),
              json.dumps({k: "x" * 20_000 for k in KEYS}, ensure_ascii=False).encode(),
              json.dumps({k: 10**40 for k in KEYS}).encode(),
              json.dumps(dict(petition(), petitioners="王建国", received_at=["2025"])).encode()]


def test_every_json_endpoint_survives_malformed_bodies():
    with fuzz_world() as world:
        targets = body_targets(world, api=True)
        assert len(targets) >= 10
        for target in targets:   # every endpoint, with the classic bad bodies
            for body in FIXED_JSON:
                check(world, target, body, "application/json")

        @SETTINGS
        @given(index=st.integers(0, len(targets) - 1), body=json_bodies(),
               ctype=st.sampled_from(["application/json", "application/json; charset=latin-1", "text/plain",
                                      "application/x-www-form-urlencoded"]))
        def fuzz(index, body, ctype):
            check(world, targets[index], body, ctype)
        fuzz()


def test_every_upload_endpoint_survives_malformed_multipart():
    with fuzz_world() as world:
        targets = body_targets(world, api=True)

        @SETTINGS
        @given(index=st.integers(0, len(targets) - 1), payload=multipart_bodies())
        def fuzz(index, payload):
            body, ctype = payload
            check(world, targets[index], body, ctype)
        fuzz()


def test_every_html_form_survives_malformed_posts():
    with fuzz_world() as world:
        targets = body_targets(world, api=False)
        assert len(targets) >= 10
        csrf = world.csrf[ACTOR]
        for target in targets:
            for fields in ({}, {"title": "\x00" * 10, "kind": ["x"]}, {k: "长" * 5000 for k in KEYS}):
                from urllib.parse import urlencode
                body = urlencode(dict({k: v if isinstance(v, str) else str(v) for k, v in fields.items()},
                                      csrf_token=csrf)).encode()
                check(world, target, body, "application/x-www-form-urlencoded")

        @SETTINGS
        @given(index=st.integers(0, len(targets) - 1),
               payload=st.one_of(multipart_bodies(csrf=csrf),
                                 st.lists(st.tuples(st.sampled_from(KEYS), NASTY_TEXT), max_size=8).map(
                                     lambda pairs: (_urlencoded(pairs + [("csrf_token", csrf)]),
                                                    "application/x-www-form-urlencoded"))))
        def fuzz(index, payload):
            body, ctype = payload
            check(world, targets[index], body, ctype)
        fuzz()


def file_where_text_goes(csrf, name):
    """A multipart form whose field ``name`` is a file part (code expecting text got an object)."""
    b = "fixedB0undary"
    return (f"--{b}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n"
            f"--{b}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"x.txt\"\r\n"
            f"Content-Type: text/plain\r\n\r\nhello\r\n--{b}--\r\n").encode(), f"multipart/form-data; boundary={b}"


def test_a_file_sent_for_a_text_field_is_a_400_everywhere():
    with fuzz_world() as world:
        csrf = world.csrf[ACTOR]
        for target in body_targets(world, api=False) + body_targets(world, api=True):
            for name in ("csrf_token", "note", "title", "subject", "q", "username", "year", "number"):
                check(world, target, *file_where_text_goes(csrf, name))


def _urlencoded(pairs):
    from urllib.parse import quote
    return "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in pairs).encode()
