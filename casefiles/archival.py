"""Archiving closed cases (归档), retention periods (保管期限) and disposal (销毁).

The domain side of the archive: a closed case is marked archived with its retention period
(永久 / 30年 / 10年, codes Y / 30 / 10 of DA/T 22-2015), gets its archival reference (档号,
``XY·2025·Y·0001``: fonds prefix, year, retention, a number sequential per year and
retention) and its retention due date, and becomes read-only. Past its due date it may be
disposed of: two different administrators approve, the case leaves the database and a
disposal record keeps what existed and who decided.

Writing the dossier and the package to the archive store is ``archive/``'s job; this module
never touches files and imports nothing outside ``casefiles``.
"""
import datetime

from BTrees.OOBTree import OOBTree
from persistent import Persistent

from . import localtime
from .errors import Conflict, NotFound, ValidationError
from .events import CaseAdded, CaseModified, CaseRemoved, DocumentAdded, notify
from .i18n import _

RETENTIONS = {"Y": "永久", "30": "30年", "10": "10年"}
RETENTION_ORDER = ("Y", "30", "10")
SEPARATOR = "·"


class CaseArchived(CaseModified):
    """A case was archived: the archive store writes its dossier and package."""


class Counter(Persistent):
    """A plain counter: two transactions taking a number conflict, and the later one is
    retried with the next number, so archival references never repeat."""

    value = 0

    def next(self):
        self.value += 1
        return self.value

    def at_least(self, value):
        if value > self.value:
            self.value = value


class DisposalRecord(Persistent):
    """What a disposed-of case was, and who decided to dispose of it."""

    number = ""
    archival_ref = ""
    subject = ""
    retention = ""
    archived_at = None
    retention_due = None
    received_at = None
    petitioners = ()        # display names
    documents = ()          # tuple of dicts: folder, kind, title, ref, versions [(n, filename, size, sha256)]
    history = ()            # tuple of (action, at, by, note)
    approvals = ()          # tuple of (username, at, note)
    disposed_at = None
    note = ""

    def as_json(self):
        return {
            "number": self.number,
            "archival_ref": self.archival_ref,
            "subject": self.subject,
            "retention": self.retention,
            "archived_at": _iso(self.archived_at),
            "retention_due": _iso(self.retention_due),
            "received_at": _iso(self.received_at),
            "petitioners": list(self.petitioners),
            "documents": [dict(d, versions=[list(v) for v in d["versions"]]) for d in self.documents],
            "history": [[a, _iso(at), by, note] for a, at, by, note in self.history],
            "approvals": [[by, _iso(at), note] for by, at, note in self.approvals],
            "disposed_at": _iso(self.disposed_at),
            "note": self.note,
        }


def _iso(value):
    return value.isoformat() if value is not None else None


class Archival(Persistent):
    """The archive's register: references handed out, archived cases, pending disposal
    approvals and disposal records. Lives at ``site.archival``."""

    counters = None     # "2025·Y" -> Counter
    refs = None         # 档号 -> case number (kept after disposal: a reference is never reused)
    archived = None     # case number -> 档号, for the archived cases still held
    pending = None      # case number -> tuple of (username, at, note) approvals of its disposal
    disposals = None    # case number -> DisposalRecord

    def __init__(self):
        self.counters = OOBTree()
        self.refs = OOBTree()
        self.archived = OOBTree()
        self.pending = OOBTree()
        self.disposals = OOBTree()

    def counter(self, year, retention):
        key = f"{year}{SEPARATOR}{retention}"
        counter = self.counters.get(key)
        if counter is None:
            counter = self.counters[key] = Counter()
        return counter

    def numbers(self):
        return list(self.archived.keys())


def registry(site):
    archival = getattr(site, "archival", None)
    if archival is None:
        raise Conflict(_("archive_not_ready", default="The archive register is missing; run the evolve steps."))
    return archival


def retention_title(code):
    return RETENTIONS.get(code or "", "")


def make_ref(prefix, year, retention, seq):
    return SEPARATOR.join((prefix, str(year), retention, f"{seq:04d}"))


def parse_ref(ref):
    """(prefix, year, retention, seq) of an archival reference, or None."""
    parts = (ref or "").split(SEPARATOR)
    if len(parts) != 4 or not parts[1].isdigit() or parts[2] not in RETENTIONS or not parts[3].isdigit():
        return None
    return parts[0], int(parts[1]), parts[2], int(parts[3])


def retention_due(year, retention):
    """The first day past the retention period. Periods count from 1 January of the year after
    the archival year (DA/T 22); a permanent file has no due date."""
    if retention not in RETENTIONS:
        return None
    if retention == "Y":
        return None
    return datetime.date(year + int(retention) + 1, 1, 1)


def closed_at(case):
    """When the case was closed (its last ``close`` in the history), or None."""
    for entry in reversed(case.history):
        if entry.action == "close":
            return entry.at
    return None


def compiler(case):
    """Who compiled the file (立卷人): whoever closed the case."""
    for entry in reversed(case.history):
        if entry.action == "close":
            return entry.by
    return ""


def _on_date(value, now, last):
    """The day an archival step happened: given or today; never in the future, never before
    the previous step."""
    if value in (None, ""):
        return now
    from .intake import parse_datetime
    parsed = parse_datetime(value)
    message = None
    if parsed is None:
        message = _("on_bad", default="The date is not a valid date (YYYY-MM-DD).")
    elif parsed.date() > now.date():
        message = _("on_future", default="The date cannot be in the future.")
    elif last is not None and parsed.date() < last.date():
        message = _("on_before_previous", default="The date cannot be before the previous step (${date}).",
                    mapping={"date": last.date().isoformat()})
    if message is not None:
        raise ValidationError(message, {"on": message})
    if parsed.date() == now.date():
        return now
    if last is not None and parsed.date() == last.date() and parsed < last:
        return last
    return parsed


def archive_case(site, case, retention, by, on=None, now=None, names=None):
    """Archive a closed case: retention, 档号, dates, 立卷人/检查人; the case becomes read-only.

    ``by`` is the administrator who archives (and checks) it; ``names`` maps usernames to
    the names printed on the dossier (default: the users' display names).
    Raises Conflict (409) unless the case is closed, ValidationError (422) for a bad
    retention or date.
    """
    now = now or localtime.now()
    archival = registry(site)
    if case.status != "closed":
        raise Conflict(_("archive_not_closed", default="Only a closed case can be archived; this one is ${status}.",
                         mapping={"status": case.status_title}), {"status": case.status})
    retention = retention if isinstance(retention, str) else ("" if retention is None else str(retention))
    retention = retention.strip().upper()
    if retention not in RETENTIONS:
        message = _("retention_bad", default="Choose a retention period: Y (永久), 30 (30年) or 10 (10年).")
        raise ValidationError(message, {"retention": message})
    history = case.history
    last = history[-1].at if history else case.registered_at
    at = _on_date(on, now, last)
    closed = closed_at(case)
    year = (closed or at).year
    seq = archival.counter(year, retention).next()
    ref = make_ref(site.cases.prefix, year, retention, seq)
    if ref in archival.refs:  # only after an import brought in higher numbers without their counter
        archival.counter(year, retention).at_least(_max_seq(archival, year, retention))
        seq = archival.counter(year, retention).next()
        ref = make_ref(site.cases.prefix, year, retention, seq)

    names = names or {}

    def display(username):
        if not username:
            return ""
        if username in names:
            return names[username]
        user = site.users.get(username)
        return user.name if user is not None and user.name else username

    case.retention = retention
    case.archival_ref = ref
    case.archival_year = year
    case.archived_at = at
    case.archived_by = by
    case.retention_due = retention_due(year, retention)
    case.compiled_by = display(compiler(case) or by)
    case.checked_by = display(by)
    case.status = "archived"
    case.record("archive", at, by, f"{ref} {retention_title(retention)}")
    archival.refs[ref] = case.number
    archival.archived[case.number] = ref
    site.catalog.reindex(case)
    notify(CaseArchived(case))
    return case


def _max_seq(archival, year, retention):
    top = 0
    for ref in archival.refs.keys():
        parsed = parse_ref(ref)
        if parsed and parsed[1] == year and parsed[2] == retention:
            top = max(top, parsed[3])
    return top


def archived_cases(site):
    """The archived cases held, in 档号 order."""
    archival = registry(site)
    out = []
    for number in archival.archived.keys():
        case = site.cases.by_number(number)
        if case is not None:
            out.append(case)
    out.sort(key=lambda c: _ref_key(c.archival_ref))
    return out


def _ref_key(ref):
    parsed = parse_ref(ref)
    if parsed is None:
        return ("", 0, 9, 0, ref or "")
    prefix, year, retention, seq = parsed
    return (prefix, year, RETENTION_ORDER.index(retention), seq, ref)


def due_cases(site, today=None):
    """Archived cases past their retention period (due date on or before ``today``)."""
    today = today or localtime.today()
    return [c for c in archived_cases(site) if c.retention_due is not None and c.retention_due <= today]


def _is_admin(site, username):
    user = site.users.get(username or "")
    return user is not None and getattr(user, "active", True) and "admin" in user.roles


def approve_disposal(site, number, by, now=None, today=None, note=""):
    """One administrator's approval of disposing of an archived case past its retention period.

    The first approval is recorded and the case stays; the approval of a second, different
    administrator disposes of it: the case leaves the database and a DisposalRecord keeps
    what existed and who decided. Returns ``(record or None, approvals)``.
    """
    now = now or localtime.now()
    today = today or now.date()
    archival = registry(site)
    case = site.cases.by_number(number or "")
    if case is None:
        if number in archival.disposals:
            raise Conflict(_("already_disposed", default="Case ${number} was already disposed of.",
                             mapping={"number": number}))
        raise NotFound(_("case_missing", default="There is no case numbered ${number}.", mapping={"number": number}),
                       {"number": number})
    if not _is_admin(site, by):
        message = _("dispose_admin_only", default="Only an administrator can approve a disposal; ${user} is not one.",
                    mapping={"user": by or "-"})
        raise ValidationError(message, {"by": message})
    if case.status != "archived":
        raise Conflict(_("dispose_not_archived", default="Only an archived case can be disposed of."),
                       {"status": case.status})
    if case.retention_due is None or case.retention_due > today:
        raise Conflict(_("dispose_not_due", default="Case ${number} is kept ${retention}; it is not past its "
                         "retention period.", mapping={"number": case.number,
                                                       "retention": _due_text(case)}), {"retention": case.retention})
    approvals = tuple(archival.pending.get(case.number, ()))
    if any(approval[0] == by for approval in approvals):
        raise Conflict(_("dispose_twice", default="${user} has already approved; a second, different "
                         "administrator must approve the disposal.", mapping={"user": by}), {"by": by})
    approvals = approvals + ((by, now, (note or "").strip()[:500]),)
    if len(approvals) < 2:
        archival.pending[case.number] = approvals
        return None, approvals
    record = _disposal_record(site, case, approvals, now, note)
    archival.pending.pop(case.number, None)
    archival.archived.pop(case.number, None)
    archival.disposals[case.number] = record
    _remove_case(site, case)
    return record, approvals


def _due_text(case):
    if case.retention_due is None:
        return retention_title(case.retention)
    return f"{retention_title(case.retention)}（{case.retention_due.isoformat()}）"


def withdraw_approval(site, number, by):
    """Withdraw one's pending approval of a disposal."""
    archival = registry(site)
    approvals = tuple(a for a in archival.pending.get(number, ()) if a[0] != by)
    if approvals:
        archival.pending[number] = approvals
    else:
        archival.pending.pop(number, None)
    return approvals


def _disposal_record(site, case, approvals, now, note):
    record = DisposalRecord()
    record.number = case.number
    record.archival_ref = case.archival_ref
    record.subject = case.subject
    record.retention = case.retention
    record.archived_at = case.archived_at
    record.retention_due = case.retention_due
    record.received_at = case.received_at
    names = []
    for pid, _primary in case.petitioners:
        person = site.petitioners.get(pid)
        if person is not None:
            names.append(person.display_name)
    record.petitioners = tuple(names)
    documents = []
    for stage in case.stages():
        for document in stage.values():
            documents.append({
                "folder": stage.__name__, "id": document.id, "kind": document.kind, "title": document.title,
                "ref": document.ref, "filed_at": _iso(document.filed_at),
                "versions": tuple((v.number, v.filename, v.media_type, v.size, v.sha256) for v in document.versions),
            })
    record.documents = tuple(documents)
    record.history = tuple((h.action, h.at, h.by, h.note) for h in case.history)
    record.approvals = tuple(approvals)
    record.disposed_at = now
    record.note = "；".join(n for _by, _at, n in approvals if n)
    return record


def _remove_case(site, case):
    notify(CaseRemoved(case))
    site.catalog.unindex(case)
    for pid, _primary in case.petitioners:
        person = site.petitioners.get(pid)
        if person is not None:
            person.remove_case(case.number)
    bucket = case.__parent__
    bucket.remove(case.__name__)


# Restoring archived cases from a package (import into another installation)

CASE_FIELDS = ("channel", "status", "subject", "content", "petition_type", "district", "category",
               "received_at", "registered_at", "registered_by", "group_size", "source", "online_source",
               "external_ref", "visit_place", "leader", "accused_unit", "accused_person", "unit", "confidential",
               "links", "retention", "archival_ref", "archival_year", "archived_at", "archived_by",
               "retention_due", "compiled_by", "checked_by")


def restore_case(site, data, documents, history, petitioners, extra=None):
    """Re-create an archived case read from its archival package.

    ``data`` holds the case fields (CASE_FIELDS, plus ``number``); ``petitioners`` is a list
    of dicts (name, id_number, phone, address, anonymous, primary); ``documents`` a list of
    dicts (folder, id, kind, title, ref, author, text, filed_at, filed_by, versions: list of
    (Upload, filed_at, filed_by, note, sha256)); ``history`` a list of (action, at, by, note).
    Raises Conflict if the number or the 档号 is already taken here, ValidationError if a
    file does not match its recorded SHA-256. Announces the case and its documents, so that
    the search index follows.
    """
    from .cases import STAGES, Case
    from .documents import Document, FileVersion
    archival = registry(site)
    number = data["number"]
    parts = number.split("-")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise ValidationError(_("import_number_bad", default="The package has a bad case number ${number}.",
                                mapping={"number": number}), {"number": number})
    if site.cases.by_number(number) is not None:
        raise Conflict(_("import_exists", default="Case ${number} already exists here.", mapping={"number": number}),
                       {"number": number})
    ref = data.get("archival_ref") or ""
    parsed = parse_ref(ref)
    if parsed is None:
        raise ValidationError(_("import_ref_bad", default="The package has a bad archival reference ${ref}.",
                                mapping={"ref": ref}), {"archival_ref": ref})
    if ref in archival.refs:
        raise Conflict(_("import_ref_taken", default="The archival reference ${ref} is already used here.",
                         mapping={"ref": ref}), {"archival_ref": ref})
    stages = dict(STAGES)
    for doc in documents:
        if doc["folder"] not in stages:
            raise ValidationError(_("folder_bad", default="Choose a folder of the case."), {"folder": doc["folder"]})
    year, seq = int(parts[1]), int(parts[2])
    bucket = site.cases.year(year, create=True)
    case = Case(number, year, seq)
    bucket.add(number, case)
    if seq > bucket.sequence:
        bucket.sequence = seq
    for key in CASE_FIELDS:
        if key in data and data[key] is not None:
            setattr(case, key, data[key])
    for key, value in (extra or {}).items():
        if key not in CASE_FIELDS and not key.startswith("_") and key not in ("number", "year", "seq", "docid"):
            setattr(case, key, value)
    people = []
    for person in petitioners:
        record = site.petitioners.register(person.get("name", ""), person.get("id_number", ""),
                                           person.get("phone", ""), person.get("address", ""),
                                           bool(person.get("anonymous")))
        record.add_case(number)
        people.append((record.id, bool(person.get("primary"))))
    case.petitioners = tuple(people)
    filed = []
    for doc in documents:
        document = Document(doc["kind"], doc["title"], doc["filed_at"], doc["filed_by"], text=doc.get("text", ""),
                            ref=doc.get("ref", ""), author=doc.get("author", ""))
        document.id = doc["id"]
        case[doc["folder"]].file(document)
        for n, (upload, at, by, note, sha256) in enumerate(doc["versions"], start=1):
            version = FileVersion(n, upload, at, by, note)
            if sha256 and version.sha256 != sha256:
                raise ValidationError(_("import_checksum", default="The file ${name} of case ${number} does not match "
                                        "its recorded SHA-256.", mapping={"name": upload.filename, "number": number}),
                                      {"file": upload.filename})
            document.versions = document.versions + (version,)
        filed.append(document)
    for action, at, by, note in history:
        case.record(action, at, by, note)
    case.status = "archived"
    archival.refs[ref] = number
    archival.archived[number] = ref
    archival.counter(parsed[1], parsed[2]).at_least(parsed[3])
    site.catalog.index(case)
    notify(CaseAdded(case))
    for document in filed:
        notify(DocumentAdded(document))
    return case
