"""The workflow on the web: actions, queues, the expert pool, reception days, the calendar.

- ``POST /api/cases/{number}/actions/{action}`` (API.md "Workflow actions") → 200 and the
  case; ``GET /api/cases/{number}/actions`` what the user may do now, and the ledgers.
- Web forms on the case page (``casefile_workflow.jinja2``) POST to view names on the Case
  (``/cases/2025/XY-2025-000001/accept``) and redirect back with a flash message.
- ``GET /api/queue`` and ``/queue``: the user's queues in red / amber / green bands, answered
  by the catalog's ``queue`` and ``next_due`` indexes; ``due_filters`` serves
  ``overdue=true`` and ``due_within=N`` on ``GET /api/cases``.
- ``/api/experts`` and ``/experts``; ``/api/reception`` and ``/reception``;
  ``/api/calendar/{year}`` and ``/admin/calendar`` (administrators load a year).

Views are thin: they parse, call ``casefiles.workflow`` with ``archive.notices.render`` as
the document renderer, and answer. The ini settings ``casefiles.rules`` (rule set) and
``casefiles.warn_days`` (amber band) are read here.
"""
import datetime

import transaction
from pyramid.events import ApplicationCreated
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from casefiles import localtime

from archive.notices import render
from casefiles import clocks, workflow
from casefiles.calendar import SOURCE_TITLES, cn_date
from casefiles.catalog import Between
from casefiles.cases import STATUSES, Case
from casefiles.errors import DomainError, Forbidden, ValidationError
from casefiles.experts import add_expert, eligible
from casefiles.i18n import _
from casefiles.idnumber import id_number_problem
from casefiles.reception import add_day, leaders_for
from casefiles.security import ADMINISTER, LIST, LOOKUP, VIEW
from casefiles.site import bootstrap

from .errors import APIError
from .serialize import case_json, case_summary
from .uploads import json_body, uploads_from

SHANGHAI = localtime.SHANGHAI
BANDS = ("red", "amber", "green")


def now_here():
    return localtime.now()


def today_here():
    return now_here().date()


def warn_days(request):
    return request.registry.settings["casefiles.warn_days"]


def do(request, case, name, body):
    now = now_here()
    return workflow.perform(request.site, case, name, body, request.user, render, today=now.date(), now=now)


# ---------------------------------------------------------------------------- JSON shapes

def deadline_json(deadline, today, warn):
    data = deadline.as_json(today)
    data["color"] = deadline.color(today, warn)
    return data


def case_workflow_json(request, case):
    today = today_here()
    warn = warn_days(request)
    user = request.user
    return {
        "status": case.status,
        "status_title": STATUSES.get(case.status, case.status),
        "band": workflow.band(case, today, warn),
        "next_due": clocks.next_due(case),
        "queues": workflow.queues_for(case),
        "actions": [action_json(a) for a in workflow.available(case, user)],
        "deadlines": [deadline_json(d, today, warn) for d in clocks.clocks(case)],
        "links": [{"type": t, "title": workflow.LINK_TITLES.get(t, t), "number": n} for t, n in case.links],
        "supervisions": [s.as_json() for s in case.supervisions],
        "suggestions": [s.as_json() for s in case.suggestions],
        "hearings": [{k: (list(v) if isinstance(v, tuple) else v) for k, v in h.items()} for h in case.hearings],
        "report": case.report,
        "reply": case.reply,
        "review": case.review,
        "recheck": case.recheck,
        "satisfaction": case.satisfaction,
        "leaders": leaders_for(request.site, case),
        "close_blockers": ([{"field": f, "message": request.t(m)} for f, m in workflow.close_blockers(case, today)]
                           if case.status in workflow.ACTIONS["close"].statuses else []),
        "refusal_offers": visible(request, workflow.refusal_offers_for(request.site, case))
        if case.status == "registered" else [],
    }


def visible(request, offers):
    """Only the suggestions that name cases the user may open."""
    out = []
    for offer in offers:
        other = request.site.cases.by_number(offer["number"])
        if other is not None and request.has_permission(VIEW, other):
            out.append(offer)
    return out


def action_json(action):
    return {"name": action.name, "title": action.title, "roles": list(action.roles),
            "from": list(action.statuses), "to": action.to,
            "params": [{"name": p.name, "kind": p.kind, "label": p.label, "required": p.required,
                        "choices": [{"value": v, "title": t} for v, t in p.choices]}
                       for p in action.params + workflow.COMMON]}


def queue_case_json(request, case, today, warn):
    data = case_summary(request, case)
    nxt = _next_deadline(case)
    data.update({"band": workflow.band(case, today, warn), "due": nxt.due if nxt else None,
                 "deadline": nxt.name if nxt else None, "deadline_title": nxt.title if nxt else None,
                 "days_left": nxt.days_left(today) if nxt else None})
    return data


def _next_deadline(case):
    running = [d for d in clocks.clocks(case) if d.kind == clocks.DUTY and d.is_open and not d.is_paused]
    return min(running, key=lambda d: d.due) if running else None


def expert_json(expert):
    return {"id": expert.id, "name": expert.name, "field": expert.field, "unit": expert.unit,
            "organisation": expert.organisation or None, "active": expert.active}


def reception_json(day):
    return {"id": day.id, "date": day.date, "leader": day.leader, "post": day.post or None,
            "place": day.place or None, "note": day.note or None}


# ---------------------------------------------------------------------------- the API

@view_config(route_name="api_case_action", request_method="POST", renderer="json", permission=VIEW)
def api_action(request):
    case = request.context
    do(request, case, request.matchdict["action"], json_body(request))
    data = case_json(request, case)
    data["workflow"] = case_workflow_json(request, case)
    return data


@view_config(route_name="api_case_actions", request_method="GET", renderer="json", permission=VIEW)
def api_actions(request):
    return case_workflow_json(request, request.context)


def due_filters(request, today=None):
    """``overdue=true`` and ``due_within=N`` of ``GET /api/cases`` as catalog filters on the
    earliest open due date (``next_due``); {} when neither is given; APIError 400 if bad."""
    overdue_raw = (request.params.get("overdue") or "").lower()
    within_raw = request.params.get("due_within")
    if overdue_raw not in ("", "true", "false", "1", "0", "yes", "no"):
        message = _("wf_overdue_param", default="overdue is true or false.")
        raise APIError(400, "bad_request", message, {"overdue": message})
    overdue = overdue_raw in ("true", "1", "yes")
    within = None
    if within_raw not in (None, ""):
        try:
            within = int(within_raw) if within_raw.isascii() else -1
        except ValueError:
            within = -1
        if not 0 <= within <= 3650:
            message = _("param_range", default="${name} must be between ${low} and ${high}.",
                        mapping={"name": "due_within", "low": 0, "high": 3650})
            raise APIError(400, "bad_request", message, {"due_within": message})
    bounds = workflow.due_bounds(today or today_here(), overdue, within)
    return {"next_due": Between(*bounds)} if bounds else {}


@view_config(route_name="api_queue", request_method="GET", renderer="json", permission=LIST)
def api_queue(request):
    today = today_here()
    warn = warn_days(request)
    keys = _queue_keys(request)
    limit = _limit(request.params.get("limit"), 50)
    bands = workflow.queue(request.site, request.principals, keys, today, warn, limit)
    return {"queues": keys, "today": today, "warn_days": warn,
            **{name: {"total": bands[name][0], "cases": [queue_case_json(request, c, today, warn)
                                                         for c in bands[name][1]]} for name in BANDS}}


def _limit(raw, default):
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return default
    return max(1, min(value, 200))


def _queue_keys(request):
    keys = workflow.user_queues(request.user)
    wanted = request.params.get("queue")
    if wanted:
        if wanted not in keys:
            raise APIError(400, "bad_request", _("wf_queue_bad", default="You have no queue ${q}.",
                                                 mapping={"q": wanted}), {"queue": wanted})
        keys = [wanted]
    return keys


@view_config(route_name="api_experts", request_method="GET", renderer="json", permission=LIST)
def api_experts(request):
    experts = request.site.experts.active_experts()
    number = request.params.get("case")
    if number:
        case = request.site.cases.by_number(number)
        if case is None or not request.has_permission(VIEW, case):
            raise APIError(404, "not_found", _("case_missing", default="There is no case numbered ${number}.",
                                               mapping={"number": number}))
        experts = eligible(request.site, case)
    return {"experts": [expert_json(e) for e in experts]}


def _may_manage_experts(request):
    if not request.user.has_role("reviewer", "admin"):
        raise Forbidden(_("wf_experts_role", default="Only the review committee and administrators keep the expert "
                          "pool."), {})


@view_config(route_name="api_experts", request_method="POST", renderer="json", permission=LIST)
def api_add_expert(request):
    _may_manage_experts(request)
    expert = add_expert(request.site, json_body(request), request.user.username, now_here())
    request.response.status_int = 201
    return expert_json(expert)


@view_config(route_name="api_reception", request_method="GET", renderer="json", permission=LIST)
def api_reception(request):
    start, end = _period(request)
    return {"from": start, "to": end, "days": [reception_json(d) for d in request.site.reception.between(start, end)]}


def _period(request):
    def day(name, default):
        raw = request.params.get(name)
        if not raw:
            return default
        try:
            return datetime.date.fromisoformat(raw)
        except ValueError:
            raise APIError(400, "bad_request", _("wf_date_bad", default="A date as YYYY-MM-DD."), {name: raw})
    today = today_here()
    return day("from", today - datetime.timedelta(days=31)), day("to", today + datetime.timedelta(days=92))


def _may_schedule(request):
    if not request.user.has_role("clerk", "admin"):
        raise Forbidden(_("wf_reception_role", default="Only the visits group and administrators keep the reception "
                          "days."), {})


@view_config(route_name="api_reception", request_method="POST", renderer="json", permission=LIST)
def api_add_reception(request):
    _may_schedule(request)
    day = add_day(request.site, json_body(request), request.user.username)
    request.response.status_int = 201
    return reception_json(day)


def _year(request):
    """The year of ``/api/calendar/{year}``: not a number is a 400; a number outside the years
    a calendar can be loaded for (2000-2100) is a 422, for GET as for POST."""
    message = _("calendar_year_bad", default="The year must be between 2000 and 2100.")
    raw = request.matchdict["year"]
    if not (raw.isascii() and raw[1 if raw[:1] in "+-" else 0:].isdigit()):
        raise APIError(400, "bad_request", message, {"year": message})
    year = int(raw) if len(raw) <= 7 else None
    if year is None or not 2000 <= year <= 2100:
        raise ValidationError(message, {"year": message})
    return year


def calendar_year_json(site, year):
    calendar = site.calendar
    loaded = calendar.loaded(year)
    days = []
    if 2000 <= year <= 2100:
        for month in range(1, 13):
            for day, kind, name in calendar.month(year, month):
                if kind in ("holiday", "makeup"):
                    days.append({"date": day, "kind": kind, "name": name})
    return {"year": year, "source": calendar.source(year), "source_title": SOURCE_TITLES[calendar.source(year)],
            "loaded_by": loaded.loaded_by if loaded else None, "loaded_at": loaded.loaded_at if loaded else None,
            "days": days}


@view_config(route_name="api_calendar", request_method="GET", renderer="json", permission=LIST)
def api_calendar(request):
    today = today_here()
    years = sorted({today.year - 1, today.year, today.year + 1, today.year + 2}
                   | {y.year for y in request.site.calendar.loaded_years()})
    return {"years": [{"year": y, "source": request.site.calendar.source(y)} for y in years]}


@view_config(route_name="api_calendar_year", request_method="GET", renderer="json", permission=LIST)
def api_calendar_year(request):
    return calendar_year_json(request.site, _year(request))


@view_config(route_name="api_calendar_year", request_method="POST", renderer="json", permission=ADMINISTER)
def api_load_calendar(request):
    year = _year(request)
    _entry, changed = workflow.load_calendar(request.site, year, json_body(request), request.user.username,
                                             now_here())
    data = calendar_year_json(request.site, year)
    data["recomputed"] = changed
    return data


@view_config(route_name="api_refusal_offers", request_method="GET", renderer="json", permission=LIST)
def api_refusal_offers(request):
    """For the intake form: earlier re-reviewed matters of these petitioners (不再受理)."""
    if not request.has_permission(LOOKUP, request.site):
        raise Forbidden(_("forbidden", default="You are not allowed to do this."), {})
    site = request.site
    ids = []
    for number in request.params.getall("id_number"):
        if not number.strip():
            continue
        problem = id_number_problem(number)
        if problem:
            raise APIError(422, "invalid", problem, {"id_number": problem})
        person = site.petitioners.by_id_number(number)
        if person is not None:
            ids.append(person.id)
    offers = workflow.refusal_offers(site, ids, request.params.get("district", ""),
                                     request.params.get("subject", ""), request.params.get("content", ""))
    return {"offers": visible(request, offers)}


# ---------------------------------------------------------------------------- web forms

def form_body(request, action):
    body = {}
    for param in action.params + workflow.COMMON:
        if param.kind == "experts":
            body[param.name] = [v for v in request.POST.getall(param.name) if v]
        else:
            value = request.POST.get(param.name)
            if value not in (None, ""):
                body[param.name] = value
    return body


def _came_from(request, case):
    target = request.POST.get("came_from") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return request.application_url + target
    return request.resource_url(case) + "#workflow"


def action_form(context, request):
    """A workflow form on the case page: do the action, flash what happened, go back."""
    case = context
    action = workflow.ACTIONS[request.view_name]
    body = form_body(request, action)
    try:
        if action.name == "report":
            uploads = uploads_from(request, "file")
            if uploads:
                from casefiles import intake
                document = intake.file_document(
                    request.site, case, "handling", "handling_report", request.POST.get("title") or
                    uploads[0].filename, uploads[0], by=request.user.username, now=now_here(),
                    max_bytes=request.registry.settings["casefiles.max_upload_bytes"])
                body["document"] = document.id
        do(request, case, action.name, body)
    except DomainError as exc:
        request.tm.doom()     # nothing of a refused step is kept
        message = request.t(exc.message)
        details = "；".join(f"{_field_label(action, k)}：{request.t(v)}" for k, v in exc.fields.items()
                           if isinstance(v, str) and v and k != "status")
        request.session.flash(f"{action.title}：{message}" + (f"（{details}）" if details else ""))
        return HTTPSeeOther(request.resource_url(case) + f"?wf_open={action.name}#workflow")
    request.session.flash(request.t(_("wf_done", default="${action}: done.", mapping={"action": action.title})))
    return HTTPSeeOther(_came_from(request, case))


def _field_label(action, name):
    for param in action.params + workflow.COMMON:
        if param.name == name:
            return param.label
    return name


# ---------------------------------------------------------------------------- what templates use

class Panel:
    """The workflow part of the case page (``request.workflow_panel(case)``)."""

    def __init__(self, request, case):
        self.request = request
        self.case = case
        self.site = request.site
        self.today = today_here()
        self.warn_days = warn_days(request)

    @property
    def deadlines(self):
        out = []
        for d in clocks.clocks(self.case):
            out.append({"d": d, "color": d.color(self.today, self.warn_days), "state": d.state(self.today),
                        "due": d.projected_due(self.site.calendar, self.today), "explanation": d.explain(self.today),
                        "days_left": d.days_left(self.today)})
        return out

    @property
    def band(self):
        return workflow.band(self.case, self.today, self.warn_days)

    @property
    def links(self):
        out = []
        for kind, number in self.case.links:
            other = self.site.cases.by_number(number)
            url = self.request.resource_url(other) if other is not None and self.request.has_permission(
                VIEW, other) else None
            out.append({"type": kind, "title": workflow.LINK_TITLES.get(kind, kind), "number": number, "url": url})
        return out

    @property
    def actions(self):
        out = []
        opened = self.request.params.get("wf_open")
        for action in workflow.available(self.case, self.request.user):
            out.append({"name": action.name, "title": action.title, "url": self.request.resource_url(
                self.case, action.name), "fields": [self.field(p) for p in action.params + workflow.COMMON],
                "open": action.name == opened, "confirm": action.name in ("close", "archive", "reject",
                                                                            "refuse-repeat", "object")})
        return out

    def field(self, param):
        choices = list(param.choices)
        if param.kind == "unit":
            choices = [(u.code, u.name) for u in self.site.units.active_units()]
        elif param.kind == "experts":
            choices = [(e.id, f"{e.name}（{e.field}，{e.organisation or self.unit_name(e.unit)}）")
                       for e in eligible(self.site, self.case)]
        elif param.kind == "supervision":
            choices = [(s.id, f"{s.id} {s.kind_title}") for s in workflow.open_supervisions(self.case)]
        elif param.kind == "suggestion":
            choices = [(s.id, f"{s.id} {s.type_title}（{self.unit_name(s.unit)}）")
                       for s in workflow.open_suggestions(self.case)]
        return {"name": param.name, "label": param.label, "kind": param.kind, "required": param.required,
                "choices": choices, "max": self.today.isoformat() if param.name in ("on", "delivered_on", "told_on")
                else None, "min": workflow.previous_step(self.case).isoformat()
                if param.name == "on" and workflow.previous_step(self.case) else None}

    def unit_name(self, code):
        return workflow.unit_name(self.site, code)

    @property
    def leaders(self):
        return leaders_for(self.site, self.case)

    @property
    def blockers(self):
        if self.case.status not in workflow.ACTIONS["close"].statuses:
            return []
        return [self.request.t(m) for _f, m in workflow.close_blockers(self.case, self.today)]

    @property
    def offers(self):
        if self.case.status != "registered":
            return []
        return visible(self.request, workflow.refusal_offers_for(self.site, self.case))

    @property
    def merges(self):
        if self.case.status != "registered":
            return []
        return visible(self.request, workflow.merge_suggestions(self.site, self.case, self.request.principals))

    def satisfaction_title(self, code):
        return dict(workflow.SATISFACTION).get(code, "")

    def decision_title(self, code):
        return dict(workflow.DECISIONS).get(code, "")

    def outcome_title(self, code):
        return dict(workflow.OUTCOMES).get(code, "")

    def cn_date(self, day):
        return cn_date(day) if day else "—"


def workflow_panel(request, case):
    return Panel(request, case)


class Queues:
    """The user's queues in bands (``request.workflow_queues()``), for the dashboard and /queue."""

    def __init__(self, request, limit=10, only=None):
        self.request = request
        self.today = today_here()
        self.warn_days = warn_days(request)
        self.keys = workflow.user_queues(request.user) if request.user is not None else []
        if only and only in self.keys:
            self.keys = [only]
        self.bands = workflow.queue(request.site, request.principals, self.keys, self.today, self.warn_days, limit) \
            if self.keys else {b: (0, []) for b in BANDS}

    def rows(self, band):
        out = []
        for case in self.bands[band][1]:
            deadline = _next_deadline(case)
            out.append({"case": case, "deadline": deadline, "due": deadline.due if deadline else None,
                        "days_left": deadline.days_left(self.today) if deadline else None,
                        "url": self.request.resource_url(case)})
        return out

    def total(self, band):
        return self.bands[band][0]

    @property
    def empty(self):
        return not any(self.bands[b][0] for b in BANDS)

    def queue_title(self, key):
        if key.startswith("unit:"):
            return workflow.unit_name(self.request.site, key[5:])
        from casefiles.security import ROLE_TITLES
        return ROLE_TITLES.get(key, key)


def workflow_queues(request, limit=10):
    return Queues(request, limit)


# ---------------------------------------------------------------------------- pages

@view_config(route_name="queue", renderer="queue_view.jinja2", permission=LIST)
def queue_page(request):
    queues = Queues(request, limit=_limit(request.params.get("limit"), 100), only=request.params.get("queue"))
    return {"queues": queues, "all_keys": workflow.user_queues(request.user)}


@view_config(route_name="calendar_admin", renderer="workflow_calendar.jinja2", permission=ADMINISTER)
def calendar_page(request):
    site = request.site
    today = today_here()
    errors = {}
    text = ""
    year = today.year + 1
    if request.method == "POST":
        text = request.POST.get("text", "")
        try:
            year = int(request.POST.get("year", ""))
        except ValueError:
            year = 0
        try:
            _entry, changed = workflow.load_calendar(site, year, {"text": text}, request.user.username, now_here())
        except DomainError as exc:
            request.tm.doom()
            errors = {k: request.t(v) for k, v in exc.fields.items()}
            errors[""] = request.t(exc.message)
            request.response.status_int = exc.status
        else:
            request.session.flash(request.t(_("wf_calendar_loaded", default="The calendar for ${year} is loaded; "
                                              "${n} cases had their time limits recounted.",
                                              mapping={"year": year, "n": len(changed)})))
            return HTTPSeeOther(request.route_url("calendar_admin"))
    years = sorted({today.year - 1, today.year, today.year + 1, today.year + 2}
                   | {y.year for y in site.calendar.loaded_years()})
    return {"years": [calendar_year_json(site, y) for y in years], "errors": errors, "text": text, "year": year}


@view_config(route_name="experts_page", renderer="workflow_experts.jinja2", permission=LIST)
def experts_page(request):
    errors, values = {}, {}
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("name", "field", "unit", "organisation", "phone")}
        try:
            _may_manage_experts(request)
            add_expert(request.site, values, request.user.username, now_here())
        except DomainError as exc:
            request.tm.doom()
            errors = {k: request.t(v) for k, v in exc.fields.items()}
            errors[""] = request.t(exc.message)
            request.response.status_int = exc.status
        else:
            request.session.flash(request.t(_("wf_expert_added", default="${name} is in the expert pool.",
                                              mapping={"name": values["name"]})))
            return HTTPSeeOther(request.route_url("experts_page"))
    return {"experts": request.site.experts.active_experts(), "errors": errors, "values": values,
            "units": request.site.units.active_units(), "may_edit": request.user.has_role("reviewer", "admin")}


@view_config(route_name="reception_page", renderer="workflow_reception.jinja2", permission=LIST)
def reception_page(request):
    errors, values = {}, {}
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("date", "leader", "post", "place", "note")}
        try:
            _may_schedule(request)
            add_day(request.site, values, request.user.username)
        except DomainError as exc:
            request.tm.doom()
            errors = {k: request.t(v) for k, v in exc.fields.items()}
            errors[""] = request.t(exc.message)
            request.response.status_int = exc.status
        else:
            request.session.flash(request.t(_("wf_reception_added", default="The reception day is scheduled.")))
            return HTTPSeeOther(request.route_url("reception_page"))
    start, end = today_here() - datetime.timedelta(days=7), today_here() + datetime.timedelta(days=92)
    return {"days": request.site.reception.between(start, end), "errors": errors, "values": values,
            "may_edit": request.user.has_role("clerk", "admin")}


# ---------------------------------------------------------------------------- configuration

def sync_rules(event):
    """At start-up the site takes the ini's rule set, so every new clock follows it."""
    registry = event.app.registry
    db = registry._zodb_databases[""]
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        with tm:
            site, _changed = bootstrap(conn.root(), registry.settings.get("casefiles.number_prefix"))
            if site.rules != registry.settings["casefiles.rules"]:
                site.rules = registry.settings["casefiles.rules"]
    finally:
        conn.close()


def includeme(config):
    settings = config.get_settings()
    name = settings.get("casefiles.rules") or clocks.DEFAULT_RULES
    clocks.load_rules(name)      # an unknown rule set stops the start with its name
    settings["casefiles.rules"] = name
    try:
        settings["casefiles.warn_days"] = int(settings.get("casefiles.warn_days") or workflow.DEFAULT_WARN_DAYS)
    except ValueError:
        raise ValueError("casefiles.warn_days must be a whole number of days")
    from .routes import case_factory, site_factory
    for route, pattern, factory in (
            ("api_case_action", "/api/cases/{number}/actions/{action}", case_factory),
            ("api_case_actions", "/api/cases/{number}/actions", case_factory),
            ("api_queue", "/api/queue", site_factory),
            ("api_experts", "/api/experts", site_factory),
            ("api_reception", "/api/reception", site_factory),
            ("api_calendar", "/api/calendar", site_factory),
            ("api_calendar_year", "/api/calendar/{year}", site_factory),
            ("api_refusal_offers", "/api/refusal-offers", site_factory),
            ("queue", "/queue", site_factory),
            ("calendar_admin", "/admin/calendar", site_factory),
            ("experts_page", "/experts", site_factory),
            ("reception_page", "/reception", site_factory)):
        config.add_route(route, pattern, factory=factory)
    for action in workflow.ACTIONS:
        config.add_view(action_form, context=Case, name=action, request_method="POST", permission=VIEW)
    config.add_request_method(workflow_panel, "workflow_panel")
    config.add_request_method(workflow_queues, "workflow_queues")
    config.add_subscriber(sync_rules, ApplicationCreated)
