"""Pages about cases, reached by traversal over the site:

- ``/cases/`` the case list (filters and paging, answered by the catalog, never a scan);
- ``/cases/2025/XY-2025-000001/`` the case page; ``@@file`` files a document into it;
- ``/cases/2025/XY-2025-000001/origin/`` a folder (stage) of the case;
- ``.../origin/<id>/`` a document page; ``@@inline``, ``@@download`` and ``@@versions``
  (``?version=N`` for an earlier version) on the document.

Filing forms POST, call a domain function and redirect with a flash message; a refused
filing renders the form again with the messages next to the fields and the error's status.
"""
import math
import os

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config

from casefiles import intake
from casefiles.cases import CHANNELS, STAGES, STATUSES, Case, Cases, CaseYear, Stage
from casefiles.documents import KINDS, Document, decode_text
from casefiles.errors import DomainError, ValidationError
from casefiles.i18n import _
from casefiles.security import FILE, LIST, VIEW
from casefiles.units import CITY_LEVEL, DISTRICTS

from .api import default_folder
from .files import file_response
from .intake_pages import field_messages
from .pages import DONE_STATUSES, OPEN_STATUSES, shanghai_now
from .uploads import uploads_from

GROUPS = {"open": OPEN_STATUSES, "done": DONE_STATUSES}
TEXT_PREVIEW_BYTES = 256 * 1024
IMAGE_PREVIEW = ("image/jpeg", "image/png")

ACTION_TITLES = {
    "register": _("action_register", default="Registered"),
    "file": _("action_file", default="Document filed"),
    "version": _("action_version", default="Corrected version filed"),
    "route": _("action_route", default="Routed to a unit"),
    "accept": _("action_accept", default="Accepted"),
    "reject": _("action_reject", default="Not accepted"),
    "refuse-repeat": _("action_refuse_repeat", default="Not accepted again"),
    "file-for-record": _("action_file_for_record", default="Filed for the record"),
    "forward": _("action_forward", default="Forwarded"),
    "assign": _("action_assign", default="Assigned"),
    "object": _("action_object", default="Unit objected"),
    "report": _("action_report", default="Unit reported"),
    "approve-report": _("action_approve_report", default="Report approved"),
    "return-report": _("action_return_report", default="Report returned"),
    "extend": _("action_extend", default="Extended"),
    "supervise": _("action_supervise", default="Supervised"),
    "reply": _("action_reply", default="Replied"),
    "evaluate": _("action_evaluate", default="Satisfaction evaluated"),
    "request-review": _("action_request_review", default="Review requested"),
    "decide-review": _("action_decide_review", default="Review decided"),
    "request-recheck": _("action_request_recheck", default="Re-review requested"),
    "schedule-hearing": _("action_schedule_hearing", default="Hearing scheduled"),
    "record-hearing": _("action_record_hearing", default="Hearing recorded"),
    "decide-recheck": _("action_decide_recheck", default="Re-review decided"),
    "mark-repeat": _("action_mark_repeat", default="Marked as a repeat item"),
    "join": _("action_join", default="Joined into a lead case"),
    "close": _("action_close", default="Closed"),
    "archive": _("action_archive", default="Archived"),
    "deliver": _("action_deliver", default="Reply delivered"),
    "end-supervision": _("action_end_supervision", default="Supervision ended"),
    "suggest": _("action_suggest", default="Suggestion issued"),
    "answer-suggestion": _("action_answer_suggestion", default="Suggestion answered"),
    "recompute": _("action_recompute", default="Due dates recomputed"),
}


def _settings(request):
    return request.registry.settings


def _int(value, default, low, high):
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if low <= number <= high else default


# ---------------------------------------------------------------- the case list

def _ignored(problems, name, value):
    """Note a query parameter the list cannot use: the page says it was not applied (the API
    answers the same with a 400)."""
    if problems is not None:
        problems.append(_("filter_ignored", default="Unknown value ${value} for ${name}: this filter was not applied.",
                          mapping={"value": str(value)[:100], "name": name}))


def list_filters(request, problems=None):
    """The list's filters from the query string; unknown values are not applied, and each is
    added to ``problems`` (messages the page shows)."""
    params = request.params
    site = request.site
    filters, shown = {}, {}
    status = params.get("status", "")
    if status in GROUPS:
        filters["status"] = list(GROUPS[status])
        shown["status"] = status
    elif status in STATUSES:
        filters["status"] = shown["status"] = status
    elif status:
        _ignored(problems, "status", status)
    channel = params.get("channel", "")
    if channel in CHANNELS:
        filters["channel"] = shown["channel"] = channel
    elif channel:
        _ignored(problems, "channel", channel)
    district = params.get("district", "")
    if district in DISTRICTS + (CITY_LEVEL,):
        filters["district"] = shown["district"] = district
    elif district:
        _ignored(problems, "district", district)
    unit = params.get("unit", "")
    if unit and unit in site.units:
        filters["unit"] = shown["unit"] = unit
    elif unit:
        _ignored(problems, "unit", unit)
    year = _int(params.get("year"), None, 1990, 2100)
    if year:
        filters["year"] = year
        shown["year"] = str(year)
    elif params.get("year"):
        _ignored(problems, "year", params["year"])
    return filters, shown


@view_config(context=Cases, renderer="cases_view.jinja2", permission=LIST)
def case_list(request):
    problems = []
    filters, shown = list_filters(request, problems)
    default_size = _settings(request)["casefiles.page_size"]
    size = _int(request.params.get("size"), default_size, 1, 200)
    if request.params.get("size") and size == default_size and request.params["size"] != str(default_size):
        _ignored(problems, "size", request.params["size"])
    raw_page = request.params.get("page", "")
    page = _int(raw_page, None, 1, 10 ** 9)
    if page is None:
        page = 1
        if raw_page:
            _ignored(problems, "page", raw_page)
    total, numbers = request.site.catalog.query(request.principals, filters, limit=min(page, 100000) * size)
    numbers = numbers[(page - 1) * size: page * size]
    cases = [c for c in (request.site.cases.by_number(n) for n in numbers) if c is not None]
    pages = max(1, math.ceil(total / size))
    beyond = page > pages   # an empty page that says so (the API answers an empty list), with a link to the last
    query = dict(shown)
    if size != default_size:
        query["size"] = str(size)
    years = sorted((int(k) for k in request.site.cases.keys() if k.isdigit()), reverse=True)
    return {
        "cases": cases, "total": total, "page": page, "pages": pages, "size": size,
        "shown": shown, "query": query, "years": years,
        "units": request.site.units.active_units(),
        "page_links": page_links(page, pages),
        "first": (page - 1) * size + 1 if cases else 0,
        "last": (page - 1) * size + len(cases),
        "problems": [request.t(p) for p in problems],
        "beyond": beyond,
    }


def page_links(page, pages):
    """Page numbers to show around the current page, with None for a gap."""
    wanted = {1, pages, page - 2, page - 1, page, page + 1, page + 2}
    out, previous = [], 0
    for n in sorted(p for p in wanted if 1 <= p <= pages):
        if n - previous > 1:
            out.append(None)
        out.append(n)
        previous = n
    return out


@view_config(context=CaseYear, permission=LIST)
def year_view(request):
    return HTTPSeeOther(request.resource_url(request.site["cases"], query={"year": request.context.year}))


# ---------------------------------------------------------------- the case page

KIND_ORDER = {kind: i for i, kind in enumerate(KINDS)}


def sorted_documents(stage):
    """Documents in filing order (documents filed before the sequence existed: by kind, then title)."""
    return sorted(stage.values(), key=lambda d: d.order_key + (KIND_ORDER.get(d.kind, len(KIND_ORDER)), d.title))


def folders(case):
    return [(case[name], sorted_documents(case[name])) for name, _title in STAGES]


def history_rows(request, case):
    rows = []
    for entry in reversed(case.history):
        title = ACTION_TITLES.get(entry.action)
        rows.append((entry, request.t(title) if title is not None else entry.action))
    return rows


def can_file(request, case):
    return case.status != "archived" and bool(request.has_permission(FILE, case))


def filing_values(request, folder=""):
    return {"folder": folder, "kind": "other", "title": "", "ref": "", "author": "", "text": ""}


@view_config(context=Case, renderer="casefile_view.jinja2", permission=VIEW)
def case_view(request):
    case = request.context
    tree = folders(case)
    return {
        "case": case,
        "folders": tree,
        "document_count": sum(len(documents) for _stage, documents in tree),
        "history": history_rows(request, case),
        "can_file": can_file(request, case),
        "values": filing_values(request),
        "errors": {},
        "message": None,
        "max_bytes": _settings(request)["casefiles.max_upload_bytes"],
    }


@view_config(context=Case, name="file", renderer="casefile_file.jinja2", permission=FILE)
def file_view(request):
    """File one more document into a folder of the case (GET shows the form)."""
    case = request.context
    values = filing_values(request, request.params.get("folder", ""))
    errors, message = {}, None
    if request.method == "POST":
        post = request.POST
        values = {key: post.get(key, "").strip() for key in ("folder", "kind", "title", "ref", "author", "text")}
        uploads = uploads_from(request, "file")
        try:
            if len(uploads) > 1:
                raise ValidationError(_("one_file", default="Send one file per document."),
                                             {"file": _("one_file", default="Send one file per document.")})
            upload = uploads[0] if uploads else None
            kind = values["kind"] or "other"
            title = values["title"] or (os.path.splitext(upload.filename)[0] if upload else "")
            document = intake.file_document(
                request.site, case, values["folder"] or default_folder(kind), kind, title, upload,
                by=request.user.username, text=values["text"], now=shanghai_now(),
                max_bytes=_settings(request)["casefiles.max_upload_bytes"], ref=values["ref"],
                author=values["author"])
        except DomainError as exc:
            request.tm.doom()
            request.response.status_int = exc.status
            message = request.t(exc.message)
            errors = field_messages(request, exc, "file")
        else:
            request.site.catalog.reindex(case)
            request.session.flash(request.t(_("ui_filed", default="Filed “${title}” into ${folder}.",
                                              mapping={"title": document.title,
                                                       "folder": document.__parent__.title})))
            return HTTPSeeOther(request.resource_url(document))
    return {
        "case": case,
        "values": values,
        "errors": errors,
        "message": message,
        "can_file": can_file(request, case),
        "max_bytes": _settings(request)["casefiles.max_upload_bytes"],
    }


@view_config(context=Stage, renderer="stage_view.jinja2", permission=VIEW)
def folder_view(request):
    stage = request.context
    case = stage.__parent__
    return {
        "case": case,
        "stage": stage,
        "documents": sorted_documents(stage),
        "can_file": can_file(request, case),
        "values": filing_values(request, stage.__name__),
        "errors": {},
        "message": None,
        "max_bytes": _settings(request)["casefiles.max_upload_bytes"],
    }


# ---------------------------------------------------------------- documents

def requested_version(request, document):
    raw = request.params.get("version")
    if raw in (None, ""):
        return document.current
    version = document.version(_int(raw, -1, 1, 100000))
    if version is None:
        raise HTTPNotFound()
    return version


def preview(version):
    """How the document page shows a version: pdf, image, text (with the text) or none."""
    if version is None:
        return "none", ""
    if version.media_type == "application/pdf":
        return "pdf", ""
    if version.media_type in IMAGE_PREVIEW:
        return "image", ""
    if version.media_type == "text/plain":
        with version.open() as f:
            data = f.read(TEXT_PREVIEW_BYTES + 1)
        text = decode_text(data[:TEXT_PREVIEW_BYTES], version.charset)   # GBK, UTF-16: as filed
        return "text", text + ("\n…" if len(data) > TEXT_PREVIEW_BYTES else "")
    return "none", ""


def document_page(request, document, version, errors=None, message=None, note=""):
    case = document.case
    kind, text = preview(version)
    return {
        "case": case,
        "stage": document.__parent__,
        "document": document,
        "version": version,
        "is_current": version is document.current,
        "preview": kind,
        "preview_text": text,
        "can_file": can_file(request, case),
        "errors": errors or {},
        "message": message,
        "note": note,
        "max_bytes": _settings(request)["casefiles.max_upload_bytes"],
    }


@view_config(context=Document, renderer="document_view.jinja2", permission=VIEW)
def document_view(request):
    document = request.context
    return document_page(request, document, requested_version(request, document))


@view_config(context=Document, name="inline", permission=VIEW)
def inline_view(request):
    document = request.context
    return file_response(request, document, requested_version(request, document), inline=True)


@view_config(context=Document, name="download", permission=VIEW)
def download_view(request):
    document = request.context
    return file_response(request, document, requested_version(request, document), inline=False)


@view_config(context=Document, name="versions", request_method="GET", renderer="document_versions.jinja2",
             permission=VIEW)
def versions_view(request):
    document = request.context
    return document_page(request, document, document.current)


@view_config(context=Document, name="versions", request_method="POST", renderer="document_versions.jinja2",
             permission=FILE)
def add_version(request):
    """File a corrected version; the earlier versions stay readable."""
    document = request.context
    case = document.case
    note = request.POST.get("note", "").strip()
    uploads = uploads_from(request, "file")
    try:
        if len(uploads) != 1:
            message = _("version_file_required", default="Choose the corrected file.") if not uploads else \
                _("one_file", default="Send one file per document.")
            raise ValidationError(message, {"file": message})
        version = intake.file_version(case, document, uploads[0], request.user.username, note=note,
                                      now=shanghai_now(), max_bytes=_settings(request)["casefiles.max_upload_bytes"])
    except DomainError as exc:
        request.tm.doom()
        request.response.status_int = exc.status
        return document_page(request, document, document.current, field_messages(request, exc, "file"),
                             request.t(exc.message), note)
    request.site.catalog.reindex(case)
    request.session.flash(request.t(_("ui_version_filed", default="Version ${n} of “${title}” filed; "
                                      "the earlier versions stay readable.",
                                      mapping={"n": version.number, "title": document.title})))
    return HTTPSeeOther(request.resource_url(document))
