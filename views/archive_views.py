"""The dossier and the archive on the web.

- ``/cases/…/XY-2025-000001/@@read`` 阅卷: the whole file as one PDF in the browser, with
  its bookmarks and a table of contents beside it; ``@@dossier.pdf`` the PDF itself. An
  archived case shows its stored dossier; an open one a reading copy built on the fly
  (cached until the case changes).
- ``@@package.zip`` and ``GET /api/cases/{number}/package``: the archival package (a zip
  holding the BagIt bag) of an archived case; ``GET /api/cases/{number}/dossier.pdf``.
- ``/archive``: closed cases waiting to be archived, the archived cases, those past their
  retention period with the disposal approvals (two different administrators), and the
  disposal records. ``POST /archive/dispose`` and ``POST /api/archive/dispose`` approve.

Archiving itself is the workflow's ``archive`` action (the form on the case page); the
archive store writes the package when that transaction commits (``archive.store``).
"""
import datetime
import os
import tempfile

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.response import FileIter, FileResponse, Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from archive import dossier as D
from archive import package as P
from archive import store as S
from casefiles import archival, localtime
from casefiles.cases import STAGES, Case
from casefiles.errors import Conflict, DomainError
from casefiles.i18n import _
from casefiles.security import ADMINISTER, VIEW

from .case_pages import _int
from .errors import APIError, error_response
from .files import content_disposition


def _settings(request):
    return request.registry.settings


def _now():
    return localtime.now()


def _today():
    return localtime.today()


# ---------------------------------------------------------------- the dossier

def dossier_file(request, case):
    """(path, documents) of the dossier to show: the stored one of an archived case, or a
    reading copy. ``documents``: dicts with seq, folder, title, start, pages."""
    settings = _settings(request)
    if case.status == "archived":
        path = S.stored_dossier(settings, case)
        if path is None:
            raise APIError(404, "not_found", _("dossier_missing", default="The archived dossier of this case is "
                                                "missing from the archive store; run casefiles-archive verify."))
        try:
            data = P.read_bag(os.path.dirname(os.path.dirname(path)))
            documents = [{"seq": d["seq"], "folder": d["folder"], "title": d["title"], "start": d["start"],
                          "pages": d["pages"]} for d in data.documents]
        except (OSError, P.PackageInvalid, ValueError):
            documents = []
        return path, documents, False
    path, documents = S.reading_copy(request.site, case, settings)
    return path, documents, True


def dossier_response(request, case, inline):
    path, _documents, reading = dossier_file(request, case)
    name = f"{case.number}-{'阅卷副本' if reading else '卷宗'}.pdf"
    response = FileResponse(path, request=request, content_type="application/pdf")
    response.headers["Content-Disposition"] = content_disposition("inline" if inline else "attachment", name)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@view_config(context=Case, name="dossier.pdf", permission=VIEW)
def dossier_pdf(request):
    return dossier_response(request, request.context, inline=request.params.get("download") != "1")


@view_config(route_name="api_case_dossier", request_method="GET", permission=VIEW)
def api_dossier(request):
    return dossier_response(request, request.context, inline=request.params.get("inline") == "1")


def _folder_titles():
    return dict(STAGES)


@view_config(context=Case, name="read", renderer="archive_read.jinja2", permission=VIEW)
def read_page(request):
    case = request.context
    path, documents, reading = dossier_file(request, case)
    titles = _folder_titles()
    groups = []
    for document in documents:
        if not groups or groups[-1]["folder"] != document["folder"]:
            groups.append({"folder": document["folder"], "title": titles.get(document["folder"], document["folder"]),
                           "documents": []})
        groups[-1]["documents"].append(document)
    return {"case": case, "groups": groups, "reading_copy": reading,
            "pdf_url": request.resource_url(case, "@@dossier.pdf"),
            "download_url": request.resource_url(case, "@@dossier.pdf", query={"download": "1"}),
            "package_url": request.resource_url(case, "@@package.zip") if case.status == "archived" else None}


# ---------------------------------------------------------------- the package

def package_response(request, case):
    if case.status != "archived":
        raise Conflict(_("package_not_archived", default="Case ${number} is not archived yet; it has no archival "
                         "package.", mapping={"number": case.number}), {"status": case.status})
    store = S.Store.from_settings(_settings(request))
    bag = store.path(case.number)
    if not store.exists(case.number):
        raise APIError(404, "not_found", _("package_missing", default="The archival package of this case is missing "
                                            "from the archive store; run casefiles-archive verify."))
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    date = case.archived_at or datetime.datetime(2000, 1, 1)
    P.zip_bag(bag, spool, case.number, date)
    size = spool.tell()
    spool.seek(0)
    response = Response(app_iter=FileIter(spool), content_type="application/zip")
    response.content_length = size
    response.headers["Content-Disposition"] = content_disposition("attachment", f"{case.number}-归档封装包.zip")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _may_have_identity(request, case):
    """The package's metadata keeps the petitioners' full ID and phone numbers (it is the
    archival record): only those who see them in full or may reveal them (casefiles.privacy)
    download it; the download is in the audit trail."""
    from casefiles import privacy
    from casefiles.errors import Forbidden
    if not privacy.may_reveal(request.user, request.has_permission, case):
        raise Forbidden(_("package_identity", default="The archival package contains petitioners' full ID and "
                                                      "phone numbers, which you may not see."), {})


@view_config(context=Case, name="package.zip", permission=VIEW)
def package_zip(request):
    _may_have_identity(request, request.context)
    return package_response(request, request.context)


@view_config(route_name="api_case_package", request_method="GET", permission=VIEW)
def api_package(request):
    _may_have_identity(request, request.context)
    return package_response(request, request.context)


# ---------------------------------------------------------------- the archive pages

def _case_row(site, case, today):
    pending = site.archival.pending.get(case.number, ()) if site.archival is not None else ()
    return {
        "case": case, "ref": case.archival_ref, "number": case.number, "subject": case.subject,
        "retention": archival.retention_title(case.retention), "archived_at": case.archived_at,
        "due": case.retention_due, "past": case.retention_due is not None and case.retention_due <= today,
        "approvals": [{"by": a[0], "name": _user_name(site, a[0]), "at": a[1], "note": a[2]} for a in pending],
    }


def _user_name(site, username):
    user = site.users.get(username or "")
    return user.name if user is not None and user.name else username


PAGE_SIZE = 100


@view_config(route_name="archive_list", renderer="archive_list.jinja2", permission=VIEW)
def archive_list(request):
    site = request.site
    today = _today()
    retention = request.params.get("retention", "")
    if retention not in archival.RETENTIONS:
        retention = ""
    year = _int(request.params.get("year"), None, 1990, 2100)
    page = _int(request.params.get("page"), 1, 1, 100000)
    cases = archival.archived_cases(site)
    years = sorted({c.archival_year for c in cases if c.archival_year}, reverse=True)
    shown = [c for c in cases if (not retention or c.retention == retention) and (not year or c.archival_year == year)]
    total = len(shown)
    rows = [_case_row(site, c, today) for c in shown[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]]
    due = [_case_row(site, c, today) for c in archival.due_cases(site, today)]
    total_closed, closed_numbers = site.catalog.query(request.principals, {"status": "closed"}, limit=50)
    closed = [site.cases.by_number(n) for n in closed_numbers]
    return {
        "rows": rows, "due": due, "total": total, "page": page, "pages": max(1, -(-total // PAGE_SIZE)),
        "retention": retention, "year": year, "years": years, "retentions": list(archival.RETENTIONS.items()),
        "closed": [c for c in closed if c is not None], "total_closed": total_closed,
        "disposals": len(site.archival.disposals) if site.archival is not None else 0,
        "is_admin": bool(request.has_permission(ADMINISTER, site)), "today": today,
        "me": request.user.username if request.user else "",
    }


@view_config(route_name="archive_disposals", renderer="archive_disposals.jinja2", permission=VIEW)
def disposals_page(request):
    site = request.site
    records = sorted(site.archival.disposals.values(), key=lambda r: r.disposed_at or datetime.datetime.min,
                     reverse=True) if site.archival is not None else []
    return {"records": records, "user_name": lambda u: _user_name(site, u)}


def approve(request, number, note):
    """Record the user's approval; a second administrator's approval disposes of the case."""
    now = _now()
    return S.dispose(request.site, number, request.user.username, _settings(request), now=now, today=now.date(),
                     note=note)


@view_config(route_name="archive_dispose", request_method="POST", permission=ADMINISTER)
def dispose_form(request):
    number = (request.POST.get("number") or "").strip()
    try:
        record, approvals = approve(request, number, request.POST.get("note", ""))
    except DomainError as exc:
        request.tm.doom()
        request.session.flash(request.t(exc.message))
        return HTTPSeeOther(request.route_url("archive_list") + "#due")
    if record is None:
        request.session.flash(request.t(_("dispose_pending", default="Your approval of disposing of ${number} is "
                                          "recorded; a second administrator must approve.",
                                          mapping={"number": number})))
    else:
        request.session.flash(request.t(_("dispose_done", default="Case ${number} was disposed of; the disposal "
                                          "record keeps what it held and who decided.", mapping={"number": number})))
    return HTTPSeeOther(request.route_url("archive_list") + "#due")


@view_config(route_name="api_archive_due", request_method="GET", renderer="json", permission=VIEW)
def api_due(request):
    site = request.site
    today = _today()
    out = []
    for case in archival.due_cases(site, today):
        row = _case_row(site, case, today)
        out.append({"number": case.number, "archival_ref": case.archival_ref, "retention": case.retention,
                    "retention_due": case.retention_due, "archived_at": case.archived_at, "subject": case.subject,
                    "approvals": [{"by": a["by"], "at": a["at"]} for a in row["approvals"]]})
    return {"today": today, "cases": out}


@view_config(route_name="api_archive_dispose", request_method="POST", renderer="json", permission=ADMINISTER)
def api_dispose(request):
    from .uploads import json_body
    body = json_body(request)
    number = body.get("number")
    if not isinstance(number, str) or not number.strip():
        message = _("dispose_number_required", default="Name the case to dispose of.")
        raise APIError(422, "invalid", message, {"number": message})
    note = body.get("note") if isinstance(body.get("note"), str) else ""
    record, approvals = approve(request, number.strip(), note)
    return {"number": number.strip(), "disposed": record is not None,
            "approvals": [{"by": a[0], "at": a[1], "note": a[2]} for a in approvals],
            "record": record.as_json() if record is not None else None}


# ---------------------------------------------------------------- the case page's panel

class ArchivePanel:
    """What the archive partial of the case page shows."""

    def __init__(self, request, case):
        self.request = request
        self.case = case
        site = request.site
        self.archived = case.status == "archived"
        self.retention = archival.retention_title(case.retention)
        self.read_url = request.resource_url(case, "@@read")
        self.dossier_url = request.resource_url(case, "@@dossier.pdf", query={"download": "1"})
        self.package_url = request.resource_url(case, "@@package.zip") if self.archived else None
        self.is_admin = bool(request.has_permission(ADMINISTER, site))
        self.can_archive = case.status == "closed" and self.is_admin
        self.archive_url = request.resource_url(case, query={"wf_open": "archive"}) + "#workflow"
        pending = site.archival.pending.get(case.number, ()) if site.archival is not None else ()
        self.approvals = [{"by": a[0], "name": _user_name(site, a[0]), "at": a[1]} for a in pending]
        self.past = self.archived and case.retention_due is not None and case.retention_due <= _today()
        self.compiled_by = case.compiled_by
        self.checked_by = case.checked_by


def archive_panel(request, case):
    return ArchivePanel(request, case)


@view_config(context=D.FontMissing, permission=NO_PERMISSION_REQUIRED)
def font_missing(exc, request):
    return error_response(request, 503, "no_font", D.FontMissing.message)


def includeme(config):
    routes = [
        ("api_case_dossier", "/api/cases/{number}/dossier.pdf", "case_factory"),
        ("api_case_package", "/api/cases/{number}/package", "case_factory"),
        ("api_archive_due", "/api/archive/due", "site_factory"),
        ("api_archive_dispose", "/api/archive/dispose", "site_factory"),
        ("archive_list", "/archive", "site_factory"),
        ("archive_dispose", "/archive/dispose", "site_factory"),
        ("archive_disposals", "/archive/disposals", "site_factory"),
    ]
    from . import routes as r
    for name, pattern, factory in routes:
        config.add_route(name, pattern, factory=getattr(r, factory))
    config.add_request_method(archive_panel, "archive_panel")
