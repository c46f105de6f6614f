"""Leader reception days (领导接访日): which leader receives petitioners on which day.

The visits group keeps the schedule; a visit registered on a leader's reception day is
flagged as received by that leader (``case.leader``), so supervision can follow
leader-received cases.
"""
import datetime
import uuid

from BTrees.OOBTree import OOBTree
from persistent import Persistent

from .errors import ValidationError
from .folder import Folder
from .i18n import _
from .intake import parse_date, text_problem
from . import localtime

VISIT_CHANNELS = ("visit", "video")
MAX_AHEAD_DAYS = 366       # the schedule is planned at most a year ahead


class ReceptionDay(Persistent):
    __name__ = None
    __parent__ = None
    id = ""
    date = None
    leader = ""       # name
    post = ""         # 职务, e.g. 副市长
    place = ""
    note = ""
    added_by = ""

    def __init__(self, date, leader, post="", place="", note="", added_by=""):
        self.id = uuid.uuid4().hex[:12]
        self.date = date
        self.leader = leader
        self.post = post
        self.place = place
        self.note = note
        self.added_by = added_by

    @property
    def title(self):
        return f"{self.post}{self.leader}" if self.post else self.leader


class ReceptionDays(Folder):
    title = "领导接访日"
    _by_date = None     # OOBTree date -> tuple of ids

    def schedule(self, day):
        if self._by_date is None:
            self._by_date = OOBTree()
        self.add(day.id, day)
        self._by_date[day.date] = self._by_date.get(day.date, ()) + (day.id,)
        return day

    def unschedule(self, day_id):
        day = self.remove(day_id)
        ids = tuple(i for i in self._by_date.get(day.date, ()) if i != day_id)
        if ids:
            self._by_date[day.date] = ids
        else:
            self._by_date.pop(day.date, None)
        return day

    def on(self, date):
        if self._by_date is None:
            return []
        return [self[i] for i in self._by_date.get(date, ())]

    def between(self, start, end):
        if self._by_date is None:
            return []
        out = []
        for _date, ids in self._by_date.items(start, end):
            out.extend(self[i] for i in ids)
        return out


def add_day(site, data, by, today=None):
    """Validate ``{"date","leader","post","place","note"}`` and schedule the reception day."""
    if not isinstance(data, dict):
        raise ValidationError(_("body_object", default="The request body must be an object."), {})
    fields = {}
    values = {}
    for key, limit in (("leader", 50), ("post", 50), ("place", 100), ("note", 500)):
        value = data.get(key) or ""
        if not isinstance(value, str):
            fields[key] = _("text_expected", default="This field takes text.")
            value = ""
        values[key] = value.strip()
        problem = text_problem(values[key], limit)
        if problem:
            fields[key] = problem
    if not values["leader"] and "leader" not in fields:
        fields["leader"] = _("wf_required", default="Required.")
    raw = data.get("date")
    date = parse_date(raw) if isinstance(raw, str) and len(raw.strip()) == 10 else None
    today = today or localtime.today()
    if date is None:
        fields["date"] = _("wf_date_bad", default="A date as YYYY-MM-DD.")
    elif date.year < 1990 or date > today + datetime.timedelta(days=MAX_AHEAD_DAYS):
        fields["date"] = _("reception_date_range", default="A reception day between 1990 and ${n} days from today.",
                           mapping={"n": MAX_AHEAD_DAYS})
    if fields:
        raise ValidationError(_("reception_invalid", default="The reception day cannot be added: please correct "
                                "the marked fields."), fields)
    return site.reception.schedule(ReceptionDay(date, values["leader"], values["post"], values["place"],
                                                values["note"], by))


def leaders_for(site, case):
    """The leaders who received ``case``: the one named at registration, or for a visit the
    leaders receiving on the day it came."""
    if case.leader:
        return [case.leader]
    reception = getattr(site, "reception", None)
    if reception is None or case.channel not in VISIT_CHANNELS or case.received_at is None:
        return []
    return [day.title for day in reception.on(case.received_at.date())]


def flag(site, case):
    """Mark a visit that came on a leader's reception day as received by that leader."""
    leaders = leaders_for(site, case)
    if leaders and not case.leader:
        case.leader = "、".join(leaders)
        return True
    return False
