"""The demo data: ``casefiles-demo`` makes users who can log in and realistic cases with real
PDFs, the same ones for the same seed, and only once; the generator's plans pass every rule
of registration."""
import collections
import datetime
import io
import os
import re

import pypdf
import pytest
import webtest

from casefiles import clocks, intake
from casefiles.idnumber import id_number_problem
from casefiles.petitioners import Petitioners
from casefiles.units import bundled_units
from cli import demo
from cli.demodata import START, Generator, render_pdf, unit_user

from .support import close_app, make_app, open_site

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(HERE, "development.ini")


def run_demo(monkeypatch, var, *args):
    with monkeypatch.context() as m:
        m.setenv("CASEFILES_VAR", str(var))
        return demo.main([CONFIG, *args])


def snapshot(var):
    """What a user would see of the demo cases, in number order."""
    app = make_app(var)
    conn, site = open_site(app)
    try:
        out = []
        for case in sorted(site.cases.all_cases(), key=lambda c: (c.year, c.seq)):
            people = [site.petitioners[pid] for pid, _primary in case.petitioners]
            out.append({
                "number": case.number, "subject": case.subject, "channel": case.channel,
                "district": case.district, "received": case.received_at, "unit": case.unit,
                "accused_unit": case.accused_unit, "type": case.petition_type,
                "people": [(p.name, p.id_number, p.anonymous) for p in people],
                "documents": sorted((d.kind, d.title, d.current.media_type, d.current.sha256)
                                    for d in case.documents()),
                "status": case.status,
                "history": [(h.action, h.at, h.by) for h in case.history],
                "deadlines": [(d.name, d.start, d.due, d.met_at) for d in clocks.clocks(case)],
            })
        return out
    finally:
        conn.close()
        close_app(app)


def pdfs(var):
    app = make_app(var)
    conn, site = open_site(app)
    try:
        return [(case.number, case.subject, doc.kind, doc.current.read())
                for case in site.cases.all_cases() for doc in case.documents()
                if doc.current.media_type == "application/pdf"]
    finally:
        conn.close()
        close_app(app)


def test_demo_users_cases_and_pdfs(tmp_path, monkeypatch, capsys):
    var = tmp_path / "var"
    assert run_demo(monkeypatch, var, "--cases", "40", "--seed", "3") == 0
    captured = capsys.readouterr()
    assert "已生成 40 件演示信访件" in captured.out
    assert "demo-clerk-2025" in captured.out
    assert "40/40" in captured.err

    cases = snapshot(var)
    assert len(cases) == 40
    assert [c["received"] for c in cases] == sorted(c["received"] for c in cases)   # numbers follow the calendar
    assert all(datetime.date(2024, 1, 1) <= c["received"].date() <= datetime.date.today() for c in cases)
    assert len({c["channel"] for c in cases}) >= 4
    assert len({c["district"] for c in cases}) >= 5
    assert all(c["documents"] for c in cases)
    routed = [c for c in cases if c["unit"]]
    assert routed and all(c["unit"] != c["accused_unit"] for c in routed)

    app = make_app(var)
    try:
        client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543"})
        tokens = {}
        for username, role, unit, name in demo.DEMO_USERS:
            res = client.post_json("/api/login", {"username": username, "password": demo.demo_password(username)})
            assert res.json["user"]["roles"] == [role]
            tokens[username] = res.json["token"]
        client.post_json("/api/login", {"username": "clerk", "password": "secret-pass-1"}, status=401)
        seen = client.get("/api/cases?size=200", headers={"Authorization": f"Bearer {tokens['clerk']}"}).json
        assert seen["total"] == 40
        # a unit user sees exactly the cases routed to their unit
        mine = client.get("/api/cases?size=200", headers={"Authorization": f"Bearer {tokens['unit']}"}).json
        expected = sorted(c["number"] for c in cases if c["unit"] == "411502")
        assert sorted(c["number"] for c in mine["cases"]) == expected
        assert mine["total"] == len(expected)
    finally:
        close_app(app)

    found = pdfs(var)
    assert found, "letters and transfers come with PDF scans"
    for number, subject, kind, data in found:
        reader = pypdf.PdfReader(io.BytesIO(data))
        assert len(reader.pages) >= 1
        text = "".join(page.extract_text() for page in reader.pages)
        if kind == "letter":
            assert "尊敬的信阳市信访局领导" in text and "信访人" in text, number
        elif kind == "transfer_sheet":
            assert re.search(r"(豫信|国信)[转交督抄]〔\d{4}〕\d+号", text), number


def test_demo_is_deterministic_for_a_seed(tmp_path, monkeypatch, capsys):
    # both runs plan up to the same moment: a case received "now" is clipped to it to the second
    from casefiles import localtime
    from cli import demodata
    now = localtime.now().replace(microsecond=0)
    monkeypatch.setattr(demodata.localtime, "now", lambda: now)
    assert run_demo(monkeypatch, tmp_path / "a", "--cases", "15", "--seed", "5") == 0
    assert run_demo(monkeypatch, tmp_path / "b", "--cases", "15", "--seed", "5") == 0
    a, b = snapshot(tmp_path / "a"), snapshot(tmp_path / "b")
    assert len(a) == 15
    assert a == b                      # numbers, subjects, people, dates, routing, the PDFs' bytes
    other = Generator(6).plan(15)
    assert [x["subject"] for x in a] == [p.body["subject"] for p in Generator(5).plan(15)]
    assert [x["subject"] for x in a] != [p.body["subject"] for p in other]


def test_demo_runs_once_unless_forced(tmp_path, monkeypatch, capsys):
    var = tmp_path / "var"
    assert run_demo(monkeypatch, var, "--cases", "4") == 0
    capsys.readouterr()
    assert run_demo(monkeypatch, var, "--cases", "4") == 0
    out = capsys.readouterr().out
    assert "已存在" in out and "demo-clerk-2025" not in out     # the users were there already
    assert len(snapshot(var)) == 4
    assert run_demo(monkeypatch, var, "--cases", "3", "--seed", "2", "--force") == 0
    assert len(snapshot(var)) == 7


class _Site:
    units = {row["code"]: row for row in bundled_units()}
    petitioners = Petitioners()     # empty: ``validate`` looks a known ID number's name up in it


def test_generated_plans_pass_registration_and_look_real():
    now = datetime.datetime(2026, 3, 16, 10, 30)
    plan = Generator(11, now=now).plan(400)
    assert len(plan) == 400
    again = Generator(11, now=now).plan(400)
    assert [p.body for p in plan] == [p.body for p in again]

    site = _Site()
    for planned in plan:
        intake.validate(site, planned.body, planned.registered_at)      # raises if anything is off
        received = planned.received
        assert START <= received.date() and received <= planned.registered_at <= now
    assert [p.received for p in plan] == sorted(p.received for p in plan)

    channels = collections.Counter(p.body["channel"] for p in plan)
    assert set(channels) == {"letter", "visit", "online", "phone", "video", "transfer"}
    groups = [p for p in plan if p.body["channel"] == "visit" and len(p.body["petitioners"]) > 1]
    assert groups and all(len(p.body["petitioners"]) <= 5 <= 40 and
                          p.body["group_size"] > len(p.body["petitioners"]) for p in groups)
    transfers = [p.body["source"] for p in plan if p.body["channel"] == "transfer"]
    assert all(re.fullmatch(r"(豫信|国信)[转交督抄]〔20\d\d〕\d{1,3}号", s["ref"]) for s in transfers)
    assert len({s["ref"] for s in transfers}) == len(transfers)
    assert {s["level"] for s in transfers} == {"national", "provincial"}
    accusations = [p.body for p in plan if p.body["petition_type"] == "accusation"]
    assert accusations and all(b["accused"]["unit"] or b["accused"]["person"] for b in accusations)
    assert any(b["accused"]["unit"] for b in accusations)
    assert any(b["petitioners"] == [{"anonymous": True, "primary": True}] for b in accusations)
    refs = [p.body["external_ref"] for p in plan if p.body["channel"] == "online"]
    assert len(set(refs)) == len(refs)

    ids = [person["id_number"] for p in plan for person in p.body["petitioners"] if person.get("id_number")]
    assert all(id_number_problem(i, today=now.date()) is None for i in ids)
    by_person = collections.Counter(ids)
    repeaters = [i for i, n in by_person.items() if n > 1]
    assert repeaters, "some people petition more than once"
    assert any(p.body["subject"].startswith("再次反映：") for p in plan)
    assert sum(1 for p in plan if p.unit) > 100
    assert {p.body["district"] for p in plan} >= {"浉河区", "平桥区", "固始县", "息县"}
    assert all(p.body["received_at"] <= now.isoformat() for p in plan)


def test_pdf_is_a_real_pdf_with_the_letter_text():
    plan = Generator(2, now=datetime.datetime(2025, 6, 1, 12, 0)).plan(60)
    letter = next(f for p in plan for f in p.files if f.kind == "letter")
    data = render_pdf(letter)
    assert data.startswith(b"%PDF-") and len(data) < 200_000
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "此致" in text and "敬礼" in text
    assert render_pdf(letter) == data


@pytest.mark.parametrize("argv", [["--cases", "-1"], ["--batch", "0"]])
def test_demo_refuses_bad_numbers(tmp_path, monkeypatch, capsys, argv):
    assert run_demo(monkeypatch, tmp_path / "var", *argv) == 2
    assert "--" in capsys.readouterr().err


# --------------------------------------------------------------------------------------
# The demo bureau at work: the cases are taken through the real workflow

ROUTING = ("assign", "forward")
NOW = datetime.datetime(2026, 3, 16, 10, 30)


def routed_by_steps(case):
    """The unit the case's history routed it to: its last assign or forward (None after an
    objection sent it back)."""
    unit = None
    for entry in case.history:
        if entry.action in ROUTING:
            unit = "routed"
        elif entry.action == "object":
            unit = None
    return unit


def transact(app, work, attempts=30):
    """``work(site)`` in its own transaction, retried while the index worker conflicts."""
    from ZODB.POSException import ConflictError
    conn, _site = open_site(app)
    tm = conn.transaction_manager
    try:
        for _attempt in range(attempts):
            tm.begin()
            try:
                result = work(conn.root()["casefiles"])
                tm.commit()
                return result
            except ConflictError:
                tm.abort()
        raise AssertionError("kept conflicting")
    finally:
        tm.abort()
        conn.close()


def play_plan(app, plan, now):
    """What ``casefiles-demo`` does with a plan, at a fixed ``now``."""
    transact(app, lambda site: (demo.ensure_users(site), demo.ensure_unit_users(site, plan),
                                demo.ensure_experts(site, now)))
    by_plan, dead, problems = {}, set(), []
    with app.registry.search_indexer.activity.working():
        for chunk in demo.timeline(plan, 25):
            registered, failed = transact(app, lambda site: demo.play(site, plan, chunk, by_plan, dead, now.date(),
                                                                        None))
            for index, _stats, number, _channel in registered:
                by_plan[id(plan[index])] = number
            for index, step, problem in failed:
                dead.add(index)
                problems.append((plan[index].body["subject"], step and step.action, problem.message))
    return by_plan, problems


def test_the_demo_bureau_is_at_work(tmp_path):
    """Taken through the real workflow on a fixed day, the demo cases are spread over the
    states of a working bureau, every step is accepted, dates follow each other, a unit has
    exactly the cases an assign or forward step sent it, and only a few are overdue."""
    plan = Generator(7, now=NOW).plan(100)
    app = make_app(tmp_path / "var")
    try:
        by_plan, problems = play_plan(app, plan, NOW)
        assert problems == []
        conn, site = open_site(app)
        try:
            cases = sorted(site.cases.all_cases(), key=lambda c: c.seq)
            assert len(cases) == 100
            states = collections.Counter(c.status for c in cases)
            assert {"registered", "accepted", "forwarded", "assigned", "replied", "closed", "archived", "rejected",
                    "filed", "merged", "not-reaccepted"} <= set(states), states
            assert set(states) & {"under-review", "review-decided", "under-recheck", "hearing", "recheck-decided"}
            assert states["closed"] + states["archived"] >= 20
            assert states["registered"] <= 20          # the recent ones only

            today = NOW.date()
            overdue = [c for c in cases if (clocks.next_due(c) or today) < today]
            assert 0 < len(overdue) <= 8, [c.number for c in overdue]
            waiting = [c for c in cases if c.status == "registered"]
            assert sum(1 for c in waiting if (today - c.received_at.date()).days <= 15) >= len(waiting) - 3

            for case in cases:
                times = [case.registered_at] + [h.at for h in case.history if h.action != "register"]
                assert times == sorted(times) and times[-1] <= NOW, case.number
                assert all(d.met_at is None or d.met_at >= d.start for d in clocks.clocks(case)), case.number
                assert (case.unit is not None) == (routed_by_steps(case) is not None), case.number
                assert case.unit is None or case.unit != case.accused_unit
                if case.status in ("closed", "archived"):
                    assert (case.reply or {}).get("delivered_on") and all(
                        d.state(today) in ("met", "cancelled") for d in clocks.clocks(case)), case.number

            actions = collections.Counter(h.action for c in cases for h in c.history)
            for name in ("accept", "assign", "forward", "report", "approve-report", "reply", "deliver", "evaluate",
                         "supervise", "end-supervision", "request-review", "decide-review", "request-recheck",
                         "schedule-hearing", "record-hearing", "decide-recheck", "close", "archive", "reject",
                         "refuse-repeat", "mark-repeat", "object", "return-report", "extend"):
                assert actions[name], name
            # the units' own handling reports (办结报告) are PDFs filed by the unit's user
            reports = [d for c in cases for d in c.documents() if d.kind == "handling_report"]
            assert reports and all(d.current.media_type == "application/pdf" for d in reports)
            assert {d.current.filed_by for d in reports} <= {demo.unit_user(c.unit) for c in cases if c.unit}
            assert all(c.hearings[-1]["recorded_on"] for c in cases if c.hearings and c.status != "hearing")
            closed = [c for c in cases if c.status in ("closed", "archived")]
            assert any(c.satisfaction for c in closed) and any(c.recheck for c in closed)
        finally:
            conn.close()
    finally:
        close_app(app)


def test_the_plan_of_steps(tmp_path):
    """Steps follow each other from the registration on, none after ``now``; a unit is
    reached only by an assign or forward step and acts only on its own cases; a repeat item
    refers to an earlier case; the same seed and day give the same steps."""
    plan = Generator(12, now=NOW).plan(300)
    again = Generator(12, now=NOW).plan(300)
    assert [[(s.action, s.by, s.at, sorted(s.body)) for s in p.steps] for p in plan] == \
        [[(s.action, s.by, s.at, sorted(s.body)) for s in p.steps] for p in again]
    index = {id(p): i for i, p in enumerate(plan)}
    for i, planned in enumerate(plan):
        last = planned.registered_at
        unit = None
        for step in planned.steps:
            assert last < step.at <= NOW and step.body["on"] == step.on.isoformat()
            last = step.at
            for key in ("delivered_on", "told_on"):
                if key in step.body:
                    assert step.on.isoformat() <= step.body[key] <= NOW.date().isoformat()
            if step.action in ROUTING:
                unit = step.body["unit"]
                assert step.by in ("clerk", "assigner")
            elif step.action == "object":
                assert step.by == unit_user(unit)
                unit = None
            elif step.action in ("report", "file-report") or (step.action == "reply" and step.by.startswith("unit")):
                assert step.by == unit_user(unit)
            for key in ("into", "original"):
                if key in step.body:
                    assert index[id(step.body[key])] < i
        assert planned.unit == unit
    assert sum(1 for p in plan if p.unit) > 100
    assert sum(1 for p in plan if not p.steps) < 60


def test_the_cli_demo_routes_only_through_steps(tmp_path, monkeypatch, capsys):
    """``casefiles-demo`` as run.sh runs it (today): every planned step is accepted, the cases
    are in several states, a unit user sees exactly the cases an assign or forward step sent
    to the unit, and the dashboard counts cases in progress and done."""
    var = tmp_path / "var"
    assert run_demo(monkeypatch, var, "--cases", "40", "--seed", "9") == 0
    out = capsys.readouterr().out
    assert "超期" in out
    app = make_app(var)
    try:
        conn, site = open_site(app)
        try:
            cases = list(site.cases.all_cases())
            states = collections.Counter(c.status for c in cases)
            assert len(states) >= 4 and states["registered"] < 20, states
            today = datetime.date.today()
            assert sum(1 for c in cases if (clocks.next_due(c) or today) < today - datetime.timedelta(days=1)) <= 8
            assert all((c.unit is not None) == (routed_by_steps(c) is not None) for c in cases)
            mine = sorted(c.number for c in cases if c.unit == "411502")
            done = sum(1 for c in cases if c.status in ("closed", "archived"))
        finally:
            conn.close()
        client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543"})
        token = client.post_json("/api/login", {"username": "unit", "password": demo.demo_password("unit")}).json
        seen = client.get("/api/cases?size=200", headers={"Authorization": f"Bearer {token['token']}"}).json
        assert sorted(c["number"] for c in seen["cases"]) == mine
        page = client.get("/login")
        form = page.forms[0]
        form["username"], form["password"] = "clerk", demo.demo_password("clerk")
        form.submit()
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", client.get("/").text))
        assert re.search(rf"已办结或已归档 {done}\b", text) and done > 0
    finally:
        close_app(app)
