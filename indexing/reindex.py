"""Rebuilding and checking the index against the database (``casefiles-reindex``).

``rebuild`` writes every case and document into a new index folder from one consistent
database snapshot and swaps it in; ``check`` compares the database's items (their ids
and stamps) with the index's and lists every difference; ``repair`` re-syncs the cases
involved; ``sync_all`` is the in-place update used to fill a new index at start.
"""
import os
import time

from whoosh.index import LockError

from . import schema as S
from .analysis import tokenizer
from .items import case_items
from .sync import case_key, split_key, storable
from casefiles.site import ROOT_KEY

BATCH = 200
SMALL = 2000          # fewer cases than this are rebuilt in one process


def _site(conn):
    site = conn.root().get(ROOT_KEY)
    if site is None:
        raise RuntimeError("the database has no site yet")
    return site


def index_stamps(searcher):
    """{item id: [stamp, ...]} of the live documents in the index (from the columns)."""
    out = {}
    for leaf, _offset in searcher.leaf_searchers():
        reader = leaf.reader()
        ids = list(reader.column_reader(S.ID_))
        stamps = list(reader.column_reader(S.STAMP))
        deletions = reader.has_deletions()
        for docnum, (item_id, stamp) in enumerate(zip(ids, stamps)):
            if deletions and reader.is_deleted(docnum):
                continue
            out.setdefault(item_id, []).append(stamp)
    return out


def database_stamps(site, progress=None):
    """{item id: stamp} of every case and document in the database."""
    out = {}
    for case in site.cases.all_cases():
        for item_id, fields in case_items(site, case).items():
            out[item_id] = fields[S.STAMP]
        if progress:
            progress(1)
    return out


class Report:
    def __init__(self):
        self.missing = []     # in the database, not in the index
        self.extra = []       # in the index, not in the database
        self.stale = []       # in both, with different values
        self.duplicate = []   # more than once in the index
        self.database = 0
        self.index = 0

    @property
    def differences(self):
        return len(self.missing) + len(self.extra) + len(self.stale) + len(self.duplicate)

    def numbers(self):
        """The case numbers involved in any difference."""
        return sorted({split_key(k)[1] for k in self.missing + self.extra + self.stale + self.duplicate})

    def as_json(self):
        return {"database": self.database, "index": self.index, "missing": self.missing, "extra": self.extra,
                "stale": self.stale, "duplicate": self.duplicate}


def check(indexer, progress=None):
    conn, tm = indexer.open_connection()
    try:
        tm.begin()
        db = database_stamps(_site(conn), progress)
        tm.abort()
    finally:
        conn.close()
    searcher = indexer.store.open().searcher()
    try:
        ix = index_stamps(searcher)
    finally:
        searcher.close()
    report = Report()
    report.database = len(db)
    report.index = sum(len(v) for v in ix.values())
    for item_id, stamp in db.items():
        have = ix.get(item_id)
        if not have:
            report.missing.append(item_id)
        elif len(have) > 1:
            report.duplicate.append(item_id)
        elif have[0] != stamp:
            report.stale.append(item_id)
    for item_id, stamps in ix.items():
        if item_id not in db:
            report.extra.append(item_id)
    for name in ("missing", "extra", "stale", "duplicate"):
        getattr(report, name).sort()
    return report


def repair(indexer, report, progress=None):
    """Re-sync every case a check found a difference in; returns the number of cases."""
    numbers = report.numbers()
    force = set(report.duplicate)
    for start in range(0, len(numbers), BATCH):
        batch = numbers[start:start + BATCH]
        indexer.apply({case_key(n) for n in batch}, force=force)
        if progress:
            progress(len(batch))
    return len(numbers)


def case_numbers(site):
    return [case.number for case in site.cases.all_cases()]


def sync_all(indexer, progress=None):
    """Bring the live index in step with every case, in batches (an update, not a rebuild)."""
    conn, tm = indexer.open_connection()
    try:
        tm.begin()
        numbers = case_numbers(_site(conn))
        tm.abort()
    finally:
        conn.close()
    for start in range(0, len(numbers), BATCH):
        batch = numbers[start:start + BATCH]
        for attempt in range(600):
            try:
                indexer.apply({case_key(n) for n in batch})
                break
            except LockError:   # a rebuild holds the index: wait for it
                time.sleep(min(0.5 * (attempt + 1), 5.0))
        if progress:
            progress(len(batch))
    return len(numbers)


def default_procs():
    """Writer processes for a rebuild: one per core, at most four."""
    return max(1, min(4, os.cpu_count() or 1))


def rebuild(indexer, progress=None, dry_run=False, procs=None, limitmb=256):
    """Index every case and document into a new folder and swap it in.

    Returns {"cases", "items", "seconds", "procs"}. With ``dry_run`` nothing is written:
    the items are only read and counted. The live index's write lock is held throughout, so
    changes committed meanwhile wait in the durable queue and reach the new index after.

    This process reads the database; with ``procs`` > 1 (the default: one per core) Whoosh's
    multiprocessing writer cuts and indexes the text in that many child processes, each
    writing its own segment (no final merge). The children are forked with jieba's
    dictionary already loaded."""
    started = time.monotonic()
    procs = default_procs() if procs is None else max(1, int(procs))
    store = indexer.store
    conn, tm = indexer.open_connection()
    hold = build = writer = None
    cases = items = 0
    try:
        tm.begin()
        site = _site(conn)
        numbers = case_numbers(site)
        if len(numbers) < SMALL:
            procs = 1            # starting the writer processes would cost more than they save
        if not dry_run:
            hold = store.writer(timeout=120)
            build, ix = store.new_build()
            kwargs = {"limitmb": limitmb}
            if procs > 1:
                tokenizer()      # once here, inherited by the forked writers
                kwargs.update(procs=procs, multisegment=True, batchsize=BATCH)
            writer = ix.writer(**kwargs)
        for i, number in enumerate(numbers):
            case = site.cases.by_number(number)
            if case is None:
                continue
            for fields in case_items(site, case).values():
                items += 1
                if writer is not None:
                    writer.add_document(**storable(fields))
            cases += 1
            if progress:
                progress(1)
            if i % 500 == 499:
                conn.cacheGC()
        tm.abort()
        if writer is not None:
            writer.commit()
            writer = None
            store.swap(build)
            build = None
    finally:
        if writer is not None:
            writer.cancel()
        if build is not None:
            store.discard(build)
        if hold is not None:
            hold.cancel()
            store.cleanup()
        tm.abort()
        conn.close()
    return {"cases": cases, "items": items, "seconds": round(time.monotonic() - started, 2),
            "procs": 1 if dry_run else procs}
