"""The official working-day calendar (国务院办公厅节假日安排) the statutory clocks count on.

Three sources, in order: a year an administrator loaded (holidays and make-up working
days, stored in the database; the State Council publishes each year's arrangement in the
autumn before), the ``chinesecalendar`` package for the years it knows, and for any other
year weekends alone, which makes every date computed on it *provisional*. The clocks
(``casefiles.clocks``) ask this module whether a day is a working day and why not.
"""
import datetime
import functools
import re

import chinese_calendar
from BTrees.IOBTree import IOBTree
from persistent import Persistent

from .errors import ValidationError
from .i18n import _


@functools.lru_cache(maxsize=8192)
def _package_day(day):
    """chinese_calendar's (is holiday, name) of a day, remembered: the package checks every
    date against the range of all its holidays (a min and a max over thousands of keys)."""
    return chinese_calendar.get_holiday_detail(day)


LOADED = "loaded"            # an administrator loaded the year
OFFICIAL = "official"        # the chinesecalendar package knows the year
PROVISIONAL = "provisional"  # no official arrangement: weekends only

SOURCE_TITLES = {
    LOADED: "管理员载入的国务院节假日安排",
    OFFICIAL: "国务院节假日安排（chinesecalendar）",
    PROVISIONAL: "暂按周末（当年节假日安排尚未发布）",
}

# chinesecalendar's holiday names in Chinese
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}

# how a holiday period is called in a sentence ("末日逢国庆假期")
HOLIDAY_PERIODS = {
    "元旦": "元旦假期",
    "春节": "春节假期",
    "清明节": "清明假期",
    "劳动节": "劳动节假期",
    "端午节": "端午假期",
    "国庆节": "国庆假期",
    "中秋节": "中秋假期",
    "国庆节、中秋节": "国庆、中秋假期",
}

WORKDAY = "workday"    # an ordinary working day
MAKEUP = "makeup"      # a weekend day that is a working day (调休上班)
HOLIDAY = "holiday"    # a statutory holiday (法定节假日及调休放假)
REST = "rest"          # a weekend rest day


def _package_years():
    try:
        from chinese_calendar.constants import holidays
        return min(d.year for d in holidays), max(d.year for d in holidays)
    except Exception:  # pragma: no cover - an older package layout
        return 2004, 2004


PACKAGE_FIRST, PACKAGE_LAST = _package_years()


def holiday_period(name):
    """"国庆节" -> "国庆假期"; an administrator's own name gets "假期" unless it has it."""
    if not name:
        return "法定节假日"
    if name in HOLIDAY_PERIODS:
        return HOLIDAY_PERIODS[name]
    return name if name.endswith("假期") else f"{name}假期"


def cn_date(day):
    """2025-10-09 -> 2025年10月9日"""
    return f"{day.year}年{day.month}月{day.day}日"


class LoadedYear(Persistent):
    """One year's arrangement as an administrator loaded it. The mappings are replaced whole."""

    year = 0
    holidays = None     # {date: name}
    workdays = None     # {date: name}  make-up working days on weekends
    loaded_by = ""
    loaded_at = None
    note = ""

    def __init__(self, year, holidays, workdays, loaded_by, loaded_at, note=""):
        self.year = year
        self.holidays = dict(holidays)
        self.workdays = dict(workdays)
        self.loaded_by = loaded_by
        self.loaded_at = loaded_at
        self.note = note


class OfficialCalendar(Persistent):
    """The working-day calendar of the site (``site.calendar``)."""

    title = "节假日安排"
    _years = None        # IOBTree year -> LoadedYear

    def loaded(self, year):
        return self._years.get(year) if self._years is not None else None

    def loaded_years(self):
        return list(self._years.values()) if self._years is not None else []

    def source(self, year):
        if self.loaded(year) is not None:
            return LOADED
        if PACKAGE_FIRST <= year <= PACKAGE_LAST:
            return OFFICIAL
        return PROVISIONAL

    def is_provisional(self, year):
        return self.source(year) == PROVISIONAL

    def _loaded_cache(self, year):
        # a volatile per-object cache of the loaded years' mappings; dropped on invalidation
        cache = self.__dict__.get("_v_cache")
        if cache is None:
            cache = self._v_cache = {}
        if year not in cache:
            entry = self.loaded(year)
            cache[year] = (dict(entry.holidays), dict(entry.workdays)) if entry is not None else None
        return cache[year]

    def day(self, day):
        """(kind, name): WORKDAY/MAKEUP/HOLIDAY/REST and the holiday's Chinese name (or "")."""
        loaded = self._loaded_cache(day.year)
        if loaded is not None:
            holidays, workdays = loaded
            if day in holidays:
                return HOLIDAY, holidays[day]
            if day in workdays:
                return MAKEUP, workdays[day]
            return (REST, "") if day.weekday() >= 5 else (WORKDAY, "")
        if PACKAGE_FIRST <= day.year <= PACKAGE_LAST:
            is_holiday, name = _package_day(day)
            name = HOLIDAY_NAMES.get(name, name or "")
            if is_holiday:
                return (HOLIDAY, name) if name else (REST, "")
            return (MAKEUP, name) if day.weekday() >= 5 else (WORKDAY, "")
        return (REST, "") if day.weekday() >= 5 else (WORKDAY, "")

    def is_workday(self, day):
        return self.day(day)[0] in (WORKDAY, MAKEUP)

    def next_workday(self, day):
        """The first working day after ``day``."""
        day = day + datetime.timedelta(days=1)
        while not self.is_workday(day):
            day += datetime.timedelta(days=1)
        return day

    def load_year(self, year, holidays, workdays, by, at, note=""):
        """Store a year's arrangement; returns the LoadedYear. Validate with ``check_year`` first."""
        if self._years is None:
            self._years = IOBTree()
        entry = LoadedYear(year, holidays, workdays, by, at, note)
        self._years[year] = entry
        self.__dict__.pop("_v_cache", None)
        return entry

    def month(self, year, month):
        """[(date, kind, name)] for a month, for the calendar page."""
        day = datetime.date(year, month, 1)
        out = []
        while day.month == month:
            kind, name = self.day(day)
            out.append((day, kind, name))
            day += datetime.timedelta(days=1)
        return out


_RANGE = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})\s*(?:(?:~|～|至|--|—|\.\.)\s*(\d{4}-\d{1,2}-\d{1,2}))?\s*(.*)$")
WORKDAY_WORDS = ("上班", "调休上班", "补班", "workday", "work")


def _date(text):
    try:
        y, m, d = (int(p) for p in text.split("-"))
        return datetime.date(y, m, d)
    except (TypeError, ValueError):
        return None


def parse_text(text):
    """Lines "2027-02-06~2027-02-12 春节" (a holiday period) and "2027-02-14 上班" (a make-up
    working day) -> (holidays, workdays, errors) with raw entries for ``check_year``."""
    holidays, workdays, errors = [], [], {}
    for number, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _RANGE.match(line)
        if not match:
            errors[f"line {number}"] = _("calendar_line_bad", default="Line ${n} is not \"YYYY-MM-DD[~YYYY-MM-DD] "
                                         "name\".", mapping={"n": number})
            continue
        start, end, label = match.group(1), match.group(2), match.group(3).strip()
        entry = {"from": start, "to": end or start, "name": label}
        if label.lower() in WORKDAY_WORDS or label.endswith("上班"):
            workdays.append(entry)
        else:
            holidays.append(entry)
    return holidays, workdays, errors


def _expand(entries, field, fields, year):
    out = {}
    if entries is None:
        return out
    if not isinstance(entries, list):
        fields[field] = _("calendar_list", default="A list of dates or periods.")
        return out
    for i, entry in enumerate(entries):
        if isinstance(entry, str):
            entry = {"date": entry}
        if not isinstance(entry, dict):
            fields[f"{field}.{i}"] = _("calendar_entry_bad", default="A date or a period {from, to, name}.")
            continue
        start_raw = entry.get("date") or entry.get("from")
        end_raw = entry.get("to") or start_raw
        start = _date(start_raw) if isinstance(start_raw, str) else None
        end = _date(end_raw) if isinstance(end_raw, str) else None
        name = entry.get("name") or ""
        if not isinstance(name, str):
            name = ""
        if start is None or end is None or end < start:
            fields[f"{field}.{i}"] = _("calendar_entry_bad", default="A date or a period {from, to, name}.")
            continue
        if start.year != year or end.year != year:
            fields[f"{field}.{i}"] = _("calendar_other_year", default="The date ${date} is not in ${year}.",
                                       mapping={"date": start.isoformat() if start.year != year else
                                                end.isoformat(), "year": year})
            continue
        if (end - start).days > 31:
            fields[f"{field}.{i}"] = _("calendar_period_long", default="A period is at most a month long.")
            continue
        day = start
        while day <= end:
            out[day] = name.strip()[:20]
            day += datetime.timedelta(days=1)
    return out


def check_year(year, data):
    """Validate a year's arrangement: ``{"holidays": [...], "workdays": [...]}`` with entries
    ``"2027-01-01"`` or ``{"from","to","name"}`` (or ``{"text": "lines"}``).
    Returns (holidays {date: name}, workdays {date: name}); raises ValidationError."""
    fields = {}
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValidationError(_("calendar_year_bad", default="The year must be between 2000 and 2100."),
                              {"year": _("calendar_year_bad", default="The year must be between 2000 and 2100.")})
    if not isinstance(data, dict):
        raise ValidationError(_("body_object", default="The request body must be an object."), {})
    raw_holidays, raw_workdays = data.get("holidays"), data.get("workdays")
    if isinstance(data.get("text"), str) and data["text"].strip():
        raw_holidays, raw_workdays, errors = parse_text(data["text"])
        fields.update(errors)
    holidays = _expand(raw_holidays, "holidays", fields, year)
    workdays = _expand(raw_workdays, "workdays", fields, year)
    if not holidays and "holidays" not in fields and not any(k.startswith("line") for k in fields):
        fields["holidays"] = _("calendar_no_holidays", default="Enter the year's statutory holidays.")
    for day in sorted(set(holidays) & set(workdays))[:1]:
        fields["workdays"] = _("calendar_both", default="${date} is entered both as a holiday and as a working "
                               "day.", mapping={"date": day.isoformat()})
    for day in sorted(workdays):
        if day.weekday() < 5:
            fields["workdays"] = _("calendar_makeup_weekday", default="${date} is a weekday; a make-up working "
                                   "day falls on a weekend.", mapping={"date": day.isoformat()})
            break
    if fields:
        raise ValidationError(_("calendar_invalid", default="The calendar for ${year} cannot be loaded: please "
                                "correct the marked entries.", mapping={"year": year}), fields)
    for day, name in list(holidays.items()):
        holidays[day] = name or "法定节假日"
    for day, name in list(workdays.items()):
        workdays[day] = name or "调休上班"
    return holidays, workdays
