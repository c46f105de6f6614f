"""The audit trail on the web: recording every request worth recording, and the auditors' pages.

``request.audit(action, case=None, document=None, detail=None, outcome=None)`` records one
entry for this request; user, address and time are added. Most entries need no call: the
tables below name the action of every route and every traversal view, and the case and
document come from the URL, the context or the domain events of the request (a new case's
number, a filed document's id). A view calls ``request.audit`` itself only for what the
route cannot say (a failed login, a lock-out, a reveal and its purpose); an explicit entry
replaces the automatic one of the same family (``login.failed`` replaces ``login``).

Two tweens frame pyramid_tm: the inner one (inside the transaction) collects the entries
once the view has answered and watches the commit; the outer one (outside) hands them to
the writer thread with the outcome: ``denied`` for 401/403, ``failed`` for any other error
and for a change whose transaction was aborted (doomed, vetoed or a failed commit), ``ok``
otherwise. An attempt that pyramid_retry replays records nothing; the replay records.

Pages: ``/audit`` (auditors and administrators), ``/audit.csv`` and ``GET /api/audit``.
Looking at the trail is itself recorded (``audit.view``, ``audit.export``).
"""
import datetime
import json
import os
import re

from pyramid.response import Response
from pyramid.threadlocal import get_current_request
from pyramid.view import view_config

from casefiles import audit as A
from casefiles import events
from casefiles.errors import Forbidden, ValidationError
from casefiles.i18n import _
from casefiles.security import LIST

ENV_ENTRIES = "casefiles.audit.entries"
ENV_AUTO = "casefiles.audit.auto"
ENV_COMMITTED = "casefiles.audit.committed"
ENV_EVENTS = "casefiles.audit.events"
AUDIT_ROLES = ("auditor", "admin")
MAX_DETAIL = 500          # characters of one detail value
PAGE_SIZE = 50


# -- what each route and view records -------------------------------------------------------
# key: (route name, method) or (context class name, view name, method); "*" = any method.
# value: an action name, a function (request, response) -> action or None, or None when the
# view records nothing (with the reason in the comment). tests/test_audit.py checks that
# every registered view is listed here or in EXEMPT_ROUTES.

def _search_action(request, response):
    """The search page without a query is only the form."""
    return "search" if _query_detail(request) else None


def _login_action(request, response):
    if request.method != "POST":
        return None       # the form
    return "login" if response is not None and response.status_int < 400 else "login.failed"


def _form_post(action):
    def decide(request, response):
        return action if request.method == "POST" else None
    decide.__name__ = f"post_{action}"
    return decide


ROUTE_ACTIONS = {
    ("api_login", "POST"): _login_action,
    ("api_login", "*"): None,                  # 405
    ("login", "*"): _login_action,
    ("api_logout", "POST"): "logout",
    ("api_logout", "*"): None,
    ("logout", "POST"): "logout",
    ("api_me", "*"): None,                     # one's own profile
    ("api_units", "*"): None,                  # the list of units: reference data
    ("api_petitioners", "GET"): "petitioner.lookup",
    ("api_petitioners", "*"): None,
    ("api_cases", "GET"): "case.list",
    ("api_cases", "POST"): "case.register",
    ("api_cases", "*"): None,
    ("api_case", "GET"): "case.view",
    ("api_case", "*"): None,
    ("api_documents", "GET"): "document.list",
    ("api_documents", "POST"): "document.file",
    ("api_documents", "*"): None,
    ("api_document", "GET"): "document.view",
    ("api_document", "*"): None,
    ("api_document_file", "GET"): "document.download",
    ("api_document_file", "*"): None,
    ("api_document_versions", "POST"): "document.version",
    ("api_document_versions", "*"): None,
    ("api_case_action", "POST"): lambda request, response: "workflow." + request.matchdict.get("action", "?"),
    ("api_case_actions", "GET"): None,         # what the user may do next: no case content
    ("api_queue", "GET"): "queue.view",
    ("api_experts", "GET"): None,              # the expert pool: reference data
    ("api_experts", "POST"): "experts.change",
    ("api_reception", "GET"): "reception.view",
    ("api_reception", "POST"): "reception.change",
    ("api_calendar", "GET"): None,             # the working-day calendar: reference data
    ("api_calendar_year", "GET"): None,
    ("api_calendar_year", "POST"): "calendar.change",
    ("api_refusal_offers", "GET"): "petitioner.lookup",
    ("api_case_dossier", "GET"): "dossier.download",
    ("api_case_package", "GET"): "package.download",
    ("api_case_similar", "GET"): "similar.view",
    ("api_similar", "GET"): "similar.search",
    ("api_search", "GET"): "search",
    ("search", "GET"): _search_action,
    ("api_searches", "GET"): None,             # one's own saved searches
    ("api_searches", "POST"): "search.save",
    ("api_search_saved", "DELETE"): "search.delete",
    ("search_saved", "POST"): "search.save",
    ("search_saved_delete", "POST"): "search.delete",
    ("api_archive_due", "GET"): "archive.list",
    ("api_archive_dispose", "POST"): "archive.dispose",
    ("archive_list", "*"): "archive.list",
    ("archive_disposals", "*"): "archive.disposals",
    ("archive_dispose", "POST"): "archive.dispose",
    ("queue", "*"): "queue.view",
    ("calendar_admin", "*"): _form_post("calendar.change"),
    ("experts_page", "*"): _form_post("experts.change"),
    ("reception_page", "*"): _form_post("reception.change"),
    # users and tokens (views/admin.py records the details itself; these cover refusals and errors)
    ("admin_users", "*"): "user.list",
    ("admin_user_new", "*"): _form_post("user.create"),
    ("admin_user", "*"): lambda request, response: "user.update" if request.method == "POST" else "user.view",
    ("admin_user_password", "POST"): "user.update",
    ("admin_user_unlock", "POST"): "user.update",
    ("admin_user_token_revoke", "POST"): "token.revoke",
    ("account_password", "*"): _form_post("password.change"),
    ("account_token_revoke", "POST"): "token.revoke",
    ("api_users", "GET"): "user.list",
    ("api_users", "POST"): "user.create",
    ("api_user", "GET"): "user.view",
    ("api_user", "PATCH"): "user.update",
    ("api_user_tokens", "GET"): "token.list",
    ("api_user_token", "DELETE"): "token.revoke",
    ("api_user_unlock", "POST"): "user.update",
    ("api_user_password", "POST"): "user.update",
    ("api_me_password", "POST"): "password.change",
    ("api_me_tokens", "GET"): None,            # one's own tokens
    ("api_me_token", "DELETE"): "token.revoke",
    # personal data and who may open a case (views/identity.py records the purpose itself)
    ("api_case_reveal", "POST"): "identity.reveal",
    ("api_case_access", "GET"): "case.access",
    ("audit", "*"): "audit.view",
    ("audit_csv", "*"): "audit.export",
    ("api_audit", "*"): "audit.view",
}

VIEW_ACTIONS = {
    ("Site", "", "*"): None,                   # the dashboard: counts and links
    ("Site", "register", "*"): _form_post("case.register"),
    ("Cases", "", "*"): "case.list",
    ("CaseYear", "", "*"): "case.list",
    ("Case", "", "*"): "case.view",
    ("Case", "file", "*"): _form_post("document.file"),
    ("Case", "dossier.pdf", "*"): "dossier.download",
    ("Case", "package.zip", "*"): "package.download",
    ("Case", "read", "*"): "dossier.view",
    ("Stage", "", "*"): "case.folder",
    ("Case", "reveal", "POST"): "identity.reveal",
    ("Case", "access", "*"): "case.access",
    ("Document", "", "*"): "document.view",
    ("Document", "inline", "*"): "document.inline",
    ("Document", "download", "*"): "document.download",
    ("Document", "hit", "*"): "document.view",
    ("Document", "versions", "GET"): "document.versions",
    ("Document", "versions", "POST"): "document.version",
}
# workflow actions posted from the case page: Case/<action> → workflow.<action>
WORKFLOW_VIEW = "workflow."

# views that are not endpoints of their own, or serve no data worth recording
EXEMPT_ROUTES = {"__static/"}
EXEMPT_CONTEXTS = {"APIError", "DomainError", "Exception", "FontMissing", "HTTPException", "HTTPForbidden",
                   "HTTPNotFound", "IExceptionResponse", "WSGIHTTPException"}


def is_workflow_action(name):
    from casefiles import workflow
    return name in workflow.ACTIONS


def _lookup(table, key, method):
    for m in (method, "*"):
        if key + (m,) in table:
            return True, table[key + (m,)]
    return False, None


def route_action(request, response):
    """The automatic action of this request: a name, or None for nothing to record."""
    route = getattr(request, "matched_route", None)
    method = request.method
    if method == "HEAD":
        method = "GET"
    if route is not None:
        if route.name in EXEMPT_ROUTES:
            return None
        found, action = _lookup(ROUTE_ACTIONS, (route.name,), method)
        if not found:   # a route nobody listed yet: record it rather than miss it
            action = f"{'view' if method == 'GET' else 'change'}.{route.name}"
    else:
        context = getattr(request, "context", None)
        if context is None:
            return None
        cls = type(context).__name__
        name = getattr(request, "view_name", "") or ""
        found, action = _lookup(VIEW_ACTIONS, (cls, name), method)
        if not found:
            if cls == "Case" and method == "POST" and is_workflow_action(name):
                action = WORKFLOW_VIEW + name
            elif cls in EXEMPT_CONTEXTS:
                return None
            elif response is not None and response.status_int == 404:
                return None     # no such page (a browser's /favicon.ico): nothing was opened
            else:
                action = f"{'view' if method == 'GET' else 'change'}.{cls.lower()}" + (f".{name}" if name else "")
    if callable(action):
        action = action(request, response)
    return action


# -- the request method ----------------------------------------------------------------------

def record(request, action, case=None, document=None, detail=None, outcome=None, user=None):
    """``request.audit(...)``: record one entry for this request (written after the commit)."""
    writer = getattr(request.registry, "audit_writer", None)
    if writer is None:
        return
    if outcome is not None and outcome not in A.OUTCOMES:
        raise ValueError(f"audit outcome {outcome!r}")
    entries = request.environ.setdefault(ENV_ENTRIES, [])
    entries.append({"action": str(action), "case": _case_number(case), "document": _document_id(document),
                    "detail": _clean_detail(detail), "outcome": outcome, "user": user})


def _case_number(case):
    if case is None or isinstance(case, str):
        return case
    number = getattr(case, "number", None)
    return str(number) if number is not None else str(case)


def _document_id(document):
    if document is None or isinstance(document, str):
        return document
    return getattr(document, "id", None) or getattr(document, "__name__", None) or str(document)


def _clean_detail(detail):
    if detail is None:
        return None
    try:
        text = json.dumps(detail, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = json.dumps(str(detail), ensure_ascii=False)
    value = json.loads(text)
    if isinstance(value, dict):
        return {str(k): (v[:MAX_DETAIL] if isinstance(v, str) else v) for k, v in value.items()}
    return {"value": value}


def _request_detail(request):
    """What a search or a list asked for: its query parameters (not passwords, not tokens)."""
    return _query_detail(request) or None


def _query_detail(request):
    detail = {}
    try:
        items = list(request.GET.items())
    except (UnicodeError, ValueError):
        return {"query": request.environ.get("QUERY_STRING", "")[:MAX_DETAIL]}
    for key, value in items:
        if key in ("csrf_token", "_LOCALE_", "password") or key in detail:
            continue
        detail[key] = value[:MAX_DETAIL]
    return detail


def _user_name(request):
    try:
        user = request.user
    except Exception:   # noqa: BLE001 - a broken session must not break recording
        return None
    return getattr(user, "username", None) if user is not None else None


def _login_name(request):
    try:
        if request.content_type == "application/json":
            name = request.json_body.get("username")
        else:
            name = request.POST.get("username")
    except Exception:   # noqa: BLE001 - a malformed body is recorded without a name
        return None
    return name.strip()[:100] if isinstance(name, str) and name.strip() else None


def _context_ids(request):
    from casefiles.cases import Case, Stage
    from casefiles.documents import Document
    context = getattr(request, "context", None)
    case = document = None
    detail = {}
    if isinstance(context, Case):
        case = context.number
    elif isinstance(context, Stage):
        parent = context.__parent__
        case = getattr(parent, "number", None)
        detail["folder"] = context.__name__
    elif isinstance(context, Document):
        document = context.id
        case = getattr(getattr(context, "case", None), "number", None)
    if case is None:
        case = (getattr(request, "matchdict", None) or {}).get("number")
    if document is None:
        document = (getattr(request, "matchdict", None) or {}).get("doc")
    return case, document, detail


def _status_outcome(status):
    if status in (401, 403):
        return "denied"
    return "failed" if status >= 400 else "ok"


def _collect(request, response, status):
    """The request's entries, complete but for the outcome of the commit. Never raises: a
    request the table cannot describe is still recorded, by its path."""
    try:
        return _collect_entries(request, response, status)
    except Exception:   # noqa: BLE001
        entry = A.make_entry("request", user=None, address=request.environ.get("REMOTE_ADDR"),
                             outcome=_status_outcome(status),
                             detail={"method": request.environ.get("REQUEST_METHOD"),
                                     "path": request.environ.get("PATH_INFO", "")[:MAX_DETAIL]})
        entry["_explicit_outcome"] = False
        return [entry]


def _collect_entries(request, response, status):
    user = _user_name(request)
    # REMOTE_ADDR, not X-Forwarded-For (anyone can send that): behind a proxy, let waitress
    # set REMOTE_ADDR from it (trusted_proxy) so that the address is the client's
    address = request.remote_addr
    at = A.now_iso()
    explicit = request.environ.get(ENV_ENTRIES, [])
    entries = []
    for e in explicit:
        who = e["user"] or user or (_login_name(request) if e["action"].startswith("login") else None)
        entries.append(A.make_entry(e["action"], user=who, address=address, case=e["case"],
                                    document=e["document"], outcome=e["outcome"] or _status_outcome(status),
                                    detail=e["detail"], at=at))
        entries[-1]["_explicit_outcome"] = e["outcome"] is not None
    try:
        action = route_action(request, response)
    except Exception:   # noqa: BLE001 - the table must never fail a request
        action = None
    if action is None and status == 403:
        action = "access.denied"
    families = {e["action"].split(".")[0] for e in explicit}
    if action and action.split(".")[0] not in families:
        case, document, detail = _context_ids(request)
        seen = request.environ.get(ENV_EVENTS) or {}
        case = case or (seen.get("cases") or [None])[0]
        if document is None and seen.get("documents") and action.startswith("document"):
            document = seen["documents"][0] if len(seen["documents"]) == 1 else None
            if len(seen["documents"]) > 1:
                detail["documents"] = seen["documents"][:50]
        if action.startswith("login"):   # the account that logged in, or was tried
            user = user or _login_name(request)
        elif action.startswith(("search", "case.list", "similar", "petitioner", "queue", "archive")):
            detail.update(_request_detail(request) or {})
        username = (getattr(request, "matchdict", None) or {}).get("username")
        if username and action.startswith(("user", "token")):
            detail["username"] = username[:100]
        if status == 403 and action == "access.denied":
            detail["path"] = request.path_info[:MAX_DETAIL]
        entry = A.make_entry(action, user=user, address=address, case=case, document=document,
                             outcome=_status_outcome(status), detail=detail or None, at=at)
        entry["_explicit_outcome"] = False
        entries.append(entry)
    return entries


# -- the tweens -------------------------------------------------------------------------------

def _enabled(registry):
    return getattr(registry, "audit_writer", None) is not None


def audit_inner_tween_factory(handler, registry):
    """Inside the transaction: collect the entries and learn whether the commit succeeds."""
    if not _enabled(registry):
        return handler

    def tween(request):
        if request.environ.get("PATH_INFO", "").startswith("/static/"):
            return handler(request)
        try:
            response = handler(request)
        except Exception:
            request.environ[ENV_AUTO] = _collect(request, None, 500)
            raise
        request.environ[ENV_AUTO] = _collect(request, response, response.status_int)
        environ = request.environ
        environ[ENV_COMMITTED] = False
        try:
            txn = request.tm.get()

            def committed(status):
                environ[ENV_COMMITTED] = bool(status)
            txn.addAfterCommitHook(committed)
        except Exception:   # noqa: BLE001 - no transaction: nothing to commit
            environ[ENV_COMMITTED] = True
        return response
    return tween


def audit_outer_tween_factory(handler, registry):
    """Outside the transaction: hand the entries to the writer with their outcome."""
    writer = getattr(registry, "audit_writer", None)
    if writer is None:
        return handler

    def tween(request):
        try:
            response = handler(request)
        except Exception as exc:
            if not _will_retry(request, exc):
                _submit(writer, request, failed=True)
            raise
        _submit(writer, request, failed=not request.environ.get(ENV_COMMITTED, True))
        return response
    return tween


def _will_retry(request, exc):
    try:
        from pyramid_retry import is_error_retryable, is_last_attempt
        return is_error_retryable(request, exc) and not is_last_attempt(request)
    except Exception:   # noqa: BLE001
        return False


def _submit(writer, request, failed):
    entries = request.environ.pop(ENV_AUTO, None)
    if entries is None:
        explicit = request.environ.get(ENV_ENTRIES)
        if not explicit:
            return
        entries = _collect(request, None, 500)   # the inner tween never finished
    out = []
    for entry in entries:
        entry.pop("_explicit_outcome", None)
        if failed and entry["outcome"] == "ok":   # nothing of it was stored
            entry["outcome"] = "failed"
        out.append(entry)
    writer.submit(out)


# -- domain events: which case a request created, which documents it filed ---------------------

def _on_event(event):
    request = get_current_request()
    if request is None:
        return
    seen = request.environ.setdefault(ENV_EVENTS, {})
    if isinstance(event, events.CaseAdded):
        seen.setdefault("cases", []).append(event.case.number)
    elif isinstance(event, events.DocumentAdded):
        seen.setdefault("documents", []).append(event.document.id)
        seen.setdefault("cases", []).append(event.case.number)


# -- the auditors' pages -------------------------------------------------------------------------

def _require_auditor(request):
    user = request.user
    if user is None or not user.has_role(*AUDIT_ROLES):
        raise Forbidden(_("audit_forbidden", default="Only auditors and administrators may read the audit trail."), {})
    if getattr(request.registry, "audit_index", None) is None:
        from .errors import APIError
        raise APIError(404, "not_found", _("audit_off", default="The audit trail is switched off on this server."))


DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_PAGE = 1_000_000


def audit_filters(request):
    """The filters of the query string, checked: user, case, action, outcome, from, to."""
    params = request.GET
    filters, errors = {}, {}
    for key in ("user", "case", "action", "document"):
        value = params.get(key, "").strip()
        if len(value) > 200:
            errors[key] = _("audit_value_long", default="At most 200 characters.")
        elif value:
            filters[key] = value
    outcome = params.get("outcome", "").strip()
    if outcome:
        if outcome not in A.OUTCOMES:
            errors["outcome"] = _("audit_outcome_bad", default="Choose ok, denied or failed.")
        else:
            filters["outcome"] = outcome
    for key in ("from", "to"):
        value = params.get(key, "").strip()
        if not value:
            continue
        try:
            if not DATE_RE.match(value):
                raise ValueError(value)
            filters[key] = datetime.date.fromisoformat(value)
        except ValueError:
            errors[key] = _("audit_date_bad", default="Give a date as YYYY-MM-DD.")
    if filters.get("from") and filters.get("to") and filters["from"] > filters["to"]:
        errors["to"] = _("audit_range_bad", default="The end date is before the start date.")
    page = params.get("page", "1").strip() or "1"
    if not page.isascii() or not page.isdigit() or not page.strip("0"):
        errors["page"] = _("audit_page_bad", default="The page must be a positive whole number.")
        page = "1"
    elif len(page.lstrip("0")) > len(str(MAX_PAGE)) or int(page) > MAX_PAGE:
        errors["page"] = _("audit_page_range", default="The page must be between 1 and ${n}.",
                           mapping={"n": MAX_PAGE})
        page = "1"
    if errors:
        raise ValidationError(_("audit_filters_bad", default="Some filters are invalid."), errors)
    return filters, int(page)


def _filter_detail(filters, page=None):
    detail = {k: (v.isoformat() if isinstance(v, datetime.date) else v) for k, v in filters.items()}
    if page and page > 1:
        detail["page"] = page
    return detail


def get_index(request):
    return request.registry.audit_index


def _fresh(request):
    writer = request.registry.audit_writer
    writer.flush(timeout=5)   # what was done a moment ago is in the trail the auditor reads


ACTION_LABELS = {
    "login": _("audit_a_login", default="Logged in"),
    "login.failed": _("audit_a_login_failed", default="Failed login"),
    "login.locked": _("audit_a_login_locked", default="Locked out"),
    "logout": _("audit_a_logout", default="Logged out"),
    "password.change": _("audit_a_password_change", default="Changed password"),
    "user.create": _("audit_a_user_create", default="Created a user"),
    "user.update": _("audit_a_user_update", default="Changed a user"),
    "token.revoke": _("audit_a_token_revoke", default="Revoked a token"),
    "case.view": _("audit_a_case_view", default="Viewed a case"),
    "case.access": _("audit_a_case_access", default="Viewed who may open a case"),
    "user.list": _("audit_a_user_list", default="Listed users"),
    "user.view": _("audit_a_user_view", default="Viewed a user"),
    "token.list": _("audit_a_token_list", default="Listed a user's tokens"),
    "case.list": _("audit_a_case_list", default="Listed cases"),
    "case.folder": _("audit_a_case_folder", default="Opened a case folder"),
    "case.register": _("audit_a_case_register", default="Registered a case"),
    "document.view": _("audit_a_document_view", default="Viewed a document"),
    "document.inline": _("audit_a_document_inline", default="Displayed a document's file"),
    "document.list": _("audit_a_document_list", default="Listed documents"),
    "document.download": _("audit_a_document_download", default="Downloaded a document"),
    "document.file": _("audit_a_document_file", default="Filed a document"),
    "document.version": _("audit_a_document_version", default="Added a document version"),
    "document.versions": _("audit_a_document_versions", default="Viewed document versions"),
    "dossier.download": _("audit_a_dossier_download", default="Downloaded a dossier"),
    "dossier.view": _("audit_a_dossier_view", default="Read a dossier"),
    "package.download": _("audit_a_package_download", default="Downloaded an archival package"),
    "search": _("audit_a_search", default="Searched"),
    "search.save": _("audit_a_search_save", default="Saved a search"),
    "search.delete": _("audit_a_search_delete", default="Deleted a saved search"),
    "similar.search": _("audit_a_similar_search", default="Looked for similar cases"),
    "similar.view": _("audit_a_similar_view", default="Viewed similar cases"),
    "identity.reveal": _("audit_a_identity_reveal", default="Revealed personal data"),
    "petitioner.lookup": _("audit_a_petitioner_lookup", default="Looked up a petitioner"),
    "queue.view": _("audit_a_queue_view", default="Viewed a queue"),
    "reception.view": _("audit_a_reception_view", default="Viewed reception days"),
    "reception.change": _("audit_a_reception_change", default="Changed reception days"),
    "experts.change": _("audit_a_experts_change", default="Changed the expert pool"),
    "calendar.change": _("audit_a_calendar_change", default="Changed the calendar"),
    "archive.list": _("audit_a_archive_list", default="Viewed the archive"),
    "archive.disposals": _("audit_a_archive_disposals", default="Viewed disposal records"),
    "archive.dispose": _("audit_a_archive_dispose", default="Disposed of a case"),
    "case.import": _("audit_a_case_import", default="Imported online messages"),
    "case.restore": _("audit_a_case_restore", default="Restored a case from its archival package"),
    "access.denied": _("audit_a_access_denied", default="Access refused"),
    "audit.view": _("audit_a_audit_view", default="Read the audit trail"),
    "audit.export": _("audit_a_audit_export", default="Exported the audit trail"),
}
OUTCOME_LABELS = {
    "ok": _("audit_o_ok", default="Done"),
    "denied": _("audit_o_denied", default="Refused"),
    "failed": _("audit_o_failed", default="Failed"),
}


def action_label(request, action):
    if action in ACTION_LABELS:
        return request.t(ACTION_LABELS[action])
    if action.startswith(WORKFLOW_VIEW):
        return request.t(_("audit_a_workflow", default="Workflow: ${action}", mapping={"action": action[9:]}))
    return action


@view_config(route_name="audit", request_method="GET", renderer="audit_view.jinja2", permission=LIST)
def audit_page(request):
    _require_auditor(request)
    try:
        filters, page = audit_filters(request)
        errors = {}
    except ValidationError as exc:
        filters, page, errors = {}, 1, exc.fields
    request.audit("audit.view", detail=_filter_detail(filters, page) or None)
    _fresh(request)
    total, entries = get_index(request).query(filters, page, PAGE_SIZE)
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    values = {k: (v.isoformat() if isinstance(v, datetime.date) else v) for k, v in filters.items()}
    from .case_pages import page_links
    query = {k: request.GET.get(k, "") for k in ("user", "case", "action", "outcome", "from", "to")}
    actions = get_index(request).actions()
    outcome_labels = {k: request.t(v) for k, v in OUTCOME_LABELS.items()}
    return {"entries": entries, "total": total, "page": page, "pages": pages, "values": values,
            "page_links": page_links(page, pages), "errors": {k: request.t(v) for k, v in errors.items()},
            "actions": actions, "labels": {a: action_label(request, a) for a in set(actions) | {
                e["action"] for e in entries}},
            "outcome_labels": outcome_labels, "outcome_options": list(outcome_labels.items()),
            "query": query, "given": {k: v for k, v in query.items() if v}}


@view_config(route_name="audit_csv", request_method="GET", permission=LIST)
def audit_csv(request):
    _require_auditor(request)
    filters, _page = audit_filters(request)
    request.audit("audit.export", detail=_filter_detail(filters) or None)
    _fresh(request)
    index = get_index(request)
    stamp = A.now_iso()[:10]
    response = Response(content_type="text/csv", charset="utf-8")
    response.app_iter = (chunk.encode("utf-8") for chunk in A.csv_rows(index.iter_raw(filters)))
    response.content_disposition = f'attachment; filename="audit-{stamp}.csv"'
    return response


@view_config(route_name="api_audit", request_method="GET", renderer="json", permission=LIST)
def api_audit(request):
    _require_auditor(request)
    filters, page = audit_filters(request)
    request.audit("audit.view", detail=_filter_detail(filters, page) or None)
    _fresh(request)
    size = PAGE_SIZE
    total, entries = get_index(request).query(filters, page, size)
    return {"total": total, "page": page, "page_size": size, "entries": entries}


# -- configuration ---------------------------------------------------------------------------------

def audit_settings(settings):
    """Fill in the audit settings: on/off, the folder, the anchor, the index, segment size."""
    raw = str(settings.get("casefiles.audit", "true")).strip().lower()
    settings["casefiles.audit"] = raw not in ("false", "0", "no", "off")
    folder = settings.get("casefiles.audit_dir") or os.path.join(settings["casefiles.var"], "audit")
    settings["casefiles.audit_dir"] = os.path.abspath(folder)
    settings.setdefault("casefiles.audit_anchor", os.path.join(settings["casefiles.audit_dir"], "anchor"))
    settings.setdefault("casefiles.audit_index", os.path.join(settings["casefiles.audit_dir"], "index.sqlite"))
    settings["casefiles.audit_segment_entries"] = int(settings.get("casefiles.audit_segment_entries")
                                                      or A.SEGMENT_ENTRIES)
    settings["casefiles.audit_linger_ms"] = float(settings.get("casefiles.audit_linger_ms") or A.LINGER * 1000)
    return settings


def open_log(settings):
    return A.AuditLog(settings["casefiles.audit_dir"], anchor=settings["casefiles.audit_anchor"],
                      segment_entries=settings["casefiles.audit_segment_entries"])


def get_writer(registry):
    return getattr(registry, "audit_writer", None)


def close_audit(registry):
    """Write what is queued and stop the writer thread (``cli.close_app`` calls this)."""
    writer = getattr(registry, "audit_writer", None)
    if writer is not None:
        writer.close()
    source = getattr(registry, "audit_source", None)
    if source is not None:
        A.unregister_source(source)


def _noop(request, *args, **kw):
    return None


def includeme(config):
    settings = audit_settings(config.get_settings())
    config.add_route("audit", "/audit", factory="views.routes.site_factory")
    config.add_route("audit_csv", "/audit.csv", factory="views.routes.site_factory")
    config.add_route("api_audit", "/api/audit", factory="views.routes.site_factory")
    if not settings["casefiles.audit"]:
        config.registry.audit_writer = None
        config.registry.audit_index = None
        config.add_request_method(_noop, "audit")
        return
    log = open_log(settings)
    index = A.AuditIndex(settings["casefiles.audit_index"])
    index.catch_up(log)
    config.registry.audit_log = log
    config.registry.audit_index = index
    config.registry.audit_writer = A.Writer(log, index, linger=settings["casefiles.audit_linger_ms"] / 1000.0)
    source = A.Source(log, index, config.registry.audit_writer)
    config.registry.audit_source = source
    from archive.store import archive_dir
    A.register_source(archive_dir(settings), source)
    config.add_request_method(record, "audit")
    config.add_tween("views.audit.audit_inner_tween_factory", under="pyramid_tm.tm_tween_factory",
                     over="pyramid.tweens.excview_tween_factory")
    config.add_tween("views.audit.audit_outer_tween_factory", over="pyramid_tm.tm_tween_factory")
    events.subscribe(_on_event)
