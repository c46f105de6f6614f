"""What a case's dossier and package contain: the documents in archival order and the facts
printed about them (序号, 文号, 责任者, 题名, 日期, 备注), the case facts of the cover, the file
names of the originals in the package and the SHA-256 manifest the dossier carries.

Shared by ``archive.dossier`` (the PDF) and ``archive.package`` (the XML and the bag), so
both always describe the same documents in the same order. Reads the case; changes nothing.
"""
import datetime
import os

from casefiles.archival import RETENTIONS
from casefiles.cases import CHANNELS, STAGES, TRANSFER_LEVELS
from casefiles.documents import ACCEPTED_TYPES, KINDS

STAGE_TITLES = dict(STAGES)

# Archival order (卷内文件排列): conclusions first. The closing materials, then the review
# decisions (they supersede the handling opinion), the handling materials, supervision, the
# notices of acceptance and assignment, and last the origin materials.
ARCHIVAL_ORDER = ("closing", "review", "handling", "supervision", "notices", "origin")

# Within a folder the latest (most conclusive) document comes first; the origin folder keeps
# the order of receipt, the letter before its attachments (正件在前、附件在后).
ASCENDING = ("origin",)
KIND_ORDER = {kind: i for i, kind in enumerate(KINDS)}

ORIGIN_AUTHORED_BY_PETITIONER = ("letter", "letter_scan", "visit_transcript", "online_complaint", "phone_record",
                                 "review_request")

MANIFEST_NAME = "manifest-sha256.txt"


class Entry:
    """One document of the dossier, in archival order."""

    def __init__(self, seq, folder, document):
        self.seq = seq
        self.folder = folder
        self.folder_title = STAGE_TITLES.get(folder, folder)
        self.document = document
        self.version = document.current

    @property
    def id(self):
        return self.document.id

    @property
    def media_type(self):
        return self.version.media_type if self.version is not None else ""

    def original_path(self, version=None):
        """The path of a version's bytes inside the package's payload (``data/``)."""
        version = version or self.version
        return original_path(self.seq, self.document, version)


def original_path(seq, document, version):
    ext = ACCEPTED_TYPES.get(version.media_type) or os.path.splitext(version.filename or "")[1].lower()
    ext = "".join(ch for ch in ext if ch.isalnum() or ch == ".")[:10] or ".bin"
    if not ext.startswith("."):
        ext = "." + ext
    return f"originals/{seq:03d}-{document.id}-v{version.number}{ext}"


def _sort_key(folder, document):
    filed = document.filed_at or datetime.datetime.min
    return (filed, KIND_ORDER.get(document.kind, len(KIND_ORDER)), document.title or "", document.id)


def entries(case):
    """The case's documents in archival order, numbered from 1 (序号)."""
    out = []
    seq = 0
    for folder in ARCHIVAL_ORDER:
        stage = case.get(folder)
        if stage is None:
            continue
        documents = [d for d in stage.values() if d.current is not None]
        if folder in ASCENDING:
            documents.sort(key=lambda d: _sort_key(folder, d))
        else:
            # newest first; documents filed at the same moment keep their kind order
            documents.sort(key=lambda d: _sort_key(folder, d))
            documents = _newest_first(documents)
        for document in documents:
            seq += 1
            out.append(Entry(seq, folder, document))
    return out


def _newest_first(documents):
    groups = []
    for document in documents:
        if groups and groups[-1][0] == document.filed_at:
            groups[-1][1].append(document)
        else:
            groups.append((document.filed_at, [document]))
    return [d for _at, group in reversed(groups) for d in group]


def petitioners(site, case):
    """(person, primary) for the case's petitioners, the primary one first."""
    people = []
    for pid, primary in case.petitioners:
        person = site.petitioners.get(pid)
        if person is not None:
            people.append((person, bool(primary)))
    people.sort(key=lambda p: not p[1])
    return people


def petitioner_names(site, case):
    return [p.display_name for p, _primary in petitioners(site, case)]


def user_name(site, username):
    if not username:
        return ""
    user = site.users.get(username)
    return user.name if user is not None and user.name else username


def unit_name(site, code):
    if not code:
        return ""
    unit = site.units.get(code)
    return unit.name if unit is not None else code


def author(site, case, entry):
    """责任者: as filed, else the petitioner for what they wrote, the upper bureau for a
    transfer sheet, the unit of the unit user who filed it, or the bureau."""
    document = entry.document
    if document.author:
        return document.author
    if document.kind in ORIGIN_AUTHORED_BY_PETITIONER and entry.folder in ("origin", "review"):
        names = petitioner_names(site, case)
        if names:
            return "、".join(names[:3]) + ("等" if len(names) > 3 else "")
    if document.kind == "transfer_sheet" and case.source:
        level = (case.source or {}).get("level")
        if level in TRANSFER_LEVELS:
            return TRANSFER_LEVELS[level]
    user = site.users.get(document.filed_by or "")
    if user is not None and user.unit:
        return unit_name(site, user.unit)
    return site.title


def date_text(value):
    """Dates as DA/T 22 writes them: eight digits, 20250301."""
    if value is None:
        return ""
    return value.strftime("%Y%m%d")


def long_date(value):
    if value is None:
        return ""
    return f"{value.year}年{value.month}月{value.day}日"


def dossier_date(case):
    """The one date a dossier is stamped with, taken from the case, so that a rebuild is
    byte-identical: archived → when it was archived; otherwise its last recorded step."""
    if case.archived_at is not None:
        return case.archived_at
    history = case.history
    if history:
        return history[-1].at
    return case.registered_at or case.received_at or datetime.datetime(2000, 1, 1)


def case_dates(case):
    """(first, last): from receipt to closing (or to the last recorded step)."""
    first = case.received_at or case.registered_at
    last = None
    for entry in reversed(case.history):
        if entry.action == "close":
            last = entry.at
            break
    if last is None:
        history = case.history
        last = history[-1].at if history else first
    return first, last


def retention_title(case):
    return RETENTIONS.get(case.retention or "", "")


def channel_title(case):
    return CHANNELS.get(case.channel, case.channel)


def manifest_lines(items):
    """BagIt manifest lines ``<sha256>  data/<path>`` of every version of every document."""
    lines = []
    for entry in items:
        for version in entry.document.versions:
            lines.append(f"{version.sha256}  data/{entry.original_path(version)}")
    return lines


def manifest_text(items):
    return "".join(line + "\n" for line in manifest_lines(items))
