"""Running a search: permission filter, ranking or date order, paging, facets, snippets.

Every matching item is first checked against the searcher's principals: an item counts
only if one of them is in its ``allowed`` field and none is in its ``denied`` field. The
total, the facet counts and the page of hits are all computed from the allowed matches
only, so nothing about a case a user may not open leaves this module.

Facet counts read per-segment columns cached by segment id (segments never change), and
the allowed document sets are cached per segment and principal set.
"""
import heapq
import threading
import time
from collections import Counter, OrderedDict

from whoosh import query as Q

from . import schema as S
from .highlight import fragments, plain

SORTS = ("relevance", "newest", "oldest")
_CACHE_LOCK = threading.Lock()
MAX_ALLOWED_CACHE = 64
MAX_COLUMNS = 400


class Hit:
    __slots__ = ("docnum", "score", "fields", "title_html", "highlights")

    def __init__(self, docnum, score, fields):
        self.docnum = docnum
        self.score = score
        self.fields = fields
        self.title_html = None
        self.highlights = []

    def get(self, name, default=None):
        return self.fields.get(name, default)


class Results:
    def __init__(self):
        self.total = 0
        self.hits = []
        self.facets = {}
        self.took = 0.0


class Caches:
    """Per-index caches shared by the searching threads."""

    def __init__(self):
        self.columns = {}                      # (segment id, field) -> list of values
        self.allowed = OrderedDict()           # (segment id, deletions, principals) -> set

    def column(self, reader, field):
        key = (_segid(reader), field)
        values = self.columns.get(key)
        if values is None:
            if reader.has_column(field):
                values = list(reader.column_reader(field, translate=field != S.DATE))
            else:
                values = [None] * reader.doc_count_all()
            with _CACHE_LOCK:
                if len(self.columns) > MAX_COLUMNS:
                    self.columns.clear()
                self.columns[key] = values
        return values

    def allowed_set(self, reader, principals):
        key = (_segid(reader), reader.doc_count(), principals)
        found = self.allowed.get(key)
        if found is not None:
            return found
        allowed = set()
        for p in principals:
            if (S.ALLOWED, p) in reader:
                allowed.update(reader.postings(S.ALLOWED, p).all_ids())
        if allowed:
            for p in principals:
                if (S.DENIED, p) in reader:
                    allowed.difference_update(reader.postings(S.DENIED, p).all_ids())
        with _CACHE_LOCK:
            self.allowed[key] = allowed
            while len(self.allowed) > MAX_ALLOWED_CACHE:
                self.allowed.popitem(last=False)
        return allowed


def _segid(reader):
    try:
        return reader.segment().segment_id()
    except AttributeError:
        return id(reader)


def _principals(principals):
    return tuple(sorted(set(p for p in principals if p)))


def _top_scored(matcher, allow, offset, heap, limit, replace_every=10):
    """Push the best-scoring allowed matches into ``heap`` (size ``limit``), skipping blocks of
    postings that cannot beat the current minimum (Whoosh's block-max optimisation)."""
    full = len(heap) >= limit
    minscore = heap[0][0] if full else 0
    countdown = 0
    checkquality = True
    quality = False
    while matcher.is_active():
        if countdown == 0:
            matcher = matcher.replace(minscore or 0)
            if not matcher.is_active():
                break
            quality = matcher.supports_block_quality()
            countdown = replace_every
        countdown -= 1
        if quality and checkquality and full:
            matcher.skip_to_quality(minscore)
            if not matcher.is_active():
                break
        docnum = matcher.id()
        if docnum in allow:
            score = matcher.score()
            if not full:
                heapq.heappush(heap, (score, -(docnum + offset)))
                full = len(heap) >= limit
                if full:
                    minscore = heap[0][0]
                    countdown = 0
            elif score > heap[0][0]:
                heapq.heapreplace(heap, (score, -(docnum + offset)))
                if heap[0][0] != minscore:
                    minscore = heap[0][0]
                    countdown = 0
        checkquality = matcher.next()


def run(searcher, q, principals, caches, sort="relevance", page=1, size=20, facets=S.FACETS):
    """(total, [(score, global docnum)], {facet: Counter}) for ``q`` over the allowed items."""
    principals = _principals(principals)
    limit = page * size
    scored = sort == "relevance" and not isinstance(q, Q.Every)
    heap = []
    total = 0
    counts = {f: Counter() for f in facets}
    if not principals:
        return 0, [], counts
    date_keys = []
    context = searcher.context(needs_current=True)
    unscored = searcher.boolean_context()
    for leaf, offset in searcher.leaf_searchers():
        reader = leaf.reader()
        allow = caches.allowed_set(reader, principals)
        if not allow:
            continue
        # every allowed match, for the total and the facets (no scoring: fast)
        ids = [d for d in q.matcher(leaf, unscored).all_ids() if d in allow]
        if not ids:
            continue
        if scored:
            _top_scored(q.matcher(leaf, context), allow, offset, heap, limit)
        else:
            if ids:
                dates = caches.column(reader, S.DATE)
                best = heapq.nlargest(limit, ids, key=lambda d: dates[d] or 0) if sort != "oldest" else \
                    heapq.nsmallest(limit, ids, key=lambda d: dates[d] or 0)
                date_keys.extend((dates[d] or 0, d + offset) for d in best)
        total += len(ids)
        for field in facets:
            column = caches.column(reader, field)
            counts[field].update(map(column.__getitem__, ids))
    if scored:
        ranked = sorted(((score, -neg) for score, neg in heap), key=lambda x: (-x[0], x[1]))
    else:
        reverse = sort != "oldest"
        date_keys.sort(key=lambda x: (x[0], -x[1] if reverse else x[1]), reverse=reverse)
        ranked = [(0.0, d) for _date, d in date_keys[:limit]]
    return total, ranked[(page - 1) * size: page * size], counts


def search(searcher, parsed, principals, caches, sort="relevance", page=1, size=20, filters=(),
           facets=S.FACETS, snippets=True):
    """A complete search: the page of hits with their snippets, the total and the facets."""
    started = time.perf_counter()
    q = parsed.query
    if filters:
        q = Q.And([q] + list(filters)) if not isinstance(q, Q.Every) else (
            Q.And(list(filters)) if len(filters) > 1 else filters[0])
    if sort not in SORTS:
        sort = "relevance"
    if sort == "relevance" and not parsed.has_text:
        sort = "newest"
    total, ranked, counts = run(searcher, q, principals, caches, sort, page, size, facets)
    results = Results()
    results.total = total
    results.facets = {f: counts[f].most_common() for f in facets}
    for score, docnum in ranked:
        hit = Hit(docnum, score, searcher.stored_fields(docnum))
        if snippets:
            add_snippets(hit, parsed.terms)
        results.hits.append(hit)
    results.took = time.perf_counter() - started
    return results


def add_snippets(hit, terms):
    title = hit.get(S.TITLE, "") or ""
    body = hit.get(S.BODY, "") or ""
    marked = fragments(title, terms, count=1, surround=len(title) + 1) if terms else []
    hit.title_html = marked[0] if marked else plain(title, 200)
    hit.highlights = fragments(body, terms, count=3) if terms else []
    if not hit.highlights and body:
        hit.highlights = [plain(body, 120)]
