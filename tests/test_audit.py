"""The audit trail: what is recorded, that the chain proves it was not altered, the auditors'
page, the CSV export, the console script and the extract in the archival package."""
import csv
import io
import json
import multiprocessing
import os

import pytest
import webtest

from casefiles import audit as A
from cli import audit as audit_cli

from .support import add_users, close_app, make_app, petition

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(HERE, "development.ini")


def flushed(app):
    assert app.registry.audit_writer.flush(10)


def trail(app):
    """Every entry of the app's log, in order."""
    flushed(app)
    return [entry for entry, _raw in app.registry.audit_log.entries()]


def find(entries, action, **fields):
    return [e for e in entries if e["action"] == action and all(e.get(k) == v for k, v in fields.items())]


def form_login(testapp, username, password="secret-pass-1", status=303):
    testapp.reset()
    form = testapp.get("/login").forms[0]
    form["username"] = username
    form["password"] = password
    return form.submit(status=status)


def register(api, **overrides):
    res = api("clerk").post_json("/api/cases", petition(**overrides), status=201)
    return res.json


def make_log(tmp_path, n=0, segment_entries=A.SEGMENT_ENTRIES, batch=7):
    log = A.AuditLog(str(tmp_path / "audit"), segment_entries=segment_entries, fsync=False)
    entries = [A.make_entry("case.view", user=f"user{i % 3}", address="10.0.0.1", case=f"XY-2025-{i:06d}",
                            detail={"q": "拆迁补偿"}) for i in range(1, n + 1)]
    for start in range(0, n, batch):
        log.append(entries[start:start + batch])
    return log


def rewrite_line(path, lineno, fn):
    with open(path, "rb") as f:
        lines = f.readlines()
    result = fn(lines[lineno - 1])
    lines[lineno - 1:lineno] = [] if result is None else [result]
    with open(path, "wb") as f:
        f.writelines(lines)


# -- what is recorded -----------------------------------------------------------------------------

def test_reads_downloads_searches_changes_and_logins_are_recorded(app, testapp, api):
    case = register(api)
    number = case["number"]
    doc = case["folders"][0]["documents"][0]["id"]
    case_url = f"/cases/{number[3:7]}/{number}/"
    # a browser session: the case page, a folder, a document page, its download, a search
    form_login(testapp, "analyst")
    testapp.get(case_url)
    testapp.get(case_url + "origin/")
    testapp.get(case_url + f"origin/{doc}")
    testapp.get(case_url + f"origin/{doc}/download")
    testapp.get("/search", params={"q": "拆迁 补偿", "district": "平桥区"})
    # the API: a case, a document's file, a search, a workflow action
    api("assigner").get(f"/api/cases/{number}")
    api("assigner").get(f"/api/cases/{number}/documents/{doc}/file")
    api("assigner").get("/api/search", params={"q": "补偿款"})
    api("assigner").post_json(f"/api/cases/{number}/actions/assign", {"unit": "NOPE"}, status=422)
    api("assigner").post_json(f"/api/cases/{number}/actions/assign", {"unit": "411502"})
    # failed logins, on the form and on the API
    form_login(testapp, "clerk", "wrong", status=401)
    testapp.post_json("/api/login", {"username": "reviewer", "password": "wrong"}, status=401)

    entries = trail(app)
    assert find(entries, "case.register", user="clerk", case=number, outcome="ok")
    assert find(entries, "login", user="analyst", outcome="ok")
    assert find(entries, "case.view", user="analyst", case=number)
    assert find(entries, "case.folder", user="analyst", case=number, detail={"folder": "origin"})
    assert find(entries, "document.view", user="analyst", case=number, document=doc)
    assert find(entries, "document.download", user="analyst", case=number, document=doc)
    search = find(entries, "search", user="analyst")
    assert search and search[0]["detail"] == {"q": "拆迁 补偿", "district": "平桥区"}
    assert find(entries, "case.view", user="assigner", case=number)
    assert find(entries, "document.download", user="assigner", case=number, document=doc)
    assert find(entries, "search", user="assigner", detail={"q": "补偿款"})
    assert find(entries, "workflow.assign", user="assigner", case=number, outcome="ok")
    assert find(entries, "workflow.assign", user="assigner", case=number, outcome="failed")
    assert find(entries, "login.failed", user="clerk", outcome="failed")
    assert find(entries, "login.failed", user="reviewer", outcome="failed")
    # every entry carries a time in Shanghai with microseconds
    assert all(e["at"].endswith("+08:00") and len(e["at"]) == 32 for e in entries)
    assert A.verify(app.registry.audit_log).ok


def test_refused_access_is_recorded_as_denied(app, api):
    number = register(api)["number"]
    api("assigner").post_json(f"/api/cases/{number}/actions/assign", {"unit": "411502"})
    api("unit2").get(f"/api/cases/{number}", status=403)
    entries = trail(app)
    assert find(entries, "case.view", user="unit2", case=number, outcome="denied")
    assert not find(entries, "case.view", user="unit2", outcome="ok")


def test_the_address_is_the_connection_s_and_missing_pages_are_not_recorded(app, api):
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543", "REMOTE_ADDR": "10.8.0.7"})
    client.post_json("/api/login", {"username": "clerk", "password": "wrong"}, status=401,
                     headers={"X-Forwarded-For": "1.2.3.4"})
    api("clerk").get("/favicon.ico", status=404)
    entries = trail(app)
    assert find(entries, "login.failed", user="clerk", address="10.8.0.7")
    assert not [e for e in entries if "favicon" in json.dumps(e)]


def test_a_change_whose_transaction_is_aborted_is_recorded_as_failed(app, testapp, api):
    api("clerk").post_json("/api/cases", petition(subject=""), status=422)
    form_login(testapp, "clerk")
    form = testapp.get("/register?channel=letter").forms["intake-form"]
    form["subject"] = ""
    form.submit(status=422)
    entries = trail(app)
    failed = find(entries, "case.register", user="clerk", outcome="failed")
    assert len(failed) == 2 and not find(entries, "case.register", outcome="ok")


def test_explicit_entries_carry_their_detail_and_replace_the_family(app, testapp):
    from pyramid.request import Request
    from views.audit import _collect, record
    request = Request.blank("/api/login", method="POST", POST='{"username": "clerk"}',
                            content_type="application/json", remote_addr="10.1.2.3")
    request.registry = app.registry
    record(request, "login.locked", detail={"attempts": 5})
    entries = _collect(request, None, 401)
    assert [(e["action"], e["user"], e["address"], e["detail"], e["outcome"]) for e in entries] == \
        [("login.locked", "clerk", "10.1.2.3", {"attempts": 5}, "denied")]
    with pytest.raises(ValueError):
        record(request, "case.view", outcome="maybe")


def test_every_route_and_view_has_an_audit_rule(app):
    """No view escapes the audit table: each one names its action or is exempt on purpose."""
    from views import audit as V
    missing = []
    for item in app.registry.introspector.get_category("views"):
        view = item["introspectable"]
        methods = view["request_methods"] or ("*",)
        if isinstance(methods, str):
            methods = (methods,)
        for method in methods:
            if view["route_name"]:
                name = view["route_name"]
                if name in V.EXEMPT_ROUTES:
                    continue
                if (name, method) not in V.ROUTE_ACTIONS and (name, "*") not in V.ROUTE_ACTIONS:
                    missing.append((name, method))
            else:
                context = view["context"]
                cls = getattr(context, "__name__", str(context))
                if cls in V.EXEMPT_CONTEXTS:
                    continue
                key = (cls, view["name"] or "")
                if key + (method,) in V.VIEW_ACTIONS or key + ("*",) in V.VIEW_ACTIONS:
                    continue
                if cls == "Case" and method == "POST" and V.is_workflow_action(view["name"]):
                    continue    # a workflow action: workflow.<name>
                missing.append((cls, view["name"], method))
    assert not missing, f"views without an audit rule in views/audit.py: {sorted(set(map(str, missing)))}"


def test_auditing_can_be_switched_off(var):
    app = make_app(var, **{"casefiles.audit": "false"})
    try:
        add_users(app, [("clerk", ["clerk"], None)])
        client = webtest.TestApp(app)
        client.post_json("/api/login", {"username": "clerk", "password": "secret-pass-1"})
        assert app.registry.audit_writer is None
        assert not os.path.exists(os.path.join(str(var), "audit", "audit-000001.jsonl"))
    finally:
        close_app(app)


def test_entries_queued_at_close_are_written(var):
    app = make_app(var)
    app.registry.audit_writer.submit([A.make_entry("case.view", user="x", case=f"XY-2025-{i:06d}")
                                      for i in range(500)])
    close_app(app)
    log = A.AuditLog(os.path.join(str(var), "audit"))
    assert log.head().seq == 500
    assert A.verify(log).ok


# -- the chain --------------------------------------------------------------------------------------

def test_an_intact_chain_verifies(tmp_path):
    log = make_log(tmp_path, 100, segment_entries=30)
    assert [log.segment_name(n) for n in log.segments()] == [
        "audit-000001.jsonl", "audit-000002.jsonl", "audit-000003.jsonl", "audit-000004.jsonl"]
    report = A.verify(log)
    assert report.ok and report.checked == 100 and report.head.seq == 100
    assert report.anchor.seq == 100 and report.anchor.hash == report.head.hash
    first = next(log.entries())[0]
    assert first["prev"] == A.GENESIS and first["seq"] == 1


def test_changing_one_entry_is_detected(tmp_path):
    log = make_log(tmp_path, 40)
    path = log.segment_path(1)
    rewrite_line(path, 17, lambda line: line.replace(b"XY-2025-000017", b"XY-2025-000071"))
    problem = A.verify(log).problem
    assert (problem.reason, problem.segment, problem.line, problem.seq) == ("hash", "audit-000001.jsonl", 17, 17)


def test_changing_an_entry_and_recomputing_its_hash_breaks_the_next_link(tmp_path):
    log = make_log(tmp_path, 40)

    def forge(line):
        entry = json.loads(line)
        entry["user"] = "someone-else"
        return A.seal(entry, entry["seq"], entry["prev"])[1]
    rewrite_line(log.segment_path(1), 17, forge)
    problem = A.verify(log).problem
    assert (problem.reason, problem.line, problem.seq) == ("link", 18, 18)


def test_deleting_one_entry_is_detected(tmp_path):
    log = make_log(tmp_path, 40)
    rewrite_line(log.segment_path(1), 21, lambda line: None)
    problem = A.verify(log).problem
    assert (problem.reason, problem.segment, problem.line, problem.seq) == ("sequence", "audit-000001.jsonl", 21, 22)


def test_deleting_an_entry_and_renumbering_is_detected(tmp_path):
    log = make_log(tmp_path, 10)
    path = log.segment_path(1)
    with open(path, "rb") as f:
        lines = f.readlines()
    entries = [json.loads(line) for line in lines]
    del entries[4]
    with open(path, "wb") as f:   # renumber but keep the stored prev links: the link breaks
        for seq, entry in enumerate(entries, 1):
            entry["seq"] = seq
            f.write(A.seal(entry, seq, entry["prev"])[1])
    problem = A.verify(log).problem
    assert problem.reason == "link" and problem.seq == 5


def test_cutting_off_the_tail_is_detected_by_the_anchor(tmp_path):
    log = make_log(tmp_path, 40)
    path = log.segment_path(1)
    with open(path, "rb") as f:
        lines = f.readlines()
    with open(path, "wb") as f:
        f.writelines(lines[:35])
    problem = A.verify(log).problem
    assert problem.reason == "truncated" and problem.seq == 40


def test_a_write_torn_by_a_crash_is_recorded_and_the_chain_goes_on(tmp_path):
    log = make_log(tmp_path, 10)
    torn = A.seal(A.make_entry("case.view", user="x"), 11, "0" * 64)[1][:57]
    with open(log.segment_path(1), "ab") as f:
        f.write(torn)                        # the process died in the middle of its write
    assert A.verify(log).problem.reason == "unreadable"
    restarted = A.AuditLog(log.path, fsync=False)
    restarted.append([A.make_entry("case.view", user="after")])
    report = A.verify(restarted)
    assert report.ok and report.recovered == 1 and report.head.seq == 12
    entries = [e for e, _ in restarted.entries()]
    assert entries[10]["action"] == "audit.recovered" and entries[10]["detail"]["line"] == 11
    assert entries[10]["detail"]["fragment_bytes"] == 57 and entries[11]["user"] == "after"
    # the same fragment without its recovery entry is not accepted
    rewrite_line(log.segment_path(1), 12, lambda line: None)
    assert A.verify(restarted).problem.reason == "unreadable"


def test_a_write_torn_by_another_process_is_ended_before_the_next_batch(tmp_path):
    log = make_log(tmp_path, 5)
    with open(log.segment_path(1), "ab") as f:     # another process died in mid-write
        f.write(b'{"seq":6,"at":"2026-')
    with open(log.anchor_path, "ab") as f:         # … and in the middle of the anchor's line
        f.write(b"6 ab")
    log.append([A.make_entry("case.view", user="still-running")])
    report = A.verify(log)
    assert report.ok and report.recovered == 1 and report.anchor.seq == 7
    assert [e["user"] for e, _ in log.entries()][-1] == "still-running"


def test_a_foreign_line_is_detected(tmp_path):
    log = make_log(tmp_path, 10)
    with open(log.segment_path(1), "ab") as f:
        f.write(b'{"note": "added by hand"}\n')
    log.append([A.make_entry("case.view", user="later")])
    problem = A.verify(log).problem
    assert (problem.reason, problem.line) == ("unreadable", 11)


def test_removing_a_whole_segment_is_detected(tmp_path):
    log = make_log(tmp_path, 50, segment_entries=10)
    os.remove(log.segment_path(3))
    problem = A.verify(log).problem
    assert problem.reason == "segment" and problem.segment == "audit-000004.jsonl"
    os.remove(log.segment_path(5))
    os.remove(log.segment_path(4))
    problem = A.verify(log).problem     # the last segments gone: the anchor still knows
    assert problem.reason == "truncated"


def test_a_package_head_catches_a_rewritten_tail_and_anchor(tmp_path):
    log = make_log(tmp_path, 30)
    head = A.verify(log).head
    # rewrite the last ten entries and the anchor consistently
    path = log.segment_path(1)
    with open(path, "rb") as f:
        lines = f.readlines()[:20]
    with open(path, "wb") as f:
        f.writelines(lines)
    with open(log.anchor_path, "w") as f:
        f.write("")
    log._cache = None
    log.append([A.make_entry("case.view", user="forger")] * 10)
    assert A.verify(log).ok       # consistent on its own …
    problem = A.verify(log, expect=head).problem   # … but not with what a package recorded
    assert problem.reason == "anchor" and problem.seq == 30


def _append_from_process(path, who, n):
    log = A.AuditLog(path, fsync=False, segment_entries=50)
    for i in range(n):
        log.append([A.make_entry("case.view", user=who, case=str(i))])


def test_several_processes_keep_one_chain(tmp_path):
    path = str(tmp_path / "audit")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_from_process, args=(path, f"p{k}", 60)) for k in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    log = A.AuditLog(path, segment_entries=50)
    report = A.verify(log)
    assert report.ok and report.checked == 180
    assert {e["user"] for e, _ in log.entries()} == {"p0", "p1", "p2"}


# -- the auditors' pages -----------------------------------------------------------------------------

def test_auditor_filters_pages_and_exports(app, testapp, api):
    number = register(api)["number"]
    other = register(api, subject="另一件信访事项")["number"]
    api("assigner").get(f"/api/cases/{number}")
    api("assigner").get(f"/api/cases/{other}")
    testapp.post_json("/api/login", {"username": "clerk", "password": "nope"}, status=401)
    auditor = api("auditor")

    res = auditor.get("/api/audit", params={"case": number})
    assert res.json["total"] >= 2 and {e["case"] for e in res.json["entries"]} == {number}
    res = auditor.get("/api/audit", params={"user": "assigner", "action": "case.view"})
    assert {e["case"] for e in res.json["entries"]} == {number, other}
    res = auditor.get("/api/audit", params={"action": "login*", "outcome": "failed"})
    assert [e["user"] for e in res.json["entries"]] == ["clerk"]
    today = A.now_iso()[:10]
    assert auditor.get("/api/audit", params={"from": today, "to": today}).json["total"] > 5
    assert auditor.get("/api/audit", params={"to": "2020-01-01"}).json["total"] == 0
    res = auditor.get("/api/audit", params={"from": "2025-13-01"}, status=422)
    assert "from" in res.json["fields"]

    # the web page, with a login as auditor
    form_login(testapp, "clerk")
    assert 'href="http://localhost:6543/audit"' not in testapp.get("/").text
    form_login(testapp, "auditor")
    assert 'href="http://localhost:6543/audit"' in testapp.get("/").text     # in the menu
    shown = testapp.get("/audit", params={"case": other})
    assert other in shown.text and 'data-action="case.view"' in shown.text
    assert f">{number}<" not in shown.text
    csv_res = testapp.get("/audit.csv", params={"case": number})
    assert csv_res.content_type == "text/csv" and "attachment" in csv_res.headers["Content-Disposition"]
    body = csv_res.body.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0] == list(A.CSV_COLUMNS)
    assert len(rows) > 2 and {r[5] for r in rows[1:]} == {number}
    # reading the trail is itself in the trail
    entries = trail(app)
    assert find(entries, "audit.view", user="auditor")
    assert find(entries, "audit.export", user="auditor", detail={"case": number})


@pytest.mark.parametrize("username", ["unit", "clerk", "assigner"])
def test_only_auditors_and_administrators_read_the_trail(app, api, username):
    client = api(username)
    client.get("/api/audit", status=403)
    client.get("/audit", status=403)
    client.get("/audit.csv", status=403)
    api("admin").get("/api/audit")
    entries = trail(app)
    assert find(entries, "audit.view", user=username, outcome="denied")


# -- the console script ------------------------------------------------------------------------------

def test_cli_verify_exit_codes_and_export(var, monkeypatch, capsys):
    monkeypatch.setenv("CASEFILES_VAR", str(var))
    app = make_app(var)
    try:
        add_users(app, [("clerk", ["clerk"], None)])
        client = webtest.TestApp(app)
        token = client.post_json("/api/login", {"username": "clerk", "password": "secret-pass-1"}).json["token"]
        headers = {"Authorization": f"Bearer {token}"}
        number = client.post_json("/api/cases", petition(), headers=headers, status=201).json["number"]
        for _ in range(5):
            client.get(f"/api/cases/{number}", headers=headers)
    finally:
        close_app(app)
    assert audit_cli.main([CONFIG, "verify"]) == 0
    out = capsys.readouterr().out
    assert "7" in out and "audit-000001.jsonl" not in out

    assert audit_cli.main([CONFIG, "export", "--case", number, "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6 and all(json.loads(line)["case"] == number for line in lines)

    path = os.path.join(str(var), "audit", "audit-000001.jsonl")
    rewrite_line(path, 4, lambda line: line.replace(b'"case.view"', b'"case.list"'))
    assert audit_cli.main([CONFIG, "verify"]) == 1
    out = capsys.readouterr().out
    assert "audit-000001.jsonl:4" in out and "4" in out

    report_json = None
    assert audit_cli.main([CONFIG, "verify", "--json"]) == 1
    report_json = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report_json["problem"]["reason"] == "hash" and report_json["problem"]["line"] == 4


# -- the archival package ------------------------------------------------------------------------------

def test_the_archival_package_holds_the_case_extract_and_the_head(app, api, monkeypatch, capsys):
    import bagit

    from archive import store as S

    from .test_archive_support import archive_case, closed_case
    number = closed_case(app)
    api("analyst").get(f"/api/cases/{number}")
    api("reviewer").get(f"/api/cases/{number}")
    flushed(app)
    archive_case(app, number)
    bag = S.Store.from_settings(app.registry.settings).path(number)
    assert bagit.Bag(bag).validate()
    manifest = open(os.path.join(bag, "manifest-sha256.txt"), encoding="utf-8").read()
    assert "data/audit/audit.jsonl" in manifest and "data/audit/head.json" in manifest
    lines = open(os.path.join(bag, "data", "audit", "audit.jsonl"), encoding="utf-8").read().splitlines()
    entries = [json.loads(line) for line in lines]
    assert {e["user"] for e in entries} >= {"analyst", "reviewer"} and {e["case"] for e in entries} == {number}
    assert A.check_extract(bag) == []
    head = A.read_package_head(bag)
    assert head.seq >= max(e["seq"] for e in entries)
    assert f"Audit-Trail-Head: {head.seq} {head.hash}" in open(os.path.join(bag, "bag-info.txt")).read()
    assert S.verify_bag(bag, number) == []

    # the console script compares the log with the package's head: cut log and anchor alike
    monkeypatch.setenv("CASEFILES_VAR", app.registry.settings["casefiles.var"])
    flushed(app)
    log = app.registry.audit_log
    assert audit_cli.main([CONFIG, "verify"]) == 0
    capsys.readouterr()
    path = log.segment_path(1)
    with open(path, "rb") as f:
        kept = f.readlines()[:head.seq - 1]
    with open(path, "wb") as f:
        f.writelines(kept)
    with open(log.anchor_path, "w") as f:
        f.write(f"{head.seq - 1} {json.loads(kept[-1])['hash']}\n")
    assert audit_cli.main([CONFIG, "verify"]) == 1
    assert "package" in capsys.readouterr().out



def _log_from_forked_worker(app, conn):
    app.registry.audit_writer.submit([A.make_entry("case.view", user="worker", case="XY-2025-000009")])
    conn.send(app.registry.audit_writer.flush(10))
    conn.close()


def test_a_forked_worker_writes_through_its_own_writer(app):
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_log_from_forked_worker, args=(app, child))
    proc.start()
    assert parent.recv() is True
    proc.join(30)
    assert find(trail(app), "case.view", user="worker", case="XY-2025-000009")
    assert A.verify(app.registry.audit_log).ok
