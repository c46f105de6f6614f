"""The statutory clocks on a table of real dates (民法典 201/203, 信访工作条例, 河南省信访条例).

Holiday and rest-day roll-over, make-up working days (调休) counted as working days, a
hearing pause, an extension, the Henan rule set, and a year without an official calendar
that is provisional until an administrator loads it (the ledger keeps the change).
"""
import datetime

import pytest

from casefiles import clocks
from casefiles.calendar import HOLIDAY, MAKEUP, REST, WORKDAY, OfficialCalendar, check_year, parse_text
from casefiles.errors import ValidationError

D = datetime.date.fromisoformat
NATIONAL = clocks.load_rules("national-2022")
HENAN = clocks.load_rules("henan-2012")


def deadline(name, start, rules=NATIONAL, calendar=None, **kw):
    d = clocks.Clock(name, rules, D(start), "收到来信", **kw)
    d.refresh(calendar or OfficialCalendar())
    return d


# (rule set, clock, start, due, words the explanation must contain)
TABLE = [
    # the 15th day (10-05) is in the National Day holiday: the first working day after is 10-09
    (NATIONAL, "triage", "2025-09-20", "2025-10-09", "收到之日次日起算15日，末日逢国庆假期顺延至2025年10月9日"),
    (NATIONAL, "notice", "2025-09-20", "2025-10-09", "末日逢国庆假期顺延至2025年10月9日"),
    # the 15th day is a Sunday: rolls to Monday
    (NATIONAL, "triage", "2025-03-01", "2025-03-17", "末日逢休息日顺延至2025年3月17日"),
    # an ordinary Tuesday: no roll-over
    (NATIONAL, "triage", "2025-03-03", "2025-03-18", "收到之日次日起算15日，至2025年3月18日届满"),
    # the 60th day (05-04) is in the Labour Day holiday (05-01..05-05)
    (NATIONAL, "handling", "2025-03-05", "2025-05-06", "末日逢劳动节假期顺延至2025年5月6日"),
    # Spring Festival 2026 (02-15..02-23)
    (NATIONAL, "triage", "2026-02-01", "2026-02-24", "末日逢春节假期顺延至2026年2月24日"),
    # 5 working days: Sunday 2025-09-28 is a make-up working day and counts
    (NATIONAL, "objection", "2025-09-24", "2025-09-30", "调休上班日2025年9月28日计为工作日"),
    # ... and from a Friday the count runs through 09-28, over the holiday, to 10-10
    (NATIONAL, "objection", "2025-09-26", "2025-10-10", "5个工作日"),
    # Saturday 2025-10-11 is a make-up working day too
    (NATIONAL, "objection", "2025-10-09", "2025-10-15", "调休上班日2025年10月11日计为工作日"),
    # the Henan regulation: forward or assign within 5 days; a wrong assignment back within 5 days
    (HENAN, "triage", "2025-09-20", "2025-09-25", "收到之日次日起算5日，至2025年9月25日届满"),
    (HENAN, "objection", "2025-09-26", "2025-10-09", "末日逢国庆假期顺延至2025年10月9日"),
    (HENAN, "handling", "2025-03-05", "2025-04-07", "受理之日次日起算30日"),
    (HENAN, "unit_report", "2025-03-05", "2025-06-03", "交办之日次日起算90日"),
]


@pytest.mark.parametrize("rules,name,start,due,words", TABLE,
                         ids=[f"{r['id']}:{n}:{s}" for r, n, s, _d, _w in TABLE])
def test_due_dates_on_real_dates(rules, name, start, due, words):
    d = deadline(name, start, rules)
    assert d.due == D(due)
    assert words in d.explain(), d.explain()
    assert rules["title"] and (rules["law"] + rules["clocks"][name]["basis"]) in d.explain()
    data = d.as_json(today=D("2025-01-01"))
    assert {"name", "rule", "start", "due", "met_at", "paused_days", "extended_days", "overdue"} <= set(data)
    assert data["rule"] == f"{rules['id']}/{name}" and data["due"] == D(due) and not data["provisional"]


def test_the_calendar_knows_holidays_rest_days_and_make_up_days():
    calendar = OfficialCalendar()
    assert calendar.day(D("2025-10-05")) == (HOLIDAY, "国庆节")
    assert calendar.day(D("2025-09-28")) == (MAKEUP, "国庆节")
    assert calendar.day(D("2025-03-16")) == (REST, "")
    assert calendar.day(D("2025-03-17")) == (WORKDAY, "")
    assert calendar.source(2025) == "official" and calendar.source(2027) == "provisional"
    assert calendar.next_workday(D("2025-09-30")) == D("2025-10-09")


def test_a_hearing_pause_is_not_counted():
    calendar = OfficialCalendar()
    d = deadline("recheck_decision", "2025-04-25", calendar=calendar)
    assert d.due == D("2025-05-26")       # 05-25 is a Sunday
    clocks_case = type("C", (), {"deadlines": (d,)})()
    clocks.pause(clocks_case, "recheck_decision", D("2025-04-28"), "听证")
    assert d.is_paused and not d.overdue(D("2025-12-31")) and d.state(D("2025-12-31")) == "paused"
    assert d.projected_due(calendar, D("2025-05-01")) > d.due    # still running out while paused
    clocks.resume(clocks_case, "recheck_decision", D("2025-05-05"), calendar, at=datetime.datetime(2025, 5, 5))
    # 7 days paused: the 30th counted day is Sunday 06-01, inside the Dragon Boat holiday
    assert d.due == D("2025-06-03")
    assert d.paused_days() == 7
    words = d.explain()
    assert "听证所需时间不计算在内（暂停7日）" in words and "末日逢端午假期顺延至2025年6月3日" in words
    assert "2025年4月28日至2025年5月5日暂停计算（听证）" in words
    assert d.changes[-1]["from"] == D("2025-05-26") and d.changes[-1]["to"] == D("2025-06-03")


def test_an_extension_is_a_ledger_entry():
    calendar = OfficialCalendar()
    d = deadline("handling", "2025-03-05", calendar=calendar)
    assert d.due == D("2025-05-06")
    clocks.extend(d, 30, "涉及多个部门", "张局长", D("2025-04-20"), D("2025-04-18"), "assigner", calendar,
                  at=datetime.datetime(2025, 4, 18, 10))
    assert d.due == D("2025-06-03") and d.extended_days == 30
    words = d.explain()
    assert "延期30日共90日" in words
    assert "经张局长批准延期30日，理由：涉及多个部门，2025年4月20日已告知信访人" in words
    assert d.changes[-1]["from"] == D("2025-05-06") and d.changes[-1]["to"] == D("2025-06-03")
    assert d.as_json(D("2025-05-10"))["extended_days"] == 30


def test_met_late_and_windows():
    d = deadline("triage", "2025-09-20")
    assert d.overdue(D("2025-10-10")) and not d.overdue(D("2025-10-09"))
    assert d.color(D("2025-10-07")) == "amber" and d.color(D("2025-09-25")) == "green"
    assert d.color(D("2025-10-10")) == "red"
    d.met_at = D("2025-10-11")
    assert d.overdue() and "逾期2日" in d.explain() and d.color() == "done"
    window = deadline("review_request", "2025-03-24")
    assert window.kind == clocks.WINDOW and window.due == D("2025-04-23")
    assert not window.overdue(D("2026-01-01")) and window.state(D("2026-01-01")) == "closed"


def test_a_year_without_an_official_calendar_is_provisional_until_loaded():
    calendar = OfficialCalendar()
    d = deadline("handling", "2026-12-10", calendar=calendar)
    assert d.due == D("2027-02-08") and d.provisional_years == (2027,)
    assert "2027年国务院节假日安排尚未载入，暂按周末计算" in d.explain()
    holidays, workdays = check_year(2027, {"text": "2027-01-01~2027-01-03 元旦\n2027-02-06~2027-02-13 春节\n"
                                                  "2027-02-14 上班\n2027-02-20 上班"})
    calendar.load_year(2027, holidays, workdays, "admin", datetime.datetime(2026, 11, 20))
    assert calendar.source(2027) == "loaded"
    case = type("C", (), {"deadlines": (d,)})()
    changed = clocks.recompute(case, calendar, 2027, datetime.datetime(2026, 11, 20, 9), "admin")
    assert changed == [d]
    # 02-08 is now in the Spring Festival holiday; Sunday 02-14 is a working day
    assert d.due == D("2027-02-14") and not d.provisional
    change = d.changes[-1]
    assert (change["from"], change["to"], change["by"]) == (D("2027-02-08"), D("2027-02-14"), "admin")
    words = d.explain()
    assert "末日逢春节假期顺延至2027年2月14日" in words
    assert "因2027年国务院节假日安排载入，期限由2027年2月8日调整为2027年2月14日" in words


def test_loading_a_year_is_validated():
    with pytest.raises(ValidationError) as info:
        check_year(2027, {"holidays": [{"from": "2027-10-01", "to": "2027-10-07", "name": "国庆节"}],
                          "workdays": ["2027-10-08"]})   # a Friday: not a make-up day
    assert "workdays" in info.value.fields
    with pytest.raises(ValidationError) as info:
        check_year(2027, {"holidays": ["2026-10-01"]})
    assert "holidays.0" in info.value.fields
    with pytest.raises(ValidationError):
        check_year(2027, {"holidays": []})
    with pytest.raises(ValidationError):
        check_year(1999, {"holidays": ["1999-10-01"]})
    holidays, workdays, errors = parse_text("2027-10-01~2027-10-07 国庆节\n2027-09-26 上班\nnonsense")
    assert len(holidays) == 1 and len(workdays) == 1 and errors


def test_rule_sets_are_data():
    assert {"national-2022", "henan-2012"} <= set(clocks.rule_set_names())
    with pytest.raises(ValueError):
        clocks.load_rules("atlantis-1999")
    assert NATIONAL["clocks"]["handling"]["max_extension_days"] == 30
    assert HENAN["clocks"]["handling"]["count"] + HENAN["clocks"]["handling"]["max_extension_days"] == 90
