"""The petition workflow: the state machine of API.md "Workflow actions".

``ACTIONS`` is the table: for each action the roles that may take it, the statuses it is
allowed in, its parameters, the document it files and the status it leads to. ``perform``
checks them in that order (403 role, 409 state, 422 parameters, 409 windows and other
preconditions), then changes the case, moves its clocks (``casefiles.clocks``), files the
action's document into its stage folder and records who did what, when and why.

The domain never renders a PDF itself: the web layer passes ``render(kind, case, fields)
-> bytes`` (``archive.notices.render``), and the workflow composes the document's words.
Every change announces ``CaseModified`` (and ``DocumentAdded`` per filed document) and
reindexes the catalog, whose ``next_due`` and ``queue`` indexes answer the queues.
"""
import datetime
import functools
import re
from dataclasses import dataclass, field

from BTrees.OOBTree import OOBTree
from persistent import Persistent

from . import clocks
from .access import route_to_unit
from .cases import STATUSES
from .documents import Upload, text_upload
from .errors import Conflict, Forbidden, NotFound, ValidationError
from .events import CaseAdded, CaseModified, DocumentAdded, notify, subscribe
from .experts import check_panel
from .i18n import _
from .intake import MAX_DUE_DAYS, text_problem
from .reception import flag as flag_leader
from .security import ROLE_TITLES

CLOSED_STATUSES = ("rejected", "not-reaccepted", "filed", "merged", "closed", "archived")
OPEN_STATUSES = tuple(s for s in STATUSES if s not in CLOSED_STATUSES)
REF_ORG = "信信访"
DEFAULT_WARN_DAYS = 3

OUTCOMES = (("support", "予以支持"), ("explain", "解释说明"), ("reject", "不予支持"))
DECISIONS = (("uphold", "维持"), ("revoke", "撤销"), ("change", "变更"), ("redo", "责令重新办理"))
SATISFACTION = (("satisfied", "满意"), ("basically", "基本满意"), ("unsatisfied", "不满意"))
RETENTION = (("Y", "永久"), ("30", "30年"), ("10", "10年"))
SUPERVISION_KINDS = (
    ("key", "中央、省集中督办或重点督办事项"),
    ("campaign", "省、市集中治理事项"),
    ("leader_instruction", "领导批示件"),
    ("leader_owned", "领导包案事项"),
    ("inspection", "巡视移交事项"),
    ("escalated", "交办组提请督办事项"),
    ("cross", "三跨三分离事项"),
    ("fund", "信访资金使用事项"),
    ("difficult", "其他疑难复杂事项"),
)
LEADER_KINDS = ("leader_instruction", "leader_owned")
SUGGESTION_TYPES = (("improve", "改进工作建议"), ("policy", "完善政策建议"), ("accountability", "追责问责建议"))
ADOPTION = (("adopted", "采纳"), ("partly", "部分采纳"), ("not", "未采纳"))
LINK_TITLES = {"repeat": "重复件", "original": "原件", "joined": "并入件", "lead": "主案"}
START_EVENTS = {
    "letter": "收到来信", "visit": "来访登记", "online": "收到网上信访", "phone": "受理来电",
    "video": "视频接访登记", "transfer": "收到上级转交",
}


# the table ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Param:
    name: str
    kind: str                 # text | longtext | date | int | choice | unit | case | experts | suggestion | supervision
    label: str
    required: bool = True
    choices: tuple = ()
    maximum: int = 2000


@dataclass(frozen=True)
class Action:
    name: str
    title: str
    roles: tuple
    statuses: tuple
    to: str = None            # None: the status stays
    params: tuple = ()
    doc_kind: str = None      # documents.KINDS key of the document it files
    stage: str = None         # the folder it goes into
    doc_title: str = ""
    ref: str = ""             # 文号 prefix
    extra: dict = field(default_factory=dict)


def _p(name, kind, label, required=True, choices=(), maximum=2000):
    return Param(name, kind, label, required, choices, maximum)


REASON = _p("reason", "longtext", "理由")
INTO = _p("into", "case", "并入的信访件编号")

ACTIONS = {a.name: a for a in (
    Action("accept", "受理", ("clerk", "assigner"), ("registered",), "accepted", (),
           "notice", "notices", "受理告知书", "受"),
    Action("reject", "不予受理", ("clerk", "assigner"), ("registered",), "rejected", (REASON,),
           "notice", "notices", "不予受理告知书", "不受"),
    Action("refuse-repeat", "不再受理", ("clerk", "assigner"), ("registered",), "not-reaccepted",
           (REASON, _p("original", "case", "已复核的原信访件编号", required=False)),
           "notice", "notices", "不再受理告知书", "不再"),
    Action("file-for-record", "存查", ("clerk", "assigner"), ("registered",), "filed", (REASON,),
           "other", "closing", "存查审批表", "存"),
    Action("forward", "转送", ("clerk", "assigner"), ("registered",), "forwarded",
           (_p("unit", "unit", "转送单位"),), "notice", "notices", "信访事项转送函", "转"),
    Action("assign", "交办", ("assigner",), ("registered", "accepted"), "assigned",
           (_p("unit", "unit", "责任单位"), _p("due", "date", "报结期限", required=False)),
           "notice", "notices", "信访事项交办单", "交"),
    Action("object", "交办异议", ("unit",), ("assigned", "forwarded"), "registered", (REASON,),
           "other", "handling", "交办异议退回函", "异"),
    Action("report", "报送办结报告", ("unit",), ("assigned",), "reported",
           (_p("summary", "longtext", "办理结果摘要", maximum=10000),
            _p("document", "text", "办结报告文件编号", required=False, maximum=64)),
           "handling_report", "handling", "办结报告", ""),
    Action("approve-report", "审核通过", ("assigner",), ("reported",), "replied-ready",
           (_p("opinion", "longtext", "审核意见", maximum=10000),),
           "other", "handling", "办结报告审核意见", "审"),
    Action("return-report", "退回重办", ("assigner",), ("reported",), "assigned",
           (_p("opinion", "longtext", "退回意见", maximum=10000), _p("due", "date", "重新报结期限", required=False)),
           "other", "handling", "退回重新办理通知", "退"),
    Action("extend", "延期", ("assigner", "supervisor"), ("accepted", "assigned"), None,
           (_p("days", "int", "延长天数"), REASON, _p("approved_by", "text", "批准人", maximum=50),
            _p("told_on", "date", "告知信访人日期", required=False)),
           "notice", "notices", "延期办理告知书", "延"),
    Action("supervise", "督办", ("supervisor",), OPEN_STATUSES, None,
           (_p("kind", "choice", "督办类别", choices=SUPERVISION_KINDS), _p("due", "date", "反馈期限", required=False),
            _p("instructions", "longtext", "督办要求", maximum=10000),
            _p("leader", "text", "批示或包案领导", required=False, maximum=50)),
           "supervision", "supervision", "信访事项督办单", "督"),
    Action("end-supervision", "督办办结", ("supervisor",), OPEN_STATUSES, None,
           (_p("result", "longtext", "督办结果", maximum=10000),
            _p("supervision", "supervision", "督办事项", required=False)),
           "supervision", "supervision", "督办办结意见", "督结"),
    Action("suggest", "三项建议", ("supervisor",), OPEN_STATUSES + ("closed",), None,
           (_p("type", "choice", "建议类型", choices=SUGGESTION_TYPES), _p("unit", "unit", "建议对象单位"),
            _p("content", "longtext", "建议内容", maximum=10000), _p("due", "date", "反馈期限", required=False)),
           "suggestion", "supervision", "建议书", "建"),
    Action("answer-suggestion", "建议反馈", ("supervisor", "unit"), OPEN_STATUSES + ("closed",), None,
           (_p("answer", "longtext", "书面反馈内容", maximum=10000),
            _p("adoption", "choice", "采纳情况", choices=ADOPTION),
            _p("suggestion", "suggestion", "建议书", required=False)),
           "suggestion", "supervision", "建议反馈", "建反"),
    Action("reply", "答复", ("assigner", "unit"), ("accepted", "replied-ready"), "replied",
           (_p("outcome", "choice", "处理结果", choices=OUTCOMES), _p("facts", "longtext", "查明事实", maximum=10000),
            _p("basis", "longtext", "处理依据", maximum=5000), _p("opinion", "longtext", "处理意见", maximum=10000),
            _p("delivered_on", "date", "送达日期", required=False)),
           "reply", "handling", "信访处理意见书", "处"),
    Action("deliver", "登记送达", ("clerk", "assigner", "unit", "reviewer"),
           ("replied", "review-decided", "recheck-decided"), None,
           (_p("delivered_on", "date", "送达日期"),), "notice", "notices", "送达回证", "送"),
    Action("evaluate", "满意度评价", ("clerk",), ("replied", "closed"), None,
           (_p("bureau", "choice", "对信访部门", choices=SATISFACTION),
            _p("unit", "choice", "对责任单位", required=False, choices=SATISFACTION)),
           "evaluation", "closing", "信访事项满意度评价表", "评"),
    Action("request-review", "复查申请", ("clerk", "reviewer"), ("replied",), "under-review",
           (_p("reasons", "longtext", "请求复查的理由", maximum=10000),),
           "review_request", "review", "复查申请登记表", "复查申"),
    Action("decide-review", "复查决定", ("reviewer",), ("under-review",), "review-decided",
           (_p("decision", "choice", "复查结论", choices=DECISIONS), _p("opinion", "longtext", "复查意见", maximum=10000),
            _p("delivered_on", "date", "送达日期", required=False)),
           "review_decision", "review", "信访事项复查意见书", "复查"),
    Action("request-recheck", "复核申请", ("clerk", "reviewer"), ("review-decided",), "under-recheck",
           (_p("reasons", "longtext", "请求复核的理由", maximum=10000),),
           "review_request", "review", "复核申请登记表", "复核申"),
    Action("schedule-hearing", "安排听证", ("reviewer",), ("under-recheck",), "hearing",
           (_p("hearing_date", "date", "听证日期"), _p("panel", "experts", "听证员"),
            _p("place", "text", "听证地点", required=False, maximum=100)),
           "notice", "review", "听证通知书", "听"),
    Action("record-hearing", "听证记录", ("reviewer",), ("hearing",), "under-recheck",
           (_p("record", "longtext", "听证记录", maximum=50000),),
           "hearing_record", "review", "听证记录", "听记"),
    Action("decide-recheck", "复核决定", ("reviewer",), ("under-recheck",), "recheck-decided",
           (_p("decision", "choice", "复核结论", choices=DECISIONS), _p("opinion", "longtext", "复核意见", maximum=10000),
            _p("delivered_on", "date", "送达日期", required=False)),
           "review_decision", "review", "信访事项复核意见书", "复核"),
    Action("mark-repeat", "重复件", ("clerk", "assigner"), ("registered",), "merged", (INTO,),
           "notice", "notices", "重复信访事项登记表", "重"),
    Action("join", "并案", ("clerk", "assigner"), ("registered",), "merged", (INTO,),
           "notice", "notices", "信访事项并案处理审批表", "并"),
    Action("close", "办结", ("assigner",), ("replied", "review-decided", "recheck-decided"), "closed",
           (_p("summary", "longtext", "办结情况", required=False, maximum=10000),),
           "closing_summary", "closing", "信访事项办结报告", "结"),
    Action("archive", "归档", ("admin",), ("closed",), "archived",
           (_p("retention", "choice", "保管期限", choices=RETENTION),),
           "other", "closing", "归档登记表", "档"),
)}

COMMON = (_p("on", "date", "发生日期", required=False), _p("note", "longtext", "备注", required=False))


# queues ---------------------------------------------------------------------------------

QUEUE_ROLES = ("clerk", "assigner", "supervisor", "reviewer")
QUEUES_BY_STATUS = {
    "registered": ("clerk", "assigner"),
    "accepted": ("assigner",),
    "assigned": ("unit",),
    "reported": ("assigner",),
    "replied-ready": ("assigner", "unit"),
    "replied": ("assigner", "clerk"),
    "under-review": ("reviewer",),
    "review-decided": ("assigner", "reviewer"),
    "under-recheck": ("reviewer",),
    "hearing": ("reviewer",),
    "recheck-decided": ("assigner",),
}


def queues_for(case):
    """The queues a case waits in: roles, and ``unit:CODE`` for its responsible unit."""
    out = []
    for queue in QUEUES_BY_STATUS.get(case.status, ()):
        if queue == "unit":
            if case.unit:
                out.append(f"unit:{case.unit}")
        else:
            out.append(queue)
    if case.status not in ("archived",) and (open_supervisions(case) or open_suggestions(case)):
        out.append("supervisor")
    return out


def user_queues(user):
    keys = []
    for role in user.roles:
        if role == "admin":
            keys.extend(QUEUE_ROLES)
        elif role in QUEUE_ROLES:
            keys.append(role)
        elif role == "unit" and user.unit:
            keys.append(f"unit:{user.unit}")
    return list(dict.fromkeys(keys))


# supervision records --------------------------------------------------------------------

class _ClockOfCase:
    """``record.deadline``: the clock of the record's case it runs on. A clock kept in its
    case (``clocks.Clock``) is referred to by the case and its place in ``case.deadlines``
    (the record is stored apart from the case; holding the clock itself would store a copy);
    a ``Deadline`` record from before, directly."""

    def __get__(self, record, owner=None):
        if record is None:
            return self
        record._p_activate()
        ref = record.__dict__.get("_clock")
        if ref is not None:
            case, index = ref
            return case.deadlines[index]
        return record.__dict__.get("deadline")

    def __set__(self, record, clock):
        record._p_activate()
        case = clock.__dict__.get("_v_case") if isinstance(clock, clocks.Clock) else None
        if case is not None:
            index = next(i for i, d in enumerate(case.deadlines) if d is clock)
            record.__dict__["_clock"] = (case, index)
            record.__dict__.pop("deadline", None)
        else:
            record.__dict__["deadline"] = clock
            record.__dict__.pop("_clock", None)
        record._p_changed = True


class Supervision(Persistent):
    id = ""
    kind = ""
    instructions = ""
    leader = ""
    on = None
    by = ""
    deadline = _ClockOfCase()
    ended_on = None
    result = ""

    def __init__(self, id, kind, instructions, leader, on, by, deadline):
        self.id, self.kind, self.instructions, self.leader = id, kind, instructions, leader
        self.on, self.by, self.deadline = on, by, deadline

    @property
    def kind_title(self):
        return dict(SUPERVISION_KINDS).get(self.kind, self.kind)

    @property
    def is_open(self):
        return self.ended_on is None

    def as_json(self):
        return {"id": self.id, "kind": self.kind, "kind_title": self.kind_title, "instructions": self.instructions,
                "leader": self.leader or None, "on": self.on, "by": self.by,
                "due": self.deadline.due if self.deadline else None, "ended_on": self.ended_on,
                "result": self.result or None, "open": self.is_open}


class Suggestion(Persistent):
    id = ""
    type = ""
    unit = None
    content = ""
    on = None
    by = ""
    deadline = _ClockOfCase()
    answered_on = None
    answer = ""
    adoption = ""

    def __init__(self, id, type, unit, content, on, by, deadline):
        self.id, self.type, self.unit, self.content = id, type, unit, content
        self.on, self.by, self.deadline = on, by, deadline

    @property
    def type_title(self):
        return dict(SUGGESTION_TYPES).get(self.type, self.type)

    @property
    def adoption_title(self):
        return dict(ADOPTION).get(self.adoption, "")

    @property
    def is_open(self):
        return self.answered_on is None

    def as_json(self):
        return {"id": self.id, "type": self.type, "type_title": self.type_title, "unit": self.unit,
                "content": self.content, "on": self.on, "by": self.by,
                "due": self.deadline.due if self.deadline else None, "answered_on": self.answered_on,
                "answer": self.answer or None, "adoption": self.adoption or None, "open": self.is_open}


def open_supervisions(case):
    return [s for s in case.supervisions if s.is_open]


def open_suggestions(case):
    return [s for s in case.suggestions if s.is_open]


# document numbers (文号) -----------------------------------------------------------------

class Counter(Persistent):
    value = 0


class RefCounters(Persistent):
    """Per-kind, per-year document numbers. Each counter is its own record, so two actions
    of different kinds never conflict; two of the same kind conflict and are retried."""

    _counters = None

    def next(self, prefix, year):
        if self._counters is None:
            self._counters = OOBTree()
        key = f"{prefix}-{year}"
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = Counter()
        counter.value += 1
        return f"{REF_ORG}{prefix}〔{year}〕{counter.value}号"


# helpers --------------------------------------------------------------------------------

def _today():
    return datetime.date.today()


def _now():
    return datetime.datetime.now().replace(microsecond=0)


def _site_of(case):
    node = case
    while node is not None and getattr(node, "__parent__", None) is not None:
        node = node.__parent__
    return node


def cn_date(day):
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def previous_step(case):
    """The date of the case's last workflow step (its receipt before any step)."""
    if case.step_on is not None:
        return case.step_on
    return case.received_at.date() if case.received_at else None


def _role_titles(roles):
    return "、".join(ROLE_TITLES.get(r, r) for r in roles)


def may_take(user, action, case):
    """Whether the user's roles (and unit) allow the action on this case, whatever its state."""
    roles = set(user.roles)
    if "admin" in roles:
        return True
    allowed = roles & set(action.roles)
    if not allowed:
        return False
    if allowed == {"unit"}:
        return bool(user.unit) and user.unit == case.unit
    return True


def available(case, user):
    """The actions this user may take on the case now (role, unit and state)."""
    return [a for a in ACTIONS.values() if case.status in a.statuses and may_take(user, a, case)
            and _precondition_hint(case, a)]


def _precondition_hint(case, action):
    """Hide actions whose records are missing (nothing to end, nothing to answer)."""
    if action.name == "end-supervision":
        return bool(open_supervisions(case))
    if action.name == "answer-suggestion":
        return bool(open_suggestions(case))
    if action.name == "deliver":
        return _undelivered(case) is not None
    return True


def allowed_in(status):
    return [a for a in ACTIONS.values() if status in a.statuses]


def _conflict_state(case, action, user):
    status = STATUSES.get(case.status, case.status)
    possible = [a for a in allowed_in(case.status) if _precondition_hint(case, a)]
    mine = [a for a in possible if may_take(user, a, case)]
    if mine:
        allowed = "、".join(a.title for a in mine)
    else:
        others = possible
        allowed = "、".join(f"{a.title}（{_role_titles(a.roles)}）" for a in others) or "无（已结束）"
    froms = "、".join(STATUSES.get(s, s) for s in action.statuses)
    return Conflict(_("wf_not_allowed", default="\"${action}\" is not allowed while the case is ${status} (only when "
                      "${froms}). Allowed now: ${allowed}.",
                      mapping={"action": action.title, "status": status, "froms": froms, "allowed": allowed}),
                    {"status": status})


# parameters ------------------------------------------------------------------------------

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_INT = re.compile(r"[+-]?[0-9]{1,9}")


def _parse_date(value):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not _ISO_DATE.fullmatch(text):
        return None     # "2026-11-25garbage", "20261125", other digits than 0-9: never cut to a date
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def _parse_int(value):
    """An int, or a string of ASCII digits (a form field); None for anything else (true, 1.5,
    "５", "1e3")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _ISO_INT.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _clean(site, case, action, body, today):
    """The action's validated values; ValidationError naming every bad field."""
    if not isinstance(body, dict):
        raise ValidationError(_("body_object", default="The request body must be an object."), {})
    fields = {}
    values = {}
    for param in action.params + COMMON:
        raw = body.get(param.name)
        if raw in (None, "") or (param.kind == "experts" and raw == []):
            if param.required:
                fields[param.name] = _("wf_required", default="Required.")
            values[param.name] = None
            continue
        kind = param.kind
        if kind in ("text", "longtext", "choice", "unit", "case", "suggestion", "supervision"):
            if not isinstance(raw, str):
                fields[param.name] = _("text_expected", default="This field takes text.")
                continue
            raw = raw.strip()
            if not raw:
                if param.required:
                    fields[param.name] = _("wf_required", default="Required.")
                values[param.name] = None
                continue
            if len(raw) > param.maximum:
                fields[param.name] = _("wf_too_long", default="At most ${n} characters.", mapping={"n": param.maximum})
                continue
            problem = text_problem(raw)     # NUL, ESC ... are refused, as at intake
            if problem:
                fields[param.name] = problem
                continue
        if kind in ("text", "longtext"):
            values[param.name] = raw
        elif kind == "choice":
            names = [c for c, _t in param.choices]
            if raw not in names:
                fields[param.name] = _("wf_choice", default="Choose one of: ${choices}.",
                                       mapping={"choices": "、".join(f"{c}（{t}）" for c, t in param.choices)})
            values[param.name] = raw
        elif kind == "date":
            day = _parse_date(raw)
            if day is None:
                fields[param.name] = _("wf_date_bad", default="A date as YYYY-MM-DD.")
            values[param.name] = day
        elif kind == "int":
            number = _parse_int(raw)
            if number is None:
                fields[param.name] = _("wf_int", default="A whole number.")
            values[param.name] = number
        elif kind == "unit":
            if raw not in site.units:
                fields[param.name] = _("unit_unknown", default="No responsible unit has code ${code}.",
                                       mapping={"code": raw})
            values[param.name] = raw
        elif kind == "case":
            other = site.cases.by_number(raw)
            if other is None:
                fields[param.name] = _("case_missing", default="There is no case numbered ${number}.",
                                       mapping={"number": raw})
            elif other is case:
                fields[param.name] = _("wf_into_self", default="A case cannot be merged into itself.")
            values[param.name] = other
        elif kind == "experts":
            values[param.name] = raw   # checked by check_panel below
        elif kind in ("suggestion", "supervision"):
            values[param.name] = raw
    # "on": never in the future, never before the previous step
    on = values.get("on")
    if "on" not in fields:
        if on is None:
            on = today
        if on > today:
            fields["on"] = _("wf_on_future", default="The date cannot be in the future.")
        else:
            before = previous_step(case)
            if before is not None and on < before:
                fields["on"] = _("wf_on_before", default="The date cannot be before the previous step (${date}).",
                                 mapping={"date": before.isoformat()})
    values["on"] = on
    for name in ("delivered_on", "told_on", "hearing_date", "due"):
        day = values.get(name)
        if day is None or name in fields or "on" in fields:
            continue
        if name in ("delivered_on", "told_on"):
            if day > today:
                fields[name] = _("wf_on_future", default="The date cannot be in the future.")
            elif day < on:
                fields[name] = _("wf_before_on", default="The date cannot be before the day of the step (${date}).",
                                 mapping={"date": on.isoformat()})
        elif name == "hearing_date" and day < on:
            fields[name] = _("wf_before_on", default="The date cannot be before the day of the step (${date}).",
                             mapping={"date": on.isoformat()})
        elif name == "due" and day <= on:
            fields[name] = _("wf_due_after", default="The due date must be after the day of the step (${date}).",
                             mapping={"date": on.isoformat()})
        elif name in ("due", "hearing_date") and day > on + datetime.timedelta(days=MAX_DUE_DAYS):
            fields[name] = _("wf_date_far", default="The date is at most ${n} days after the day of the step "
                             "(${date}).", mapping={"n": MAX_DUE_DAYS, "date": on.isoformat()})
    if fields:
        raise ValidationError(_("wf_invalid", default="\"${action}\" cannot be done: please correct the marked "
                                "fields (${names}).", mapping={"action": action.title, "names": "、".join(
                                    _label(action, n) for n in fields)}), fields)
    return values


def _label(action, name):
    for param in action.params + COMMON:
        if param.name == name:
            return param.label
    return name


# the state machine -----------------------------------------------------------------------

class Step:
    """What an action handler works with."""

    def __init__(self, site, case, action, user, values, today, now, rules, render):
        self.site, self.case, self.action, self.user = site, case, action, user
        self.values, self.today, self.now = values, today, now
        self.on = values["on"]
        self.rules, self.render = rules, render
        self.calendar = site.calendar
        self.by = user.username
        self.note = values.get("note") or ""
        self.history = []       # extra history notes
        self.documents = []     # documents filed
        self.touched = [case]   # cases changed (repeat/join change two)
        self.recorded = False   # the history entry was written by the handler

    @property
    def at(self):
        """The history time: now for today's steps, the day itself for earlier ones."""
        if self.on == self.now.date():
            return self.now
        return datetime.datetime.combine(self.on, datetime.time())

    def clock(self, name, start=None, event="", fixed_due=None, fixed_by=""):
        return clocks.start_clock(self.case, name, self.rules, self.calendar, start or self.on, event,
                                  fixed_due=fixed_due, fixed_by=fixed_by)

    def meet(self, *names):
        for name in names:
            clocks.meet(self.case, name, self.on, self.by)


def perform(site, case, name, body, user, render, today=None, now=None, rules=None):
    """Take the workflow action ``name`` on ``case`` for ``user``; returns the case.

    Raises NotFound (unknown action), Forbidden (role or unit), Conflict (state, window,
    precondition) or ValidationError (parameters) before anything is changed."""
    action = ACTIONS.get(name)
    if action is None:
        raise NotFound(_("wf_unknown", default="There is no workflow action \"${name}\".", mapping={"name": name}),
                       {"action": name})
    today = today or _today()
    now = now or _now()
    rules = rules or clocks.load_rules(site.rules)
    if case.status == "archived":
        raise Conflict(_("case_archived", default="The case is archived and read-only."),
                       {"status": STATUSES["archived"]})
    if not may_take(user, action, case):
        if set(user.roles) & set(action.roles) == {"unit"}:
            raise Forbidden(_("wf_unit_only", default="Only the responsible unit the case is routed to may do "
                              "\"${action}\".", mapping={"action": action.title}), {"unit": case.unit or ""})
        raise Forbidden(_("wf_role", default="Your role may not take the action \"${action}\"; it is for: ${roles}.",
                          mapping={"action": action.title, "roles": _role_titles(action.roles)}), {})
    if case.status not in action.statuses:
        raise _conflict_state(case, action, user)
    values = _clean(site, case, action, body, today)
    step = Step(site, case, action, user, values, today, now, rules, render)
    handler = HANDLERS[action.name]
    check = CHECKS.get(action.name)
    if check is not None:
        check(step)
    document = handler(step)
    if document is not None:
        _file(step, document)
    if action.to is not None:
        case.status = action.to
    if step.on > (case.step_on or datetime.date.min):
        case.step_on = step.on
    if not step.recorded:
        note = "；".join(x for x in [_history_note(step)] + step.history + [step.note and f"备注：{step.note}"] if x)
        case.record(action.name, step.at, step.by, note)
    for changed in step.touched:
        site.catalog.reindex(changed)
        notify(CaseModified(changed))
    for filed in step.documents:
        notify(DocumentAdded(filed))
    return case


def _history_note(step):
    parts = [step.action.title]
    if step.on != step.now.date():
        parts.append(f"（{cn_date(step.on)}）")
    return "".join(parts)


def _file(step, doc):
    """Render the action's document and file it with its text into its stage folder."""
    site, case, action = step.site, step.case, step.action
    title = doc.get("title") or action.doc_title
    ref = site.refs.next(action.ref, step.on.year) if action.ref and site.refs is not None else doc.get("ref", "")
    fields = {
        "org": doc.get("org") or site.title,
        "ref": ref,
        "title": title,
        "addressee": doc.get("addressee", ""),
        "paragraphs": [p for p in doc.get("paragraphs", []) if p],
        "table": doc.get("table", []),
        "signer": doc.get("signer") or site.title,
        "date": step.on,
        "number": case.number,
        "cc": doc.get("cc", ""),
    }
    text = document_text(fields)
    if step.render is not None:
        data = step.render(action.name, case, fields)
        upload = Upload.from_bytes(f"{title}.pdf", data)
    else:
        upload = text_upload(title, text)
    target = doc.get("case") or case
    document = target.file_document(doc.get("stage") or action.stage, doc.get("kind") or action.doc_kind, title,
                                    upload, step.now, step.by, text=text, ref=ref, author=fields["signer"])
    step.documents.append(document)
    return document


def document_text(fields):
    lines = [fields["org"], fields["ref"], fields["title"]]
    if fields["addressee"]:
        lines.append(f"{fields['addressee']}：")
    lines.extend(fields["paragraphs"])
    lines.extend(f"{k}：{v}" for k, v in fields["table"])
    lines.append(fields["signer"])
    lines.append(cn_date(fields["date"]))
    if fields["cc"]:
        lines.append(f"抄送：{fields['cc']}")
    return "\n".join(x for x in lines if x)


# words used by the documents
def primary_name(site, case):
    for pid, primary in case.petitioners:
        if primary:
            person = site.petitioners.get(pid)
            if person is not None:
                return person.display_name
    for pid, _primary in case.petitioners:
        person = site.petitioners.get(pid)
        if person is not None:
            return person.display_name
    return "信访人"


def unit_name(site, code):
    unit = site.units.get(code) if code else None
    return unit.name if unit is not None else (code or "")


def _received(case):
    return cn_date(case.received_at.date()) if case.received_at else ""


def _matter(case):
    return f"您于{_received(case)}反映的“{case.subject}”信访事项（编号{case.number}）"


# checks (preconditions beyond role and state; they raise before anything changes) -------

def _window_closed(what, deadline):
    return Conflict(_("wf_window_closed", default="The time for ${what} closed on ${date} (${rule}).",
                      mapping={"what": what, "date": cn_date(deadline.due), "rule": deadline.rule_text()}),
                    {"on": deadline.due.isoformat()})


def _check_object(step):
    window = clocks.current(step.case, "objection")
    if window is not None and step.on > window.due:
        raise _window_closed("责任单位提出交办异议", window)


def _report_documents(case):
    """The handling reports filed since the case was last assigned (or returned for rework)."""
    documents = [d for d in case["handling"].values() if d.kind == "handling_report"
                 and d.id not in case.reports_before]
    return sorted(documents, key=lambda d: d.filed_at)


def _reports_so_far(case):
    return tuple(d.id for d in case["handling"].values() if d.kind == "handling_report")


def _check_report(step):
    wanted = step.values.get("document")
    documents = _report_documents(step.case)
    if wanted:
        documents = [d for d in documents if d.id == wanted]
        if not documents:
            raise ValidationError(_("wf_report_doc", default="The case has no handling report with id ${id}.",
                                    mapping={"id": wanted}), {"document": wanted})
    if not documents:
        raise Conflict(_("wf_report_missing", default="File the handling report (办结报告) into the case first, "
                         "then report."), {"document": "handling_report"})
    step.report = documents[-1]


def _check_extend(step):
    handling = clocks.current(step.case, "handling")
    if handling is None:
        raise Conflict(_("wf_no_handling_clock", default="The case has no running handling time limit to extend."),
                       {"handling": "none"})
    rule = handling.rule
    most = rule.get("max_extension_days", 30)
    if len(handling.extensions) >= rule.get("max_extensions", 1):
        done = handling.extensions[-1]
        raise Conflict(_("wf_extended_already", default="The handling time limit was already extended on ${date}; "
                         "it can be extended only once.", mapping={"date": cn_date(done["on"])}),
                       {"days": done["on"].isoformat()})
    days = step.values["days"]
    if not 1 <= days <= most:
        raise ValidationError(_("wf_extend_days", default="An extension is 1 to ${n} days.", mapping={"n": most}),
                              {"days": _("wf_extend_days", default="An extension is 1 to ${n} days.",
                                         mapping={"n": most})})
    if step.on > handling.due:
        raise _window_closed("延期", handling)
    step.handling = handling


def _check_supervise(step):
    kind = step.values["kind"]
    if kind in LEADER_KINDS and not step.values.get("leader"):
        raise ValidationError(_("wf_leader_required", default="Name the leader who gave the instruction or owns the "
                                "case."), {"leader": _("wf_required", default="Required.")})


def _pick(records, wanted, field, what):
    candidates = [r for r in records if r.is_open]
    if wanted:
        found = [r for r in candidates if r.id == wanted]
        if not found:
            raise ValidationError(_("wf_record_missing", default="There is no open ${what} with id ${id}.",
                                    mapping={"what": what, "id": wanted}), {field: wanted})
        return found[0]
    if not candidates:
        raise Conflict(_("wf_nothing_open", default="There is no open ${what}.", mapping={"what": what}), {field: "none"})
    return candidates[-1]


def _check_end_supervision(step):
    step.record = _pick(step.case.supervisions, step.values.get("supervision"), "supervision", "督办事项")


def _check_answer(step):
    step.record = _pick(step.case.suggestions, step.values.get("suggestion"), "suggestion", "建议书")
    if "unit" in step.user.roles and "admin" not in step.user.roles and "supervisor" not in step.user.roles \
            and step.record.unit != step.user.unit:
        raise Forbidden(_("wf_suggestion_unit", default="Only the unit the suggestion was sent to may answer it."),
                        {"suggestion": step.record.id})


def _check_request_review(step):
    case = step.case
    if not (case.reply or {}).get("delivered_on"):
        raise Conflict(_("wf_reply_undelivered", default="The written reply has not been delivered yet; record its "
                         "delivery first."), {"delivered_on": "missing"})
    window = clocks.current(case, "review_request")
    if window is not None and step.on > window.due:
        raise _window_closed("请求复查", window)


def _check_request_recheck(step):
    case = step.case
    if not (case.review or {}).get("delivered_on"):
        raise Conflict(_("wf_review_undelivered", default="The review decision has not been delivered yet; record "
                         "its delivery first."), {"delivered_on": "missing"})
    window = clocks.current(case, "recheck_request")
    if window is not None and step.on > window.due:
        raise _window_closed("请求复核", window)


def _check_hearing(step):
    step.panel = check_panel(step.site, step.case, step.values["panel"])


def _check_record_hearing(step):
    hearing = step.case.hearings[-1] if step.case.hearings else None
    if hearing is not None and step.on < hearing["date"]:
        raise ValidationError(_("wf_hearing_not_yet", default="The hearing is set for ${date}; record it on or after "
                                "that day.", mapping={"date": hearing["date"].isoformat()}),
                              {"on": _("wf_hearing_not_yet", default="The hearing is set for ${date}; record it on "
                                       "or after that day.", mapping={"date": hearing["date"].isoformat()})})


def _check_merge(step):
    into = step.values["into"]
    case = step.case
    if into.status == "merged":
        lead = dict(into.links).get("lead") or dict(into.links).get("original")
        raise Conflict(_("wf_into_merged", default="${number} is itself merged into ${lead}; choose that case.",
                         mapping={"number": into.number, "lead": lead or ""}), {"into": into.number})
    if into.status == "archived":
        raise Conflict(_("wf_into_archived", default="${number} is archived and read-only.",
                         mapping={"number": into.number}), {"into": into.number})
    if step.action.name == "mark-repeat":
        mine = {pid for pid, _p in case.petitioners}
        theirs = {pid for pid, _p in into.petitioners}
        if not mine & theirs:
            raise ValidationError(_("wf_repeat_other_person", default="${number} has no petitioner in common with "
                                    "this item: a repeat item is the same person on the same matter (use join for "
                                    "different people).", mapping={"number": into.number}),
                                  {"into": into.number})


def satisfied(case, since=None):
    """The petitioner's latest evaluation says satisfied (or basically), for both ratings given."""
    rating = case.satisfaction
    if not rating:
        return False
    if since is not None and rating["on"] < since:
        return False
    return rating["bureau"] in ("satisfied", "basically") and rating.get("unit") in (None, "satisfied", "basically")


def close_blockers(case, on):
    """[(field, message)] of what keeps the case from being closed on ``on``."""
    missing = []
    decision = {"replied": ("reply", case.reply), "review-decided": ("review", case.review),
                "recheck-decided": ("recheck", case.recheck)}.get(case.status)
    if not (case.reply or {}).get("delivered_on"):
        missing.append(("reply", _("wf_close_reply", default="The case cannot be closed: the written reply (信访处理意见书) "
                                   "has not been delivered.")))
    elif decision and decision[0] != "reply" and not (decision[1] or {}).get("delivered_on"):
        missing.append((decision[0], _("wf_close_decision", default="The case cannot be closed: the latest decision has "
                                                  "not been delivered.")))
    if open_supervisions(case):
        missing.append(("supervision", _("wf_close_supervision", default="The case cannot be closed: a supervision (督办) "
                                                 "is still open.")))
    window_name = {"replied": "review_request", "review-decided": "recheck_request"}.get(case.status)
    window = clocks.current(case, window_name) if window_name else None
    if window is not None and on <= window.due:
        since = (decision[1] or {}).get("delivered_on") if decision else None
        if not satisfied(case, since):
            what = "复查" if window_name == "review_request" else "复核"
            missing.append(("window", _("wf_close_window", default="The case cannot be closed: the petitioner may still "
                                        "request ${what} until ${date} and has not said they are satisfied.",
                                        mapping={"what": what, "date": cn_date(window.due)})))
    if any(h.get("recorded_on") is None for h in case.hearings):
        missing.append(("hearing", _("wf_close_hearing", default="The case cannot be closed: a hearing is scheduled and "
                                     "not yet recorded.")))
    return missing


def _check_close(step):
    missing = close_blockers(step.case, step.on)
    if missing:
        raise Conflict(missing[0][1], {f: m for f, m in missing})


def _undelivered(case):
    for key in ("recheck", "review", "reply"):
        record = getattr(case, key)
        if record:
            return key if not record.get("delivered_on") else None
    return None


def _check_deliver(step):
    key = _undelivered(step.case)
    if key is None:
        raise Conflict(_("wf_delivered_already", default="The latest decision's delivery is already recorded."),
                       {"delivered_on": "recorded"})
    record = getattr(step.case, key)
    if step.values["delivered_on"] < record["on"]:
        raise ValidationError(_("wf_before_on", default="The date cannot be before the day of the step (${date}).",
                                mapping={"date": record["on"].isoformat()}),
                              {"delivered_on": record["on"].isoformat()})
    step.delivering = key


CHECKS = {
    "object": _check_object,
    "report": _check_report,
    "extend": _check_extend,
    "supervise": _check_supervise,
    "end-supervision": _check_end_supervision,
    "answer-suggestion": _check_answer,
    "request-review": _check_request_review,
    "request-recheck": _check_request_recheck,
    "schedule-hearing": _check_hearing,
    "record-hearing": _check_record_hearing,
    "mark-repeat": _check_merge,
    "join": _check_merge,
    "close": _check_close,
    "deliver": _check_deliver,
}


# handlers: change the case and return the document's words --------------------------------

def _triage_done(step):
    step.meet("triage", "notice")


def _accept(step):
    site, case = step.site, step.case
    _triage_done(step)
    if clocks.current(case, "handling") is None:
        step.clock("handling", event="受理")
    handling = clocks.current(case, "handling")
    return {"addressee": primary_name(site, case), "paragraphs": [
        f"{_matter(case)}，经审查，符合《信访工作条例》规定的受理条件，本机关决定予以受理。",
        f"本机关将依法办理，并自受理之日起{handling.rule['count']}日内（即{cn_date(handling.due)}前）"
        f"出具书面处理意见。",
        "特此告知。"]}


def _refusal(step, why):
    site, case = step.site, step.case
    _triage_done(step)
    clocks.close_all(case, step.on, step.action.title)
    return {"addressee": primary_name(site, case), "paragraphs": [
        f"{_matter(case)}，经审查，{why}",
        f"理由：{step.values['reason']}",
        "特此告知。"]}


def _reject(step):
    return _refusal(step, "本机关决定不予受理。")


def _refuse_repeat(step):
    original = step.values.get("original")
    if original is not None:
        step.case.links = tuple(step.case.links) + (("original", original.number),)
        step.history.append(f"原件{original.number}")
        why = (f"该事项已经复查、复核程序终结（原件{original.number}），信访人以同一事实和理由提出信访，"
               "本机关依照《信访工作条例》第三十六条决定不再受理。")
    else:
        why = "该事项属于已经依法处理、信访人以同一事实和理由再次提出的信访事项，本机关决定不再受理。"
    return _refusal(step, why)


def _file_for_record(step):
    case = step.case
    step.meet("triage")
    clocks.cancel(case, "notice", step.on, "存查，无需告知")
    clocks.close_all(case, step.on, "存查")
    return {"paragraphs": [
        f"信访件{case.number}（{case.subject}，{_received(case)}收到）拟作存查处理。",
        f"理由：{step.values['reason']}",
        f"经办人：{step.user.name or step.by}"]}


def _forward(step):
    site, case = step.site, step.case
    code = step.values["unit"]
    _triage_done(step)
    route_to_unit(site, case, code)
    window = step.clock("objection", event="转送责任单位")
    step.history.append(unit_name(site, code))
    return {"addressee": unit_name(site, code), "paragraphs": [
        f"现将{primary_name(site, case)}反映的“{case.subject}”信访事项（编号{case.number}，"
        f"{_received(case)}收到）转送你单位，请依法处理。",
        f"本事项为转送事项，无需报送办理结果。如认为不属于你单位职责范围，请于{cn_date(window.due)}前"
        "退回并说明理由。",
        f"已同时告知信访人{primary_name(site, case)}。"],
        "cc": primary_name(site, case)}


def _assign(step):
    site, case = step.site, step.case
    code, due = step.values["unit"], step.values.get("due")
    _triage_done(step)
    if clocks.current(case, "handling") is None:
        step.clock("handling", event="交办（视为受理）")
    route_to_unit(site, case, code)
    case.reports_before = _reports_so_far(case)
    report = step.clock("unit_report", event="交办", fixed_due=due, fixed_by="交办单位" if due else "")
    window = step.clock("objection", event="交办责任单位")
    step.history.append(f"{unit_name(site, code)}，报结期限{report.due.isoformat()}")
    return {"addressee": unit_name(site, code), "paragraphs": [
        f"现将{primary_name(site, case)}反映的“{case.subject}”信访事项（编号{case.number}，"
        f"{_received(case)}收到）交由你单位办理。",
        f"请依法调查处理，于{cn_date(report.due)}前将办结报告及相关材料报送本机关。",
        f"如认为不属于你单位职责范围，请于{cn_date(window.due)}前退回并说明理由。"],
        "table": [("信访件编号", case.number), ("事由", case.subject), ("问题属地", case.district),
                  ("责任单位", unit_name(site, code)), ("报结期限", cn_date(report.due))]}


def _object(step):
    site, case = step.site, step.case
    unit = case.unit
    window = clocks.current(case, "objection")
    if window is not None:
        window.met_at, window.met_by = step.on, step.by
    clocks.cancel(case, "unit_report", step.on, "责任单位提出异议退回")
    clocks.cancel(case, "rework", step.on, "责任单位提出异议退回")
    route_to_unit(site, case, None)
    step.clock("triage", event="责任单位异议退回")
    step.history.append(unit_name(site, unit))
    return {"org": unit_name(site, unit), "signer": unit_name(site, unit), "addressee": site.title,
            "paragraphs": [
                f"你局{'交办' if step.case.status == 'assigned' else '转送'}的“{case.subject}”信访事项"
                f"（编号{case.number}），经审查不属于本单位职责范围，现予退回。",
                f"理由：{step.values['reason']}"]}


def _report(step):
    case = step.case
    step.meet("unit_report", "rework")
    case.report = {"summary": step.values["summary"], "on": step.on, "by": step.by, "document": step.report.id}
    step.history.append(f"{step.report.title}")
    return None   # the unit's own report is the document


def _approve_report(step):
    site, case = step.site, step.case
    return {"addressee": unit_name(site, case.unit), "paragraphs": [
        f"你单位报送的“{case.subject}”信访事项（编号{case.number}）办结报告，经审核，予以通过。",
        f"审核意见：{step.values['opinion']}",
        "请按规定向信访人出具信访处理意见书。"]}


def _return_report(step):
    site, case = step.site, step.case
    case.reports_before = _reports_so_far(case)
    rework = step.clock("rework", event="退回重新办理", fixed_due=step.values.get("due"),
                        fixed_by="交办单位" if step.values.get("due") else "")
    return {"addressee": unit_name(site, case.unit), "paragraphs": [
        f"你单位报送的“{case.subject}”信访事项（编号{case.number}）办结报告，经审核，尚未达到办结要求，"
        "现退回重新办理。",
        f"退回意见：{step.values['opinion']}",
        f"请于{cn_date(rework.due)}前重新报送办结报告。"]}


def _extend(step):
    site, case, v = step.site, step.case, step.values
    handling = step.handling
    before = handling.due
    told_on = v.get("told_on") or step.on
    clocks.extend(handling, v["days"], v["reason"], v["approved_by"], told_on, step.on, step.by, step.calendar,
                  at=step.at)
    step.history.append(f"{v['days']}日，{cn_date(before)}→{cn_date(handling.due)}，{v['approved_by']}批准")
    return {"addressee": primary_name(site, case), "paragraphs": [
        f"{_matter(case)}，因{v['reason']}，经{v['approved_by']}批准，办理期限延长{v['days']}日，"
        f"由{cn_date(before)}延至{cn_date(handling.due)}。",
        "特此告知。"]}


def _supervise(step):
    site, case, v = step.site, step.case, step.values
    deadline = step.clock("supervision", event="督办", fixed_due=v.get("due"), fixed_by="督办单位" if v.get("due")
                          else "")
    record = Supervision(f"S{len(case.supervisions) + 1}", v["kind"], v["instructions"], v.get("leader") or "",
                         step.on, step.by, deadline)
    case.supervisions = tuple(case.supervisions) + (record,)
    if v["kind"] == "leader_owned" and v.get("leader") and not case.leader:
        case.leader = v["leader"]
    step.history.append(record.kind_title)
    target = unit_name(site, case.unit) if case.unit else "承办人"
    return {"addressee": target, "paragraphs": [
        f"{primary_name(site, case)}反映的“{case.subject}”信访事项（编号{case.number}）列为{record.kind_title}"
        + (f"（{v['leader']}）" if v.get("leader") else "") + "，现予督办。",
        f"督办要求：{v['instructions']}",
        f"请于{cn_date(deadline.due)}前反馈办理情况。"],
        "table": [("督办编号", record.id), ("督办类别", record.kind_title), ("反馈期限", cn_date(deadline.due))]}


def _end_supervision(step):
    case = step.case
    record = step.record
    record.ended_on, record.result = step.on, step.values["result"]
    if record.deadline is not None and record.deadline.is_open:
        record.deadline.met_at, record.deadline.met_by = step.on, step.by
    step.history.append(record.id)
    return {"paragraphs": [
        f"“{case.subject}”信访事项（编号{case.number}）督办事项{record.id}（{record.kind_title}，"
        f"{cn_date(record.on)}督办）已办结。",
        f"督办结果：{step.values['result']}"]}


def _suggest(step):
    site, case, v = step.site, step.case, step.values
    deadline = step.clock("suggestion", event="发出建议", fixed_due=v.get("due"),
                          fixed_by="督办单位" if v.get("due") else "")
    record = Suggestion(f"J{len(case.suggestions) + 1}", v["type"], v["unit"], v["content"], step.on, step.by,
                        deadline)
    case.suggestions = tuple(case.suggestions) + (record,)
    step.history.append(f"{record.type_title}→{unit_name(site, v['unit'])}")
    return {"title": f"{record.type_title}书", "addressee": unit_name(site, v["unit"]), "paragraphs": [
        f"本机关在办理“{case.subject}”信访事项（编号{case.number}）中发现，需要你单位研究以下问题，"
        f"依照《信访工作条例》第四十条提出{record.type_title}：",
        v["content"],
        f"请于{cn_date(deadline.due)}前将采纳情况书面反馈本机关。"]}


def _answer(step):
    site, case, v = step.site, step.case, step.values
    record = step.record
    record.answered_on, record.answer, record.adoption = step.on, v["answer"], v["adoption"]
    if record.deadline is not None and record.deadline.is_open:
        record.deadline.met_at, record.deadline.met_by = step.on, step.by
    step.history.append(f"{record.id} {record.adoption_title}")
    return {"title": f"{record.type_title}反馈", "org": unit_name(site, record.unit),
            "signer": unit_name(site, record.unit), "addressee": site.title, "paragraphs": [
                f"关于你局{cn_date(record.on)}就“{case.subject}”信访事项（编号{case.number}）提出的"
                f"{record.type_title}，现书面反馈如下：",
                v["answer"],
                f"采纳情况：{record.adoption_title}。"]}


def _reply(step):
    site, case, v = step.site, step.case, step.values
    step.meet("handling")
    outcome = dict(OUTCOMES)[v["outcome"]]
    case.reply = {"outcome": v["outcome"], "on": step.on, "by": step.by, "delivered_on": v.get("delivered_on")}
    if v.get("delivered_on"):
        step.clock("review_request", start=v["delivered_on"], event="送达信访处理意见书")
    days = step.rules["clocks"]["review_request"]["count"]
    by_unit = "unit" in step.user.roles and case.unit
    signer = unit_name(site, case.unit) if by_unit else site.title
    step.history.append(outcome)
    return {"org": signer, "signer": signer, "addressee": primary_name(site, case), "paragraphs": [
        f"{_matter(case)}，本机关已依法办理，现将处理意见告知如下：",
        f"一、查明的事实：{v['facts']}",
        f"二、处理依据：{v['basis']}",
        f"三、处理意见：{v['opinion']}。处理结果：{outcome}。",
        f"如对本处理意见不服，可以自收到本意见书之日起{days}日内，向上一级行政机关请求复查。"],
        "table": [("处理结果", outcome)]}


def _deliver(step):
    site, case = step.site, step.case
    key = step.delivering
    record = dict(getattr(case, key))
    record["delivered_on"] = step.values["delivered_on"]
    setattr(case, key, record)
    what = {"reply": "信访处理意见书", "review": "复查意见书", "recheck": "复核意见书"}[key]
    if key == "reply":
        step.clock("review_request", start=record["delivered_on"], event="送达信访处理意见书")
    elif key == "review":
        step.clock("recheck_request", start=record["delivered_on"], event="送达复查意见书")
    step.history.append(f"{what}，{cn_date(record['delivered_on'])}")
    return {"title": f"送达回证（{what}）", "paragraphs": [
        f"送达文书：{what}（信访件编号{case.number}）",
        f"受送达人：{primary_name(site, case)}",
        f"送达日期：{cn_date(record['delivered_on'])}",
        f"送达人：{step.user.name or step.by}"]}


def _evaluate(step):
    case, v = step.case, step.values
    case.satisfaction = {"bureau": v["bureau"], "unit": v.get("unit"), "on": step.on, "by": step.by}
    titles = dict(SATISFACTION)
    words = f"对信访部门{titles[v['bureau']]}" + (f"，对责任单位{titles[v['unit']]}" if v.get("unit") else "")
    step.history.append(words)
    return {"paragraphs": [
        f"信访件编号：{case.number}；事由：{case.subject}",
        f"信访人{primary_name(step.site, case)}对办理情况的评价：{words}。",
        f"登记人：{step.user.name or step.by}"],
        "table": [("对信访部门", titles[v["bureau"]]), ("对责任单位", titles.get(v.get("unit"), "未评价"))]}


def _request_review(step):
    case = step.case
    step.meet("review_request")
    step.clock("review_decision", event="收到复查请求")
    case.review = {"requested_on": step.on, "reasons": step.values["reasons"]}
    return {"paragraphs": [
        f"信访人{primary_name(step.site, case)}对信访件{case.number}（{case.subject}）的信访处理意见不服，"
        f"于{cn_date(step.on)}请求复查。",
        f"请求复查的理由：{step.values['reasons']}"]}


def _decide(step, key, deadline_name, what):
    site, case, v = step.site, step.case, step.values
    step.meet(deadline_name)
    decision = dict(DECISIONS)[v["decision"]]
    record = dict(getattr(case, key) or {})
    record.update({"decision": v["decision"], "on": step.on, "by": step.by, "opinion": v["opinion"],
                   "delivered_on": v.get("delivered_on")})
    setattr(case, key, record)
    step.history.append(decision)
    return {"addressee": primary_name(site, case), "paragraphs": [
        f"{primary_name(site, case)}就“{case.subject}”信访事项（编号{case.number}）于"
        f"{cn_date(record.get('requested_on'))}请求{what}。本机关依法进行了{what}，现提出{what}意见如下：",
        v["opinion"],
        f"{what}结论：{decision}。"], "table": [(f"{what}结论", decision)]}


def _decide_review(step):
    doc = _decide(step, "review", "review_decision", "复查")
    if step.values.get("delivered_on"):
        step.clock("recheck_request", start=step.values["delivered_on"], event="送达复查意见书")
    days = step.rules["clocks"]["recheck_request"]["count"]
    doc["paragraphs"].append(f"如对本复查意见不服，可以自收到本意见书之日起{days}日内，向复查机关的上一级行政机关请求复核。")
    return doc


def _request_recheck(step):
    case = step.case
    step.meet("recheck_request")
    step.clock("recheck_decision", event="收到复核请求")
    case.recheck = {"requested_on": step.on, "reasons": step.values["reasons"]}
    return {"paragraphs": [
        f"信访人{primary_name(step.site, case)}对信访件{case.number}（{case.subject}）的复查意见不服，"
        f"于{cn_date(step.on)}请求复核。",
        f"请求复核的理由：{step.values['reasons']}"]}


def _schedule_hearing(step):
    site, case, v = step.site, step.case, step.values
    clocks.pause(case, "recheck_decision", step.on, "听证")
    hearing = {"date": v["hearing_date"], "panel": tuple(e.id for e in step.panel),
               "panel_names": tuple(f"{e.name}（{e.field}）" for e in step.panel), "place": v.get("place") or "",
               "scheduled_on": step.on, "recorded_on": None, "by": step.by}
    case.hearings = tuple(case.hearings) + (hearing,)
    step.history.append(f"{cn_date(v['hearing_date'])}，听证员：" + "、".join(e.name for e in step.panel))
    return {"addressee": primary_name(site, case), "paragraphs": [
        f"你（单位）请求复核的“{case.subject}”信访事项（编号{case.number}），本机关决定举行听证。",
        f"听证时间：{cn_date(v['hearing_date'])}" + (f"；听证地点：{v['place']}" if v.get("place") else ""),
        "听证员：" + "、".join(hearing["panel_names"]),
        "依照《信访工作条例》第三十六条，听证所需时间不计算在复核期限内。"]}


def _record_hearing(step):
    site, case = step.site, step.case
    hearings = list(case.hearings)
    hearing = dict(hearings[-1])
    hearing["recorded_on"] = step.on
    hearing["record"] = step.values["record"]
    hearings[-1] = hearing
    case.hearings = tuple(hearings)
    clocks.resume(case, "recheck_decision", step.on, step.calendar, at=step.at, by=step.by)
    return {"paragraphs": [
        f"事项：{case.subject}（信访件编号{case.number}）",
        f"听证日期：{cn_date(hearing['date'])}" + (f"；地点：{hearing['place']}" if hearing.get("place") else ""),
        "听证员：" + "、".join(hearing["panel_names"]),
        f"听证情况：{step.values['record']}"]}


def _decide_recheck(step):
    return _decide(step, "recheck", "recheck_decision", "复核")


def _merge(step, link_here, link_there, words):
    site, case = step.site, step.case
    into = step.values["into"]
    _triage_done(step)
    clocks.close_all(case, step.on, f"{words}{into.number}")
    case.links = tuple(case.links) + ((link_here, into.number),)
    into.links = tuple(into.links) + ((link_there, case.number),)
    into.record(step.action.name, step.at, step.by, f"{words}：{case.number}")
    step.touched.append(into)
    step.history.append(into.number)
    return into


def _mark_repeat(step):
    site, case = step.site, step.case
    into = _merge(step, "original", "repeat", "重复件并入")
    # the repeat item's origin materials are filed into the original case's folder
    for document in sorted(case["origin"].values(), key=lambda d: d.filed_at):
        version = document.current
        if version is None:
            continue
        copy = into.file_document("origin", document.kind, f"重复件{case.number}：{document.title}",
                                  Upload.from_bytes(version.filename, version.read()), step.now, step.by,
                                  text=document.text,
                                  ref=document.ref, author=document.author)
        step.documents.append(copy)
    return {"paragraphs": [
        f"信访件{case.number}（{case.subject}，{_received(case)}收到）系信访人就同一事项的重复信访，"
        f"作为重复件并入原信访件{into.number}办理，其材料已归入原件卷内。",
        f"原信访件：{into.number}（{into.subject}，{STATUSES.get(into.status, into.status)}）"]}


def _join(step):
    case = step.case
    into = _merge(step, "lead", "joined", "并案至")
    return {"paragraphs": [
        f"信访件{case.number}（{case.subject}）与信访件{into.number}（{into.subject}）反映同一事项，"
        f"决定并案处理，以{into.number}为主案。"]}


def _close(step):
    case = step.case
    clocks.close_all(case, step.on, "办结")
    summary = step.values.get("summary") or ""
    outcome = dict(OUTCOMES).get((case.reply or {}).get("outcome"), "")
    lines = [f"信访件{case.number}（{case.subject}）于{_received(case)}收到，经办理，"
             f"已于{cn_date((case.reply or {}).get('on'))}出具信访处理意见书（{outcome}）。"]
    if case.review:
        lines.append(f"经复查，结论为{dict(DECISIONS).get(case.review.get('decision'), '')}。")
    if case.recheck:
        lines.append(f"经复核，结论为{dict(DECISIONS).get(case.recheck.get('decision'), '')}。")
    if case.satisfaction:
        lines.append(f"信访人评价：对信访部门{dict(SATISFACTION)[case.satisfaction['bureau']]}。")
    if summary:
        lines.append(summary)
    lines.append("本事项办结。")
    return {"paragraphs": lines}


def _archive(step):
    from .archival import archive_case
    case = step.case
    title = dict(RETENTION)[step.values["retention"]]
    step.history.append(f"保管期限{title}")
    _file(step, {"paragraphs": [
        f"信访件{case.number}（{case.subject}）已办结，材料齐全，准予归档。",
        f"保管期限：{title}",
        f"归档人：{step.user.name or step.by}"], "table": [("保管期限", title)]})
    # the archival reference, retention due date and read-only status come from the archive
    archive_case(step.site, case, step.values["retention"], step.by, on=step.on, now=step.now)
    step.recorded = True
    return None


HANDLERS = {
    "accept": _accept, "reject": _reject, "refuse-repeat": _refuse_repeat, "file-for-record": _file_for_record,
    "forward": _forward, "assign": _assign, "object": _object, "report": _report,
    "approve-report": _approve_report, "return-report": _return_report, "extend": _extend,
    "supervise": _supervise, "end-supervision": _end_supervision, "suggest": _suggest,
    "answer-suggestion": _answer, "reply": _reply, "deliver": _deliver, "evaluate": _evaluate,
    "request-review": _request_review, "decide-review": _decide_review, "request-recheck": _request_recheck,
    "schedule-hearing": _schedule_hearing, "record-hearing": _record_hearing, "decide-recheck": _decide_recheck,
    "mark-repeat": _mark_repeat, "join": _join, "close": _close, "archive": _archive,
}
assert set(HANDLERS) == set(ACTIONS)


# clocks of a new case --------------------------------------------------------------------

def open_intake_clocks(site, case, rules=None):
    """Start the triage and notice clocks of a newly registered case (once)."""
    if clocks.clocks(case):
        return False
    rules = rules or clocks.load_rules(site.rules)
    start = case.received_at.date() if case.received_at else _today()
    event = START_EVENTS.get(case.channel, "收到信访事项")
    for name in ("triage", "notice"):
        clocks.start_clock(case, name, rules, site.calendar, start, event)
    return True


@subscribe
def _on_case_added(event):
    if not isinstance(event, CaseAdded):
        return
    case = event.case
    site = _site_of(case)
    if site is None or getattr(site, "calendar", None) is None or case.status != "registered":
        return
    changed = open_intake_clocks(site, case)
    changed = flag_leader(site, case) or changed
    if changed and case.docid is not None:
        site.catalog.reindex(case)


# the calendar ----------------------------------------------------------------------------

def load_calendar(site, year, data, by, now=None):
    """Load a year's official arrangement and recount every clock that was provisional in it.
    Returns (LoadedYear, [changed case numbers])."""
    from .calendar import check_year
    now = now or _now()
    holidays, workdays = check_year(year, data)
    note = data.get("note") if isinstance(data.get("note"), str) else ""
    entry = site.calendar.load_year(year, holidays, workdays, by, now, note=note[:200])
    changed = []
    if "provisional" in site.catalog.catalog:
        numbers = [site.catalog.docids.get(i) for i in site.catalog.find("provisional", [year])]
    else:
        numbers = [c.number for c in site.cases.all_cases()]
    for number in numbers:
        case = site.cases.by_number(number) if number else None
        if case is None:
            continue
        moved = clocks.recompute(case, site.calendar, year, now, by)
        if moved:
            case.record("recompute", now, by, "；".join(
                f"{d.title}：{d.changes[-1]['from'].isoformat()}→{d.changes[-1]['to'].isoformat()}" for d in moved))
            changed.append(case.number)
        site.catalog.reindex(case)
        notify(CaseModified(case))
    return entry, changed


# queues and due lists --------------------------------------------------------------------

def due_bounds(today, overdue=False, due_within=None):
    """(low, high) ordinals of ``next_due`` for the list filters; None when unfiltered."""
    t = today.toordinal()
    if overdue and due_within is not None:
        return None, t + due_within
    if overdue:
        return None, t - 1
    if due_within is not None:
        return t, t + due_within
    return None


def queue(site, principals, keys, today=None, warn_days=DEFAULT_WARN_DAYS, limit=50):
    """The cases waiting in the queues ``keys`` that the principals may open, in bands:
    {"red": (total, [case]), "amber": ..., "green": ...}; each band sorted by due date.
    Answered by the catalog's ``queue``, ``allowed`` and ``next_due`` indexes."""
    today = today or _today()
    if not keys:
        return {"red": (0, []), "amber": (0, []), "green": (0, [])}
    bands = site.catalog.due_bands(principals, keys, today.toordinal(), warn_days, limit)
    return {name: (total, [c for c in (site.cases.by_number(n) for n in numbers) if c is not None])
            for name, (total, numbers) in bands.items()}


def band(case, today=None, warn_days=DEFAULT_WARN_DAYS):
    due = clocks.next_due(case)
    if due is None:
        return "green"
    left = (due - (today or _today())).days
    return "red" if left < 0 else "amber" if left <= warn_days else "green"


# same matter ------------------------------------------------------------------------------

@functools.lru_cache(maxsize=8192)
def _grams(text):
    """The character bigrams of a text (cached: the case page compares a subject with the
    same few hundred newest subjects of its district, page after page)."""
    text = re.sub(r"\s+", "", text or "")
    return frozenset({text[i:i + 2] for i in range(len(text) - 1)} or ({text} if text else ()))


def similarity(a, b):
    x, y = _grams(a or ""), _grams(b or "")
    if not x or not y:
        return 0.0
    return 2 * len(x & y) / (len(x) + len(y))


SAME_MATTER = 0.3


def _same_person_cases(site, petitioner_ids, exclude=None):
    seen = set()
    for pid in petitioner_ids:
        person = site.petitioners.get(pid)
        if person is None:
            continue
        for number in person.cases:
            if number != exclude and number not in seen:
                seen.add(number)
                case = site.cases.by_number(number)
                if case is not None:
                    yield case


def refusal_offers(site, petitioner_ids, district, subject, content="", exclude=None):
    """Earlier cases of the same petitioner on the same matter whose re-review (复核) is
    decided: a new item on it is offered as 不再受理. [{"number","score","why"}], best first."""
    offers = []
    for other in _same_person_cases(site, petitioner_ids, exclude):
        if not (other.recheck or {}).get("decision"):
            continue
        if district and other.district != district:
            continue
        score = max(similarity(subject, other.subject), similarity(f"{subject}{content[:200]}",
                                                                   f"{other.subject}{other.content[:200]}"))
        if score >= SAME_MATTER:
            offers.append({"number": other.number, "score": round(score, 2),
                           "why": f"同一信访人、同一属地（{other.district}），事由相近，已于"
                                  f"{cn_date(other.recheck.get('on'))}复核（"
                                  f"{dict(DECISIONS).get(other.recheck['decision'], '')}），建议不再受理"})
    return sorted(offers, key=lambda o: -o["score"])


def refusal_offers_for(site, case):
    return refusal_offers(site, [pid for pid, _p in case.petitioners], case.district, case.subject, case.content,
                          exclude=case.number)


def merge_suggestions(site, case, principals, limit=5):
    """For a registered item: earlier open cases of the same petitioner (repeat items) and
    open cases of other people on a similar matter in the same district (join)."""
    out = []
    for other in _same_person_cases(site, [pid for pid, _p in case.petitioners], case.number):
        if other.status in ("merged", "archived"):
            continue
        score = similarity(case.subject, other.subject)
        if score >= SAME_MATTER:
            out.append({"action": "mark-repeat", "number": other.number, "score": round(score, 2),
                        "why": f"同一信访人，事由相近（{other.subject}）"})
    # the newest open cases of the district (read off the top of the catalog, not sorted)
    numbers = site.catalog.newest(principals, {"district": case.district, "status": list(OPEN_STATUSES)}, 200)
    mine = {pid for pid, _p in case.petitioners}
    for number in numbers:
        if number == case.number:
            continue
        other = site.cases.by_number(number)
        if other is None or mine & {pid for pid, _p in other.petitioners} or other.status == "merged":
            continue
        score = similarity(case.subject, other.subject)
        if score >= SAME_MATTER + 0.1:
            out.append({"action": "join", "number": other.number, "score": round(score, 2),
                        "why": f"不同信访人反映同一属地相近事项（{other.subject}）"})
    out.sort(key=lambda o: -o["score"])
    return out[:limit]
