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
from hypatia.query import Any, Eq
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
        q = Any(self.catalog["allowed"], list(principals))
        for name, value in (filters or {}).items():
            if value in (None, ""):
                continue
            index = self.catalog[name]
            q = q & (Any(index, list(value)) if isinstance(value, (list, tuple, set)) else Eq(index, value))
        result = q.execute()
        total = len(result)
        if sort:
            ids = list(result.sort(self.catalog[sort], reverse=reverse, limit=limit))
        else:
            ids = list(result.ids)
        return total, [self.docids[i] for i in ids if i in self.docids]

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
