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

from casefiles import intake
from casefiles.idnumber import id_number_problem
from casefiles.units import bundled_units
from cli import demo
from cli.demodata import START, Generator, render_pdf

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
