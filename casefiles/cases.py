"""Case folders (一案一卷): one petition matter, its stage folders and its history.

Cases live in year buckets under ``site["cases"]``; each bucket hands out the year's
sequential numbers. Two registrations in one year both change the bucket's counter, so
the later commit conflicts and is retried with the next number: numbers are unique and
without gaps.
"""
from BTrees.IOBTree import IOBTree
from BTrees.OOBTree import OOBTree
from persistent import Persistent

from .documents import Document
from .errors import NotFound
from .folder import Folder
from .security import case_acl
from . import localtime

CHANNELS = {
    "letter": "来信",
    "visit": "来访",
    "online": "网上信访",
    "phone": "来电",
    "video": "视频信访",
    "transfer": "上级转交",
}

PETITION_TYPES = {"complaint": "申诉求决", "suggestion": "意见建议", "accusation": "检举控告"}

TRANSFER_LEVELS = {"national": "国家信访局", "provincial": "省信访局"}
TRANSFER_MODES = {"forward": "转送", "assign": "交办", "supervise": "督办", "copy": "抄送"}
ONLINE_SOURCES = {"website": "网站", "wechat": "微信", "app": "手机客户端", "hotline": "12345热线", "other": "其他"}

STATUSES = {
    "registered": "已登记",
    "accepted": "已受理",
    "rejected": "不予受理",
    "not-reaccepted": "不再受理",
    "filed": "存查",
    "forwarded": "已转送",
    "assigned": "已交办",
    "reported": "已报结",
    "replied-ready": "待答复",
    "replied": "已答复",
    "under-review": "复查中",
    "review-decided": "复查已决定",
    "under-recheck": "复核中",
    "hearing": "听证中",
    "recheck-decided": "复核已决定",
    "merged": "已合并",
    "closed": "已办结",
    "archived": "已归档",
}

STAGES = (
    ("origin", "来源材料"),
    ("notices", "告知文书"),
    ("handling", "办理材料"),
    ("supervision", "督办材料"),
    ("review", "复查复核"),
    ("closing", "结案材料"),
)


STAGE_TITLES = dict(STAGES)
STAGE_ORDER = tuple(sorted(STAGE_TITLES))   # the order of a case's keys (as in a folder's BTree)


class Stage(Folder):
    """A stage sub-folder of a case; holds documents keyed by their id.

    A case stores a stage from its first document on. Until then ``case[name]`` is an empty
    stage that is not in the database (its ``__name__`` and ``__parent__`` are set so that
    it has an address and the case's ACL); filing into it stores it in its case."""

    def __init__(self, title):
        self.title = title
        self._items = {}

    # A stage holds a few documents: a dict pickled with the stage, not a BTree and a
    # counter of its own (stages from before keep their BTree).
    def _plain(self):
        return not isinstance(self._items, OOBTree)

    def add(self, name, obj):
        case = self.__parent__
        if isinstance(case, Case):
            stored = case._stored_stage(self.__name__)
            if stored is None:
                case._store_stage(self)
            elif stored is not self:
                return stored.add(name, obj)
        if not self._plain():
            return super().add(name, obj)
        if not isinstance(name, str) or not name or "/" in name or name.startswith("@@"):
            raise ValueError(f"bad name {name!r}")
        if name in (self._items or {}):
            raise KeyError(f"{name!r} exists")
        obj.__name__ = name
        obj.__parent__ = self
        self._items = dict(self._items or {}, **{name: obj})
        return obj

    def remove(self, name):
        if not self._plain():
            return super().remove(name)
        items = dict(self._items or {})
        obj = items.pop(name)
        self._items = items
        return obj

    def __len__(self):
        return len(self._items or {}) if self._plain() else super().__len__()

    def keys(self, min=None, max=None):
        if not self._plain():
            return super().keys(min, max)
        names = sorted(self._items or ())
        if min is None and max is None:
            return names
        return [k for k in names if (min is None or k >= min) and (max is None or k <= max)]

    def values(self):
        return [self._items[k] for k in self.keys()] if self._plain() else super().values()

    def items(self):
        return [(k, self._items[k]) for k in self.keys()] if self._plain() else super().items()

    def file(self, document):
        return self.add(document.id, document)


class HistoryEntry(Persistent):
    """A history entry of a case from before entries were kept in the case itself."""
    action = ""
    at = None
    by = ""
    note = ""

    def __init__(self, action, at, by, note=""):
        self.action = action
        self.at = at
        self.by = by
        self.note = note


class Entry:
    """One entry of a case's history: a plain record pickled with the case."""
    __slots__ = ("action", "at", "by", "note")

    def __init__(self, action, at, by, note=""):
        self.action = action
        self.at = at
        self.by = by
        self.note = note

    def __getstate__(self):
        return (self.action, self.at, self.by, self.note)

    def __setstate__(self, state):
        self.action, self.at, self.by, self.note = state

    def __repr__(self):
        return f"Entry({self.action!r}, {self.at!r}, {self.by!r}, {self.note!r})"


class Case(Folder):
    """A petition matter. Its items are the stage folders."""

    number = ""
    year = 0
    seq = 0
    documents_filed = 0        # the filing sequence handed to each new document
    docid = None
    channel = "letter"
    status = "registered"
    subject = ""
    content = ""
    petition_type = "complaint"
    district = ""
    category = ""
    received_at = None
    registered_at = None
    registered_by = ""
    petitioners = ()           # tuple of (petitioner id, is primary)
    group_size = 0             # people at a group visit
    source = None              # transfers: {"level","mode","ref","due"}
    online_source = ""
    external_ref = ""          # the platform's message id for online items
    visit_place = ""
    leader = ""                # leader who received the visit (领导接访)
    accused_unit = None
    accused_users = ()      # usernames of this system's users named as the accused person
    accused_person = ""
    unit = None                # the responsible unit it is routed to
    confidential = False
    links = ()                 # tuple of (type, number)
    deadlines = ()
    # the archive (casefiles.archival)
    retention = ""             # Y / 30 / 10
    archival_ref = ""          # 档号
    archival_year = 0
    archived_at = None
    archived_by = ""
    retention_due = None       # first day past the retention period; None for 永久
    compiled_by = ""           # 立卷人
    checked_by = ""            # 检查人
    # the workflow (casefiles.workflow); dicts and tuples are replaced whole, never mutated
    step_on = None             # the day of the last workflow step ("on")
    report = None              # the unit's handling report: summary, on, by, document
    reports_before = ()        # ids of the handling reports filed before the last assignment or return
    reply = None               # 信访处理意见书: outcome, on, by, delivered_on
    review = None              # 复查: requested_on, reasons, decision, on, opinion, delivered_on
    recheck = None             # 复核: the same
    hearings = ()              # dicts: date, panel, scheduled_on, recorded_on, record
    supervisions = ()          # workflow.Supervision records
    suggestions = ()           # workflow.Suggestion records (三项建议)
    satisfaction = None        # bureau, unit, on, by
    # The history: a tuple of ``Entry`` kept in the case (cases from before: an IOBTree of
    # persistent ``HistoryEntry``). The stage folders holding documents: a dict of name ->
    # Stage in ``_items`` (cases from before: all six in an OOBTree). A registration thus
    # writes the case, its origin folder and the documents, not eight more objects.
    _history = None

    def __init__(self, number, year, seq):
        self.number = number
        self.year = year
        self.seq = seq
        self._items = {}
        self._history = ()

    @property
    def __acl__(self):
        return case_acl(self)

    def __setstate__(self, state):
        super().__setstate__(state)
        for clock in self.__dict__.get("deadlines", ()):
            attach = getattr(clock, "attach", None)   # a Clock kept in the case (see casefiles.clocks)
            if attach is not None:
                attach(self)

    @property
    def title(self):
        return f"{self.number} {self.subject}"

    # history
    def record(self, action, at, by, note=""):
        entry = Entry(action, at, by, note)
        if isinstance(self._history, IOBTree):
            key = self._history.maxKey() + 1 if self._history else 0
            self._history[key] = entry
        else:
            self._history = tuple(self._history or ()) + (entry,)

    @property
    def history(self):
        if isinstance(self._history, IOBTree):
            return list(self._history.values())
        return list(self._history or ())

    # the stage folders
    def _stored_stage(self, name):
        return self._items.get(name) if self._items is not None else None

    def _store_stage(self, stage):
        name = stage.__name__
        if name not in STAGE_TITLES or self._stored_stage(name) is not None:
            raise KeyError(f"{name!r} is not a free stage folder of the case")
        if isinstance(self._items, OOBTree):   # a case from before: its folder BTree
            Folder.add(self, name, stage)
        else:
            stage.__parent__ = self
            self._items = dict(self._items or {}, **{name: stage})

    def _stage(self, name):
        stage = self._stored_stage(name)
        if stage is None:
            unstored = self.__dict__.get("_v_stages")
            if unstored is None:
                unstored = self._v_stages = {}
            stage = unstored.get(name)
            if stage is None:
                stage = unstored[name] = Stage(STAGE_TITLES[name])
                stage.__name__ = name
                stage.__parent__ = self
        return stage

    def add(self, name, obj):
        if not isinstance(obj, Stage) or name not in STAGE_TITLES:
            raise ValueError(f"a case holds its stage folders only, not {name!r}")
        obj.__name__ = name
        self._store_stage(obj)
        return obj

    def remove(self, name):
        raise KeyError(f"the stage folder {name!r} cannot be removed")

    def __getitem__(self, name):
        if name not in STAGE_TITLES:
            raise KeyError(name)
        return self._stage(name)

    def get(self, name, default=None):
        return self._stage(name) if name in STAGE_TITLES else default

    def __contains__(self, name):
        return name in STAGE_TITLES

    def __len__(self):
        return len(STAGE_TITLES)

    def keys(self, min=None, max=None):
        return [n for n in STAGE_ORDER if (min is None or n >= min) and (max is None or n <= max)]

    def values(self):
        return [self._stage(n) for n in STAGE_ORDER]

    def items(self):
        return [(n, self._stage(n)) for n in STAGE_ORDER]

    # documents
    def stages(self):
        return [self._stage(name) for name, _title in STAGES]

    def _stored_stages(self):
        return [stage for stage in (self._stored_stage(name) for name, _title in STAGES) if stage is not None]

    def documents(self):
        for stage in self._stored_stages():
            yield from stage.values()

    def document(self, doc_id):
        for stage in self._stored_stages():
            doc = stage.get(doc_id)
            if doc is not None:
                return doc
        raise NotFound("document not found", {"id": doc_id})

    def file_document(self, stage_name, kind, title, upload, filed_at, filed_by, text="", ref="", author=""):
        stage = self[stage_name]
        document = Document(kind, title, filed_at, filed_by, text=text, ref=ref, author=author)
        self.documents_filed += 1
        document.seq = self.documents_filed
        stage.file(document)
        document.add_version(upload, filed_at, filed_by)
        return document

    @property
    def status_title(self):
        return STATUSES.get(self.status, self.status)

    @property
    def channel_title(self):
        return CHANNELS.get(self.channel, self.channel)

    @property
    def is_open(self):
        return self.status not in ("rejected", "not-reaccepted", "filed", "merged", "closed", "archived")


class CaseYear(Folder):
    """The cases registered for one year, and that year's number counter."""

    year = 0
    sequence = 0
    counted = False     # every registration writes this folder (its sequence): no Length besides

    def __init__(self, year):
        self.year = year
        self.title = str(year)

    def next_number(self, prefix):
        self.sequence += 1
        return self.sequence, f"{prefix}-{self.year}-{self.sequence:06d}"


class Cases(Folder):
    """All cases, in year buckets. ``cases[number]`` also finds a case by its number."""

    title = "信访件"
    prefix = "XY"

    def year(self, year, create=False):
        key = str(year)
        bucket = self.get(key)
        if bucket is None and create:
            bucket = self.add(key, CaseYear(year))
        return bucket

    def new_case(self, year):
        bucket = self.year(year, create=True)
        seq, number = bucket.next_number(self.prefix)
        case = Case(number, year, seq)
        bucket.add(number, case)
        return case

    def by_number(self, number):
        parts = (number or "").split("-")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        bucket = self.get(parts[1])
        return bucket.get(number) if bucket is not None else None

    def __getitem__(self, name):
        case = self.by_number(name) if "-" in name else None
        if case is not None:
            return case
        return super().__getitem__(name)

    def all_cases(self):
        for bucket in self.values():
            yield from bucket.values()


def today():
    return localtime.today()
