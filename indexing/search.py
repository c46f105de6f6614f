"""Running a search: permission filter, ranking or date order, paging, facets, snippets.

Every matching item is first checked against the searcher's principals: an item counts
only if one of them is in its ``allowed`` field and none is in its ``denied`` field. The
total, the facet counts and the page of hits are all computed from the allowed matches
only, so nothing about a case a user may not open leaves this module.

Facet counts read per-segment columns cached by segment id (segments never change), and
the allowed document sets are cached per segment and principal set.

Queries are evaluated per segment by ``_Evaluation``: postings are read a block at a time
(or, for the few documents a selective part of an AND leaves, by skipping to each of them),
AND / OR / NOT are set operations on the allowed documents, a phrase is checked on positions
only for the allowed documents that have all its words, and BM25F is computed from the
postings' weights and the cached field lengths (the same ranking as Whoosh's matchers; exact
filters add nothing to a score). Queries of other kinds go through Whoosh's matchers.
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

    def lengths(self, reader, field):
        """The field's length in each document of the segment (for BM25F)."""
        key = (_segid(reader), "#length", field)
        values = self.columns.get(key)
        if values is None:
            n = reader.doc_count_all()
            try:
                from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
                from whoosh.util.numeric import byte_to_length
                column = reader._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
                table = [byte_to_length(b) for b in range(256)]
                values = [table[b] if b else 1 for b in column] if column is not None else [1] * n
            except (AttributeError, ImportError):
                values = [reader.doc_field_length(d, field, 1) or 1 for d in range(n)]
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


def _leaf(matcher):
    """The block-reading leaf matcher under Whoosh's deletion filter, or None."""
    child = getattr(matcher, "child", None)
    if child is not None and type(matcher).__name__ == "FilterMatcher":
        matcher = child        # deleted documents: every result is intersected with the allowed set
    if hasattr(matcher, "_read_ids") and hasattr(matcher, "_read_weights") and hasattr(matcher, "_atend"):
        return matcher
    return None


def _read_postings(matcher, weights=False, values=False):
    """(ids, weights or None, values or None) of a fresh posting matcher, read a block at a time
    (Whoosh's own iteration costs several method calls per posting)."""
    leaf = _leaf(matcher)
    if leaf is None:
        if weights or values:
            raise _Unsupported()
        return list(matcher.all_ids()), None, None
    ids, ws, vs = [], [] if weights else None, [] if values else None
    while not leaf._atend and leaf._i < leaf._blocklength:
        i, n = leaf._i, leaf._blocklength
        if leaf._ids is None:
            leaf._read_ids()
        ids.extend(leaf._ids[i:n])
        if weights:
            leaf._read_weights()
            ws.extend(leaf._weights[i:n])
        if values:
            leaf._read_values()
            vs.extend(leaf._values[i:n])
        leaf._next_block()
    return ids, ws, vs


class _Unsupported(Exception):
    """A query this module does not evaluate itself (Whoosh's matchers do it)."""


class _Evaluation:
    """One query on one segment: postings read once, allowed matches, BM25F scores."""

    def __init__(self, searcher, leaf, reader, caches, scored):
        self.searcher = searcher          # the top-level searcher: collection statistics
        self.leaf = leaf
        self.reader = reader
        self.caches = caches
        self.scored = scored
        self.context = searcher.boolean_context()
        self.postings = {}                # (field, text) -> {docnum: weight}
        self.positions = {}               # (field, text) -> {docnum: encoded positions}
        self.covered = {}                 # (field, text) -> the documents read, None: all

    # -- postings --
    def term(self, fieldname, text, positions=False, within=None):
        """{docnum: weight} of the term (and its encoded positions in ``self.positions``),
        complete, or at least for every document of ``within``: when those are few against
        the term's document frequency, the matcher skips to each of them and decodes only
        the blocks that hold them."""
        key = (fieldname, text)
        found = self.postings.get(key)
        if found is not None and (not positions or key in self.positions):
            covered = self.covered.get(key)
            if covered is None or (within is not None and within <= covered):
                return found
        reader = self.reader
        try:
            present = key in reader
        except Exception:      # a value the field cannot hold
            present = False
        if not present:
            self.postings[key] = {}
            self.positions[key] = {}
            self.covered[key] = None
            return self.postings[key]
        text_field = fieldname == S.TEXT
        matcher = reader.postings(fieldname, text)
        if within is not None and len(within) * PROBE_RATIO < reader.doc_frequency(fieldname, text) \
                and _leaf(matcher) is not None:
            weights, values = _probe(_leaf(matcher), within, positions)
            self.postings[key] = weights
            if positions:
                self.positions[key] = values
            self.covered[key] = set(within)
            return weights
        ids, weights, values = _read_postings(matcher, weights=text_field, values=positions)
        self.postings[key] = dict(zip(ids, weights)) if weights is not None else dict.fromkeys(ids, 1.0)
        if positions:
            self.positions[key] = dict(zip(ids, values))
        self.covered[key] = None
        return self.postings[key]

    # -- matching --
    def ids(self, q, allow):
        kind = type(q)
        if kind is Q.Term:
            return _intersect(allow, self.term(q.fieldname, q.text, within=allow))
        if kind is Q.And:
            found = allow
            for sub in sorted(q.subqueries, key=self._estimate):
                found = self.ids(sub, found)
                if not found:
                    return set()
            return set(found)
        if kind is Q.Or:
            found = set()
            for sub in q.subqueries:
                found |= self.ids(sub, allow)
            return found
        if kind is Q.AndNot:
            found = self.ids(q.a, allow)
            if found:
                found = found - self.ids(q.b, found)
            return found
        if kind is Q.Every:
            return set(allow)
        if q is Q.NullQuery:              # a part withheld from the searcher (indexing.query)
            return set()
        if kind is Q.Phrase:
            return self.phrase(q, allow)
        if getattr(q, "fieldname", None) in (None, S.TEXT):
            raise _Unsupported()          # not a plain filter: Whoosh's matchers do the whole query
        return allow.intersection(q.matcher(self.leaf, self.context).all_ids())

    def phrase(self, q, allow):
        """Documents with the words at consecutive positions (Whoosh's Phrase with slop 1)."""
        if q.slop != 1 or not q.words:
            raise _Unsupported()
        candidates = allow
        for word in q.words:
            candidates = _intersect(candidates, self.term(q.fieldname, word, within=candidates))
            if not candidates:
                return set()
        if len(q.words) == 1:
            return set(candidates)
        decode = self.reader.schema[q.fieldname].format.decode_positions
        lists = []
        for word in q.words:
            self.term(q.fieldname, word, positions=True, within=candidates)
            lists.append(self.positions[(q.fieldname, word)])
        out = set()
        for docnum in candidates:
            first = decode(lists[0][docnum])
            rest = [set(decode(values[docnum])) for values in lists[1:]]
            if any(all(p + i in rest[i - 1] for i in range(1, len(lists))) for p in first):
                out.add(docnum)
        return out

    # -- scoring: BM25F as Whoosh computes it; filters (exact fields, dates) add nothing --
    def scores(self, q, docs):
        """{docnum: score} of ``q``'s text over ``docs`` (documents that match it)."""
        kind = type(q)
        if kind is Q.Term:
            if q.fieldname != S.TEXT:
                return {}
            return self._term_scores(q.fieldname, q.text, docs, q.boost)
        if kind is Q.Phrase:
            total = {}
            for word in q.words:
                _add(total, self._term_scores(q.fieldname, word, docs, q.boost))
            return total
        if kind is Q.And or kind is Q.Or:
            total = {}
            for sub in q.subqueries:
                part = self.scores(sub, docs if kind is Q.And else self.ids(sub, docs))
                _add(total, part)
            if q.boost != 1.0:
                total = {d: v * q.boost for d, v in total.items()}
            return total
        if kind is Q.AndNot:
            return self.scores(q.a, docs)
        return {}

    def _estimate(self, q):
        """Smallest first: an And reads its other parts only for the documents left."""
        if isinstance(q, Q.Every):
            return (2, 0)
        try:
            return (0 if isinstance(q, (Q.Term, Q.Phrase, Q.And, Q.Or)) else 1, q.estimate_size(self.reader))
        except Exception:
            return (1, 0)

    def _term_scores(self, fieldname, text, docs, boost=1.0):
        weights = self.term(fieldname, text, within=docs)
        searcher = self.searcher
        weighting = searcher.weighting
        idf = searcher.idf(fieldname, text)
        avgfl = searcher.avg_field_length(fieldname) or 1
        B = weighting._field_B.get(fieldname, weighting.B)
        K1 = weighting.K1
        lengths = self.caches.lengths(self.reader, fieldname)
        out = {d: idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * lengths[d] / avgfl)))
               for d in docs if (tf := weights.get(d)) is not None}
        if boost != 1.0:
            out = {d: v * boost for d, v in out.items()}
        return out


PROBE_RATIO = 32     # skip to each document when they are fewer than 1/32 of the term's postings


def _probe(leaf, docs, positions=False):
    """({docnum: weight}, {docnum: encoded positions}) of the documents of ``docs`` that have
    the term: skipping from block to block reads only the headers of the blocks in between."""
    weights, values = {}, {}
    for docnum in sorted(docs):
        if not leaf.is_active():
            break
        if leaf.id() < docnum:
            leaf.skip_to(docnum)
            if not leaf.is_active():
                break
        if leaf.id() == docnum:
            weights[docnum] = leaf.weight()
            if positions:
                values[docnum] = leaf.value()
    return weights, values


def _intersect(docs, postings):
    """The documents of the set ``docs`` that are keys of ``postings``, iterating the smaller."""
    if len(docs) <= len(postings):
        return {d for d in docs if d in postings}
    return docs.intersection(postings)


def _add(total, part):
    if not total:
        total.update(part)
        return
    for d, v in part.items():
        total[d] = total.get(d, 0.0) + v


def _bm25f(searcher):
    from whoosh.scoring import BM25F
    return type(searcher.weighting) is BM25F


def run(searcher, q, principals, caches, sort="relevance", page=1, size=20, facets=S.FACETS):
    """(total, [(score, global docnum)], {facet: Counter}) for ``q`` over the allowed items."""
    principals = _principals(principals)
    limit = page * size
    scored = sort == "relevance" and not isinstance(q, Q.Every)
    total = 0
    counts = {f: Counter() for f in facets}
    if not principals:
        return 0, [], counts
    fast = not scored or _bm25f(searcher)
    best, date_keys, heap = [], [], []
    for leaf, offset in searcher.leaf_searchers():
        reader = leaf.reader()
        allow = caches.allowed_set(reader, principals)
        if not allow:
            continue
        ids = None
        if fast:
            evaluation = _Evaluation(searcher, leaf, reader, caches, scored)
            try:
                ids = evaluation.ids(q, allow)
                if scored and ids:
                    # every match is ranked, those matched only by an exact field (a phone or ID
                    # number, a case number, a date range on one side of an OR) at 0: the page
                    # shows what the total counts
                    scores = evaluation.scores(q, ids)
                    best.extend(heapq.nlargest(limit, ((scores.get(d, 0.0), -(d + offset)) for d in ids)))
            except _Unsupported:
                ids = None
        if ids is None:       # Whoosh's matchers: every match, then the scored ones
            ids = allow.intersection(q.matcher(leaf, searcher.boolean_context()).all_ids())
            if scored and ids:
                _top_scored(q.matcher(leaf, searcher.context(needs_current=True)), ids, offset, heap, limit)
        if not ids:
            continue
        if not scored:
            dates = caches.column(reader, S.DATE)
            chosen = heapq.nlargest(limit, ids, key=lambda d: dates[d] or 0) if sort != "oldest" else \
                heapq.nsmallest(limit, ids, key=lambda d: dates[d] or 0)
            date_keys.extend((dates[d] or 0, d + offset) for d in chosen)
        total += len(ids)
        for field in facets:
            column = caches.column(reader, field)
            counts[field].update(map(column.__getitem__, ids))
    if scored:
        ranked = sorted(((score, -neg) for score, neg in best + heap), key=lambda x: (-x[0], x[1]))
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
