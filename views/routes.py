"""URL dispatch for the JSON API (``/api/...``) and the named pages; everything else is
traversal over the site (``/cases/2025/XY-2025-000001/origin/<doc id>``).

Route factories return the resource a URL names, so that view permissions are checked
against that resource's ACL.
"""
from pyramid.security import NO_PERMISSION_REQUIRED

from casefiles.i18n import _

from . import root_factory


def site_factory(request):
    return root_factory(request)


def case_factory(request):
    site = root_factory(request)
    case = site.cases.by_number(request.matchdict.get("number", ""))
    if case is None:
        raise _not_found(request, _("case_missing", default="There is no case numbered ${number}.",
                                    mapping={"number": request.matchdict.get("number", "")}))
    return case


def document_factory(request):
    case = case_factory(request)
    for stage in case.stages():
        document = stage.get(request.matchdict.get("doc", ""))
        if document is not None:
            return document
    raise _not_found(request, _("document_missing", default="The case has no such document."))


def _not_found(request, message):
    from .errors import STATUS_MESSAGES, APIError
    if request.user is None:  # say nothing about which cases exist before a login
        return APIError(401, "unauthorized", STATUS_MESSAGES[401])
    return APIError(404, "not_found", message)


def includeme(config):
    config.add_static_view("static", "views:static", cache_max_age=3600, permission=NO_PERMISSION_REQUIRED)
    api = [
        ("api_login", "/api/login", site_factory),
        ("api_logout", "/api/logout", site_factory),
        ("api_me", "/api/me", site_factory),
        ("api_units", "/api/units", site_factory),
        ("api_petitioners", "/api/petitioners", site_factory),
        ("api_cases", "/api/cases", site_factory),
        ("api_case", "/api/cases/{number}", case_factory),
        ("api_documents", "/api/cases/{number}/documents", case_factory),
        ("api_document", "/api/cases/{number}/documents/{doc}", document_factory),
        ("api_document_file", "/api/cases/{number}/documents/{doc}/file", document_factory),
        ("api_document_versions", "/api/cases/{number}/documents/{doc}/versions", document_factory),
    ]
    search = [  # views/search.py
        ("search", "/search", site_factory),
        ("search_saved", "/search/saved", site_factory),
        ("search_saved_delete", "/search/saved/{id}/delete", site_factory),
        ("api_search", "/api/search", site_factory),
        ("api_similar", "/api/similar", site_factory),
        ("api_case_similar", "/api/cases/{number}/similar", case_factory),
        ("api_searches", "/api/searches", site_factory),
        ("api_search_saved", "/api/searches/{id}", site_factory),
    ]
    for name, pattern, factory in search:
        config.add_route(name, pattern, factory=factory)
    config.add_route("login", "/login", factory=site_factory)
    config.add_route("logout", "/logout", factory=site_factory)
    for name, pattern, factory in api:
        config.add_route(name, pattern, factory=factory)
    config.include(".workflow")   # workflow actions, queues, experts, reception days, calendar
    config.include(".archive_views")   # dossiers, packages, the archive and disposals
    config.include(".admin")      # users, roles, passwords, tokens
    config.include(".identity")   # revealing petitioners' identity; who can open a case
