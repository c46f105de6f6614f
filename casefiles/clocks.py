"""The statutory clocks of a case, kept as a ledger (DOMAIN.md §3).

A clock (``Clock``; ``Deadline`` for those stored before clocks were kept inside their
case) is not a number: it keeps its start event, the rule it follows (from the
rule set selected by the ini setting ``casefiles.rules``, data in ``data/rules/*.json``),
the calendar it was counted on, paused intervals (hearings), extensions (who approved,
why, when the petitioner was told), the date it was met, and every later change of its
due date (when an administrator loads a year's official calendar, when a pause ends, when
it is extended). ``explain()`` says in words why the due date is what it is.

Counting (民法典 第二百零一条、第二百零三条): N日 counts calendar days from the day after the
start event; a last day on a statutory holiday or rest day moves to the first working day
after it. N个工作日 counts working days on the official calendar, make-up working days
(调休上班) included. Duty clocks (the bureau's or a unit's) can be overdue; window clocks
(the petitioner's or a unit's right to act) close instead.
"""
import datetime
import functools
import importlib.resources
import json

from persistent import Persistent

from .calendar import HOLIDAY, MAKEUP, cn_date, holiday_period

DEFAULT_RULES = "national-2022"
DUTY = "duty"
WINDOW = "window"
ONE_DAY = datetime.timedelta(days=1)


@functools.lru_cache(maxsize=None)
def _names():
    folder = importlib.resources.files("casefiles").joinpath("data/rules")
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json")))


def rule_set_names():
    return list(_names())


@functools.lru_cache(maxsize=None)
def _load(name):
    path = importlib.resources.files("casefiles").joinpath(f"data/rules/{name}.json")
    data = json.loads(path.read_text("utf-8"))
    for key, rule in data["clocks"].items():
        if rule.get("unit") not in ("days", "workdays") or not isinstance(rule.get("count"), int):
            raise ValueError(f"rule set {name}: clock {key} needs a count and a unit of days or workdays")
    return data


def load_rules(name=None):
    """The rule set called ``name`` (``national-2022`` when empty). Unknown names are a
    configuration error and raise ValueError naming the known ones."""
    name = name or DEFAULT_RULES
    if name not in _names():
        raise ValueError(f"unknown rule set {name!r}; known: {', '.join(rule_set_names())}")
    return _load(name)


def _today():
    return datetime.date.today()


class Ledger:
    """One statutory clock of a case and its ledger (the behaviour of ``Clock`` and of the
    ``Deadline`` records from before)."""

    name = ""
    title = ""
    kind = DUTY
    ruleset = ""
    law = ""
    rule = None            # the rule as it was when the clock started (a dict, never mutated)
    start = None           # date of the start event
    start_event = ""       # what happened then, e.g. 收到来信
    fixed_due = None       # a due date a person set (the assigner's limit, a supervision's due)
    fixed_by = ""          # who set it, in words (交办单位)
    pauses = ()            # ({"from": date, "to": date or None, "reason": str}, ...)
    extensions = ()        # ({"days", "reason", "approved_by", "told_on", "on", "by"}, ...)
    met_at = None
    met_by = ""
    cancelled_at = None
    cancel_reason = ""
    due = None
    last_day = None        # the Nth day, before any roll-over
    roll = None            # {"day", "kind", "name"} when the last day was not a working day
    makeup_days = ()       # make-up working days a working-day count went through
    provisional_years = ()  # years counted on weekends only (no official calendar yet)
    calendars = ()         # ((year, source), ...): the calendar each year of the count came from
    changes = ()           # ({"at", "from", "to", "reason", "by"}, ...)

    def __init__(self, name, rules, start, start_event, fixed_due=None, fixed_by=""):
        rule = rules["clocks"][name]
        self.name = name
        self.title = rule.get("title", name)
        self.kind = rule.get("kind", DUTY)
        self.ruleset = rules["id"]
        self.law = rules.get("law", "")
        self.rule = dict(rule)
        self.start = start
        self.start_event = start_event
        self.fixed_due = fixed_due
        self.fixed_by = fixed_by

    # the ledger's facts
    @property
    def rule_id(self):
        return f"{self.ruleset}/{self.name}"

    @property
    def extended_days(self):
        return sum(e["days"] for e in self.extensions)

    @property
    def is_open(self):
        return self.met_at is None and self.cancelled_at is None

    @property
    def is_paused(self):
        return self.is_open and any(p["to"] is None for p in self.pauses)

    def paused_days(self, today=None):
        today = today or _today()
        total = 0
        for p in self.pauses:
            end = p["to"] or max(today, p["from"])
            total += max(0, (end - p["from"]).days)
        return total

    def _paused(self, day, until):
        for p in self.pauses:
            end = p["to"] or until or p["from"]
            if p["from"] < day <= end:   # (from, to]: the day the pause starts still counts
                return True
        return False

    # computing
    def compute(self, calendar, until=None):
        """(due, last_day, roll, makeup_days, provisional_years, calendars); an open pause is
        taken to last until ``until`` (default: its start, i.e. the due date before the pause)."""
        years = set()
        makeups = []
        rule = self.rule
        if self.fixed_due is not None:
            due = self.fixed_due + datetime.timedelta(days=self.extended_days)
            paused = 0
            for p in self.pauses:
                end = p["to"] or until or p["from"]
                paused += max(0, (end - p["from"]).days)
            due += datetime.timedelta(days=paused)
            return due, due, None, (), (), ()
        count = rule["count"] + self.extended_days
        workdays = rule["unit"] == "workdays"
        day = self.start
        n = 0
        while n < count:
            day += ONE_DAY
            if self._paused(day, until):
                continue
            if workdays:
                years.add(day.year)
                kind, _name = calendar.day(day)
                if kind == MAKEUP:
                    makeups.append(day)
                elif not calendar.is_workday(day):
                    continue
            n += 1
        last = day
        roll = None
        due = last
        years.add(last.year)
        if not workdays and not calendar.is_workday(last):
            kind, name = calendar.day(last)
            due = calendar.next_workday(last)
            roll = {"day": last, "kind": kind, "name": name}
            years.add(due.year)
            for y in range(last.year, due.year + 1):
                years.add(y)
        provisional = tuple(sorted(y for y in years if calendar.is_provisional(y)))
        return due, last, roll, tuple(makeups), provisional, tuple((y, calendar.source(y)) for y in sorted(years))

    def refresh(self, calendar, at=None, reason="", by=""):
        """Recompute the due date; a change of an existing due date is kept in the ledger."""
        due, last, roll, makeups, provisional, calendars = self.compute(calendar)
        changed = self.due is not None and due != self.due
        if changed:
            self.changes = self.changes + ({"at": at, "from": self.due, "to": due, "reason": reason, "by": by},)
        self.due, self.last_day, self.roll = due, last, roll
        self.makeup_days, self.provisional_years, self.calendars = makeups, provisional, calendars
        return changed

    def projected_due(self, calendar, today=None):
        """The due date as it stands today: an open pause counts until today."""
        if not self.is_paused:
            return self.due
        return self.compute(calendar, until=today or _today())[0]

    # state
    @property
    def provisional(self):
        return bool(self.provisional_years)

    def state(self, today=None):
        today = today or _today()
        if self.cancelled_at is not None:
            return "cancelled"
        if self.met_at is not None:
            return "met"
        if self.is_paused:
            return "paused"
        if self.kind == WINDOW:
            return "closed" if today > self.due else "open"
        return "overdue" if today > self.due else "open"

    def overdue(self, today=None):
        """A duty clock past its due date, or met after it. Windows are never overdue."""
        if self.kind != DUTY or self.cancelled_at is not None:
            return False
        if self.met_at is not None:
            return self.met_at > self.due
        if self.is_paused:
            return False
        return (today or _today()) > self.due

    def days_left(self, today=None):
        if not self.is_open or self.is_paused:
            return None
        return (self.due - (today or _today())).days

    def color(self, today=None, warn_days=3):
        """red / amber / green for an open duty clock, "done" when met, "" otherwise."""
        if self.met_at is not None:
            return "done"
        if self.cancelled_at is not None or self.kind != DUTY or self.is_paused:
            return ""
        left = self.days_left(today)
        return "red" if left < 0 else "amber" if left <= warn_days else "green"

    # words
    def rule_text(self):
        rule = self.rule
        if self.fixed_due is not None:
            return f"{self.fixed_by or '承办人'}确定的期限"
        unit = "个工作日" if rule["unit"] == "workdays" else "日"
        return f"{rule.get('start', '起算之日')}次日起算{rule['count']}{unit}"

    def explain_parts(self, today=None):
        rule = self.rule
        parts = []
        if self.fixed_due is not None:
            head = f"{self.fixed_by or '承办人'}确定的期限为{cn_date(self.fixed_due)}"
            if self.extended_days:
                head += f"，延期{self.extended_days}日"
            paused = self.paused_days(today)
            if paused:
                head += f"，暂停{paused}日不计入"
            if self.due != self.fixed_due:
                head += f"，至{cn_date(self.due)}届满"
            parts.append(head)
        else:
            head = self.rule_text()
            if self.extended_days:
                total = rule["count"] + self.extended_days
                head += f"，延期{self.extended_days}日共{total}日"
            paused = self.paused_days(today)
            if self.pauses:
                head += f"，{rule.get('pause_title') or '暂停期间不计算在内'}（暂停{paused}日）"
            if self.makeup_days:
                head += "，调休上班日" + "、".join(cn_date(d) for d in self.makeup_days) + "计为工作日"
            if self.is_paused:
                head += f"，暂停期间期限顺延（暂停前应于{cn_date(self.due)}届满）"
            elif self.roll is not None:
                what = holiday_period(self.roll["name"]) if self.roll["kind"] == HOLIDAY else "休息日"
                head += f"，末日逢{what}顺延至{cn_date(self.due)}"
            else:
                head += f"，至{cn_date(self.due)}届满"
            parts.append(head)
        parts.append(f"起算日{cn_date(self.start)}（{self.start_event}）")
        if rule.get("basis"):
            parts.append(f"依据{self.law}{rule['basis']}")
        for p in self.pauses:
            if p["to"] is None:
                parts.append(f"自{cn_date(p['from'])}起暂停计算（{p['reason']}）")
            else:
                parts.append(f"{cn_date(p['from'])}至{cn_date(p['to'])}暂停计算（{p['reason']}）")
        for e in self.extensions:
            told = f"，{cn_date(e['told_on'])}已告知信访人" if e.get("told_on") else ""
            parts.append(f"{cn_date(e['on'])}经{e['approved_by']}批准延期{e['days']}日，理由：{e['reason']}{told}")
        if self.provisional_years:
            years = "、".join(str(y) for y in self.provisional_years)
            parts.append(f"{years}年国务院节假日安排尚未载入，暂按周末计算，载入后自动重新计算")
        for c in self.changes:
            when = cn_date(c["at"].date() if isinstance(c["at"], datetime.datetime) else c["at"]) \
                if c["at"] else ""
            parts.append(f"{when}因{c['reason']}，期限由{cn_date(c['from'])}调整为{cn_date(c['to'])}")
        if self.met_at is not None:
            late = (self.met_at - self.due).days
            parts.append(f"已于{cn_date(self.met_at)}完成" + (f"，逾期{late}日" if late > 0 else ""))
        elif self.cancelled_at is not None:
            parts.append(f"已于{cn_date(self.cancelled_at)}终止（{self.cancel_reason}）")
        elif self.kind == WINDOW and (today or _today()) > self.due:
            parts.append(f"已于{cn_date(self.due)}届满")
        return parts

    def explain(self, today=None):
        return "；".join(self.explain_parts(today)) + "。"

    def as_json(self, today=None, calendar=None):
        today = today or _today()
        due = self.projected_due(calendar, today) if calendar is not None else self.due
        return {
            "name": self.name,
            "rule": self.rule_id,
            "start": self.start,
            "due": due,
            "met_at": self.met_at,
            "paused_days": self.paused_days(today),
            "extended_days": self.extended_days,
            "overdue": self.overdue(today),
            "title": self.title,
            "kind": self.kind,
            "state": self.state(today),
            "start_event": self.start_event,
            "rule_text": self.rule_text(),
            "basis": f"{self.law}{self.rule.get('basis', '')}",
            "provisional": self.provisional,
            "provisional_years": list(self.provisional_years),
            "calendar": {str(y): source for y, source in self.calendars},
            "days_left": self.days_left(today),
            "cancelled_at": self.cancelled_at,
            "pauses": [dict(p) for p in self.pauses],
            "extensions": [dict(e) for e in self.extensions],
            "changes": [dict(c) for c in self.changes],
            "explanation": self.explain(today),
        }


class Clock(Ledger):
    """A clock as started now: a plain record kept in its case's ``deadlines`` (pickled with
    the case, not a record of its own: a registration starts two). Whatever changes it marks
    its case changed; the case links its clocks to itself when it is loaded
    (``Case.__setstate__``) or when one is started (``start_clock``)."""

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        case = self.__dict__.get("_v_case")
        if case is not None:
            case._p_changed = True

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_v_")}

    def attach(self, case):
        self.__dict__["_v_case"] = case


class Deadline(Ledger, Persistent):
    """A clock started before clocks were kept in their case: a persistent record of its own."""


# The ledger of a case: ``case.deadlines`` is a tuple of clocks, replaced whole when one is
# added; a clock is changed in place (its case then stores it again).

def start_clock(case, name, rules, calendar, start, start_event, fixed_due=None, fixed_by=""):
    deadline = Clock(name, rules, start, start_event, fixed_due=fixed_due, fixed_by=fixed_by)
    deadline.refresh(calendar)
    deadline.attach(case)
    case.deadlines = tuple(case.deadlines) + (deadline,)
    return deadline


def clocks(case, name=None):
    return [d for d in case.deadlines if isinstance(d, Ledger) and (name is None or d.name == name)]


def current(case, name):
    """The open clock called ``name``, or None."""
    for deadline in reversed(clocks(case, name)):
        if deadline.is_open:
            return deadline
    return None


def latest(case, name):
    found = clocks(case, name)
    return found[-1] if found else None


def meet(case, name, on, by=""):
    deadline = current(case, name)
    if deadline is not None:
        deadline.met_at = on
        deadline.met_by = by
    return deadline


def cancel(case, name, on, reason):
    deadline = current(case, name)
    if deadline is not None:
        deadline.cancelled_at = on
        deadline.cancel_reason = reason
    return deadline


def pause(case, name, on, reason):
    deadline = current(case, name)
    if deadline is not None and not deadline.is_paused:
        deadline.pauses = deadline.pauses + ({"from": on, "to": None, "reason": reason},)
    return deadline


def resume(case, name, on, calendar, at=None, by=""):
    deadline = current(case, name)
    if deadline is not None and deadline.is_paused:
        pauses = list(deadline.pauses)
        last = dict(pauses[-1])
        last["to"] = max(on, last["from"])
        pauses[-1] = last
        deadline.pauses = tuple(pauses)
        days = (last["to"] - last["from"]).days
        deadline.refresh(calendar, at, f"{last['reason']}暂停{days}日", by)
    return deadline


def extend(deadline, days, reason, approved_by, told_on, on, by, calendar, at=None):
    deadline.extensions = deadline.extensions + (
        {"days": days, "reason": reason, "approved_by": approved_by, "told_on": told_on, "on": on, "by": by},)
    deadline.refresh(calendar, at, f"经{approved_by}批准延期{days}日", by)
    return deadline


def close_all(case, on, reason):
    """Stop every clock still running (the case is closed or merged)."""
    for deadline in clocks(case):
        if deadline.is_open:
            deadline.cancelled_at = on
            deadline.cancel_reason = reason


def next_due(case):
    """The earliest due date of the open, running duty clocks (None if there is none)."""
    dues = [d.due for d in clocks(case) if d.kind == DUTY and d.is_open and not d.is_paused and d.due]
    return min(dues) if dues else None


def provisional_years(case):
    years = set()
    for d in clocks(case):
        years.update(d.provisional_years)
    return sorted(years)


def recompute(case, calendar, year, at, by=""):
    """Recount the clocks of ``case`` that were provisional in ``year``; returns the changed ones."""
    changed = []
    for deadline in clocks(case):
        if year in deadline.provisional_years:
            source = "载入" if not calendar.is_provisional(year) else "调整"
            if deadline.refresh(calendar, at, f"{year}年国务院节假日安排{source}", by):
                changed.append(deadline)
    return changed
