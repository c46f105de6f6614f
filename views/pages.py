"""Pages of the web UI that are not about one case: login, logout and the dashboard per role;
and what every page template shares (dates in Asia/Shanghai, Chinese titles of statuses,
channels and kinds, unit and user names, masking of personal data by role).

Templates get ``ui`` (a ``UI`` bound to the request) and the filters ``dt``, ``date`` and
``filesize``; the Chinese title dictionaries of the domain are template globals.
"""
import datetime

from pyramid.events import ApplicationCreated, BeforeRender, subscriber
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.security import NO_PERMISSION_REQUIRED, forget, remember
from pyramid.view import view_config

from casefiles import localtime
from casefiles.privacy import Identity
from pyramid_jinja2 import IJinja2Environment

from casefiles.cases import (CHANNELS, ONLINE_SOURCES, PETITION_TYPES, STAGES, STATUSES, TRANSFER_LEVELS,
                             TRANSFER_MODES)
from casefiles.documents import KINDS
from casefiles.security import FILE, LIST, LOOKUP, REGISTER, ROLE_TITLES, VIEW
from casefiles.site import Site
from casefiles.units import CITY_LEVEL, DISTRICTS

from .auth import SESSION_COOKIE

SHANGHAI = localtime.SHANGHAI
OPEN_STATUSES = tuple(s for s in STATUSES
                      if s not in ("rejected", "not-reaccepted", "filed", "merged", "closed", "archived"))
DONE_STATUSES = ("closed", "archived")
STATUS_TONES = {
    "registered": "blue", "accepted": "blue", "forwarded": "teal", "assigned": "orange", "reported": "orange",
    "replied-ready": "orange", "replied": "teal", "under-review": "purple", "review-decided": "purple",
    "under-recheck": "purple", "hearing": "purple", "recheck-decided": "purple", "closed": "green",
    "archived": "green", "rejected": "grey", "not-reaccepted": "grey", "filed": "grey", "merged": "grey",
}


def shanghai_now():
    """Now, as the naive Asia/Shanghai wall-clock time the domain stores."""
    return localtime.now()


def format_datetime(value, fmt="%Y-%m-%d %H:%M"):
    """2025-03-01 09:30 in Asia/Shanghai; dates as 2025-03-01; nothing as a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(SHANGHAI)
        return value.strftime(fmt)
    if isinstance(value, datetime.date):
        return value.strftime("%Y-%m-%d")
    return str(value)


def format_date(value):
    return format_datetime(value, "%Y-%m-%d")


def format_size(size):
    size = int(size or 0)
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1048576:.1f} MB"


REVEALED = "revealed"   # session key: {case number: until (epoch seconds)} of this session's reveals


def revealed_in_session(request, case):
    import time
    if case is None or "session" not in request.__dict__ and SESSION_COOKIE not in request.cookies:
        return False    # no session (an API client with a token): nothing revealed, and no session made
    until = (request.session.get(REVEALED) or {}).get(case.number)
    return bool(until and until > time.time())


def remember_reveal(request, case, seconds):
    import time
    now = time.time()
    revealed = {k: v for k, v in (request.session.get(REVEALED) or {}).items() if v > now}
    revealed[case.number] = now + seconds
    request.session[REVEALED] = revealed


def identity_for(request, case=None):
    """The ``casefiles.privacy.Identity`` of the request's user on ``case`` (None: no case)."""
    return Identity(request.user, request.has_permission, case, revealed_in_session(request, case))


class UI:
    """Per-request helpers for templates."""

    def __init__(self, request):
        self.request = request
        self.site = request.site
        self.user = request.user

    def identity(self, case=None):
        """How this user sees petitioners' ID and phone numbers (on ``case``): the masking
        policy of ``casefiles.privacy``, with the case's reveal of this session."""
        key = case.number if case is not None else None
        cache = self.__dict__.setdefault("_identities", {})
        if key not in cache:
            cache[key] = identity_for(self.request, case)
        return cache[key]

    def id_number(self, person, case=None):
        return self.identity(case).id_number(person)

    def phone(self, person, case=None):
        return self.identity(case).phone(person)

    def masked_text(self, text, case=None):
        return self.identity(case).text(text)

    def unit_name(self, code):
        if not code:
            return ""
        unit = self.site.units.get(code)
        return unit.name if unit is not None else code

    def user_name(self, username):
        if not username:
            return ""
        user = self.site.users.get(username)
        return user.name if user is not None else username

    def roles(self):
        return "、".join(ROLE_TITLES.get(r, r) for r in (self.user.roles if self.user else ()))

    def can(self, permission, context=None):
        return bool(self.request.has_permission(permission, context if context is not None else self.site))

    def status_tone(self, status):
        return STATUS_TONES.get(status, "grey")

    def petitioners(self, case):
        """(person, primary) pairs of a case, primary first."""
        out = []
        for pid, primary in case.petitioners:
            person = self.site.petitioners.get(pid)
            if person is not None:
                out.append((person, primary))
        return sorted(out, key=lambda pair: not pair[1])

    def primary_name(self, case):
        people = self.petitioners(case)
        if not people:
            return ""
        name = people[0][0].display_name
        return name if len(people) == 1 else f"{name} 等{len(people)}人"

    def url(self, *parts, **query):
        from urllib.parse import urlencode
        base = self.request.application_url + "/" + "/".join(parts)
        query = {k: v for k, v in query.items() if v not in (None, "")}
        return base + ("?" + urlencode(query) if query else "")


GLOBALS = {
    "STATUSES": STATUSES, "CHANNELS": CHANNELS, "KINDS": KINDS, "STAGES": STAGES,
    "PETITION_TYPES": PETITION_TYPES, "TRANSFER_LEVELS": TRANSFER_LEVELS, "TRANSFER_MODES": TRANSFER_MODES,
    "ONLINE_SOURCES": ONLINE_SOURCES, "DISTRICTS": DISTRICTS, "CITY_LEVEL": CITY_LEVEL,
    "VIEW": VIEW, "LIST": LIST, "REGISTER": REGISTER, "FILE": FILE, "LOOKUP": LOOKUP,
}


@subscriber(ApplicationCreated)
def setup_templates(event):
    env = event.app.registry.queryUtility(IJinja2Environment, name=".jinja2")
    if env is None:
        return
    env.filters.update({"dt": format_datetime, "date": format_date, "filesize": format_size})
    env.globals.update(GLOBALS)


@subscriber(BeforeRender)
def add_ui(event):
    request = event.get("request")
    if request is not None and "ui" not in event:
        event["ui"] = UI(request)


def _safe_came_from(request, value):
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return request.application_url + "/"


@view_config(route_name="login", renderer="login.jinja2", permission=NO_PERMISSION_REQUIRED)
def login(request):
    came_from = _safe_came_from(request, request.params.get("came_from"))
    error = None
    username = ""
    if request.method == "POST":
        from .auth import LoginRefused, check_login
        username = request.POST.get("username", "").strip()
        try:
            user = check_login(request, username, request.POST.get("password", ""))
        except LoginRefused as refused:   # an answer, not an exception: the failure count is committed
            error = request.t(refused.message)
            request.response.status_int = refused.status
            if refused.retry_after:
                request.response.headers["Retry-After"] = str(refused.retry_after)
        else:
            headers = remember(request, user.username)
            return HTTPSeeOther(came_from, headers=headers)
    return {"came_from": came_from, "error": error, "username": username}


@view_config(route_name="logout", request_method="POST", permission=NO_PERMISSION_REQUIRED)
def logout(request):
    headers = forget(request)
    return HTTPSeeOther(request.route_url("login"), headers=headers)


def dashboard_scope(request):
    """The filter that defines "my cases" on the dashboard, and its title."""
    user = request.user
    if user.has_role("unit") and user.unit:
        return {"unit": user.unit}
    return {}


@view_config(context=Site, renderer="site_dashboard.jinja2", permission=LIST)
def dashboard(request):
    catalog = request.site.catalog
    principals = request.principals
    scope = dashboard_scope(request)
    year = shanghai_now().year
    by_status = catalog.counts(principals, "status", scope)
    by_channel = catalog.counts(principals, "channel", scope)
    total = sum(by_status.values())
    year_total, _ = catalog.query(principals, dict(scope, year=year), sort=None)
    total_recent, numbers = catalog.query(principals, scope, limit=10)
    recent = [c for c in (request.site.cases.by_number(n) for n in numbers[:10]) if c is not None]
    return {
        "scope": scope,
        "total": total,
        "open_total": sum(n for s, n in by_status.items() if s in OPEN_STATUSES),
        "done_total": sum(n for s, n in by_status.items() if s in DONE_STATUSES),
        "year": year,
        "year_total": year_total,
        "by_status": [(s, by_status[s]) for s in STATUSES if by_status.get(s)],
        "by_channel": [(c, by_channel[c]) for c in CHANNELS if by_channel.get(c)],
        "recent": recent,
        "can_register": request.has_permission(REGISTER, request.site),
    }


def includeme(config):
    pass
