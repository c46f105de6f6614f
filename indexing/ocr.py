"""The text-extraction worker: reads text out of filed PDFs and scans, off the request path.

Documents wait in ``site.extract_queue`` (item id -> version number), put there by the
search indexer's thread as it takes their ids from its durable queue, just before indexing
them (``indexing.sync``): the request that filed them writes one queue, not two, and a
crash in between leaves the ids in the index queue, which is applied again at the next
start. The worker thread of each app takes them one at a time: it runs
``extract.extract_file`` (a bounded child process) outside any transaction, then stores
the text on the document (``Document.set_extracted``) and announces ``DocumentModified``,
so the index follows.
``casefiles-ocr CONFIG`` runs the same work from the console.
"""
import logging
import threading
import time

import transaction
from ZODB.POSException import ConflictError

from casefiles.events import DocumentModified, notify
from casefiles.site import ROOT_KEY

from .extract import extract_file, needs_extraction
from .sync import SENTINEL

log = logging.getLogger(__name__)
IDLE_SECONDS = 5.0


def _setting(settings, name, default, kind=int):
    value = settings.get(name)
    if value in (None, ""):
        return default
    try:
        return kind(value)
    except (TypeError, ValueError):
        return default


class OCRWorker:
    def __init__(self, indexer, settings=None):
        settings = settings or {}
        self.indexer = indexer
        self.enabled = str(settings.get("casefiles.ocr", "true")).lower() not in ("false", "0", "no", "off")
        self.options = {
            "timeout": _setting(settings, "casefiles.ocr_timeout", 300),
            "max_pages": _setting(settings, "casefiles.extract_max_pages", 50),
            "ocr_pages": _setting(settings, "casefiles.ocr_max_pages", 20),
            "ocr_lang": settings.get("casefiles.ocr_lang") or "chi_sim",
        }
        self._cond = threading.Condition()
        self._thread = None
        self._wanted = False
        self._busy = False
        self._closed = False
        self.done = 0

    # -- the background thread --
    def wake(self):
        if not self.enabled:
            return
        with self._cond:
            self._wanted = True
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="casefiles-ocr", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def close(self):
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _run(self):
        failures = 0
        while True:
            with self._cond:
                if self._closed:
                    self._thread = None
                    return
                self._wanted = False
                self._busy = True
            try:
                n = self.run_pending(stop=lambda: self._closed)
                failures = 0
            except Exception:
                from .sync import database_closed
                if database_closed(self.indexer.db):
                    with self._cond:
                        self._closed = True
                        self._busy = False
                        self._thread = None
                        self._cond.notify_all()
                    return
                log.exception("text extraction failed")
                n = 0
                failures += 1
            with self._cond:
                self._busy = False
                self._cond.notify_all()
                if failures >= 5 or self._closed:
                    self._thread = None
                    return
                if n == 0 and not self._wanted:
                    self._cond.wait(IDLE_SECONDS if not failures else 2.0 * failures)
                    if not self._wanted:
                        self._thread = None
                        return

    def wait_idle(self, timeout=60.0):
        """Wait until the extraction queue is empty and the worker is idle (tests, scripts);
        the worker does not wait for a pause in the requests meanwhile."""
        end = time.monotonic() + timeout
        self.indexer.wait_idle(timeout)   # documents are queued for extraction once indexed
        with self.indexer.activity.hurried():
            while time.monotonic() < end:
                with self._cond:
                    busy = self._busy or self._wanted
                if not busy and self.pending_count() == 0:
                    return True
                time.sleep(0.05)
        return False

    # -- the work --
    def pending_count(self):
        conn, tm = self.indexer.open_connection()
        try:
            tm.begin()
            queue = getattr(conn.root().get(ROOT_KEY), "extract_queue", None)
            return sum(1 for k in queue.keys() if k != SENTINEL) if queue is not None else 0
        finally:
            tm.abort()
            conn.close()

    def run_pending(self, limit=None, stop=None, progress=None):
        """Extract every queued document (or ``limit`` of them); returns how many were done."""
        done = 0
        last = None
        tm = transaction.TransactionManager()
        conn = self.indexer.db.open(transaction_manager=tm)
        try:
            while limit is None or done < limit:
                if stop is not None and stop():
                    break
                tm.begin()
                site = conn.root().get(ROOT_KEY)
                queue = getattr(site, "extract_queue", None) if site is not None else None
                keys = queue.keys(min=last or SENTINEL, excludemin=True) if queue is not None else ()
                key = next(iter(keys), None)
                if key is None:
                    tm.abort()
                    break
                version = queue[key]
                last = key
                tm.abort()
                self.indexer.activity.wait_quiet(stop)   # each file in a pause of the requests
                if stop is not None and stop():
                    break
                self.process(conn, tm, key, version)
                done += 1
                self.done += 1
                if progress:
                    progress(1)
        finally:
            tm.abort()
            conn.close()
        return done

    def process(self, conn, tm, key, version):
        from .sync import _find_document, split_key
        _kind, number, doc_id = split_key(key)
        tm.begin()
        site = conn.root()[ROOT_KEY]
        case = site.cases.by_number(number)
        document = _find_document(case, doc_id) if case is not None else None
        job = None
        if document is not None and document.current is not None and document.current.number == version \
                and needs_extraction(document):
            current = document.current
            job = (current.blob.committed(), current.media_type)
        tm.abort()
        result = None
        if job is not None:
            started = time.monotonic()
            result = extract_file(job[0], job[1], **self.options)
            log.info("extracted %s (%s): %s, %d characters in %.1f s%s", key, job[1], result[1], len(result[0]),
                     time.monotonic() - started, f" ({result[2]})" if result[2] else "")
        for _attempt in range(10):
            tm.begin()
            try:
                site = conn.root()[ROOT_KEY]
                case = site.cases.by_number(number)
                document = _find_document(case, doc_id) if case is not None else None
                if result is not None and document is not None and document.current is not None \
                        and document.current.number == version:
                    text, state, _error = result
                    document.set_extracted(version, text, state)
                    notify(DocumentModified(document))
                queue = site.extract_queue
                if queue.get(key) == version:
                    del queue[key]
                tm.commit()
                return
            except ConflictError:
                tm.abort()
                time.sleep(0.05)
        log.warning("could not store the text extracted from %s; it stays queued", key)
