"""The audit trail: an append-only, hash-chained log of who saw and changed what.

Stored outside the object database, under ``<var>/audit`` or wherever
``casefiles.audit_dir`` points (a mount the application may only append to)::

    audit-000001.jsonl   entries 1 … N (one JSON object per line), then audit-000002.jsonl …
    anchor               one line ``SEQ HASH`` appended after every batch: the head as last written
    lock                 the fcntl lock that keeps one chain across processes
    index.sqlite         a rebuildable index for the auditors' queries (``casefiles.audit_index``)

Every entry carries ``seq`` (1, 2, 3 … without gaps, across segments), ``at`` (Asia/Shanghai
ISO time with microseconds and the +08:00 offset), ``user``, ``address``, ``action``,
``case``, ``document``, ``outcome`` (``ok`` / ``denied`` / ``failed``), ``detail`` (a small
JSON object), ``prev`` (the hash of the entry before; 64 zeros for the first) and ``hash``:
the SHA-256 of the entry's own line without its ``hash`` member. Changing one byte of an
entry breaks its hash; removing an entry leaves a gap in ``seq`` and a broken ``prev``
link; cutting the end off the log leaves it shorter than the anchor (and than the head
recorded in every archival package since).

Files are only ever opened for appending (``O_APPEND``) or for reading. Appends take an
exclusive ``flock`` on ``lock``, read the head the other processes may have moved, write the
whole batch in one ``write`` and ``fsync`` it, then append the new head to ``anchor``.

A write torn by a crash (a last line without its end) is ended and recorded by the next
appender as an ``audit.recovered`` entry naming the fragment's line, length and SHA-256;
``verify`` accepts exactly that fragment and nothing else that is not an entry.

The web layer does not write here directly: ``Writer`` takes entries from the requests
and appends them in batches on its own thread (one ``fdatasync`` per batch).
"""
import atexit
import csv
import datetime
import fcntl
import hashlib
import io
import json
import logging
import os
import re
import sqlite3
import threading
import time
import weakref
from zoneinfo import ZoneInfo

logger = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")
GENESIS = "0" * 64
FIELDS = ("seq", "at", "user", "address", "action", "case", "document", "outcome", "detail", "prev")
OUTCOMES = ("ok", "denied", "failed")
SEGMENT_ENTRIES = 100_000
SEGMENT_RE = re.compile(r"^audit-(\d{6})\.jsonl$")
ANCHOR_RE = re.compile(rb"^(\d+) ([0-9a-f]{64})$")
_HASH_TAIL = len(',"hash":"') + 64 + len('"}')   # what follows the body on every line
BATCH = 2000
LINGER = 0.1      # seconds the writer lets entries gather before a batch


def now_iso():
    return datetime.datetime.now(SHANGHAI).isoformat(timespec="microseconds")


def body_bytes(entry):
    """The bytes the hash covers: the entry's fields in a fixed order, compact, UTF-8."""
    return json.dumps({k: entry.get(k) for k in FIELDS}, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def digest(body):
    return hashlib.sha256(body).hexdigest()


def line_bytes(body, hash_hex):
    return body[:-1] + b',"hash":"' + hash_hex.encode("ascii") + b'"}\n'


def split_line(raw):
    """``(body, hash)`` of a stored line (with or without its newline), or None if it is
    not shaped like one."""
    raw = raw.rstrip(b"\n")
    if len(raw) < _HASH_TAIL + 2 or not raw.endswith(b'"}') or raw[-_HASH_TAIL:-_HASH_TAIL + 9] != b',"hash":"':
        return None
    return raw[:-_HASH_TAIL] + b"}", raw[-66:-2].decode("ascii", "replace")


def seal(entry, seq, prev):
    """Number and chain one entry: returns the complete entry and its stored line."""
    entry = {k: entry.get(k) for k in FIELDS}
    entry["seq"] = seq
    entry["prev"] = prev
    body = body_bytes(entry)
    entry["hash"] = digest(body)
    return entry, line_bytes(body, entry["hash"])


def make_entry(action, user=None, address=None, case=None, document=None, outcome="ok", detail=None, at=None):
    """An entry before it is numbered and chained."""
    return {"at": at or now_iso(), "user": user, "address": address, "action": action,
            "case": case, "document": document, "outcome": outcome or "ok", "detail": detail}


class Head:
    def __init__(self, seq=0, hash=GENESIS):
        self.seq = seq
        self.hash = hash

    def __repr__(self):
        return f"Head({self.seq}, {self.hash[:12]}…)"


class AuditLog:
    """The log files in one folder. Safe to use from several threads and processes."""

    def __init__(self, path, anchor=None, segment_entries=SEGMENT_ENTRIES, fsync=True):
        self.path = os.path.abspath(path)
        os.makedirs(self.path, exist_ok=True)
        self.anchor_path = anchor or os.path.join(self.path, "anchor")
        self.segment_entries = int(segment_entries)
        self.fsync = fsync
        self._lock_path = os.path.join(self.path, "lock")
        self._thread_lock = threading.Lock()
        self._cache = None    # (segment number, size, Head) after our last append
        self._fds = {}        # lock, anchor, segment: kept open (append-only) between batches
        self._segment_open = None
        self._pid = os.getpid()

    # -- files ----------------------------------------------------------------------------
    def segment_name(self, number):
        return f"audit-{number:06d}.jsonl"

    def segment_path(self, number):
        return os.path.join(self.path, self.segment_name(number))

    def segment_of(self, seq):
        return (seq - 1) // self.segment_entries + 1

    def segments(self):
        """The segment numbers present, in order."""
        found = []
        for name in os.listdir(self.path):
            m = SEGMENT_RE.match(name)
            if m:
                found.append(int(m.group(1)))
        return sorted(found)

    def _open_append(self, path):
        return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)

    # -- the head ---------------------------------------------------------------------------
    def head(self):
        """The last entry's seq and hash, read from the files (a torn or foreign last line is
        passed over here; ``verify`` reports it unless a recovery entry accounts for it)."""
        for number in reversed(self.segments()):
            for raw in reversed(_tail_lines(self.segment_path(number))):
                parts = split_line(raw)
                if parts is None:
                    continue
                try:
                    seq = json.loads(parts[0])["seq"]
                except (ValueError, KeyError, TypeError):
                    continue
                if isinstance(seq, int):
                    return Head(seq, parts[1])
        return Head()

    def _torn_tail(self):
        """After a crash in the middle of a write, the last segment ends in part of a line:
        ``(segment name, line number, fragment)``, or None."""
        numbers = self.segments()
        if not numbers:
            return None
        path = self.segment_path(numbers[-1])
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() == 0:
                return None
            f.seek(-1, os.SEEK_END)
            if f.read(1) == b"\n":
                return None
            f.seek(0)
            data = f.read()
        cut = data.rfind(b"\n") + 1
        return self.segment_name(numbers[-1]), data.count(b"\n", 0, cut) + 1, data[cut:]

    def anchor(self):
        """The head as recorded in the anchor after the last batch (``Head()`` if none); a
        line torn by a crash is passed over."""
        for raw in reversed(_tail_lines(self.anchor_path, 4096)):
            m = ANCHOR_RE.match(raw)
            if m:
                return Head(int(m.group(1)), m.group(2).decode("ascii"))
        return Head()

    def _cached_head(self):
        """The head after our last append, if no other process has written since (None if
        one has, or we have not appended yet)."""
        cache = self._cache
        if cache is not None:
            number, size, head = cache
            try:
                unchanged = os.stat(self.segment_path(number)).st_size == size
            except FileNotFoundError:
                unchanged = False
            if unchanged and not os.path.exists(self.segment_path(number + 1)):
                return head
        return None

    # -- appending ---------------------------------------------------------------------------
    def _fd(self, key, path):
        if self._pid != os.getpid():    # a forked child: its own descriptors
            self._fds, self._segment_open, self._cache, self._pid = {}, None, None, os.getpid()
        fd = self._fds.get(key)
        if fd is None:
            fd = self._fds[key] = self._open_append(path)
        return fd

    def _segment_fd(self, number):
        if self._segment_open != number:
            old = self._fds.pop("segment", None)
            if old is not None:
                os.close(old)
            self._segment_open = None
            fd = self._fd("segment", self.segment_path(number))
            self._segment_open = number
            return fd
        return self._fd("segment", self.segment_path(number))

    def append(self, entries):
        """Number, chain and write ``entries`` (from ``make_entry``) as one batch; returns
        ``[(entry, line)]`` in order."""
        if not entries:
            return []
        with self._thread_lock:
            try:
                return self._append(entries)
            except OSError:
                self.close_files()    # start afresh next time (a file replaced, a disk remounted)
                raise

    def _append(self, entries):
        lock_fd = self._fd("lock", self._lock_path)
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        try:
            head = self._cached_head()
            if head is None:   # first batch, after an error, or another process wrote since
                torn = self._torn_tail()   # … and perhaps died in the middle of a write
                if torn is not None:
                    entries = [self._terminate(*torn)] + list(entries)
                if not _ends_with_newline(self.anchor_path):
                    _write_all(self._fd("anchor", self.anchor_path), b"\n")
                head = self.head()
            sealed = []
            seq, prev = head.seq, head.hash
            by_segment = {}
            for entry in entries:
                seq += 1
                full, line = seal(entry, seq, prev)
                prev = full["hash"]
                sealed.append((full, line))
                by_segment.setdefault(self.segment_of(seq), []).append(line)
            for number, lines in by_segment.items():
                fd = self._segment_fd(number)
                _write_all(fd, b"".join(lines))
                if self.fsync:
                    os.fdatasync(fd)
                size = os.fstat(fd).st_size
            # the anchor is a lower bound of the head: a crash may lose its last line (not the
            # log's), which verify accepts; so it needs no fsync of its own
            _write_all(self._fd("anchor", self.anchor_path), f"{seq} {prev}\n".encode("ascii"))
            self._cache = (number, size, Head(seq, prev))
            return sealed
        finally:
            fcntl.flock(lock_fd, fcntl.LOCK_UN)

    def _terminate(self, name, lineno, fragment):
        """End a torn last line, and return the entry that records it (written first in the
        batch, so the chain says what happened)."""
        number = int(SEGMENT_RE.match(name).group(1))
        fd = self._segment_fd(number)
        _write_all(fd, b"\n")
        if self.fsync:
            os.fdatasync(fd)
        self._cache = None
        return make_entry("audit.recovered", outcome="ok",
                          detail={"segment": name, "line": lineno, "fragment_bytes": len(fragment),
                                  "fragment_sha256": hashlib.sha256(fragment).hexdigest()})

    def close_files(self):
        for fd in self._fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds = {}
        self._segment_open = None
        self._cache = None

    # -- reading ------------------------------------------------------------------------------
    def lines(self, start=1):
        """``(segment name, line number, raw line)`` for every stored line, from the segment
        holding seq ``start``."""
        start = max(start, 1)
        first = self.segment_of(start)
        for number in self.segments():
            if number < first:
                continue
            name = self.segment_name(number)
            skip = start - (number - 1) * self.segment_entries - 1   # line k holds seq (n-1)*N+k
            with open(self.segment_path(number), "rb") as f:
                for lineno, raw in enumerate(f, 1):
                    if lineno > skip:
                        yield name, lineno, raw

    def entries(self, start=1):
        """Parsed entries with seq >= ``start`` (lines that do not parse are skipped:
        ``verify`` is what reports them)."""
        for _name, _lineno, raw in self.lines(start):
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("seq"), int) and entry["seq"] >= start:
                yield entry, raw

    def count_lines(self):
        """A quick count for progress bars (bytes are counted, not parsed)."""
        total = 0
        for number in self.segments():
            with open(self.segment_path(number), "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    total += block.count(b"\n")
        return total


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _tail_lines(path, size=1 << 16):
    """The lines in the last ``size`` bytes of a file (the first may be partial)."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return []
    with f:
        f.seek(0, os.SEEK_END)
        end = f.tell()
        start = max(0, end - size)
        f.seek(start)
        lines = f.read(end - start).split(b"\n")
    if start > 0:
        lines = lines[1:]
    return [line for line in lines if line]


def _ends_with_newline(path):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() == 0:
                return True
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"
    except FileNotFoundError:
        return True


# -- verification ----------------------------------------------------------------------------

class Problem:
    def __init__(self, reason, segment=None, line=None, seq=None, detail=""):
        self.reason = reason        # hash, link, sequence, unreadable, truncated, anchor, segment
        self.segment = segment
        self.line = line
        self.seq = seq
        self.detail = detail

    def as_json(self):
        return {"reason": self.reason, "segment": self.segment, "line": self.line, "seq": self.seq,
                "detail": self.detail}

    def __repr__(self):
        return f"Problem({self.reason}, {self.segment}:{self.line}, seq={self.seq}, {self.detail})"


def _recovers(raw, fragment, segment):
    """Is ``raw`` the recovery entry that accounts for the torn line ``fragment``?"""
    parts = split_line(raw)
    try:
        entry = json.loads(parts[0]) if parts else None
        detail = entry.get("detail") or {}
    except (ValueError, AttributeError):
        return False
    return (entry.get("action") == "audit.recovered" and detail.get("segment") == segment
            and detail.get("line") == fragment[0] and detail.get("fragment_sha256") == fragment[1]
            and detail.get("fragment_bytes") == fragment[2])


class Report:
    def __init__(self):
        self.recovered = 0
        self.checked = 0
        self.segments = 0
        self.head = Head()
        self.anchor = Head()
        self.problem = None
        self.seconds = 0.0

    @property
    def ok(self):
        return self.problem is None

    def as_json(self):
        return {"ok": self.ok, "checked": self.checked, "segments": self.segments, "recovered": self.recovered,
                "head": {"seq": self.head.seq, "hash": self.head.hash},
                "anchor": {"seq": self.anchor.seq, "hash": self.anchor.hash},
                "seconds": round(self.seconds, 3),
                "problem": self.problem.as_json() if self.problem else None}


def verify(log, progress=None, expect=None):
    """Check the whole chain; stop at the first broken entry. ``progress(n)`` is called
    with the number of entries checked since the last call. ``expect`` is an extra
    ``Head`` (e.g. from an archival package) the log must still contain."""
    started = time.monotonic()
    report = Report()
    report.anchor = log.anchor()
    prev = GENESIS
    expected = 1
    hashes_at = {}
    wanted = {h.seq: h.hash for h in (report.anchor, expect) if h is not None and h.seq}
    pending = 0
    numbers = log.segments()
    report.segments = len(numbers)
    for index, number in enumerate(numbers):
        name = log.segment_name(number)
        if number != log.segment_of(expected):
            report.problem = Problem("segment", name, None, expected,
                                     f"expected {log.segment_name(log.segment_of(expected))}")
            break
        with open(log.segment_path(number), "rb") as f:
            lineno = 0
            fragment = None     # (line number, sha256, length) of a line that is not an entry
            for raw in f:
                lineno += 1
                if not raw.endswith(b"\n"):
                    report.problem = Problem("unreadable", name, lineno, expected, "incomplete last line")
                    break
                if fragment is not None:
                    if not _recovers(raw, fragment, name):
                        report.problem = Problem("unreadable", name, fragment[0], expected, "not an audit entry")
                        break
                    report.recovered += 1
                    fragment = None
                parts = split_line(raw)
                entry = None
                if parts is not None:
                    body, stored = parts
                    try:
                        entry = json.loads(body)
                        seq = entry["seq"]
                    except (ValueError, KeyError, TypeError):
                        entry = None
                if entry is None:
                    if b'"hash":"' in raw[-_HASH_TAIL - 1:] and raw.startswith(b'{"seq":'):
                        report.problem = Problem("unreadable", name, lineno, expected, "not valid JSON")
                        break
                    # a torn write: fine only if the next line is the entry that recorded it
                    fragment = (lineno, hashlib.sha256(raw[:-1]).hexdigest(), len(raw) - 1)
                    continue
                if seq != expected:
                    report.problem = Problem("sequence", name, lineno, seq,
                                             f"expected seq {expected}, found {seq}")
                    break
                if digest(body) != stored:
                    report.problem = Problem("hash", name, lineno, seq, "the entry's content does not match its hash")
                    break
                if entry.get("prev") != prev:
                    report.problem = Problem("link", name, lineno, seq,
                                             "prev is not the hash of the entry before")
                    break
                if seq in wanted:
                    hashes_at[seq] = stored
                prev = stored
                expected += 1
                report.checked += 1
                pending += 1
                if pending >= 10000 and progress is not None:
                    progress(pending)
                    pending = 0
        if report.problem is None and fragment is not None:
            report.problem = Problem("unreadable", name, fragment[0], expected, "not an audit entry")
        if report.problem is not None:
            break
        if index + 1 < len(numbers) and expected - 1 != number * log.segment_entries:
            report.problem = Problem("segment", name, None, expected - 1,
                                     f"the segment ends early at seq {expected - 1}")
            break
    if progress is not None and pending:
        progress(pending)
    report.head = Head(expected - 1, prev)
    if report.problem is None:
        for seq, hash_hex in sorted(wanted.items()):
            label = "anchor" if seq == report.anchor.seq and hash_hex == report.anchor.hash else "package"
            if seq > report.head.seq:
                report.problem = Problem("truncated", log.segment_name(log.segment_of(seq)), None, seq,
                                         f"the log ends at seq {report.head.seq}, the {label} records seq {seq}")
                break
            if hashes_at.get(seq) != hash_hex:
                report.problem = Problem("anchor", log.segment_name(log.segment_of(seq)), None, seq,
                                         f"entry {seq} differs from the hash the {label} records")
                break
    report.seconds = time.monotonic() - started
    return report


# -- the query index -------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY, at TEXT, user TEXT, address TEXT, action TEXT, case_number TEXT,
    document TEXT, outcome TEXT, detail TEXT, raw TEXT);
CREATE INDEX IF NOT EXISTS entries_user ON entries(user, seq);
CREATE INDEX IF NOT EXISTS entries_case ON entries(case_number, seq);
CREATE INDEX IF NOT EXISTS entries_action ON entries(action, seq);
CREATE INDEX IF NOT EXISTS entries_at ON entries(at);
"""

CSV_COLUMNS = ("seq", "at", "user", "address", "action", "case", "document", "outcome", "detail", "hash")


class AuditIndex:
    """SQLite copy of the log for filtering and paging; rebuilt from the log at will."""

    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with self.connect() as db:
            db.executescript(SCHEMA)

    def connect(self):
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return _Closing(db)

    def writer_connection(self):
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def add(self, sealed, db=None):
        rows = [(e["seq"], e["at"], e["user"], e["address"], e["action"], e["case"], e["document"],
                 e["outcome"], json.dumps(e["detail"], ensure_ascii=False) if e["detail"] is not None else None,
                 line.decode("utf-8").rstrip("\n") if isinstance(line, bytes) else line.rstrip("\n"))
                for e, line in sealed]
        if not rows:
            return

        def write(conn):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT OR REPLACE INTO entries VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
            conn.execute("COMMIT")
        if db is not None:
            write(db)
        else:
            with self.connect() as conn:
                write(conn)

    def last_seq(self):
        with self.connect() as db:
            return db.execute("SELECT COALESCE(MAX(seq), 0) FROM entries").fetchone()[0]

    def catch_up(self, log, progress=None):
        """Add what the log has beyond the index (after a crash, or entries another
        process wrote while its index update failed). Returns the number added."""
        start = self.last_seq() + 1
        added = 0
        batch = []
        with self.connect() as db:
            for entry, raw in log.entries(start):
                batch.append((entry, raw))
                if len(batch) >= 5000:
                    self.add(batch, db)
                    added += len(batch)
                    if progress:
                        progress(len(batch))
                    batch = []
            if batch:
                self.add(batch, db)
                added += len(batch)
                if progress:
                    progress(len(batch))
        return added

    def rebuild(self, log, progress=None):
        with self.connect() as db:
            db.execute("DELETE FROM entries")
        return self.catch_up(log, progress)

    @staticmethod
    def _where(filters):
        clauses, args = [], []
        for key, column in (("user", "user"), ("case", "case_number"), ("action", "action"),
                            ("outcome", "outcome"), ("document", "document")):
            value = filters.get(key)
            if value:
                if key == "action" and value.endswith("*"):
                    clauses.append("action LIKE ?")
                    args.append(value[:-1].replace("%", "").replace("_", r"\_") + "%")
                    clauses[-1] += " ESCAPE '\\'"
                else:
                    clauses.append(f"{column} = ?")
                    args.append(value)
        if filters.get("from"):
            clauses.append("at >= ?")
            args.append(filters["from"].isoformat())
        if filters.get("to"):
            clauses.append("at < ?")
            args.append((filters["to"] + datetime.timedelta(days=1)).isoformat())
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def query(self, filters, page=1, size=50):
        """``(total, entries)`` newest first; ``filters`` has user, case, action (``login*``
        for a family), outcome, document, from and to (dates, inclusive)."""
        where, args = self._where(filters)
        with self.connect() as db:
            total = db.execute(f"SELECT COUNT(*) FROM entries{where}", args).fetchone()[0]
            rows = db.execute(f"SELECT raw FROM entries{where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                              args + [size, (max(page, 1) - 1) * size]).fetchall()
        return total, [json.loads(r[0]) for r in rows]

    def iter_raw(self, filters, ascending=True):
        where, args = self._where(filters)
        order = "ASC" if ascending else "DESC"
        with self.connect() as db:
            for (raw,) in db.execute(f"SELECT raw FROM entries{where} ORDER BY seq {order}", args):
                yield raw

    def actions(self):
        with self.connect() as db:
            return [r[0] for r in db.execute("SELECT DISTINCT action FROM entries ORDER BY action")]


class _Closing:
    def __init__(self, db):
        self.db = db

    def __enter__(self):
        return self.db

    def __exit__(self, *exc):
        self.db.close()
        return False


def csv_rows(raws):
    """CSV text chunks (UTF-8 with a BOM so that Excel reads the Chinese) for raw lines."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    for n, raw in enumerate(raws, 1):
        e = json.loads(raw)
        writer.writerow([e.get("seq"), e.get("at"), e.get("user") or "", e.get("address") or "",
                         e.get("action"), e.get("case") or "", e.get("document") or "", e.get("outcome"),
                         json.dumps(e["detail"], ensure_ascii=False) if e.get("detail") is not None else "",
                         e.get("hash")])
        if n % 500 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


# -- the writer thread ----------------------------------------------------------------------

class Writer:
    """Takes entries from any thread and appends them in batches on its own thread, then
    indexes them. ``flush`` waits until everything handed in so far is on disk.

    The thread wakes when the first entry arrives, lets more gather for ``linger`` seconds
    (or until ``batch`` are waiting, or someone flushes), then writes them with one
    ``write`` and one ``fdatasync``: under load one batch serves many requests, and the
    requests never wait for the disk."""

    def __init__(self, log, index=None, batch=BATCH, linger=LINGER):
        self.log = log
        self.index = index
        self.batch = batch
        self.linger = linger
        self._buffer = []
        self._cond = threading.Condition()
        self._submitted = 0
        self._written = 0
        self._urgent = False
        self._stopping = False
        self._closed = False
        self.errors = 0
        self.last_error = None
        self._db = None
        self._db_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="casefiles-audit", daemon=True)
        self._thread.start()
        _open_writers.add(self)

    def submit(self, entries):
        if not entries:
            return
        if self._closed:   # after close: write in the caller's thread, lose nothing
            sealed = self.log.append(list(entries))
            self._index(sealed)
            with self._db_lock:
                self._close_db()
            self.log.close_files()
            return
        with self._cond:
            was_empty = not self._buffer
            self._buffer.extend(entries)
            self._submitted += len(entries)
            if was_empty or len(self._buffer) >= self.batch:
                self._cond.notify_all()

    def _run(self):
        while True:
            with self._cond:
                while not self._buffer and not self._stopping:
                    self._cond.wait()
                if not self._buffer:
                    break
                if not (self._urgent or self._stopping) and len(self._buffer) < self.batch:
                    self._cond.wait_for(lambda: self._urgent or self._stopping or len(self._buffer) >= self.batch,
                                        self.linger)
                items = self._buffer[:self.batch]
                del self._buffer[:self.batch]
                if not self._buffer:
                    self._urgent = False
            self._write(items)

    def _write(self, items):
        for attempt in range(50):
            try:
                sealed = self.log.append(items)
                break
            except OSError as exc:   # a full or unmounted disk: keep the entries, try again
                self.errors += 1
                self.last_error = exc
                logger.error("cannot write the audit trail in %s: %s", self.log.path, exc)
                time.sleep(min(0.1 * (attempt + 1), 2))
        else:
            logger.critical("%d audit entries could not be written to %s and are lost", len(items), self.log.path)
            sealed = []
        self._index(sealed)
        with self._cond:
            self._written += len(items)
            self._cond.notify_all()

    def _index(self, sealed):
        if self.index is None or not sealed:
            return
        with self._db_lock:
            try:
                if self._db is None:
                    self._db = self.index.writer_connection()
                self.index.add(sealed, self._db)
            except sqlite3.Error as exc:   # the index is a cache: catch_up repairs it at the next start
                self.errors += 1
                self.last_error = exc
                self._close_db()

    def _close_db(self):
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None

    def _forked(self):
        if self._closed:
            return
        self._cond = threading.Condition()
        self._buffer = []
        self._submitted = self._written = 0
        self._urgent = self._stopping = False
        self._inherited_db, self._db = self._db, None    # the parent's: never used nor closed here
        self._db_lock = threading.Lock()
        self.log._thread_lock = threading.Lock()     # another thread may have held it at the fork
        self._thread = threading.Thread(target=self._run, name="casefiles-audit", daemon=True)
        self._thread.start()

    def pending(self):
        with self._cond:
            return self._submitted - self._written

    def flush(self, timeout=30):
        """Wait until every entry submitted before the call is written; True if so."""
        with self._cond:
            target = self._submitted
            if self._written < target:
                self._urgent = True
                self._cond.notify_all()
            return self._cond.wait_for(lambda: self._written >= target, timeout)

    def close(self, timeout=30):
        """Write what is waiting and stop the thread; later entries are written at once."""
        if self._closed:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout)
        with self._cond:
            self._closed = True
            left, self._buffer = self._buffer, []
        if left:    # handed in while the thread was stopping
            self._write(left)
        with self._db_lock:
            self._close_db()
        self.log.close_files()


_open_writers = weakref.WeakSet()


def _restart_in_child():
    """A forking server (gunicorn --preload): each worker gets its own writer thread; what
    the parent had not written yet is the parent's to write."""
    for writer in list(_open_writers):
        writer._forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_restart_in_child)


@atexit.register
def _close_at_exit():
    """A server stopped (SIGTERM, Ctrl-C) writes what its requests handed in."""
    for writer in list(_open_writers):
        try:
            writer.close(timeout=10)
        except Exception:   # noqa: BLE001 - exiting anyway
            pass


# -- a case's extract for its archival package -------------------------------------------------

class Source:
    """One installation's trail as the archive sees it: the log, its index and its writer."""

    def __init__(self, log, index, writer=None):
        self.log = log
        self.index = index
        self.writer = writer

    def case_extract(self, number):
        """``(lines, head)``: every stored line about case ``number`` in order, and the head
        of the whole chain now (which a later ``verify`` checks the log still holds)."""
        if self.writer is not None:
            self.writer.flush(timeout=10)
        self.index.catch_up(self.log)
        lines = [raw if raw.endswith("\n") else raw + "\n" for raw in self.index.iter_raw({"case": number})]
        return lines, self.log.head()


_sources = {}


def register_source(archive_root, source):
    _sources[os.path.abspath(archive_root)] = source


def unregister_source(source):
    for key, value in list(_sources.items()):
        if value is source:
            del _sources[key]


def case_extract(archive_root, number):
    """The extract of case ``number`` from the trail of the installation whose archive store
    is ``archive_root`` (None when that installation records no trail)."""
    source = _sources.get(os.path.abspath(archive_root))
    return source.case_extract(number) if source is not None else None


EXTRACT_DIR = "audit"
EXTRACT_NAME = "audit.jsonl"
HEAD_NAME = "head.json"


def write_extract(folder, number, lines, head):
    """Write ``audit/audit.jsonl`` and ``audit/head.json`` into a package's payload folder."""
    target = os.path.join(folder, EXTRACT_DIR)
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(target, EXTRACT_NAME), "w", encoding="utf-8") as f:
        f.writelines(lines)
    with open(os.path.join(target, HEAD_NAME), "w", encoding="utf-8") as f:
        json.dump({"case": number, "entries": len(lines), "head_seq": head.seq, "head_hash": head.hash,
                   "at": now_iso(), "hash": "sha256 of each line without its hash member; prev links the chain"},
                  f, ensure_ascii=False, indent=1)
    return os.path.join(target, HEAD_NAME)


def read_package_head(bag_dir):
    """The head recorded in an archival package (``Head``), or None if it has none."""
    path = os.path.join(bag_dir, "data", EXTRACT_DIR, HEAD_NAME)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return Head(int(data["head_seq"]), str(data["head_hash"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_extract(bag_dir):
    """Problems with a package's extract on its own: each line's hash, its case, its order."""
    problems = []
    path = os.path.join(bag_dir, "data", EXTRACT_DIR, EXTRACT_NAME)
    last = 0
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            parts = split_line(raw)
            if parts is None or digest(parts[0]) != parts[1]:
                problems.append(f"{EXTRACT_NAME}:{lineno}: hash")
                continue
            seq = json.loads(parts[0])["seq"]
            if seq <= last:
                problems.append(f"{EXTRACT_NAME}:{lineno}: order")
            last = seq
    return problems
