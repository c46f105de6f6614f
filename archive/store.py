"""The archive store: one BagIt bag per archived case under ``casefiles.archive_dir``
(``<var>/archive/<year>/<case number>/``), written when a case is archived, read to serve
its dossier and package, verified by ``casefiles-archive verify``.

A bag is written in a staging folder inside the transaction that archives the case and is
moved into place only after that transaction commits; if it aborts (or is retried), the
staging folder is removed. So the database and the store agree: no archived case without
its bag, no bag for a case that was not archived.

Verification reads every file once: the bag's structure and completeness (bagit), each
payload and tag file against the bag's SHA-256 manifests, the package XML against its
schema and against those checksums, the dossier's embedded manifest against the bag's,
and — given the live case — the database's checksums against the package.
"""
import datetime
import hashlib
import json
import logging
import os
import shutil
import uuid
import weakref

import transaction

from casefiles import archival, events
from casefiles import audit as A
from casefiles.i18n import _

from . import contents as C
from . import dossier as D
from . import package as P

log = logging.getLogger(__name__)
STAGING = ".staging"
DISPOSALS = "disposals"
CHUNK = 1 << 20


def archive_dir(settings):
    path = settings.get("casefiles.archive_dir")
    if not path:
        var = settings.get("casefiles.var") or os.path.abspath("var")
        path = os.path.join(var, "archive")
    return path


def software_agent():
    import bagit
    return f"casefiles archive (bagit.py {bagit.VERSION})"


class Store:
    def __init__(self, root):
        self.root = os.path.abspath(root)

    @classmethod
    def from_settings(cls, settings):
        return cls(archive_dir(settings))

    def path(self, number):
        parts = (number or "").split("-")
        if len(parts) != 3 or not parts[1].isdigit() or any(sep in number for sep in ("/", "\\", "..")):
            raise ValueError(f"bad case number {number!r}")
        return os.path.join(self.root, parts[1], number)

    def exists(self, number):
        return os.path.isfile(os.path.join(self.path(number), "bagit.txt"))

    def dossier_path(self, number):
        return os.path.join(self.path(number), "data", P.DOSSIER_NAME)

    def numbers(self):
        """Case numbers of the bags on disk."""
        out = []
        if not os.path.isdir(self.root):
            return out
        for year in sorted(os.listdir(self.root)):
            folder = os.path.join(self.root, year)
            if not year.isdigit() or not os.path.isdir(folder):
                continue
            for number in sorted(os.listdir(folder)):
                if os.path.isfile(os.path.join(folder, number, "bagit.txt")):
                    out.append(number)
        return out

    def staging(self, number):
        folder = os.path.join(self.root, STAGING, f"{number}-{uuid.uuid4().hex[:12]}")
        os.makedirs(folder)
        return folder

    def place(self, staged, number):
        """Move a staged bag into place, replacing an older one."""
        final = self.path(number)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        old = None
        if os.path.exists(final):
            old = os.path.join(self.root, STAGING, f"old-{number}-{uuid.uuid4().hex[:12]}")
            os.rename(final, old)
        os.rename(staged, final)
        if old:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def remove(self, number):
        final = self.path(number)
        if os.path.exists(final):
            gone = os.path.join(self.root, STAGING, f"gone-{number}-{uuid.uuid4().hex[:12]}")
            os.makedirs(os.path.dirname(gone), exist_ok=True)
            os.rename(final, gone)
            shutil.rmtree(gone, ignore_errors=True)

    def discard(self, staged):
        shutil.rmtree(staged, ignore_errors=True)

    def clean_staging(self, older_than=3600):
        """Remove staging folders left by a crash."""
        folder = os.path.join(self.root, STAGING)
        if not os.path.isdir(folder):
            return
        now = datetime.datetime.now().timestamp()
        for name in os.listdir(folder):
            path = os.path.join(folder, name)
            try:
                if now - os.path.getmtime(path) > older_than:
                    shutil.rmtree(path, ignore_errors=True)
            except OSError:
                pass

    def write_disposal(self, record):
        folder = os.path.join(self.root, DISPOSALS)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"{record.number}.json")
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record.as_json(), f, ensure_ascii=False, indent=2)
            f.write("\n")
        os.replace(tmp, path)
        return path


# Writing a case's bag ------------------------------------------------------------------

def _copy_version(version, target):
    with version.blob.open("r") as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, CHUNK)


def audit_extract(store, number):
    return A.case_extract(store.root, number)


def stage_package(site, case, store):
    """Build the dossier, the XML and the bag of an archived case in a staging folder.
    Returns (staged folder, Dossier)."""
    staged = store.staging(case.number)
    try:
        built = D.build(site, case, path=os.path.join(staged, P.DOSSIER_NAME))
        xml = P.build_xml(site, case, built)
        with open(os.path.join(staged, P.XML_NAME), "wb") as f:
            f.write(xml)
        for entry in C.entries(case):
            for version in entry.document.versions:
                target = os.path.join(staged, entry.original_path(version))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                _copy_version(version, target)
        info = P.bag_info(site, case, software_agent())
        extract = audit_extract(store, case.number)
        if extract is not None:   # the case's audit trail and the chain's head now (casefiles.audit)
            lines, head = extract
            A.write_extract(staged, case.number, lines, head)
            info["Audit-Trail-Head"] = f"{head.seq} {head.hash}"
        P.make_bag(staged, info)
    except BaseException:
        store.discard(staged)
        raise
    return staged, built


def _transaction_of(obj):
    while obj is not None:
        jar = getattr(obj, "_p_jar", None)
        if jar is not None and getattr(jar, "transaction_manager", None) is not None:
            return jar.transaction_manager.get()
        obj = getattr(obj, "__parent__", None)
    return transaction.get()


class _Pending:
    """The bags a transaction will place in the store: built (or copied) in staging folders
    just before it commits, moved into place after it committed, removed if it aborts."""

    def __init__(self, store):
        self.store = store
        self.builds = {}     # number -> (site, case)
        self.copies = {}     # number -> bag folder to copy (an import)
        self.staged = {}     # number -> staging folder

    @classmethod
    def of(cls, txn, store):
        pending = txn.data(_PENDING_KEY) if _has_data(txn) else None
        if pending is None or pending.store.root != store.root:
            pending = cls(store)
            txn.set_data(_PENDING_KEY, pending)
            txn.addBeforeCommitHook(pending.before_commit)
            txn.addAfterCommitHook(pending.after_commit)
            txn.addAfterAbortHook(pending.discard)
        return pending

    def before_commit(self):
        try:
            for number, (site, case) in list(self.builds.items()):
                if number not in self.staged:
                    self.staged[number] = stage_package(site, case, self.store)[0]
            for number, source in list(self.copies.items()):
                if number not in self.staged:
                    self.staged[number] = stage_copy(source, self.store, number)
        except BaseException:
            self.discard()
            raise

    def after_commit(self, success):
        if not success:
            self.discard()
            return
        for number, staged in self.staged.items():
            try:
                self.store.place(staged, number)
            except OSError:
                log.exception("could not move the archival package of %s into place", number)
        self.staged = {}

    def discard(self):
        for staged in self.staged.values():
            self.store.discard(staged)
        self.staged = {}


class _Key:
    pass


_PENDING_KEY = _Key()


def _has_data(txn):
    try:
        txn.data(_PENDING_KEY)
    except KeyError:
        return False
    return True


def stage_copy(source, store, number):
    staged = store.staging(number)
    os.rmdir(staged)
    shutil.copytree(source, staged)
    return staged


def write_package(site, case, settings, defer=True):
    """Write the archived case's dossier, XML and bag to the archive store.

    With ``defer`` (the default) the bag is built just before the current transaction
    commits and moved into place after it committed (nothing is left if it aborts); a case
    archived in this transaction is already scheduled, so calling this again is harmless.
    Without ``defer`` it is built and placed at once. Returns the final path of the bag.
    """
    store = Store.from_settings(settings)
    if not defer:
        staged, _built = stage_package(site, case, store)
        return store.place(staged, case.number)
    _Pending.of(_transaction_of(case), store).builds[case.number] = (site, case)
    return store.path(case.number)


def schedule_copy(case, source, settings):
    """Copy an imported bag into the store when the transaction that restored its case
    commits."""
    store = Store.from_settings(settings)
    _Pending.of(_transaction_of(case), store).copies[case.number] = source
    return store.path(case.number)


def archive(site, case, retention, by, settings, on=None, now=None):
    """The archive action: mark the closed case archived (retention, 档号) and write its
    dossier and package to the store when the transaction commits."""
    D.cjk_font()  # fail now, with a clear message, rather than at commit
    archival.archive_case(site, case, retention, by, on=on, now=now)
    write_package(site, case, settings)
    return case


# Following the domain: a case archived by any path (the workflow's archive action, this
# module's ``archive``) gets its package written when its transaction commits.

_settings_by_db = weakref.WeakKeyDictionary()


def register(db, settings):
    """Follow the cases archived in ``db``: their packages go to the store in ``settings``."""
    _settings_by_db[db] = settings


def on_archived(event):
    case = event.case
    jar = None
    node = case
    while node is not None and jar is None:
        jar = getattr(node, "_p_jar", None)
        node = getattr(node, "__parent__", None)
    if jar is None:
        return
    settings = _settings_by_db.get(jar.db())
    if settings is None:
        return
    from casefiles.site import find_site
    site = find_site(case)
    if site is None:
        return
    D.cjk_font()
    write_package(site, case, settings)


events.subscribe(lambda event: on_archived(event) if isinstance(event, archival.CaseArchived) else None)


def dispose(site, number, by, settings, now=None, today=None, note=""):
    """One administrator's approval of a disposal; the second, different administrator's
    approval disposes of the case. Its bag leaves the store when the transaction commits,
    and the disposal record is written beside the bags. Returns (record or None, approvals)."""
    record, approvals = archival.approve_disposal(site, number, by, now=now, today=today, note=note)
    if record is not None:
        store = Store.from_settings(settings)

        def after_commit(success):
            if success:
                try:
                    store.write_disposal(record)
                    store.remove(number)
                except OSError:
                    log.exception("could not remove the archival package of %s", number)

        _transaction_of(site).addAfterCommitHook(after_commit)
    return record, approvals


# Reading -------------------------------------------------------------------------------

READING = ".reading"
READING_LAYOUT = 2   # bump when the dossier's layout changes, so cached reading copies are rebuilt


def fingerprint(site, case):
    """A digest of everything a dossier prints about ``case``: a reading copy built for the
    same fingerprint is the same document."""
    items = C.entries(case)
    facts = {
        "layout": READING_LAYOUT, "number": case.number, "status": case.status, "subject": case.subject,
        "channel": case.channel, "district": case.district, "ref": case.archival_ref, "retention": case.retention,
        "received": str(case.received_at), "registered": str(case.registered_at),
        "history": [len(case.history)] + ([case.history[-1].action, str(case.history[-1].at)] if case.history else []),
        "petitioners": C.petitioner_names(site, case), "site": site.title,
        "documents": [[e.seq, e.id, e.folder, e.document.kind, e.document.title, e.document.ref, e.document.author,
                       str(e.document.filed_at), C.author(site, case, e), e.document.text if e.media_type not in
                       ("application/pdf", "text/plain") and not e.media_type.startswith("image/") else "",
                       [[v.number, v.sha256, v.filename] for v in e.document.versions]] for e in items],
    }
    return hashlib.sha256(json.dumps(facts, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()[:32]


def reading_copy(site, case, settings):
    """(path, documents) of a reading copy of ``case`` (any status), built once per state of
    the case and kept under the archive store's ``.reading`` folder."""
    root = os.path.join(archive_dir(settings), READING)
    os.makedirs(root, exist_ok=True)
    key = f"{case.number}-{fingerprint(site, case)}"
    pdf = os.path.join(root, key + ".pdf")
    layout = os.path.join(root, key + ".json")
    if os.path.isfile(pdf) and os.path.isfile(layout):
        try:
            with open(layout, encoding="utf-8") as f:
                return pdf, json.load(f)
        except (OSError, ValueError):
            pass
    token = uuid.uuid4().hex[:8]
    built = D.build(site, case, path=pdf + token)
    with open(layout + token, "w", encoding="utf-8") as f:
        json.dump(built.documents, f, ensure_ascii=False)
    os.replace(pdf + token, pdf)
    os.replace(layout + token, layout)
    for name in os.listdir(root):  # older copies of this case
        if name.startswith(case.number + "-") and not name.startswith(key):
            try:
                os.remove(os.path.join(root, name))
            except OSError:
                pass
    return pdf, built.documents

def stored_dossier(settings, case):
    """The path of the stored dossier of an archived case, or None."""
    store = Store.from_settings(settings)
    path = store.dossier_path(case.number)
    return path if os.path.isfile(path) else None


# Verifying -----------------------------------------------------------------------------

class Problem:
    """One thing wrong with a case's bag."""

    def __init__(self, number, message, path=""):
        self.number = number
        self.message = message
        self.path = path

    def __repr__(self):
        return f"Problem({self.number!r}, {self.message!r}, {self.path!r})"


def _hash(path):
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            digest.update(chunk)
    return digest.hexdigest(), size


def verify_bag(bag_dir, number="", case=None):
    """Check one bag; returns a list of Problems (empty when everything matches).

    Every file is read once. ``case`` (the live case, if it is still in the database) adds
    the check that the database's checksums are the package's."""
    import bagit
    problems = []

    def problem(message, path=""):
        problems.append(Problem(number, message, path))

    if not os.path.isfile(os.path.join(bag_dir, "bagit.txt")):
        problem(_("verify_no_bag", default="The archival package is missing."), bag_dir)
        return problems
    try:
        bag = bagit.Bag(bag_dir)
        bag.validate(completeness_only=True)
    except bagit.BagValidationError as exc:
        for detail in getattr(exc, "details", None) or [exc]:
            problem(_("verify_bag_incomplete", default="The bag is incomplete: ${detail}",
                      mapping={"detail": str(detail)}))
        return problems
    except bagit.BagError as exc:
        problem(_("verify_bag_bad", default="The bag cannot be read: ${detail}", mapping={"detail": str(exc)}))
        return problems

    actual = {}
    for rel, hashes in sorted(bag.entries.items()):
        expected = hashes.get("sha256")
        full = os.path.join(bag_dir, rel)
        if not os.path.isfile(full):
            continue  # a tag file named in the manifest but absent was reported by bagit
        digest, size = _hash(full)
        actual[rel.replace(os.sep, "/")] = (digest, size)
        if expected is None:
            problem(_("verify_no_checksum", default="${path} has no SHA-256 in the bag's manifests.",
                      mapping={"path": rel}), rel)
        elif digest != expected:
            problem(_("verify_changed", default="${path} has changed: its SHA-256 is not the one in the manifest.",
                      mapping={"path": rel}), rel)

    try:
        data = P.read_xml(P.bag_xml(bag_dir))
    except (OSError, P.PackageInvalid, ValueError, TypeError, AttributeError) as exc:
        problem(_("verify_xml_bad", default="The package XML is not valid: ${detail}",
                  mapping={"detail": str(exc)[:300]}), P.XML_NAME)
        return problems
    if number and data.number != number:
        problem(_("verify_wrong_case", default="The package describes case ${other}.", mapping={"other": data.number}))
    for path, size, sha256 in data.files():
        rel = f"data/{path}"
        found = actual.get(rel)
        if found is None:
            problem(_("verify_missing_file", default="${path} named in the package XML is not in the bag.",
                      mapping={"path": rel}), rel)
        elif found[0] != sha256 or found[1] != size:
            problem(_("verify_xml_mismatch", default="${path} does not match the SHA-256 and size in the package XML.",
                      mapping={"path": rel}), rel)

    manifest_lines = sorted(f"{sha}  data/{path}" for path, _size, sha in data.files()[1:])
    dossier_path = os.path.join(bag_dir, "data", data.dossier["path"])
    try:
        with open(dossier_path, "rb") as f:
            embedded = D.embedded_manifest(f)
    except Exception:  # an unreadable PDF is reported below, whatever pypdf raised
        embedded = None
    if embedded is None:
        problem(_("verify_dossier_manifest_missing", default="The dossier has no readable embedded manifest."),
                "data/" + data.dossier["path"])
    elif sorted(line for line in embedded.splitlines() if line.strip()) != manifest_lines:
        problem(_("verify_dossier_manifest_differs", default="The dossier's embedded manifest differs from the "
                  "package's checksums."), "data/" + data.dossier["path"])

    if case is not None:
        recorded = {}
        for document in data.documents:
            for v in document["versions"]:
                recorded[(document["id"], v["number"])] = v["sha256"]
        live = {}
        for document in case.documents():
            for version in document.versions:
                live[(document.id, version.number)] = version.sha256
        if recorded != live:
            problem(_("verify_db_differs", default="The documents in the database differ from the archival package."))
        if case.archival_ref != data.ref:
            problem(_("verify_ref_differs", default="The archival reference in the database (${db}) differs from "
                      "the package's (${package}).", mapping={"db": case.archival_ref, "package": data.ref}))
    return problems


def verify_case(settings, site, number):
    """Problems of one archived case (its bag in the store against the database)."""
    store = Store.from_settings(settings)
    case = site.cases.by_number(number) if site is not None else None
    return verify_bag(store.path(number), number, case)


def bag_files(bag_dir):
    """Every file of a bag (for throughput measurements)."""
    out = []
    for folder, _dirs, files in os.walk(bag_dir):
        for name in files:
            out.append(os.path.join(folder, name))
    return out
