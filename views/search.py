"""Search in the web UI and the JSON API.

- ``/search`` the search page: one box with the query language of ``indexing.query``,
  facets to narrow down, sort, paging, saved searches; ``case=NUMBER`` searches within one
  case. ``GET /api/search`` answers the same in JSON (API.md "Search").
- ``…/<document>/@@hit?q=`` a document with the searched words highlighted and the state
  of its text extraction; ``document_highlight.jinja2`` is the same as a partial for the
  document page.
- ``GET /api/cases/{number}/similar`` and ``GET /api/similar?subject=&content=&id_number=``
  (the live panel at intake): similar earlier cases with the reasons, and category
  suggestions.
- ``/api/searches`` and ``/search/saved`` saved searches per user.

Every result is filtered by the user's principals inside ``indexing.search``; the hits of
the page are checked again against the live ACL. Petitioners' ID and phone numbers are
searchable only by users who see them in full (``casefiles.privacy.full_identity``): for
others those parts of a search match nothing (``indexing.query``), and the answer says so.
"""
from urllib.parse import urlencode

from pyramid.events import BeforeRender, subscriber
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from casefiles.cases import CHANNELS, STATUSES
from casefiles.documents import KINDS, Document
from casefiles.errors import DomainError
from casefiles.i18n import _
from casefiles.privacy import full_identity
from casefiles.security import LIST, VIEW
from indexing import saved as saved_searches
from indexing import schema as S
from indexing.extract import extraction_state
from indexing.highlight import fragments, mark_all
from indexing.query import QueryError, Vocabulary, filters_from_params, parse
from indexing.search import Caches, search
from indexing.similar import similar_cases, suggest_categories

from .errors import APIError

PAGE_SIZE = 20
MAX_PAGE = 500
FACET_TITLES = {
    S.STATUS: _("facet_status", default="Status"),
    S.CHANNEL: _("facet_channel", default="Channel"),
    S.DISTRICT: _("facet_district", default="District"),
    S.CATEGORY: _("facet_category", default="Category"),
    S.UNIT: _("facet_unit", default="Responsible unit"),
    S.YEAR: _("facet_year", default="Year"),
    S.KIND: _("facet_kind", default="Kind"),
}
FACET_PARAMS = {S.STATUS: "status", S.CHANNEL: "channel", S.DISTRICT: "district", S.CATEGORY: "category",
                S.UNIT: "unit", S.YEAR: "year", S.KIND: "kind"}
OCR_STATES = {
    "pending": _("ocr_pending", default="Waiting for text recognition"),
    "text": _("ocr_text", default="Text read from the PDF"),
    "ocr": _("ocr_done", default="Text recognized (OCR)"),
    "empty": _("ocr_empty", default="No legible text was found"),
    "failed": _("ocr_failed", default="Text recognition failed"),
    "unavailable": _("ocr_unavailable", default="Text recognition is not installed on the server"),
}
REASONS = {
    "petitioner": ("similar_petitioner", "same petitioner"),
    "text": ("similar_text", "similar text: ${words}"),
    "district": ("similar_district", "same place: ${district}"),
}
_("similar_petitioner", default="same petitioner")
_("similar_text", default="similar text: ${words}")
_("similar_district", default="same place: ${district}")
NUMBERS_WITHHELD = _("search_numbers_withheld",
                     default="Searching by ID or phone number is only for users who see the numbers in full; "
                             "those parts of the search matched nothing.")


def _caches(request):
    indexer = request.search_indexer
    caches = getattr(indexer, "_search_caches", None)
    if caches is None:
        caches = indexer._search_caches = Caches()
    return caches


def _vocab(request):
    return Vocabulary.from_site(request.site)


def _bad_query(error):
    return APIError(400, "bad_query", error.message, {error.field: error.message})


def _int(request, name, default, low, high):
    raw = request.params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        message = _("param_range", default="${name} must be between ${low} and ${high}.",
                    mapping={"name": name, "low": low, "high": high})
        raise APIError(400, "bad_request", message, {name: message})
    return value


def facet_title(request, field, value):
    if value == S.NONE:
        return request.t(_("facet_none", default="(none)"))
    if field == S.STATUS:
        return STATUSES.get(value, value)
    if field == S.CHANNEL:
        return CHANNELS.get(value, value)
    if field == S.KIND:
        return request.t(_("facet_case", default="Case")) if value == S.CASE_KIND else KINDS.get(value, value)
    if field == S.UNIT:
        unit = request.site.units.get(value)
        return unit.name if unit is not None else value
    return value


def _masked(markup):
    from markupsafe import Markup
    from casefiles.privacy import mask_text
    return Markup(mask_text(str(markup))) if markup is not None else markup


def _mask_hit(request, hit, case):
    """ID and phone numbers in a hit's title and snippets, masked for a user who does not see
    them in full on this case (``casefiles.privacy``): such a user cannot search by a number
    (``indexing.query``, ``numbers=False``), and other numbers near the words found stay masked."""
    from .pages import identity_for
    if not identity_for(request, case).full:
        hit.title_html = _masked(hit.title_html)
        hit.highlights = [_masked(h) for h in hit.highlights]


class Search:
    """One search as the page and the API run it."""

    def __init__(self, request, params=None):
        self.request = request
        self.params = params if params is not None else request.params
        self.q = (self.params.get("q") or "").strip()
        self.sort = self.params.get("sort") or "relevance"
        if self.sort not in ("relevance", "newest", "oldest"):
            message = _("search_sort_bad", default="Sort by relevance, newest or oldest.")
            raise APIError(400, "bad_request", message, {"sort": message})
        self.page = _int(request, "page", 1, 1, MAX_PAGE)
        self.size = _int(request, "size", PAGE_SIZE, 1, 100)
        vocab = _vocab(request)
        try:
            self.parsed = parse(self.q, vocab, numbers=full_identity(request.user))
            self.filters = filters_from_params(self.params, vocab)
        except QueryError as e:
            raise _bad_query(e)
        self.results = None
        self.hits = []

    @property
    def notice(self):
        """Why parts of the search matched nothing (the ID and phone numbers of a masked reader)."""
        return self.request.t(NUMBERS_WITHHELD) if self.parsed.withheld else None

    @property
    def empty(self):
        return not self.q and not self.filters

    def run(self):
        indexer = self.request.search_indexer
        indexer.wait_idle()
        searcher = indexer.store.searcher()
        self.results = search(searcher, self.parsed, self.request.principals, _caches(self.request), self.sort,
                              self.page, self.size, self.filters)
        site = self.request.site
        for hit in self.results.hits:
            case = site.cases.by_number(hit.get(S.NUMBER))
            if case is None or not self.request.has_permission(VIEW, case):
                continue   # the index is a moment behind a change of access: never show it
            document = None
            if hit.get(S.TYPE) == "document":
                document = _document(case, hit.get(S.DOC))
                if document is None:
                    continue
            _mask_hit(self.request, hit, case)
            self.hits.append((hit, case, document))
        return self

    def hit_url(self, case, document):
        if document is not None:
            return self.request.resource_url(document, "@@hit", query={"q": self.q} if self.q else None)
        return self.request.resource_url(case)

    def facets(self):
        """[(field, title, [(value, label, count, url, active)])] for the page and the API."""
        out = []
        for field in S.FACETS:
            param = FACET_PARAMS[field]
            active = self.params.get(param) or ""
            values = []
            for value, count in self.results.facets.get(field, ()):
                if value in (None, S.NONE):
                    continue
                values.append((value, facet_title(self.request, field, value), count,
                               self.url(**{param: None if active == value else value, "page": None}),
                               active == value))
            out.append((field, self.request.t(FACET_TITLES[field]), values[:30]))
        return out

    def url(self, **changes):
        params = {k: v for k, v in self.params.items() if k in saved_searches.PARAMS + ("page", "size")}
        for key, value in changes.items():
            if value in (None, ""):
                params.pop(key, None)
            else:
                params[key] = value
        return self.request.route_url("search") + ("?" + urlencode(params) if params else "")

    def active_filters(self):
        out = []
        for param in ("case", "status", "channel", "district", "category", "unit", "kind", "year", "type",
                      "petition_type", "from", "to"):
            value = self.params.get(param)
            if value:
                field = {v: k for k, v in FACET_PARAMS.items()}.get(param)
                label = facet_title(self.request, field, value) if field else value
                out.append((param, label, self.url(**{param: None, "page": None})))
        return out

    def pages(self):
        total_pages = max(1, min(MAX_PAGE, (self.results.total + self.size - 1) // self.size))
        return total_pages

    def as_json(self):
        hits = []
        for hit, case, document in self.hits:
            hits.append({
                "number": case.number,
                "document": document.id if document is not None else None,
                "type": "document" if document is not None else "case",
                "title": hit.get(S.TITLE),
                "title_html": str(hit.title_html),
                "kind": document.kind if document is not None else None,
                "score": round(hit.score, 4),
                "highlights": [str(h) for h in hit.highlights],
                "status": case.status,
                "channel": case.channel,
                "district": case.district,
                "category": case.category,
                "unit": case.unit,
                "date": hit.get(S.DATE),
                "url": self.hit_url(case, document),
            })
        facets = {}
        for field in S.FACETS:
            facets[field] = {value: count for value, count in self.results.facets.get(field, ())
                             if value not in (None, S.NONE)}
        out = {"total": self.results.total, "page": self.page, "size": self.size, "sort": self.sort,
               "hits": hits, "facets": facets, "took_ms": round(self.results.took * 1000, 1)}
        if self.notice:
            out["notice"] = self.notice
        return out


def _document(case, doc_id):
    for stage in case.stages():
        document = stage.get(doc_id)
        if document is not None:
            return document
    return None


@view_config(route_name="api_search", request_method="GET", renderer="json", permission=LIST)
def api_search(request):
    return Search(request).run().as_json()


@view_config(route_name="search", request_method="GET", renderer="search.jinja2", permission=LIST)
def search_page(request):
    error = None
    current = None
    try:
        current = Search(request)
        if not current.empty:
            current.run()
    except APIError as e:
        error = request.t(e.message)
        request.response.status_int = e.status
    saved = saved_searches.list_saved(request.site, request.user.username)
    for entry in saved:
        entry["url"] = request.route_url("search") + "?" + urlencode(entry["params"])
    case = None
    if current is not None and request.params.get("case"):
        case = request.site.cases.by_number(request.params["case"].strip().upper())
        if case is not None and not request.has_permission(VIEW, case):
            case = None
    return {"search": current, "error": error, "saved": saved, "q": request.params.get("q", ""),
            "within": case, "sort": request.params.get("sort") or "relevance"}


# --- highlighting a document ----------------------------------------------------------------------

def highlight_document(request, document, q=None):
    """What the document page shows for ``?q=``: marked snippets, the whole marked text and
    the extraction state. Used by the @@hit view and the ``document_highlight.jinja2`` partial."""
    q = (q if q is not None else request.params.get("q", "")) or ""
    state = extraction_state(document)
    info = {"q": q.strip(), "ocr_state": state, "ocr_label": request.t(OCR_STATES[state]) if state in OCR_STATES
            else "", "fragments": [], "text_html": None, "count": 0, "error": None,
            "extracted": bool(getattr(document, "extracted_text", ""))}
    if not info["q"]:
        return info
    from .pages import identity_for
    identity = identity_for(request, document.case)
    try:
        terms = parse(info["q"], _vocab(request), numbers=identity.full).terms
    except QueryError as e:
        info["error"] = request.t(e.message)
        return info
    text = "\n".join(t for t in (document.text, getattr(document, "extracted_text", "")) if t)
    from indexing.analysis import normalize
    text = normalize(text)
    info["title_html"] = (fragments(document.title, terms, count=1, surround=len(document.title) + 1)
                          or [None])[0]
    info["fragments"] = fragments(text, terms, count=5)
    info["text_html"], info["count"] = mark_all(text, terms)
    if not identity.full:   # casefiles.privacy: numbers masked
        info["title_html"] = _masked(info["title_html"])
        info["fragments"] = [_masked(f) for f in info["fragments"]]
        info["text_html"] = _masked(info["text_html"])
    return info


@view_config(context=Document, name="hit", renderer="search_document.jinja2", permission=VIEW)
def document_hit(request):
    document = request.context
    return {"document": document, "case": document.case, "stage": document.__parent__,
            "hl": highlight_document(request, document)}


# --- similar cases -------------------------------------------------------------------------------

def _candidates_json(request, candidates):
    out = []
    for c in candidates:
        case = request.site.cases.by_number(c.number)
        if case is None or not request.has_permission(VIEW, case):
            continue
        why = []
        for code, detail in c.reasons:
            msgid, default = REASONS[code]
            why.append(request.t(_(msgid, default=default, mapping={"words": detail, "district": detail})))
        out.append({
            "number": c.number, "score": round(c.score, 3), "similarity": round(c.similarity, 3),
            "why": "；".join(why), "reasons": [code for code, _d in c.reasons],
            "subject": case.subject, "status": case.status, "status_title": STATUSES.get(case.status, case.status),
            "district": case.district, "category": case.category,
            "received_at": case.received_at.isoformat() if case.received_at else None,
            "url": request.resource_url(case),
        })
    return out


def _similar(request, subject, content, id_numbers, district, exclude=()):
    indexer = request.search_indexer
    indexer.wait_idle()
    searcher = indexer.store.searcher()
    candidates = similar_cases(searcher, _caches(request), request.principals, subject, content, id_numbers,
                               district, exclude=exclude, limit=20)
    return candidates


@view_config(route_name="api_case_similar", request_method="GET", renderer="json", permission=VIEW)
def api_case_similar(request):
    case = request.context
    ids = []
    for pid, _primary in case.petitioners:
        person = request.site.petitioners.get(pid)
        if person is not None and person.id_number:
            ids.append(person.id_number)
    linked = {number for _type, number in case.links}
    candidates = _similar(request, case.subject, case.content, ids, case.district,
                          exclude={case.number} | linked)
    return {"candidates": _candidates_json(request, candidates[:10]),
            "categories": [{"category": cat, "weight": w, "cases": n} for cat, w, n in suggest_categories(candidates)]}


MAX_INTAKE_TEXT = 4000


@view_config(route_name="api_similar", request_method="GET", renderer="json", permission=LIST)
def api_similar(request):
    params = request.params
    subject = (params.get("subject") or "").strip()[:300]
    content = (params.get("content") or "").strip()[:MAX_INTAKE_TEXT]
    ids = [v.strip() for v in params.getall("id_number") if v and v.strip()][:10]
    if not full_identity(request.user):
        ids = []      # an ID number finds cases only for those who see the numbers (casefiles.privacy)
    district = (params.get("district") or "").strip()[:20]
    exclude = {(params.get("exclude") or "").strip()} - {""}
    if not (subject or content or ids):
        return {"candidates": [], "categories": []}
    candidates = _similar(request, subject, content, ids, district, exclude)
    return {"candidates": _candidates_json(request, candidates[:8]),
            "categories": [{"category": cat, "weight": w, "cases": n} for cat, w, n in suggest_categories(candidates)]}


# --- saved searches ------------------------------------------------------------------------------

def _saved_json(request, entry):
    return dict(entry, url=request.route_url("search") + "?" + urlencode(entry["params"]),
                api=request.route_url("api_search") + "?" + urlencode(entry["params"]))


@view_config(route_name="api_searches", request_method="GET", renderer="json", permission=LIST)
def api_saved_list(request):
    return {"searches": [_saved_json(request, e) for e in saved_searches.list_saved(request.site,
                                                                                   request.user.username)]}


@view_config(route_name="api_searches", request_method="POST", renderer="json", permission=LIST)
def api_saved_add(request):
    from .uploads import json_body
    body = json_body(request)
    params = body.get("params") if isinstance(body.get("params"), dict) else body
    _validate_saved(request, params)
    entry = saved_searches.save(request.site, request.user.username, body.get("name"), params)
    request.response.status_int = 201
    return _saved_json(request, entry)


@view_config(route_name="api_search_saved", request_method="DELETE", renderer="json", permission=LIST)
def api_saved_delete(request):
    saved_searches.delete(request.site, request.user.username, request.matchdict["id"])
    return {"deleted": request.matchdict["id"]}


def _validate_saved(request, params):
    """A saved search must be one that runs: the same checks as the search itself."""
    vocab = _vocab(request)
    try:
        parse(str(params.get("q") or ""), vocab)
        filters_from_params({k: str(v) for k, v in params.items() if isinstance(v, (str, int))}, vocab)
    except QueryError as e:
        raise _bad_query(e)


@view_config(route_name="search_saved", request_method="POST", permission=LIST)
def saved_add(request):
    params = {k: v for k, v in request.POST.items() if k in saved_searches.PARAMS}
    back = request.route_url("search") + ("?" + urlencode(params) if params else "")
    try:
        _validate_saved(request, params)
        entry = saved_searches.save(request.site, request.user.username, request.POST.get("name"), params)
    except (DomainError, APIError) as e:
        fields = getattr(e, "fields", {}) or {}
        message = next(iter(fields.values()), None) or e.message
        request.session.flash(request.t(message))
        return HTTPSeeOther(back)
    request.session.flash(request.t(_("saved_done", default="The search is saved as “${name}”.",
                                      mapping={"name": entry["name"]})))
    return HTTPSeeOther(back)


@view_config(route_name="search_saved_delete", request_method="POST", permission=LIST)
def saved_delete(request):
    saved_searches.delete(request.site, request.user.username, request.matchdict["id"])
    request.session.flash(request.t(_("saved_deleted", default="The saved search is deleted.")))
    return HTTPSeeOther(request.route_url("search"))


@subscriber(BeforeRender)
def add_highlight(event):
    """Templates get ``search_highlight(document)`` for the document_highlight.jinja2 partial."""
    request = event.get("request")
    if request is not None and "search_highlight" not in event:
        event["search_highlight"] = lambda document, q=None: highlight_document(request, document, q)
