"""The JSON API of ../API.md: login, cases, documents and their files, units, petitioners."""
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from casefiles import intake
from casefiles.cases import STATUSES
from casefiles.documents import KINDS
from casefiles.i18n import _
from casefiles.security import FILE, LIST, LOOKUP, REGISTER, VIEW

from .errors import APIError
from .files import file_response
from .serialize import case_json, case_summary, document_json, petitioner_json, user_json
from .uploads import json_body, uploads_from


def _settings(request):
    return request.registry.settings


@view_config(route_name="api_login", request_method="POST", renderer="json", permission=NO_PERMISSION_REQUIRED,
             require_csrf=False)
def login(request):
    body = json_body(request)
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise APIError(400, "bad_request", _("login_fields", default="Send a username and a password."))
    user = request.site.users.authenticate(username, password)
    if user is None:
        raise APIError(401, "unauthorized", _("login_failed", default="Wrong username or password."))
    token = request.site.users.issue_token(user.username, _settings(request)["casefiles.token_lifetime"],
                                           label=request.user_agent or "")
    return {"token": token, "user": user_json(user)}


@view_config(route_name="api_logout", request_method="POST", renderer="json", permission=NO_PERMISSION_REQUIRED)
def logout(request):
    from .auth import bearer_token
    token = bearer_token(request)
    revoked = request.site.users.revoke_token(token) if token else False
    return {"revoked": revoked}


@view_config(route_name="api_me", request_method="GET", renderer="json", permission=LIST)
def me(request):
    return user_json(request.user)


@view_config(route_name="api_units", request_method="GET", renderer="json", permission=LIST)
def units(request):
    return {"units": [{"code": u.code, "name": u.name, "kind": u.kind, "district": u.district}
                      for u in request.site.units.values()]}


@view_config(route_name="api_petitioners", request_method="GET", renderer="json", permission=LOOKUP)
def petitioners(request):
    """A petitioner by ID number, with the earlier cases this user may open."""
    from casefiles.idnumber import id_number_problem
    id_number = request.params.get("id_number", "")
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
    return {"petitioner": petitioner_json(person), "cases": cases}


@view_config(route_name="api_cases", request_method="POST", renderer="json", permission=REGISTER)
def register(request):
    if request.content_type.startswith("multipart/"):
        import json as _json
        try:
            body = _json.loads(request.POST.get("data") or "{}")
        except ValueError:
            raise APIError(400, "bad_json", _("bad_json", default="The request body is not valid JSON."))
        if not isinstance(body, dict):
            raise APIError(400, "bad_json", _("body_object", default="The request body must be an object."))
        uploads = uploads_from(request, "file")
    else:
        body = json_body(request)
        uploads = []
    case = intake.register(request.site, body, uploads, by=request.user.username,
                           max_bytes=_settings(request)["casefiles.max_upload_bytes"])
    request.response.status_int = 201
    request.response.headers["Location"] = request.route_url("api_case", number=case.number)
    return case_json(request, case)


def _int_param(request, name, default, low, high):
    raw = request.params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise APIError(400, "bad_request", _("param_int", default="${name} must be a whole number.",
                                             mapping={"name": name}), {name: raw})
    if not low <= value <= high:
        raise APIError(400, "bad_request", _("param_range", default="${name} must be between ${low} and ${high}.",
                                             mapping={"name": name, "low": low, "high": high}), {name: raw})
    return value


LIST_FILTERS = ("status", "unit", "channel", "district", "category", "petition_type", "year")


def list_filters(request):
    filters = {}
    for name in LIST_FILTERS:
        value = request.params.get(name)
        if value:
            if name == "year":
                value = _int_param(request, "year", None, 1990, 2100)
            elif name == "status" and value not in STATUSES:
                raise APIError(400, "bad_request", _("status_bad", default="Unknown status ${s}.",
                                                     mapping={"s": value}), {"status": value})
            filters[name] = value
    return filters


def query_cases(request, filters, page, size):
    catalog = request.site.catalog
    total, numbers = catalog.query(request.principals, filters, limit=page * size)
    numbers = numbers[(page - 1) * size: page * size]
    cases = [request.site.cases.by_number(n) for n in numbers]
    return total, [c for c in cases if c is not None]


@view_config(route_name="api_cases", request_method="GET", renderer="json", permission=LIST)
def list_cases(request):
    page = _int_param(request, "page", 1, 1, 100000)
    size = _int_param(request, "size", _settings(request)["casefiles.page_size"], 1, 200)
    total, cases = query_cases(request, list_filters(request), page, size)
    return {"total": total, "page": page, "size": size, "cases": [case_summary(request, c) for c in cases]}


@view_config(route_name="api_case", request_method="GET", renderer="json", permission=VIEW)
def get_case(request):
    return case_json(request, request.context)


@view_config(route_name="api_documents", request_method="GET", renderer="json", permission=VIEW)
def list_documents(request):
    return {"documents": [document_json(d) for d in request.context.documents()]}


@view_config(route_name="api_documents", request_method="POST", renderer="json", permission=FILE)
def add_document(request):
    case = request.context
    params = request.POST
    uploads = uploads_from(request, "file")
    if len(uploads) > 1:
        raise APIError(400, "bad_request", _("one_file", default="Send one file per document."), {"file": "one"})
    kind = params.get("kind", "other")
    folder = params.get("folder") or default_folder(kind)
    document = intake.file_document(request.site, case, folder, kind, params.get("title") or
                                    (uploads[0].filename if uploads else ""), uploads[0] if uploads else None,
                                    by=request.user.username, text=params.get("text", ""),
                                    max_bytes=_settings(request)["casefiles.max_upload_bytes"],
                                    ref=params.get("ref", ""), author=params.get("author", ""))
    request.site.catalog.reindex(case)
    request.response.status_int = 201
    request.response.headers["Location"] = request.route_url("api_document", number=case.number, doc=document.id)
    return document_json(document)


def default_folder(kind):
    return {
        "letter": "origin", "letter_scan": "origin", "visit_transcript": "origin", "online_complaint": "origin",
        "phone_record": "origin", "transfer_sheet": "origin", "leader_instruction": "origin", "id_copy": "origin",
        "evidence": "origin", "notice": "notices", "handling_report": "handling", "investigation": "handling",
        "mediation": "handling", "reply": "handling", "supervision": "supervision", "suggestion": "supervision",
        "review_request": "review", "hearing_record": "review", "review_decision": "review",
        "evaluation": "closing", "closing_summary": "closing",
    }.get(kind, "origin" if kind not in KINDS else "handling")


@view_config(route_name="api_document", request_method="GET", renderer="json", permission=VIEW)
def get_document(request):
    return document_json(request.context)


@view_config(route_name="api_document_file", request_method="GET", permission=VIEW)
def get_file(request):
    version = None
    if request.params.get("version"):
        try:
            version = request.context.version(int(request.params["version"]))
        except ValueError:
            version = None
        if version is None:
            raise APIError(404, "not_found", _("version_missing", default="This version does not exist."))
    return file_response(request, request.context, version, inline=request.params.get("inline") == "1")


@view_config(route_name="api_document_versions", request_method="POST", renderer="json", permission=FILE)
def add_version(request):
    document = request.context
    case = document.case
    uploads = uploads_from(request, "file")
    if len(uploads) != 1:
        raise APIError(422, "invalid", _("file_required", default="Choose a file or enter the text."),
                       {"file": _("file_required", default="Choose a file or enter the text.")})
    intake.file_version(case, document, uploads[0], request.user.username, note=request.POST.get("note", ""),
                        max_bytes=_settings(request)["casefiles.max_upload_bytes"])
    request.response.status_int = 201
    return document_json(document)


