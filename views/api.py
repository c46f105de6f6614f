"""The JSON API of the contract (API.md): login, cases, documents and their files, units,
petitioners and the current user.

Access: a user who may not open a case gets 403 for it and for everything under it (its
documents and files), whether or not they could guess its number; lists and counts never
include such a case. Without a valid token (none, unknown, revoked or expired) every call
but ``POST /api/login`` is 401.
"""
import threading

from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from casefiles import intake
from casefiles.cases import CHANNELS, PETITION_TYPES, STATUSES
from casefiles.documents import KINDS
from casefiles.i18n import _
from casefiles.security import FILE, LIST, LOOKUP, REGISTER, VIEW

from .errors import STATUS_MESSAGES, APIError, error_response
from .fields import text_fields
from .files import file_response
from .pages import DONE_STATUSES, OPEN_STATUSES
from .serialize import case_json, case_summary, document_json, petitioner_json, user_json
from .uploads import form, form_json, form_text, is_multipart, json_body, uploads_from


def _settings(request):
    return request.registry.settings


ALLOWED_METHODS = {
    "api_login": "POST", "api_logout": "POST", "api_me": "GET", "api_units": "GET", "api_petitioners": "GET",
    "api_cases": "GET, POST", "api_case": "GET", "api_documents": "GET, POST", "api_document": "GET",
    "api_document_file": "GET", "api_document_versions": "POST",
}


def method_not_allowed(request):
    """405 (with ``Allow``) for a method an API address does not take."""
    response = error_response(request, 405, "method_not_allowed", STATUS_MESSAGES[405])
    response.headers["Allow"] = ALLOWED_METHODS[request.matched_route.name]
    return response


for _route in ALLOWED_METHODS:
    method_not_allowed = view_config(route_name=_route, permission=NO_PERMISSION_REQUIRED,
                                     require_csrf=False)(method_not_allowed)
del _route


# -- authentication -----------------------------------------------------------------------

@view_config(route_name="api_login", request_method="POST", renderer="json", permission=NO_PERMISSION_REQUIRED,
             require_csrf=False)
def login(request):
    body = json_body(request)
    username, password = text_fields(body, "username", "password", required=True, status=400,
                                     message=_("login_fields", default="Send a username and a password."))
    from .auth import LoginRefused, check_login, refusal_response
    try:
        user = check_login(request, username.strip(), password)
    except LoginRefused as refused:   # returned, not raised: the failure count must be committed
        return refusal_response(request, refused)
    token = request.site.users.issue_token(user.username, _settings(request)["casefiles.token_lifetime"],
                                           label=(request.user_agent or "")[:200])
    return {"token": token, "user": user_json(user)}


@view_config(route_name="api_logout", request_method="POST", renderer="json", permission=LIST, require_csrf=False)
def logout(request):
    """Revoke the bearer token of the request; the token is refused from then on.

    Without a valid token (none, unknown, revoked or expired) this is a 401 like every other
    call: there is nobody to log out (the permission check answers it, before any CSRF
    check). A browser session posting here (no token) must still pass the CSRF check, which
    is therefore made here rather than before the view."""
    from pyramid.csrf import check_csrf_token
    from .auth import bearer_token
    token = bearer_token(request)
    if token is None:
        check_csrf_token(request)      # a cookie session: 400 csrf without the token
        return {"revoked": False}
    return {"revoked": request.site.users.revoke_token(token)}


@view_config(route_name="api_me", request_method="GET", renderer="json", permission=LIST)
def me(request):
    return user_json(request.user)


@view_config(route_name="api_units", request_method="GET", renderer="json", permission=LIST)
def units(request):
    return {"units": [{"code": u.code, "name": u.name, "kind": u.kind, "district": u.district, "active": u.active}
                      for u in request.site.units.values()]}


@view_config(route_name="api_petitioners", request_method="GET", renderer="json", permission=LOOKUP)
def petitioners(request):
    """A petitioner by ID number, with the earlier cases this user may open."""
    from casefiles.idnumber import id_number_problem
    id_number = request.GET.get("id_number", "")
    problem = id_number_problem(id_number)
    if problem:
        raise APIError(422, "invalid", problem, {"id_number": problem})
    person = request.site.petitioners.by_id_number(id_number)
    if person is None:
        return {"petitioner": None, "cases": []}
    cases = []
    for number in reversed(list(person.cases)):
        case = request.site.cases.by_number(number)
        if case is not None and request.has_permission(VIEW, case):
            cases.append(case_summary(request, case))
    from .serialize import identity
    found = petitioner_json(person, identity=identity(request))   # the phone per the masking policy
    found["id_number"] = person.id_number                          # the ID number is the one typed
    return {"petitioner": found, "cases": cases}


# -- registration --------------------------------------------------------------------------

_WRITES = threading.Lock()


def exclusive_transaction(request, lock=_WRITES, timeout=30):
    """Run the rest of this request's transaction holding ``lock``, on a fresh snapshot.

    Every registration takes the next number from the year's counter and every filing
    appends to its case's history, so two such requests that overlap in time conflict at
    commit and the later one is replayed by pyramid_retry. With several threads writing at
    once, a request can lose that race again and again until its attempts run out. Inside
    one process these writes therefore take turns: the lock is taken, the request's (still
    unwritten) transaction is restarted so that it sees everything committed before, and the
    lock is released when the transaction commits or aborts. Between processes (ZEO) the
    conflict and the retry remain the guard. Call it after reading the request body and
    before changing anything. Returns False (and changes nothing) when the transaction has
    already written something or the lock is not free within ``timeout`` seconds.
    """
    if getattr(request, "_exclusive_transaction", False):
        return True
    tm = request.tm
    if getattr(tm.get(), "_resources", None):
        return False
    if not lock.acquire(timeout=timeout):
        return False
    done = []

    def release(*_args):
        if not done:
            done.append(True)
            lock.release()
    try:
        tm.abort()
        txn = tm.begin()
        txn.note(request.path_info)
        if request.user is not None:
            txn.user = request.user.username
        txn.addAfterCommitHook(release)
        txn.addAfterAbortHook(release)
    except BaseException:
        release()
        raise
    request._exclusive_transaction = True
    return True


@view_config(route_name="api_cases", request_method="POST", renderer="json", permission=REGISTER)
def register(request):
    """Register a petition from a JSON body, or from a multipart form whose ``data`` part is
    the same JSON and whose ``file`` parts are the letter's scans and other materials."""
    if is_multipart(request):
        body = form_json(request, "data")
        uploads = uploads_from(request, "file")
    else:
        body = json_body(request)
        uploads = []
    exclusive_transaction(request)
    case = intake.register(request.site, body, uploads, by=request.user.username,
                           max_bytes=_settings(request)["casefiles.max_upload_bytes"])
    request.response.status_int = 201
    request.response.headers["Location"] = request.route_url("api_case", number=case.number)
    return case_json(request, case)


# -- lists ---------------------------------------------------------------------------------

def _int_param(request, name, default, low, high):
    raw = request.GET.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        digits = raw.strip()
        if not (digits.isascii() and digits[1 if digits[:1] in "+-" else 0:].isdigit()):   # else: too long for int()
            message = _("param_int", default="${name} must be a whole number.", mapping={"name": name})
            raise APIError(400, "bad_request", message, {name: message})
        value = high + 1
    if not low <= value <= high:
        message = _("param_range", default="${name} must be between ${low} and ${high}.",
                    mapping={"name": name, "low": low, "high": high})
        raise APIError(400, "bad_request", message, {name: message})
    return value


LIST_FILTERS = ("status", "unit", "channel", "district", "category", "petition_type", "year")
# ?status= takes a status or a group of statuses, the same names as the case list's links
STATUS_GROUPS = {"open": OPEN_STATUSES, "done": DONE_STATUSES}
_CHOICES = {"status": tuple(STATUSES) + tuple(STATUS_GROUPS), "channel": CHANNELS, "petition_type": PETITION_TYPES}


def list_filters(request):
    """Catalog filters from the query string; an unknown status, channel or type is a 400
    whose field message repeats the value sent and lists the accepted ones."""
    filters = {}
    for name in LIST_FILTERS:
        value = request.GET.get(name)
        if not value:
            continue
        if name == "year":
            value = _int_param(request, "year", None, 1990, 2100)
        elif name in _CHOICES and value not in _CHOICES[name]:
            shown = value if len(value) <= 50 else value[:50] + "…"
            message = _("filter_bad_choices", default="Unknown value \"${value}\" for ${name}; use one of: ${choices}.",
                        mapping={"value": shown, "name": name, "choices": ", ".join(_CHOICES[name])})
            raise APIError(400, "bad_request", message, {name: message})
        elif name == "status" and value in STATUS_GROUPS:
            value = list(STATUS_GROUPS[value])
        filters[name] = value
    return filters


def query_cases(request, filters, page, size, sort="received", reverse=True):
    """(total, cases on the page) among the cases the user may open, newest received first."""
    catalog = request.site.catalog
    total, numbers = catalog.query(request.principals, filters, sort=sort, reverse=reverse, limit=page * size)
    numbers = numbers[(page - 1) * size: page * size]
    cases = [request.site.cases.by_number(n) for n in numbers]
    return total, [c for c in cases if c is not None]


@view_config(route_name="api_cases", request_method="GET", renderer="json", permission=LIST)
def list_cases(request):
    page = _int_param(request, "page", 1, 1, 100000)
    size = _int_param(request, "size", _settings(request)["casefiles.page_size"], 1, 200)
    from .workflow import due_filters   # overdue=true, due_within=N: the catalog's next_due index
    due = due_filters(request)          # ... listed most urgent first
    filters = dict(list_filters(request), **due)
    total, cases = query_cases(request, filters, page, size, *(("next_due", False) if due else ()))
    return {"total": total, "page": page, "size": size, "cases": [case_summary(request, c) for c in cases]}


# -- one case and its documents ------------------------------------------------------------

@view_config(route_name="api_case", request_method="GET", renderer="json", permission=VIEW)
def get_case(request):
    return case_json(request, request.context)


@view_config(route_name="api_documents", request_method="GET", renderer="json", permission=VIEW)
def list_documents(request):
    return {"documents": [document_json(d) for d in request.context.documents()]}


def default_folder(kind):
    """The stage folder a kind of document is filed into unless the client names one."""
    return {
        "letter": "origin", "letter_scan": "origin", "visit_transcript": "origin", "online_complaint": "origin",
        "phone_record": "origin", "transfer_sheet": "origin", "leader_instruction": "origin", "id_copy": "origin",
        "evidence": "origin", "notice": "notices", "handling_report": "handling", "investigation": "handling",
        "mediation": "handling", "reply": "handling", "supervision": "supervision", "suggestion": "supervision",
        "review_request": "review", "hearing_record": "review", "review_decision": "review",
        "evaluation": "closing", "closing_summary": "closing",
    }.get(kind, "origin" if kind not in KINDS else "handling")


@view_config(route_name="api_documents", request_method="POST", renderer="json", permission=FILE)
def add_document(request):
    """File a document: multipart ``file``, ``kind``, ``title``, optional ``text``, ``folder``,
    ``ref`` (文号) and ``author`` (责任者). A text-only document (no file) is filed as UTF-8 text."""
    case = request.context
    form(request)
    uploads = uploads_from(request, "file")
    if len(uploads) > 1:
        message = _("one_file", default="Send one file per document.")
        raise APIError(400, "bad_request", message, {"file": message})
    upload = uploads[0] if uploads else None
    kind = form_text(request, "kind", "other").strip() or "other"
    folder = form_text(request, "folder").strip() or default_folder(kind)
    title = form_text(request, "title").strip() or (upload.filename if upload else "")
    text = form_text(request, "text")
    ref, author = form_text(request, "ref").strip(), form_text(request, "author").strip()  # over 100: 422
    exclusive_transaction(request)
    document = intake.file_document(request.site, case, folder, kind, title, upload, by=request.user.username,
                                    text=text, max_bytes=_settings(request)["casefiles.max_upload_bytes"],
                                    ref=ref, author=author)
    request.response.status_int = 201
    request.response.headers["Location"] = request.route_url("api_document", number=case.number, doc=document.id)
    return document_json(document)


@view_config(route_name="api_document", request_method="GET", renderer="json", permission=VIEW)
def get_document(request):
    return document_json(request.context)


@view_config(route_name="api_document_file", request_method="GET", permission=VIEW)
def get_file(request):
    """The original bytes of the current version, or of ``?version=N``."""
    version = None
    raw = request.GET.get("version")
    if raw:
        number = _int_param(request, "version", None, -10 ** 9, 10 ** 9)   # 0, -1: no such version (404)
        version = request.context.version(number)
        if version is None:
            message = _("version_missing", default="This version does not exist.")
            raise APIError(404, "not_found", message, {"version": message})
    if request.context.current is None:
        raise APIError(404, "not_found", _("version_missing", default="This version does not exist."))
    return file_response(request, request.context, version, inline=request.GET.get("inline") == "1")


@view_config(route_name="api_document_versions", request_method="POST", renderer="json", permission=FILE)
def add_version(request):
    """File a corrected version (multipart ``file``, optional ``note``); earlier ones stay."""
    document = request.context
    case = document.case
    uploads = uploads_from(request, "file")
    if len(uploads) != 1:
        message = _("version_file_required", default="Choose the corrected file.") if not uploads else \
            _("one_file", default="Send one file per document.")
        raise APIError(422, "invalid", message, {"file": message})
    note = form_text(request, "note")
    exclusive_transaction(request)
    intake.file_version(case, document, uploads[0], request.user.username, note=note,
                        max_bytes=_settings(request)["casefiles.max_upload_bytes"])
    request.response.status_int = 201
    request.response.headers["Location"] = request.route_url("api_document", number=case.number, doc=document.id)
    return document_json(document)
