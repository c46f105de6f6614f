"""The case catalog kept in the database (hypatia), for lists, filters and counts.

Every case has an integer docid; field indexes answer the list filters and sort orders,
and the ``allowed`` keyword index holds the principals that may view the case, so that a
list never shows (or counts) a case its user may not open. Indexing is explicit: the
domain functions that change a case call ``reindex``.
"""
from BTrees.Length import Length
from BTrees.LOBTree import LOBTree
from hypatia.catalog import Catalog, CatalogQuery
from hypatia.field import FieldIndex
from hypatia.keyword import KeywordIndex
from hypatia.query import Any, Eq, Ge, InRange, Le
from persistent import Persistent

from .security import VIEW, principals_allowed

_MISSING = "-"


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


FIELDS = ("status", "channel", "district", "unit", "category", "petition_type", "year", "number")


class CaseCatalog(Persistent):
    catalog = None
    docids = None     # docid -> case number
    _next = None

    def __init__(self):
        self.catalog = Catalog()
        for name in FIELDS:
            self.catalog[name] = FieldIndex(_attr(name))
        self.catalog["received"] = FieldIndex(_received)
        self.catalog["allowed"] = KeywordIndex(_allowed)
        self.catalog["petitioners"] = KeywordIndex(_petitioners)
        self.docids = LOBTree()
        self._next = Length(1)

    def add_index(self, name, index):
        """Used by evolve steps and later features to add an index and fill it."""
        if name not in self.catalog:
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

    def index(self, case):
        if case.docid is None:
            case.docid = self._next()
            self._next.change(1)
            self.docids[case.docid] = case.number
        self.catalog.index_doc(case.docid, case)

    reindex = index

    def unindex(self, case):
        if case.docid is not None:
            self.catalog.unindex_doc(case.docid)
            self.docids.pop(case.docid, None)

    def query(self, principals, filters=None, sort="received", reverse=True, limit=None):
        """(total, [case numbers]) for cases any of ``principals`` may view matching ``filters``."""
        if any(isinstance(v, Between) for v in (filters or {}).values()):
            return self._ranged_query(principals, filters, sort, reverse, limit)
        q = Any(self.catalog["allowed"], list(principals))
        for name, value in (filters or {}).items():
            if value in (None, ""):
                continue
            index = self.catalog[name]
            if isinstance(value, Between):
                q = q & value.query(index)
                continue
            q = q & (Any(index, list(value)) if isinstance(value, (list, tuple, set)) else Eq(index, value))
        result = q.execute()
        total = len(result)
        if sort:
            ids = self._scan_backward(self.catalog[sort], result.ids, limit) if reverse else None
            if ids is None:
                ids = list(result.sort(self.catalog[sort], reverse=reverse, limit=limit))
        else:
            ids = list(result.ids)
        return total, [self.docids[i] for i in ids if i in self.docids]

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

    def _allowed_ids(self, principals):
        """The docids the principals may open; None when that is every indexed case."""
        IF = self.catalog.family.IF
        allowed = self.catalog["allowed"]
        sets = [found for found in (allowed._fwd_index.get(p) for p in dict.fromkeys(principals)) if found]
        if not sets:
            return IF.Set()
        ids = sets[0] if len(sets) == 1 else IF.multiunion(sets)
        return None if len(ids) >= allowed._num_docs() else ids

    def due_bands(self, principals, keys, today, warn_days, limit):
        """The cases waiting in the queues ``keys`` that the principals may open, in bands of
        the earliest open due date (day ordinals): {"red": (total, [numbers]), "amber": ...,
        "green": ...}, red before ``today``, amber up to ``today + warn_days``, green after
        (and those with no running clock); each band's first ``limit`` by due date."""
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

        def numbers(ids):
            return [self.docids[i] for i in ids if i in self.docids]
        return {"red": (red[0], numbers(red[1])), "amber": (amber[0], numbers(amber[1])),
                "green": (green_total, numbers(green))}

    def _ranged_query(self, principals, filters, sort, reverse, limit):
        """``query`` with range filters (the overdue and due-soon lists over every open case):
        the allowed set is used as it is stored when one principal holds it (no copy of a
        set the size of the catalog), and the first page sorted by the ranged field is read
        off that field's index from the range's low end instead of sorting every match."""
        from hypatia.util import ResultSet
        IF = self.catalog.family.IF
        ids = self._allowed_ids(principals)   # None: the principals may open every case
        if ids is not None and not ids:
            return 0, []
        for name, value in filters.items():
            if value in (None, ""):
                continue
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
        elif sort:
            found = list(ResultSet(ids, total, None).sort(self.catalog[sort], reverse=reverse, limit=limit))
        else:
            found = list(ids)
        return total, [self.docids[i] for i in found if i in self.docids]

    def counts(self, principals, field, filters=None):
        """Counts of the values of ``field`` over the cases the principals may view."""
        total, _ = 0, None
        q = Any(self.catalog["allowed"], list(principals))
        for name, value in (filters or {}).items():
            if value not in (None, ""):
                q = q & Eq(self.catalog[name], value)
        ids = q.execute().ids
        index = self.catalog[field]
        out = {}
        for value, docset in index._fwd_index.items():
            n = len(index.family.IF.intersection(docset, ids)) if hasattr(index.family, "IF") else 0
            if n:
                out[value] = n
        return out
