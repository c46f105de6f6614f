"""The workflow through the JSON API: a full journey from registration to closed with
review, re-review and a hearing; windows that close; queues and the due filters; the Henan
rule set from the ini; loading a year's calendar; repeat items and joined cases; the
expert pool; leader reception days; the forms on the case page."""
import datetime
import io
import re

import pypdf
import pytest
import webtest

from casefiles import clocks
from casefiles.calendar import OfficialCalendar
from views.workflow import today_here   # the server's today (Asia/Shanghai)

from .support import PASSWORD, add_users, close_app, id_number, make_app, open_site, pdf_bytes, petition

D = datetime.date.fromisoformat


def act(client, number, action, body, status=200):
    return client.post_json(f"/api/cases/{number}/actions/{action}", body, status=status)


def deadline(case_json, name):
    found = [d for d in case_json["deadlines"] if d["name"] == name]
    return found[-1] if found else None


def pdf_text(client, number, doc_id):
    res = client.get(f"/api/cases/{number}/documents/{doc_id}/file")
    assert res.content_type == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(res.body))
    return "".join(page.extract_text() for page in reader.pages).replace("\n", "")


def documents(case_json, folder):
    return [d for f in case_json["folders"] if f["name"] == folder for d in f["documents"]]


def file_report(client, number, title="办结报告"):
    res = client.post(f"/api/cases/{number}/documents", {"kind": "handling_report", "title": title},
                      upload_files=[("file", "report.pdf", pdf_bytes("办结报告"))], status=201)
    return res.json["id"]


def add_experts(client):
    ids = []
    for name, field, unit, org in (("李明", "法学", "", "信阳师范大学"), ("王芳", "社会学", "", "市社科联"),
                                   ("陈刚", "城建", "", "律师事务所"), ("周强", "城建", "411502", "")):
        res = client.post_json("/api/experts", {"name": name, "field": field, "unit": unit, "organisation": org},
                               status=201)
        ids.append(res.json["id"])
    return ids


def test_full_journey_from_registration_to_closed(api):
    clerk, assigner, unit, supervisor, reviewer = (api(u) for u in ("clerk", "assigner", "unit", "supervisor",
                                                                      "reviewer"))
    case = clerk.post_json("/api/cases", petition(received_at="2025-09-20T09:00:00"), status=201).json
    n = case["number"]
    triage = deadline(case, "triage")
    assert triage["due"] == "2025-10-09"
    assert "收到之日次日起算15日，末日逢国庆假期顺延至2025年10月9日" in triage["explanation"]

    # accept: the notice is filed, triage and notice met, the 60-day handling clock starts
    case = act(clerk, n, "accept", {"on": "2025-09-22"}).json
    assert case["status"] == "accepted"
    assert deadline(case, "triage")["met_at"] == "2025-09-22" and not deadline(case, "triage")["overdue"]
    assert deadline(case, "handling")["due"] == "2025-11-21"
    notice = documents(case, "notices")[0]
    assert notice["title"] == "受理告知书" and notice["media_type"] == "application/pdf"
    text = pdf_text(clerk, n, notice["id"])
    assert "受理告知书" in text and "信阳市信访局" in text and "王建国" in text and "2025年9月22日" in text
    assert case["history"][-1]["action"] == "accept" and case["history"][-1]["by"] == "clerk"

    act(clerk, n, "accept", {"on": "2025-09-23"}, status=409)
    act(clerk, n, "assign", {"unit": "411502"}, status=403)                     # clerks do not assign
    act(assigner, n, "assign", {"unit": "411502", "on": "2025-09-21"}, status=422)  # before the previous step
    act(assigner, n, "assign", {"unit": "411502", "on": "2099-01-01"}, status=422)  # in the future
    act(assigner, n, "assign", {"unit": "NOPE"}, status=422)

    case = act(assigner, n, "assign", {"unit": "411502", "on": "2025-09-24", "due": "2025-10-31"}).json
    assert case["status"] == "assigned" and case["unit"] == "411502"
    assert deadline(case, "unit_report")["due"] == "2025-10-31"
    assert deadline(case, "objection")["due"] == "2025-09-30"   # 5 working days, Sunday 09-28 counted
    api("unit2").post_json(f"/api/cases/{n}/actions/object", {"reason": "x"}, status=403)   # not their case
    res = act(unit, n, "object", {"reason": "不属于本单位职责", "on": "2025-10-09"}, status=409)
    assert "2025年9月30日" in res.json["message"] and res.json["fields"]["on"] == "2025-09-30"

    # the unit reports; the assigner returns it once, then approves
    act(unit, n, "report", {"summary": "已办结", "on": "2025-10-20"}, status=409)   # no report filed yet
    file_report(unit, n)
    case = act(unit, n, "report", {"summary": "已约谈开发商，补偿款已发放。", "on": "2025-10-20"}).json
    assert case["status"] == "reported" and deadline(case, "unit_report")["met_at"] == "2025-10-20"
    case = act(assigner, n, "return-report", {"opinion": "请补充发放凭证", "on": "2025-10-21"}).json
    assert case["status"] == "assigned" and deadline(case, "rework")["due"] == "2025-11-05"
    act(unit, n, "report", {"summary": "补充", "on": "2025-10-24"}, status=409)    # the old report does not count
    file_report(unit, n, "办结报告（补充）")
    act(unit, n, "report", {"summary": "已补充发放凭证", "on": "2025-10-25"})
    case = act(assigner, n, "approve-report", {"opinion": "同意", "on": "2025-10-27"}).json
    assert case["status"] == "replied-ready"

    # supervision: leader instructions need the leader
    act(supervisor, n, "supervise", {"kind": "leader_instruction", "instructions": "抓紧"}, status=422)
    case = act(supervisor, n, "supervise", {"kind": "leader_instruction", "leader": "张副市长",
                                            "instructions": "请于月底前办结", "on": "2025-10-28"}).json
    assert case["workflow"]["supervisions"][0]["open"] and "supervisor" in case["workflow"]["queues"]
    act(assigner, n, "close", {"on": "2025-10-29"}, status=409)

    # the reply: 信访处理意见书 with the route to review
    case = act(unit, n, "reply", {"outcome": "support", "facts": "补偿款未足额发放属实", "basis": "《国有土地上房屋征收与补偿条例》",
                                  "opinion": "责成补足补偿款", "on": "2025-10-30", "delivered_on": "2025-11-01"}).json
    assert case["status"] == "replied"
    assert deadline(case, "handling")["met_at"] == "2025-10-30"
    assert deadline(case, "review_request")["due"] == "2025-12-01"
    reply = [d for d in documents(case, "handling") if d["kind"] == "reply"][0]
    text = pdf_text(unit, n, reply["id"])
    assert "信访处理意见书" in text and "予以支持" in text and "30日内" in text and "浉河区人民政府" in text

    # closing needs: no open supervision, and the review window closed (or the petitioner satisfied)
    res = act(assigner, n, "close", {"on": "2025-11-05"}, status=409)
    assert "supervision" in res.json["fields"] and "window" in res.json["fields"]
    act(supervisor, n, "end-supervision", {"result": "已按批示办理", "on": "2025-11-05"})
    res = act(assigner, n, "close", {"on": "2025-11-05"}, status=409)
    assert "2025年12月1日" in res.json["message"] and list(res.json["fields"]) == ["window"]

    # review: more than 30 days after delivery is too late
    res = act(clerk, n, "request-review", {"reasons": "补偿标准过低", "on": "2025-12-05"}, status=409)
    assert "2025年12月1日" in res.json["message"]
    case = act(clerk, n, "request-review", {"reasons": "补偿标准过低", "on": "2025-11-20"}).json
    assert case["status"] == "under-review" and deadline(case, "review_decision")["due"] == "2025-12-22"
    case = act(reviewer, n, "decide-review", {"decision": "uphold", "opinion": "原处理意见并无不当",
                                              "on": "2025-12-10", "delivered_on": "2025-12-12"}).json
    assert case["status"] == "review-decided"
    assert deadline(case, "recheck_request")["due"] == "2026-01-12"   # 01-11 is a Sunday

    # re-review: too late after 01-12; then a hearing with a panel from the pool
    res = act(clerk, n, "request-recheck", {"reasons": "仍不服", "on": "2026-01-13"}, status=409)
    assert "2026年1月12日" in res.json["message"]
    case = act(clerk, n, "request-recheck", {"reasons": "仍不服", "on": "2026-01-05"}).json
    assert case["status"] == "under-recheck" and deadline(case, "recheck_decision")["due"] == "2026-02-04"
    experts = add_experts(reviewer)
    res = act(reviewer, n, "schedule-hearing", {"hearing_date": "2026-01-20", "panel": experts[1:], "on": "2026-01-10"},
              status=422)
    assert "panel" in res.json["fields"]      # 周强 works for the responsible unit
    eligible = reviewer.get(f"/api/experts?case={n}").json["experts"]
    assert {e["id"] for e in eligible} == set(experts[:3])
    case = act(reviewer, n, "schedule-hearing", {"hearing_date": "2026-01-20", "panel": experts[:3],
                                                 "place": "市信访局听证室", "on": "2026-01-10"}).json
    assert case["status"] == "hearing" and deadline(case, "recheck_decision")["state"] == "paused"
    act(reviewer, n, "decide-recheck", {"decision": "uphold", "opinion": "x", "on": "2026-01-12"}, status=409)
    act(reviewer, n, "record-hearing", {"record": "听证笔录", "on": "2026-01-15"}, status=422)  # before the hearing
    case = act(reviewer, n, "record-hearing", {"record": "听证员一致认为原处理意见正确。", "on": "2026-01-20"}).json
    recheck = deadline(case, "recheck_decision")
    # 10 days paused: the 30th counted day is Saturday 2026-02-14, a make-up working day
    assert recheck["paused_days"] == 10 and recheck["due"] == "2026-02-14"
    assert "听证所需时间不计算在内（暂停10日）" in recheck["explanation"]
    hearing_record = [d for d in documents(case, "review") if d["kind"] == "hearing_record"][0]
    assert "李明" in pdf_text(reviewer, n, hearing_record["id"])
    case = act(reviewer, n, "decide-recheck", {"decision": "uphold", "opinion": "维持复查意见",
                                               "on": "2026-01-25", "delivered_on": "2026-01-26"}).json
    assert case["status"] == "recheck-decided"

    case = act(assigner, n, "close", {"summary": "经复核维持，本事项终结。", "on": "2026-01-27"}).json
    assert case["status"] == "closed"
    assert all(d["state"] in ("met", "cancelled") for d in case["deadlines"])
    assert [f["name"] for f in case["folders"] if f["documents"]] == ["origin", "notices", "handling", "supervision",
                                                                       "review", "closing"]
    actions = [h["action"] for h in case["history"]]
    for name in ("register", "accept", "assign", "report", "return-report", "approve-report", "supervise",
                 "end-supervision", "reply", "request-review", "decide-review", "request-recheck",
                 "schedule-hearing", "record-hearing", "decide-recheck", "close"):
        assert name in actions, name
    act(clerk, n, "evaluate", {"bureau": "basically", "unit": "satisfied"})

    # the same person on the same matter again: offered as 不再受理
    again = clerk.post_json("/api/cases", petition(received_at="2026-02-10T09:00:00",
                                                   subject="平桥区某小区拆迁补偿款未足额发放问题"), status=201).json
    offers = clerk.get(f"/api/cases/{again['number']}/actions").json["refusal_offers"]
    assert offers and offers[0]["number"] == n and "不再受理" in offers[0]["why"]
    assert clerk.get("/api/refusal-offers", params={"id_number": id_number(1), "district": "平桥区",
                                                    "subject": "拆迁补偿款未足额发放"}).json["offers"][0]["number"] == n
    res = act(clerk, again["number"], "refuse-repeat", {"reason": "同一事实和理由", "original": n, "on": "2026-02-11"})
    assert res.json["status"] == "not-reaccepted" and {"type": "original", "number": n} in res.json["links"]


def test_a_unit_objects_within_five_working_days(api):
    clerk, assigner, unit = api("clerk"), api("assigner"), api("unit")
    n = clerk.post_json("/api/cases", petition(received_at="2025-09-20T09:00:00"), status=201).json["number"]
    act(assigner, n, "assign", {"unit": "411502", "on": "2025-09-26"})
    # 5 working days from Friday 09-26: 09-28 (make-up), 29, 30, 10-09, 10-10
    case = act(unit, n, "object", {"reason": "属市住建局职责", "on": "2025-10-10"}).json
    assert case["status"] == "registered" and case["unit"] is None
    assert deadline(case, "unit_report")["state"] == "cancelled"
    assert deadline(case, "triage")["start"] == "2025-10-10"     # the bureau triages it again
    unit.get(f"/api/cases/{n}", status=403)                       # no longer theirs


def test_queues_and_due_filters(api):
    clerk, assigner = api("clerk"), api("assigner")
    today = today_here()
    calendar = OfficialCalendar()

    def triage_due(start):
        d = clocks.Deadline("triage", clocks.load_rules(), start, "x")
        d.refresh(calendar)
        return d.due

    late = clerk.post_json("/api/cases", petition(received_at=(today - datetime.timedelta(days=40)).isoformat()),
                           status=201).json["number"]
    soon_day = next(start for start in (today - datetime.timedelta(days=b) for b in range(1, 40))
                    if 0 <= (triage_due(start) - today).days <= 3)
    soon = clerk.post_json("/api/cases", petition(received_at=soon_day.isoformat(), subject="即将到期"),
                           status=201).json["number"]
    yesterday = today - datetime.timedelta(days=1)   # (the API registers on the process's clock)
    fresh = clerk.post_json("/api/cases", petition(received_at=yesterday.isoformat(), subject="刚收到"),
                            status=201).json["number"]
    overdue = {c["number"] for c in clerk.get("/api/cases?overdue=true").json["cases"]}
    assert late in overdue and soon not in overdue and fresh not in overdue
    within = {c["number"] for c in clerk.get("/api/cases?due_within=3").json["cases"]}
    assert soon in within and late not in within and fresh not in within
    assert clerk.get("/api/cases?due_within=3&overdue=true").json["total"] == 2
    clerk.get("/api/cases?due_within=abc", status=400)
    clerk.get("/api/cases?overdue=maybe", status=400)

    queue = assigner.get("/api/queue").json
    assert [c["number"] for c in queue["red"]["cases"]] == [late]
    assert [c["number"] for c in queue["amber"]["cases"]] == [soon]
    assert [c["number"] for c in queue["green"]["cases"]] == [fresh]
    assert queue["amber"]["cases"][0]["deadline"] == "triage"
    # assigned to the unit: it leaves the assigner's queue and enters the unit's
    act(assigner, soon, "assign", {"unit": "411502"})
    queue = assigner.get("/api/queue").json
    assert soon not in {c["number"] for band in ("red", "amber", "green") for c in queue[band]["cases"]}
    unit_queue = api("unit").get("/api/queue").json
    assert unit_queue["queues"] == ["unit:411502"]
    assert soon in {c["number"] for band in ("red", "amber", "green") for c in unit_queue[band]["cases"]}
    assert api("unit2").get("/api/queue").json["green"]["total"] == 0
    assert api("analyst").get("/api/queue").json["queues"] == []


def test_the_henan_rule_set_is_chosen_in_the_ini(tmp_path):
    app = make_app(tmp_path, **{"casefiles.rules": "henan-2012"})
    try:
        add_users(app, [("clerk", ["clerk"], None), ("assigner", ["assigner"], None)])
        testapp = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543"})
        from .support import API
        clerk, assigner = API(testapp, "clerk"), API(testapp, "assigner")
        case = clerk.post_json("/api/cases", petition(received_at="2025-09-20T09:00:00"), status=201).json
        triage = deadline(case, "triage")
        assert triage["due"] == "2025-09-25" and triage["rule"] == "henan-2012/triage"
        assert "《河南省信访条例》第二十二条" in triage["explanation"]
        case = act(clerk, case["number"], "accept", {"on": "2025-09-22"}).json
        assert deadline(case, "handling")["due"] == "2025-10-22"     # 30 days
        res = act(assigner, case["number"], "extend", {"days": 60, "reason": "复杂", "approved_by": "局长",
                                                       "on": "2025-09-30"}).json
        assert deadline(res, "handling")["due"] == "2025-12-22"      # at most 90 days in all
    finally:
        close_app(app)
    with pytest.raises(ValueError):
        make_app(tmp_path / "x", **{"casefiles.rules": "nowhere-2000"})


def test_loading_a_years_calendar_recounts_provisional_clocks(api):
    clerk, admin = api("clerk"), api("admin")
    # a case accepted today runs 60 days; while that year's official calendar is unknown
    # (2027 when this was written) use it, else a year before the package's first (2003)
    start = today_here()
    due_year = (start + datetime.timedelta(days=62)).year
    if OfficialCalendar().source(due_year) != "provisional":
        start, due_year = D("2002-12-10"), 2003
    received = start - datetime.timedelta(days=1)
    n = clerk.post_json("/api/cases", petition(received_at=received.isoformat()), status=201).json["number"]
    case = act(clerk, n, "accept", {"on": start.isoformat()}).json
    handling = deadline(case, "handling")
    assert handling["provisional"] and due_year in handling["provisional_years"]
    assert f"{due_year}年国务院节假日安排尚未载入" in handling["explanation"]
    before = D(handling["due"])
    assert admin.get(f"/api/calendar/{due_year}").json["source"] == "provisional"
    clerk.post_json(f"/api/calendar/{due_year}", {"text": f"{due_year}-01-01 元旦"}, status=403)
    res = admin.post_json(f"/api/calendar/{due_year}", {"holidays": [f"{due_year}-02-30"]}, status=422)
    assert "holidays.0" in res.json["fields"]
    # the old due date and the days after it become a holiday; the Sunday after, a working day
    following = [before + datetime.timedelta(days=i) for i in range(0, 10)]
    makeup = next(d for d in following[1:] if d.weekday() == 6)
    holiday = [d for d in following if d < makeup]
    body = {"holidays": [{"from": holiday[0].isoformat(), "to": holiday[-1].isoformat(), "name": "春节"}],
            "workdays": [makeup.isoformat()]}
    res = admin.post_json(f"/api/calendar/{due_year}", body).json
    assert res["source"] == "loaded" and res["recomputed"] == [n]
    assert {"date": makeup.isoformat(), "kind": "makeup", "name": "调休上班"} in res["days"]
    case = clerk.get(f"/api/cases/{n}").json
    handling = deadline(case, "handling")
    assert not handling["provisional"] and handling["due"] == makeup.isoformat()
    assert handling["changes"][-1]["from"] == before.isoformat()
    assert handling["changes"][-1]["to"] == makeup.isoformat()
    assert "末日逢春节假期顺延至" in handling["explanation"] and "调整为" in handling["explanation"]
    assert case["history"][-1]["action"] == "recompute"


def test_repeat_items_and_joined_cases_are_linked(api):
    clerk = api("clerk")
    original = clerk.post_json("/api/cases", petition(received_at="2025-03-01T09:00:00"), status=201).json["number"]
    repeat = clerk.post_json("/api/cases", petition(received_at="2025-03-10T09:00:00", content="再次反映补偿款问题"),
                             status=201).json["number"]
    other = clerk.post_json("/api/cases", petition(
        received_at="2025-03-11T09:00:00",
        petitioners=[{"name": "李娟", "id_number": id_number(2), "primary": True}]), status=201).json["number"]
    suggestions = clerk.get(f"/api/cases/{repeat}/actions").json
    assert suggestions["status"] == "registered"
    res = act(clerk, other, "mark-repeat", {"into": original}, status=422)   # a different person
    assert "into" in res.json["fields"]
    case = act(clerk, repeat, "mark-repeat", {"into": original, "on": "2025-03-11"}).json
    assert case["status"] == "merged" and {"type": "original", "number": original} in case["links"]
    lead = clerk.get(f"/api/cases/{original}").json
    assert {"type": "repeat", "number": repeat} in lead["links"]
    copied = [d for d in documents(lead, "origin") if d["title"].startswith(f"重复件{repeat}")]
    assert copied and copied[0]["sha256"] == documents(case, "origin")[0]["sha256"]
    case = act(clerk, other, "join", {"into": original, "on": "2025-03-12"}).json
    assert {"type": "lead", "number": original} in case["links"]
    assert {"type": "joined", "number": other} in clerk.get(f"/api/cases/{original}").json["links"]
    act(clerk, original, "join", {"into": other}, status=409)     # other is merged itself
    act(clerk, original, "join", {"into": original}, status=422)


def test_the_expert_pool_and_reception_days(api):
    reviewer, clerk = api("reviewer"), api("clerk")
    res = reviewer.post_json("/api/experts", {"name": "", "field": "法学"}, status=422)
    assert "name" in res.json["fields"] and "unit" in res.json["fields"]
    clerk.post_json("/api/experts", {"name": "甲", "field": "法学", "organisation": "大学"}, status=403)
    added = reviewer.post_json("/api/experts", {"name": "甲", "field": "法学", "unit": "浉河区人民政府"},
                               status=201).json
    assert added["unit"] == "411502"
    assert [e["name"] for e in clerk.get("/api/experts").json["experts"]] == ["甲"]

    day = clerk.post_json("/api/reception", {"date": "2025-04-15", "leader": "刘强", "post": "市长"},
                          status=201).json
    assert day["leader"] == "刘强"
    clerk.post_json("/api/reception", {"date": "2025-13-01", "leader": "x"}, status=422)
    api("unit").post_json("/api/reception", {"date": "2025-04-16", "leader": "x"}, status=403)
    assert clerk.get("/api/reception?from=2025-04-01&to=2025-04-30").json["days"][0]["leader"] == "刘强"
    visit = clerk.post_json("/api/cases", petition(channel="visit", received_at="2025-04-15T10:00:00"),
                            status=201).json
    assert visit["leader"] == "市长刘强"
    assert clerk.get(f"/api/cases/{visit['number']}/actions").json["leaders"] == ["市长刘强"]


def test_suggestions_are_answered_in_writing(api):
    clerk, assigner, supervisor, unit = api("clerk"), api("assigner"), api("supervisor"), api("unit")
    n = clerk.post_json("/api/cases", petition(received_at="2025-05-06T09:00:00"), status=201).json["number"]
    act(assigner, n, "assign", {"unit": "411502", "on": "2025-05-07"})
    case = act(supervisor, n, "suggest", {"type": "policy", "unit": "411502", "content": "建议完善征收补偿标准",
                                          "on": "2025-05-08"}).json
    suggestion = case["workflow"]["suggestions"][0]
    assert suggestion["open"] and suggestion["due"] == "2025-06-09"   # 06-07 is a Saturday
    doc = [d for d in documents(case, "supervision") if d["kind"] == "suggestion"][0]
    assert doc["title"] == "完善政策建议书"
    act(unit, n, "answer-suggestion", {"answer": "x", "adoption": "maybe"}, status=422)
    case = act(unit, n, "answer-suggestion", {"answer": "已修订补偿办法", "adoption": "partly",
                                              "on": "2025-05-20"}).json
    assert case["workflow"]["suggestions"][0]["adoption"] == "partly"
    res = act(unit, n, "answer-suggestion", {"answer": "x", "adoption": "adopted"}, status=409)  # nothing open
    assert res.json["fields"] == {"suggestion": "none"}


def test_a_refused_step_writes_nothing(app, api):
    clerk, reviewer = api("clerk"), api("reviewer")
    n = clerk.post_json("/api/cases", petition(received_at="2025-03-03T09:00:00"), status=201).json["number"]
    before = clerk.get(f"/api/cases/{n}").json
    act(clerk, n, "reject", {"on": "2025-03-04"}, status=422)
    act(reviewer, n, "reject", {"reason": "x"}, status=403)
    act(clerk, n, "nonsense", {}, status=404)
    clerk.post(f"/api/cases/{n}/actions/accept", "not json", status=400)
    after = clerk.get(f"/api/cases/{n}").json
    assert after == before
    conn, site = open_site(app)
    try:
        assert site.refs.next("不受", 2025) == "信信访不受〔2025〕1号"   # no number was used up
    finally:
        conn.transaction_manager.abort()
        conn.close()


def test_a_step_that_fails_half_way_is_rolled_back(api, monkeypatch):
    """The notice cannot be written (no font): the whole step is undone, clocks and catalog too."""
    from archive.notices import FontUnavailable
    import views.workflow
    clerk = api("clerk")
    n = clerk.post_json("/api/cases", petition(received_at="2025-09-20T09:00:00"), status=201).json["number"]
    before = clerk.get(f"/api/cases/{n}").json
    queue_before = api("assigner").get("/api/queue").json

    def no_font(kind, case, fields):
        raise FontUnavailable("no font", {"font": "none"})
    monkeypatch.setattr(views.workflow, "render", no_font)
    res = act(clerk, n, "accept", {"on": "2025-09-22"}, status=503)
    assert res.json["error"] == "no_font"
    after = clerk.get(f"/api/cases/{n}").json
    assert after == before and after["status"] == "registered" and deadline(after, "triage")["met_at"] is None
    assert clerk.get("/api/cases?status=accepted").json["total"] == 0
    assert api("assigner").get("/api/queue").json == queue_before


def login(testapp, username):
    page = testapp.get("/login")
    form = page.forms[0]
    form["username"] = username
    form["password"] = PASSWORD
    form.submit().follow()
    return testapp


def test_the_case_page_forms(testapp, api):
    clerk = api("clerk")
    n = clerk.post_json("/api/cases", petition(received_at="2025-09-20T09:00:00"), status=201).json["number"]
    login(testapp, "clerk")
    page = testapp.get(f"/cases/2025/{n}/")
    panel = page.html.select_one("#workflow")
    assert panel is not None
    assert "末日逢国庆假期顺延至2025年10月9日" in panel.text
    names = {d["data-action"] for d in panel.select("details.wf-action")}
    assert {"accept", "reject", "forward", "mark-repeat", "join"} <= names and "assign" not in names
    csrf = page.html.select_one("details[data-action=accept] input[name=csrf_token]")["value"]
    # a refused step: flash, nothing saved
    res = testapp.post(f"/cases/2025/{n}/reject", {"csrf_token": csrf, "on": "2025-09-21"}, status=303)
    page = res.follow()
    assert "理由" in page.text and page.html.select_one("details[data-action=reject][open]") is not None
    assert clerk.get(f"/api/cases/{n}").json["status"] == "registered"
    testapp.post(f"/cases/2025/{n}/accept", {"on": "2025-09-22"}, status=400)      # no CSRF token
    res = testapp.post(f"/cases/2025/{n}/accept", {"csrf_token": csrf, "on": "2025-09-22"}, status=303)
    assert res.location.endswith("#workflow")
    page = res.follow()
    assert "受理" in page.html.select_one(".flash").text
    assert clerk.get(f"/api/cases/{n}").json["status"] == "accepted"
    row = page.html.select_one("tr[data-deadline=triage]")
    assert "wf-done" in row["class"]
    dashboard = testapp.get("/")
    assert dashboard.html.select_one("#queues") is not None
    queue = testapp.get("/queue")
    assert queue.html.select_one("[data-band=red]") is not None


def test_notice_pdfs_are_deterministic_and_need_a_chinese_font(monkeypatch):
    from archive import notices
    fields = {"org": "信阳市信访局", "ref": "信信访受〔2025〕1号", "title": "受理告知书", "addressee": "王建国",
              "paragraphs": ["您反映的信访事项，经审查，决定予以受理。", "特此告知。"], "table": [("编号", "XY-2025-000001")],
              "signer": "信阳市信访局", "date": D("2025-09-22"), "number": "XY-2025-000001", "cc": ""}
    first = notices.render("accept", None, fields)
    assert first == notices.render("accept", None, fields)
    reader = pypdf.PdfReader(io.BytesIO(first))
    text = reader.pages[0].extract_text()
    assert "受理告知书" in text and "信信访受〔2025〕1号" in text and "2025年9月22日" in text
    fonts = re.findall(rb"/FontFile2", first)
    assert fonts, "the Chinese font is embedded"
    monkeypatch.setattr(notices, "_font", {})
    monkeypatch.setattr(notices, "FONT_CANDIDATES", ())
    monkeypatch.setattr(notices, "_candidates", lambda configured=None: iter([("/nonexistent.ttf", 0)]))
    with pytest.raises(notices.FontUnavailable) as info:
        notices.render("accept", None, fields)
    assert info.value.status == 503
    monkeypatch.undo()


def test_a_unit_reports_with_its_file_from_the_case_page(testapp, api):
    clerk, assigner = api("clerk"), api("assigner")
    n = clerk.post_json("/api/cases", petition(received_at="2025-09-20T09:00:00"), status=201).json["number"]
    act(assigner, n, "assign", {"unit": "411502", "on": "2025-09-24"})
    login(testapp, "unit")
    page = testapp.get(f"/cases/2025/{n}/")
    names = {d["data-action"] for d in page.html.select("details.wf-action")}
    assert {"report", "object"} <= names and "accept" not in names
    form = page.forms[[i for i, f in page.forms.items() if f.action.endswith("/report")][0]]
    form["summary"] = "已协调发放补偿款"
    form["on"] = "2025-10-20"
    form["file"] = webtest.Upload("办结报告.pdf", pdf_bytes("办结报告"), "application/pdf")
    res = form.submit(status=303).follow()
    assert "报送办结报告" in res.html.select_one(".flash").text
    case = clerk.get(f"/api/cases/{n}").json
    assert case["status"] == "reported"
    reports = [d for d in documents(case, "handling") if d["kind"] == "handling_report"]
    assert [d["title"] for d in reports] == ["办结报告.pdf"] and reports[0]["filed_by"] == "unit"
