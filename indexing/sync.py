"""Keeping the index in step with the database: ZODB is the truth, Whoosh follows it.

1. Domain events (``casefiles.events``) only record intent: the id of what changed goes
   into a buffer joined to the current transaction (``IndexBuffer``). The buffer takes part
   in savepoints (a rolled-back savepoint drops what was recorded after it) and is dropped
   when the transaction aborts, so a retried request records its changes once.
2. Just before ZODB commits, the buffer writes its ids into ``site.index_queue`` (and
   documents that need text extraction into ``site.extract_queue``) with a fresh token:
   the queue commits with the change or not at all.
3. After the commit succeeded, the ids go to the ``Indexer`` of that database, whose
   thread re-reads the objects from a fresh connection, writes Whoosh (``update_document``
   on the unique id, or delete), commits it, and then removes the queue entries whose token
   is still the one it read. Searches wait (at most a second) for this to finish.
4. A crash between the two commits leaves the ids in ``site.index_queue``; ``recover``
   applies them when the app starts again.

Several apps can live in one process (the tests): each database gets its own Indexer,
found from the changed object's connection.
"""
import atexit
import logging
import threading
import time
import uuid
import weakref

import transaction
from ZODB.POSException import ConflictError

from casefiles import events
from casefiles.catalog import defer_merges
from casefiles.site import ROOT_KEY

from . import schema as S
from .activity import Activity
from .extract import needs_extraction
from .items import case_items, document_fields

log = logging.getLogger(__name__)

_indexers = weakref.WeakKeyDictionary()   # ZODB DB -> Indexer
IDLE_SECONDS = 5.0
WAIT_SECONDS = 1.0
DEQUEUE_SECONDS = 2.0     # under load, applied ids leave the durable queue at most this often
SENTINEL = "#"            # a queue key never removed (see casefiles.site._evolve_4)


def database_closed(db):
    """True once ``db.close()`` ran (it replaces its own ``close`` with a no-op)."""
    return "close" in vars(db)


def register(db, indexer):
    _indexers[db] = indexer


def indexer_for_db(db):
    return _indexers.get(db)


def case_key(number):
    return S.case_id(number)


def document_key(number, doc_id):
    return S.document_id(number, doc_id)


def queued(queue):
    """The item ids waiting in a durable queue (without its sentinel)."""
    return [k for k in queue.keys() if k != SENTINEL] if queue is not None else []


def split_key(key):
    """("case", number, None) or ("document", number, doc_id)."""
    if key.startswith("c:"):
        return "case", key[2:], None
    _d, number, doc_id = key.split(":", 2)
    return "document", number, doc_id


def merge_keys(keys):
    """Drop document keys whose case is also in ``keys`` (the case key covers its documents)."""
    keys = {k for k in keys if k != SENTINEL}
    cases = {k for k in keys if k.startswith("c:")}
    numbers = {k[2:] for k in cases}
    return cases | {k for k in keys if k.startswith("d:") and split_key(k)[1] not in numbers}


# --- 1. the per-transaction buffer ----------------------------------------------------------

class _Savepoint:
    def __init__(self, buffer, mark):
        self.buffer = buffer
        self.mark = mark

    def rollback(self):
        self.buffer._rollback(self.mark)


class IndexBuffer:
    """The ids changed in one transaction; a data manager, so that it follows the
    transaction's savepoints and abort."""

    def __init__(self, indexer, connection, txn):
        self.indexer = indexer
        self.connection = connection
        self.transaction_manager = connection.transaction_manager
        self.log = []              # keys in the order recorded (for savepoint rollback)
        self.keys = {}
        txn.join(self)
        txn.addBeforeCommitHook(self._before_commit)
        txn.addAfterCommitHook(self._after_commit)

    @classmethod
    def get(cls, indexer, connection):
        txn = connection.transaction_manager.get()
        try:
            return txn.data(indexer)
        except KeyError:
            buffer = cls(indexer, connection, txn)
            txn.set_data(indexer, buffer)
            return buffer

    def add(self, key):
        if key not in self.keys:
            self.keys[key] = True
            self.log.append(key)

    def _rollback(self, mark):
        del self.log[mark:]
        self.keys = dict.fromkeys(self.log, True)

    def _clear(self):
        self.log = []
        self.keys = {}

    # IDataManager: nothing to write ourselves; the queue is written by the ZODB connection
    def abort(self, txn):
        self._clear()

    def tpc_begin(self, txn):
        pass

    def commit(self, txn):
        pass

    def tpc_vote(self, txn):
        pass

    def tpc_finish(self, txn):
        pass

    def tpc_abort(self, txn):
        self._clear()

    def sortKey(self):
        return "~casefiles.indexing"

    def savepoint(self):
        return _Savepoint(self, len(self.log))

    # hooks
    def _before_commit(self):
        if not self.keys:
            return
        site = self.connection.root().get(ROOT_KEY)
        if site is None:
            return
        keys = merge_keys(self.keys)
        queue = getattr(site, "index_queue", None)
        if queue is not None:
            token = uuid.uuid4().hex
            for key in keys:
                queue[key] = token
            if SENTINEL not in queue:
                queue[SENTINEL] = 0
        self._committed = keys

    def _after_commit(self, status):
        keys = getattr(self, "_committed", None)
        if status and keys:
            self.indexer.committed(keys)


def _queue_extraction(site, keys):
    """Put the documents of ``keys`` whose current version's text was not read yet into
    ``site.extract_queue``; returns how many were queued."""
    extract = getattr(site, "extract_queue", None)
    if extract is None or not keys:
        return 0
    queued_now = 0
    try:
        for number, document in _documents_of(site, merge_keys(keys)):
            if needs_extraction(document):
                key = document_key(number, document.id)
                if extract.get(key) != document.current.number:
                    extract[key] = document.current.number
                    queued_now += 1
                    if SENTINEL not in extract:
                        extract[SENTINEL] = 0
    except ConflictError:
        raise
    except Exception:   # extraction is a help; it never stops the index from being kept
        log.exception("could not queue documents for text extraction")
    return queued_now


def _documents_of(site, keys):
    for key in keys:
        kind, number, doc_id = split_key(key)
        case = site.cases.by_number(number)
        if case is None:
            continue
        if kind == "case":
            for document in case.documents():
                yield number, document
        else:
            document = _find_document(case, doc_id)
            if document is not None:
                yield number, document


def _find_document(case, doc_id):
    for stage in case.stages():
        document = stage.get(doc_id)
        if document is not None:
            return document
    return None


def _jar(obj):
    while obj is not None:
        jar = getattr(obj, "_p_jar", None)
        if jar is not None:
            return jar
        obj = getattr(obj, "__parent__", None)
    return None


def _site_of(obj):
    node = obj
    while node is not None:
        if getattr(node, "__parent__", None) is None:
            return node if hasattr(node, "cases") else None
        node = node.__parent__
    return None


def unit_case_numbers(site, code):
    """The numbers of the cases routed to unit ``code`` (from the catalog's unit index)."""
    catalog = getattr(site, "catalog", None)
    if catalog is None or not code:
        return []
    if "unit" not in catalog.catalog:
        return [c.number for c in site.cases.all_cases() if c.unit == code]
    docids = catalog.docids
    # find: the indexes and the recently registered cases not yet merged into them
    return [docids[d] for d in catalog.find("unit", code) if d in docids]


def _record_cases(obj, numbers):
    jar = _jar(obj)
    if jar is None:
        return
    indexer = _indexers.get(jar.db())
    if indexer is None or not numbers:
        return
    buffer = IndexBuffer.get(indexer, jar)
    for number in numbers:
        buffer.add(case_key(number))


def on_event(event):
    """The domain-event subscriber: record the changed id in the transaction's buffer."""
    if isinstance(event, events.PetitionerModified):
        # the person's details are in the text of every case that names them
        person = event.petitioner
        _record_cases(person, list(person.cases or ()))
        return
    if isinstance(event, events.UnitModified):
        # the unit's name is in the text of every case routed to it
        if not event.fields or "name" in event.fields:
            site = _site_of(event.unit)
            if site is not None:
                _record_cases(event.unit, unit_case_numbers(site, event.unit.code))
        return
    case = getattr(event, "case", None)
    if case is None or not getattr(case, "number", None):
        return
    jar = _jar(case)
    if jar is None:
        return
    indexer = _indexers.get(jar.db())
    if indexer is None:
        return
    buffer = IndexBuffer.get(indexer, jar)
    document = getattr(event, "document", None)
    if document is not None and not isinstance(event, events.CaseEvent):
        buffer.add(document_key(case.number, document.id))
    else:
        buffer.add(case_key(case.number))


events.subscribe(on_event)


# --- 3. applying committed changes ------------------------------------------------------------

class Indexer:
    """The index of one database: applies committed changes in its own thread."""

    def __init__(self, db, store, settings=None):
        self.db = db
        self.store = store
        self.settings = dict(settings or {})
        self._cond = threading.Condition()
        self._write_lock = threading.RLock()
        self._pending = set()
        self._busy = False
        self._failing = False
        self._thread = None
        self._closed = False
        self.applied = {}          # key -> times written (for tests and diagnostics)
        self._done = {}            # key -> token applied, not yet removed from the durable queue
        self._unqueued = set()     # keys whose documents could not be queued for extraction yet
        self._dequeued_at = 0.0
        self.ocr = None            # indexing.ocr.OCRWorker
        self.facet_cache = {}      # per-segment columns, shared by the searches (indexing.search)
        self.activity = Activity(self.settings)   # requests in flight: batches wait for a pause
        defer_merges(db)   # the catalog's buffer of new cases is merged here (flush_dequeue)

    # -- the queue of committed ids --
    def committed(self, keys):
        with self._cond:
            self._pending.update(keys)
            self._start()
            self._cond.notify_all()
        # the extraction worker is woken once these are applied and their documents queued

    def _start(self):
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._run, name="casefiles-indexer", daemon=True)
            self._thread.start()

    def _run(self):
        backoff = 0.5
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    if not self._cond.wait(IDLE_SECONDS) and not self._pending:
                        self._thread = None
                        return
                if self._closed:
                    self._thread = None
                    return
                self._busy = True   # waiting for a pause in the requests counts as busy (wait_idle)
            self.activity.wait_quiet(stop=lambda: self._closed)
            with self._cond:
                if self._closed:
                    self._busy = False
                    self._thread = None
                    self._cond.notify_all()
                    return
                keys = set(self._pending)
                self._pending.clear()
                self._busy = True
            ok = False
            try:
                self.apply(keys, dequeue=False)
                ok = True
                with self._cond:
                    idle = not self._pending
                if idle or time.monotonic() - self._dequeued_at >= DEQUEUE_SECONDS:
                    self.flush_dequeue()
            except Exception:
                if database_closed(self.db):
                    with self._cond:
                        self._closed = True
                        self._busy = False
                        self._thread = None
                        self._pending.clear()
                        self._cond.notify_all()
                    return
                log.exception("index update failed; %d ids stay queued", len(keys))
            with self._cond:
                self._busy = False
                if ok:
                    self._failing = False
                    backoff = 0.5
                else:
                    self._failing = True
                    self._pending |= keys
                self._cond.notify_all()
                if not ok:
                    self._cond.wait(backoff)
                    backoff = min(backoff * 2, 30.0)

    def wait_idle(self, timeout=WAIT_SECONDS):
        """Wait until every committed change is in the index (or ``timeout`` seconds); the
        indexer does not wait for a pause in the requests meanwhile."""
        end = time.monotonic() + timeout
        with self.activity.hurried(), self._cond:
            while (self._pending or self._busy) and not self._failing:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return not self._pending

    _fill_thread = None

    def threads(self):
        """This indexer's background threads that are still running (its writer, the initial
        fill, the OCR worker): what a shutdown waits for, and nothing of another app's."""
        found = [getattr(self, "_thread", None), self._fill_thread, getattr(self.ocr, "_thread", None)]
        return [t for t in found if t is not None and t.is_alive()]

    def close(self):
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self.ocr is not None:
            self.ocr.close()
        self.store.close()

    # -- reading the database --
    def open_connection(self):
        tm = transaction.TransactionManager()
        conn = self.db.open(transaction_manager=tm)
        return conn, tm

    def apply(self, keys, force=(), dequeue=True):
        """Write the current database state of ``keys`` into the index, then clear them from
        the durable queue (unless they were queued again meanwhile); with ``dequeue=False``
        the clearing waits for ``flush_dequeue`` (the indexer thread batches it)."""
        keys = merge_keys(keys)
        if not keys:
            return
        with self._write_lock:
            conn, tm = self.open_connection()
            try:
                # first, so that extraction runs beside the indexing; what kept conflicting is
                # queued again with the dequeue
                unqueued = keys if self._queue_for_extraction(conn, tm, keys) is None else ()
                tm.begin()
                site = conn.root().get(ROOT_KEY)
                if site is None:
                    tm.abort()
                    return
                queue = getattr(site, "index_queue", None)
                tokens = {k: queue.get(k) for k in keys} if queue is not None else {}
                writer = self.store.writer()
                try:
                    searcher = writer.searcher()
                    try:
                        for key in sorted(keys):
                            self._sync_key(writer, searcher, site, key, force)
                    finally:
                        searcher.close()
                except BaseException:
                    writer.cancel()
                    raise
                writer.commit()
                tm.abort()
                with self._cond:
                    self._unqueued.update(unqueued)
                    if queue is not None:
                        self._done.update({k: t for k, t in tokens.items() if t is not None})
            finally:
                tm.abort()
                conn.close()
        if dequeue:
            self.flush_dequeue()

    def _queue_for_extraction(self, conn, tm, keys, attempts=5):
        """Queue the documents of ``keys`` that need text extraction, in a transaction of
        their own, and wake the extraction worker; returns how many, or None when it kept
        conflicting (``flush_dequeue`` then tries again)."""
        for _attempt in range(attempts):
            tm.begin()
            try:
                site = conn.root().get(ROOT_KEY)
                queued_now = _queue_extraction(site, keys) if site is not None else 0
                if queued_now:
                    tm.commit()
                    if self.ocr is not None:
                        self.ocr.wake()
                else:
                    tm.abort()
                return queued_now
            except ConflictError:
                tm.abort()
                time.sleep(0.01)
        return None

    def flush_dequeue(self):
        """In one transaction: remove the applied ids from the durable queue (those not queued
        again since), queue the documents ``apply`` could not queue for text extraction (it
        kept conflicting), and merge the catalog's buffer of new cases into its indexes once it
        is full (the requests leave that to this thread: ``casefiles.catalog.defer_merges``).
        A crash before this commit leaves the ids in the durable queue, and ``recover``
        applies them again."""
        with self._cond:
            tokens, self._done = self._done, {}
            unqueued, self._unqueued = self._unqueued, set()
        self._dequeued_at = time.monotonic()
        conn, tm = self.open_connection()
        try:
            done = self._dequeue(conn, tm, tokens, unqueued)
            if done is None:
                with self._cond:
                    for key, token in tokens.items():
                        self._done.setdefault(key, token)
                    self._unqueued |= unqueued
                return False
            if done and self.ocr is not None:
                self.ocr.wake()
            return True
        finally:
            tm.abort()
            conn.close()

    def _dequeue(self, conn, tm, tokens, unqueued=(), attempts=10):
        """The transaction of ``flush_dequeue``: the number of documents queued for text
        extraction, or None when it kept conflicting."""
        for _attempt in range(attempts):
            tm.begin()
            try:
                site = conn.root().get(ROOT_KEY)
                if site is None:
                    return 0
                queue = site.index_queue
                for key, token in tokens.items():
                    if token is not None and queue.get(key) == token:
                        del queue[key]
                extracting = _queue_extraction(site, unqueued)
                cases = getattr(site, "catalog", None)
                merged = cases.merge_if_full() if cases is not None else 0
                if tokens or merged or extracting:
                    tm.commit()
                else:
                    tm.abort()
                return extracting
            except ConflictError:
                tm.abort()
                time.sleep(0.01)
        log.warning("could not clear %d index queue entries; they will be applied again", len(tokens))
        return None

    def _sync_key(self, writer, searcher, site, key, force=()):
        kind, number, doc_id = split_key(key)
        case = site.cases.by_number(number)
        if kind == "case":
            desired = case_items(site, case) if case is not None else {}
            existing = stamps_of(searcher, searcher.document_numbers(**{S.NUMBER: number}))
            for item_id in existing:
                if item_id not in desired:
                    writer.delete_by_term(S.ID_, item_id)
            for item_id, fields in desired.items():
                if item_id in force or existing.get(item_id) != fields[S.STAMP]:
                    replace(writer, fields)
                    self._count(item_id)
        else:
            document = _find_document(case, doc_id) if case is not None else None
            if document is None:
                writer.delete_by_term(S.ID_, key)
                return
            fields = document_fields(case, document)
            existing = stamps_of(searcher, searcher.document_numbers(**{S.ID_: key}))
            if key in force or existing.get(key) != fields[S.STAMP]:
                replace(writer, fields)
                self._count(key)

    def _count(self, key):
        if len(self.applied) > 100_000:
            self.applied.clear()
        self.applied[key] = self.applied.get(key, 0) + 1

    # -- start-up --
    def recover(self):
        """Apply what the durable queue still holds (a crash between the commits), and fill
        an index that is new while the database has cases. Returns the number of ids."""
        conn, tm = self.open_connection()
        try:
            tm.begin()
            site = conn.root().get(ROOT_KEY)
            queue = getattr(site, "index_queue", None) if site is not None else None
            keys = set(queued(queue))
            empty_index = self.store.created
            has_cases = site is not None and "cases" in site and any(True for _ in site.cases.all_cases())
            extract = getattr(site, "extract_queue", None) if site is not None else None
            extraction_waiting = bool(queued(extract))
            tm.abort()
        finally:
            conn.close()
        if keys:
            log.info("applying %d index changes left from before the restart", len(keys))
            self.apply(keys)
        if empty_index and has_cases:
            log.info("the search index is new; indexing every case in the background")
            self._fill_thread = threading.Thread(target=self._fill, name="casefiles-index-fill", daemon=True)
            self._fill_thread.start()
        if extraction_waiting and self.ocr is not None:
            self.ocr.wake()
        return len(keys)

    def _fill(self):
        from .reindex import sync_all
        try:
            sync_all(self, progress=None)
        except Exception:
            log.exception("filling the search index failed; run casefiles-reindex")


def stamps_of(searcher, docnums):
    """{item id: stamp} of the given documents, read from the index's columns."""
    docnums = list(docnums)
    if not docnums:
        return {}
    reader = searcher.reader()
    ids = reader.column_reader(S.ID_)
    stamps = reader.column_reader(S.STAMP)
    return {ids[d]: stamps[d] for d in docnums}


def replace(writer, fields):
    """Update the item on its unique id: every copy goes (Whoosh's own update_document removes
    only the first one it finds), then the new one is added."""
    writer.delete_by_term(S.ID_, fields[S.ID_])
    writer.add_document(**storable(fields))


def storable(fields):
    """The fields as Whoosh takes them (empty values left out)."""
    return {k: v for k, v in fields.items() if v not in ("", None)}


_atexit_indexers = weakref.WeakSet()


def drain_at_exit(indexer):
    _atexit_indexers.add(indexer)


@atexit.register
def _drain():
    for indexer in list(_atexit_indexers):
        if indexer._closed or database_closed(indexer.db):
            continue     # closed with its app: what it still holds is in the durable queue
        try:
            indexer.wait_idle(10.0)
        except Exception:
            pass
