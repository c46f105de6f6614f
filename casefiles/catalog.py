"""The case catalog kept in the database (hypatia), for lists, filters and counts.

Every case has an integer docid; field indexes answer the list filters and sort orders,
and the ``allowed`` keyword index holds the principals that may view the case, so that a
list never shows (or counts) a case its user may not open. Indexing is explicit: the
domain functions that change a case call ``reindex``.

Newly registered cases first go to ``recent``, a small BTree of docid -> the values every
index would hold for the case, and are merged into the indexes ``merge_at`` at a time.
Indexing one case directly writes some 60 persistent objects (in each of the 15 indexes a
forward set, a reverse bucket and a counter), which made the catalog most of the cost of a
registration; a row in ``recent`` is one bucket, and a merge writes each index's buckets
once for the whole batch. Every query answers from the indexes and from ``recent``
together, so a case is listed, counted and found from the moment it is registered. In the
web app the merge (some 40 ms for 128 cases) is not done by the registration that fills the
buffer but afterwards by the search indexer's thread (``defer_merges``), in the pause after
the requests, as it does the search index; a registration merges itself only if the buffer
has grown to ``DEFER_LIMIT`` times ``merge_at``.
"""
import pickle
import weakref

from BTrees.LOBTree import LOBTree
from hypatia.catalog import Catalog
from hypatia.field import FieldIndex
from hypatia.keyword import KeywordIndex
from hypatia.query import Any, Eq, Ge, InRange, Le, NotAny
from persistent import Persistent

from .security import VIEW, Deny, case_acl, principals_allowed

_MISSING = "-"
_UNSET = object()
MERGE_AT = 128    # cases held in ``recent`` before they are merged into the indexes
# Databases whose recent cases a background thread merges (``defer_merges``): there a
# registration leaves the merge to it, unless the buffer has grown to DEFER_LIMIT times
# ``merge_at`` (the thread stopped, or requests never pause).
_DEFERRING = weakref.WeakKeyDictionary()
DEFER_LIMIT = 4


def defer_merges(db):
    """From now on the full buffers of ``db``'s catalog are merged by a background thread
    calling ``CaseCatalog.merge_if_full`` after the requests' commits (the search indexer's)."""
    _DEFERRING[db] = True


class _attr:
    """Picklable discriminator: the attribute's value, or "-" when it is empty."""

    def __init__(self, name):
        self.name = name

    def __call__(self, case, default):
        value = getattr(case, self.name, None)
        return _MISSING if value in (None, "") else value


def _received(case, default):
    return case.received_at.isoformat() if case.received_at else default


def _allowed(case, default):
    return principals_allowed(case, VIEW) or default


def _denied(case, default):
    """Principals the case's own ACL denies (an accused unit, accused users): a user holding
    one never sees the case, even where a role of theirs is in ``allowed``."""
    return [principal for action, principal, _perms in case_acl(case) if action == Deny] or default


def _petitioners(case, default):
    return [pid for pid, _primary in case.petitioners] or default


def _next_due(case, default):
    """The earliest due date of the case's running duty clocks, as a day ordinal."""
    from .clocks import next_due
    due = next_due(case)
    return due.toordinal() if due is not None else default


def _queues(case, default):
    """The work queues the case waits in (``clerk``, ``assigner``, ``unit:CODE`` ...)."""
    from .workflow import queues_for
    return queues_for(case) or default


def _provisional(case, default):
    """Years whose official calendar the case's clocks still wait for."""
    from .clocks import provisional_years
    return provisional_years(case) or default


WORKFLOW_INDEXES = (("next_due", FieldIndex, _next_due), ("queue", KeywordIndex, _queues),
                    ("provisional", KeywordIndex, _provisional))


class Between:
    """A range filter for ``query``: low <= value <= high (either end may be None)."""

    def __init__(self, low=None, high=None):
        self.low, self.high = low, high

    def query(self, index):
        if self.low is not None and self.high is not None:
            return InRange(index, self.low, self.high)
        if self.low is not None:
            return Ge(index, self.low)
        return Le(index, self.high)

    def __contains__(self, value):
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


FIELDS = ("status", "channel", "district", "unit", "category", "petition_type", "year")
# No index of the case number: a case is found by its number through its year bucket, and a
# list sorted by number is sorted through ``docids``. (Each number was a set of its own in
# that index, four more objects for every registration.)
BY_NUMBER = "number"


def _cases_of(case):
    """The ``Cases`` container a case is in (its year bucket's parent)."""
    node = case.__parent__
    while node is not None and not hasattr(node, "by_number"):
        node = node.__parent__
    return node


def _index_value(index, docid, value):
    """Put a docid new to ``index`` into it with its (already computed) value, as hypatia's
    ``index_doc`` does after calling the discriminator; None: the index does not hold it."""
    if docid in index._rev_index or docid in index._not_indexed:
        index.unindex_doc(docid)
    if value is None:
        index._not_indexed.add(docid)
    elif isinstance(index, KeywordIndex):
        words = index.family.OO.Set(index.normalize(value))
        index._insert_forward(docid, words)
        index._insert_reverse(docid, words)
        index._num_docs.change(1)
    else:
        found = index._fwd_index.get(value)
        if found is None:
            found = index._fwd_index[value] = index.family.IF.TreeSet()
        found.insert(docid)
        index._num_docs.change(1)
        index._rev_index[docid] = value


class Recent(LOBTree):
    """``CaseCatalog.recent``: small buckets, as each registration stores the last one again."""
    max_leaf_size = 16


class CaseCatalog(Persistent):
    catalog = None
    docids = None     # docid -> case number
    _next = None
    recent = None     # docid -> {index name: value}: indexed cases not yet merged into the indexes
    merge_at = MERGE_AT

    def __init__(self):
        self.catalog = Catalog()
        for name in FIELDS:
            self.catalog[name] = FieldIndex(_attr(name))
        self.catalog["received"] = FieldIndex(_received)
        self.catalog["allowed"] = KeywordIndex(_allowed)
        self.catalog["petitioners"] = KeywordIndex(_petitioners)
        self.catalog["denied"] = KeywordIndex(_denied)
        self.docids = LOBTree()
        self.recent = Recent()

    def add_index(self, name, index):
        """Used by evolve steps and later features to add an index and fill it."""
        if name not in self.catalog:
            self.merge()    # the rows in ``recent`` do not have the new index's values
            self.catalog[name] = index
        return self.catalog[name]

    def add_workflow_indexes(self, cases=()):
        """The queue indexes (evolve step): fill them from ``cases``."""
        added = [self.add_index(name, kind(discriminator)) for name, kind, discriminator in WORKFLOW_INDEXES
                 if name not in self.catalog]
        for case in cases:
            if case.docid is not None:
                for index in added:
                    index.index_doc(case.docid, case)

    # -- indexing --
    def index(self, case):
        if case.docid is None:
            case.docid = self._new_docid()
            self.docids[case.docid] = case.number
            if self.recent is None:
                self.recent = Recent()
            self.recent[case.docid] = self._row(case)
            waiting = len(self.recent)
            if waiting >= self.merge_at and not (self._merged_elsewhere() and waiting < self.merge_at * DEFER_LIMIT):
                self.merge(_cases_of(case))
        elif self.recent is not None and case.docid in self.recent:
            row = self._row(case)
            if self.recent[case.docid] != row:
                self.recent[case.docid] = row
        else:
            self.catalog.index_doc(case.docid, case)

    reindex = index

    def _merged_elsewhere(self):
        jar = self._p_jar
        return jar is not None and jar.db() in _DEFERRING

    def merge_if_full(self):
        """Merge ``recent`` once it holds ``merge_at`` cases (what a registration does itself
        unless a background thread does it, see ``defer_merges``); returns how many."""
        if self.recent and len(self.recent) >= self.merge_at:
            return self.merge()
        return 0

    def _new_docid(self):
        """One more than the highest docid in use (or ever handed out by the counter of
        catalogs from before): no counter object to store at every registration."""
        top = self.docids.maxKey() if self.docids else 0
        if self._next is not None:
            top = max(top, self._next() - 1)
        return top + 1

    def _top_docid(self):
        return self._new_docid() - 1

    def unindex(self, case):
        if case.docid is not None:
            if self.recent is not None and case.docid in self.recent:
                del self.recent[case.docid]
            else:
                self.catalog.unindex_doc(case.docid)
            self.docids.pop(case.docid, None)

    def _row(self, case):
        """What each index would hold for the case, pickled: a tuple of values in the order
        of the catalog's indexes (keyword values as tuples; None where an index would not
        hold the case). A bucket of ``recent`` is then a few small byte strings."""
        values = []
        for index in self.catalog.values():
            value = index.discriminate(case, None)
            if value is not None and isinstance(index, KeywordIndex):
                value = tuple(value) or None
            values.append(value)
        return pickle.dumps(tuple(values), protocol=4)

    def _recent_items(self):
        """(docid, {index name: value}) of the cases in ``recent`` (values an index would
        not hold are left out)."""
        names = tuple(self.catalog.keys())
        for docid, packed in self.recent.items():
            values = pickle.loads(packed)
            if len(values) != len(names):   # not written under these indexes (add_index merges first)
                continue
            yield docid, {name: value for name, value in zip(names, values) if value is not None}

    def merge(self, cases=None):
        """Move the cases in ``recent`` into the indexes and empty it; returns how many.
        The values stored in the rows go into the indexes as they are (what hypatia's
        ``index_doc`` would store, without computing them again); ``cases`` (the site's
        ``Cases``, by default found through the database root) is read only for an index
        whose kind this code does not know."""
        if not self.recent:
            return 0
        rows = list(self._recent_items())
        known = all(type(index) in (FieldIndex, KeywordIndex) for index in self.catalog.values())
        if not known and cases is None:
            from .site import ROOT_KEY
            site = self._p_jar.root().get(ROOT_KEY) if self._p_jar is not None else None
            if site is None:
                raise ValueError("the catalog is not in a site: pass the cases")
            cases = site.cases
        for docid, row in rows:
            if known:
                for name, index in self.catalog.items():
                    _index_value(index, docid, row.get(name))
            else:
                case = cases.by_number(self.docids.get(docid, ""))
                if case is not None and case.docid == docid:
                    self.catalog.index_doc(docid, case)
        self.recent.clear()
        return len(rows)

    # -- the rows not yet merged --
    def _keyword(self, name):
        return isinstance(self.catalog[name], KeywordIndex)

    def _recent_rows(self, principals, filters):
        """[(docid, row)] of ``recent`` that ``principals`` may view and that match ``filters``."""
        if not self.recent:
            return []
        principals = set(principals)
        tests = []
        for name, value in filters.items():
            self.catalog[name]    # an unknown filter is an error, as in the indexes
            if isinstance(value, Between):
                tests.append((name, value))
            elif isinstance(value, (list, tuple, set)):
                tests.append((name, set(value)))
            else:
                tests.append((name, {value}))
        out = []
        for docid, row in self._recent_items():
            if not principals.intersection(row.get("allowed", ())) or principals.intersection(row.get("denied", ())):
                continue
            for name, wanted in tests:
                have = row.get(name, _UNSET)
                if have is _UNSET or not any(v in wanted for v in (have if isinstance(have, tuple) else (have,))):
                    break
            else:
                out.append((docid, row))
        return out

    def _combine(self, ids, rows, sort, reverse, limit):
        """The indexes' (already sorted, limited) docids together with matching ``recent``
        rows, sorted by ``sort`` (rows without a value last) and limited."""
        extra = [docid for docid, _row in rows]
        if not sort:
            combined = list(ids) + extra
        elif sort == BY_NUMBER and sort not in self.catalog:
            combined = self._sort_by_number(list(ids) + extra, reverse, limit)
        else:
            rev = self.catalog[sort]._rev_index
            values = {docid: rev.get(docid, _UNSET) for docid in ids}
            values.update((docid, row.get(sort, _UNSET)) for docid, row in rows)
            valued = [d for d in list(ids) + extra if values[d] is not _UNSET]
            combined = sorted(valued, key=values.__getitem__, reverse=reverse) + \
                [d for d in list(ids) + extra if values[d] is _UNSET]
        return combined[:limit] if limit else combined

    def find(self, name, values):
        """Docids whose ``name`` index holds any of ``values`` (a value or a list), in the
        indexes and in ``recent``: for look-ups that are not lists (no principals)."""
        values = list(values) if isinstance(values, (list, tuple, set)) else [values]
        ids = list(Any(self.catalog[name], values).execute().ids)
        if self.recent:
            wanted = set(values)
            for docid, row in self._recent_items():
                have = row.get(name, _UNSET)
                if have is not _UNSET and any(v in wanted for v in (have if isinstance(have, tuple) else (have,))):
                    ids.append(docid)
        return ids

    # -- queries --
    def query(self, principals, filters=None, sort="received", reverse=True, limit=None):
        """(total, [case numbers]) for cases any of ``principals`` may view matching ``filters``."""
        filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
        if any(isinstance(v, Between) for v in filters.values()):
            return self._ranged_query(principals, filters, sort, reverse, limit)
        q = self._permitted(principals)
        for name, value in filters.items():
            index = self.catalog[name]
            q = q & (Any(index, list(value)) if isinstance(value, (list, tuple, set)) else Eq(index, value))
        result = q.execute()
        total = len(result)
        if sort == BY_NUMBER and sort not in self.catalog:
            ids = self._sort_by_number(result.ids, reverse, limit)
        elif sort:
            ids = self._scan_backward(self.catalog[sort], result.ids, limit) if reverse else None
            if ids is None:
                ids = list(result.sort(self.catalog[sort], reverse=reverse, limit=limit))
        else:
            ids = list(result.ids)
        rows = self._recent_rows(principals, filters)
        if rows:
            total += len(rows)
            ids = self._combine(ids, rows, sort, reverse, limit)
        return total, [self.docids[i] for i in ids if i in self.docids]

    def newest(self, principals, filters, limit):
        """The numbers of the ``limit`` most recently registered cases (highest docids) that
        ``principals`` may open and that match ``filters`` (a value or a list of values per
        index), newest first. Read from the top of the docid range down, a window at a
        time, so only the index buckets of recent docids are loaded, however large the
        catalog and however cold its cache."""
        filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
        found = sorted((docid for docid, _row in self._recent_rows(principals, filters)), reverse=True)
        wanted = [self._sets("allowed", list(principals))]
        wanted += [self._sets(name, value) for name, value in filters.items()]
        top = self._top_docid()
        IF = self.catalog.family.IF
        denied = self._denied_ids(principals)
        size = 256
        while len(found) < limit and top >= 1 and all(wanted):
            low = max(1, top - size + 1)
            ids = None
            for sets in wanted:
                part = IF.multiunion([IF.Set(s.keys(low, top)) for s in sets])
                ids = part if ids is None else IF.intersection(ids, part)
                if not ids:
                    break
            if ids and denied is not None:
                ids = IF.difference(ids, denied)
            if ids:
                found.extend(sorted(ids, reverse=True))
            top = low - 1
            size *= 2
        return [self.docids[i] for i in found[:limit] if i in self.docids]

    def _sets(self, name, value):
        """The docid sets of index ``name`` for a value or any of a list of values."""
        fwd = self.catalog[name]._fwd_index
        values = value if isinstance(value, (list, tuple, set)) else [value]
        return [found for found in (fwd.get(v) for v in dict.fromkeys(values)) if found]

    def _sort_by_number(self, docids, reverse, limit):
        docids = [d for d in docids if d in self.docids]
        docids.sort(key=self.docids.__getitem__, reverse=reverse)
        return docids[:limit] if limit else docids

    @staticmethod
    def _scan_backward(index, docids, limit):
        """The first ``limit`` of ``docids`` by ``index`` descending, walking the index from
        its largest value down: the first page of a large list (the newest cases) without
        ordering every docid (hypatia only scans forward). None when a heap sort is the
        better choice (a small result set) or when some docids have no value in the index."""
        if not limit or len(docids) < 20 * limit:
            return None
        fwd = index._fwd_index
        out = []
        # one pass over the keys (positional access into a BTree walks its buckets every time)
        for key in reversed(list(fwd.keys())):
            for docid in reversed(list(fwd[key])):
                if docid in docids:
                    out.append(docid)
                    if len(out) >= limit:
                        return out
        return out if len(out) >= min(limit, len(docids)) else None

    def _permitted(self, principals):
        """The hypatia query of the cases the principals may open."""
        q = Any(self.catalog["allowed"], list(principals))
        if "denied" in self.catalog:
            q = q & NotAny(self.catalog["denied"], list(principals))
        return q

    def _denied_ids(self, principals):
        """The docids whose ACL denies one of the principals (None: none)."""
        if "denied" not in self.catalog:
            return None
        sets = self._sets("denied", list(principals))
        if not sets:
            return None
        return self.catalog.family.IF.multiunion(sets)

    def _allowed_ids(self, principals):
        """The docids the principals may open; None when that is every indexed case."""
        IF = self.catalog.family.IF
        allowed = self.catalog["allowed"]
        sets = [found for found in (allowed._fwd_index.get(p) for p in dict.fromkeys(principals)) if found]
        if not sets:
            return IF.Set()
        ids = sets[0] if len(sets) == 1 else IF.multiunion(sets)
        denied = self._denied_ids(principals)
        if denied is not None:
            return IF.difference(ids, denied)
        return None if len(ids) >= allowed._num_docs() else ids

    def due_bands(self, principals, keys, today, warn_days, limit):
        """The cases waiting in the queues ``keys`` that the principals may open, in bands of
        the earliest open due date (day ordinals): {"red": (total, [numbers]), "amber": ...,
        "green": ...}, red before ``today``, amber up to ``today + warn_days``, green after
        (and those with no running clock); each band's first ``limit`` by due date."""
        bands = self._due_bands_indexed(principals, keys, today, warn_days, limit)
        rows = self._recent_rows(principals, {"queue": list(keys)}) if keys and "queue" in self.catalog else []
        if rows:
            split = {"red": [], "amber": [], "green": []}
            for docid, row in rows:
                due = row.get("next_due")
                name = "green" if due is None or due > today + warn_days else "red" if due < today else "amber"
                split[name].append((docid, row))
            for name, extra in split.items():
                if extra:
                    total, found = bands[name]
                    bands[name] = (total + len(extra), self._combine(found, extra, "next_due", False, limit))
        return {name: (total, [self.docids[i] for i in found if i in self.docids])
                for name, (total, found) in bands.items()}

    def _due_bands_indexed(self, principals, keys, today, warn_days, limit):
        IF = self.catalog.family.IF
        queue = self.catalog["queue"]._fwd_index
        sets = [found for found in (queue.get(k) for k in dict.fromkeys(keys)) if found]
        empty = {"red": (0, []), "amber": (0, []), "green": (0, [])}
        if not sets:
            return empty
        base = sets[0] if len(sets) == 1 else IF.multiunion(sets)
        allowed = self._allowed_ids(principals)
        if allowed is not None:
            base = IF.intersection(allowed, base)
        if not base:
            return empty
        due = self.catalog["next_due"]._fwd_index

        def band(low, high):
            ids = IF.intersection(base, IF.multiunion(list(due.values(low, high))))
            found = []
            for docset in due.values(low, high):
                for docid in docset:
                    if docid in ids:
                        found.append(docid)
                        if len(found) >= limit:
                            return len(ids), found
            return len(ids), found

        red = band(None, today - 1)
        amber = band(today, today + warn_days)
        green_total = len(base) - red[0] - amber[0]
        green = []
        for docset in due.values(today + warn_days + 1, None):
            for docid in docset:
                if docid in base:
                    green.append(docid)
                    if len(green) >= limit:
                        break
            if len(green) >= limit:
                break
        if len(green) < limit:   # waiting with no running clock (a window open, a reply to deliver)
            dated = self.catalog["next_due"]._rev_index
            for docid in base:
                if docid not in dated:
                    green.append(docid)
                    if len(green) >= limit:
                        break
        return {"red": red, "amber": amber, "green": (green_total, green)}

    def _ranged_query(self, principals, filters, sort, reverse, limit):
        """``query`` with range filters (the overdue and due-soon lists over every open case):
        the allowed set is used as it is stored when one principal holds it (no copy of a
        set the size of the catalog), and the first page sorted by the ranged field is read
        off that field's index from the range's low end instead of sorting every match."""
        total, found = self._ranged_indexed(principals, filters, sort, reverse, limit)
        rows = self._recent_rows(principals, filters)
        if rows:
            total += len(rows)
            found = self._combine(found, rows, sort, reverse, limit)
        return total, [self.docids[i] for i in found if i in self.docids]

    def _ranged_indexed(self, principals, filters, sort, reverse, limit):
        from hypatia.util import ResultSet
        IF = self.catalog.family.IF
        ids = self._allowed_ids(principals)   # None: the principals may open every case
        if ids is not None and not ids:
            return 0, []
        for name, value in filters.items():
            index = self.catalog[name]
            if isinstance(value, Between):
                q = value.query(index)
            elif isinstance(value, (list, tuple, set)):
                q = Any(index, list(value))
            else:
                q = Eq(index, value)
            part = q.execute().ids
            ids = part if ids is None else IF.intersection(ids, part)
            if not ids:
                return 0, []
        total = len(ids)
        ranged = filters.get(sort) if sort else None
        if isinstance(ranged, Between) and limit and not reverse:
            found = []
            for docset in self.catalog[sort]._fwd_index.values(ranged.low, ranged.high):
                for docid in docset:
                    if docid in ids:
                        found.append(docid)
                        if len(found) >= limit:
                            break
                if len(found) >= limit:
                    break
        elif sort == BY_NUMBER and sort not in self.catalog:
            found = self._sort_by_number(ids, reverse, limit)
        elif sort:
            found = list(ResultSet(ids, total, None).sort(self.catalog[sort], reverse=reverse, limit=limit))
        else:
            found = list(ids)
        return total, found

    def counts(self, principals, field, filters=None):
        """Counts of the values of ``field`` over the cases the principals may view."""
        filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
        q = self._permitted(principals)
        for name, value in filters.items():
            q = q & Eq(self.catalog[name], value)
        ids = q.execute().ids
        index = self.catalog[field]
        out = {}
        for value, docset in index._fwd_index.items():
            n = len(index.family.IF.intersection(docset, ids)) if hasattr(index.family, "IF") else 0
            if n:
                out[value] = n
        for _docid, row in self._recent_rows(principals, filters):
            have = row.get(field, _UNSET)
            if have is not _UNSET:
                for value in (have if isinstance(have, tuple) else (have,)):
                    out[value] = out.get(value, 0) + 1
        return out
