"""Registration of petitions from every channel (登记), and filing documents into cases.

``register`` validates everything first and only then creates anything, so a bad field or
a bad file leaves no trace; the transaction it runs in commits the case whole or not at all.
"""
import datetime
import re

from .cases import CHANNELS, ONLINE_SOURCES, PETITION_TYPES, STAGES, TRANSFER_LEVELS, TRANSFER_MODES
from .documents import KINDS, SCAN_TYPES, text_upload
from .errors import Conflict, ValidationError
from .events import CaseAdded, DocumentAdded, DocumentModified, notify
from .i18n import _
from .idnumber import id_number_problem, normalize
from .petitioners import name_conflicts
from .units import CITY_LEVEL, DISTRICTS
from . import localtime

MAX_REPRESENTATIVES = 5
# a due date set by a person (the upper bureau's report date, an assignment's or a
# supervision's due date) lies after the day it is set and within a year of it: the longest
# statutory clock is 60 days of handling plus one extension of 30 (条例 第三十四条)
MAX_DUE_DAYS = 365
MAX_CONTENT = 100000        # characters of a petition's content (transcript, message ...)
ID_REQUIRED_CHANNELS = ("letter", "visit", "video")
_PHONE = re.compile(r"^\+?[0-9][0-9\- ]{5,18}[0-9]$")
ORIGIN_KIND = {
    "letter": "letter",
    "visit": "visit_transcript",
    "online": "online_complaint",
    "phone": "phone_record",
    "video": "visit_transcript",
    "transfer": "transfer_sheet",
}


# C0 and C1 control characters and DEL; tab, line feed and carriage return are text
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def text_problem(value, limit=None):
    """None if ``value`` may be stored as text of at most ``limit`` characters, else a message.
    Over-long text is refused, never cut; so is text holding a control character (NUL, ESC, a
    form feed pasted from a document ...), which is refused rather than dropped so that what
    is stored is exactly what was entered: the message says which character and where."""
    if limit and len(value) > limit:
        return _("text_long", default="At most ${n} characters (this has ${length}).",
                 mapping={"n": limit, "length": len(value)})
    found = _CONTROL.search(value)
    if found:
        return _("text_control", default="Contains an invisible control character (U+${code}, character ${at}); "
                 "remove it. Text pasted from other documents sometimes carries such characters.",
                 mapping={"code": f"{ord(found.group()):04X}", "at": found.start() + 1})
    return None


def _s(data, key, limit=None, fields=None, prefix=""):
    """The text of ``data[key]``, stripped; a too-long value or a control character is
    recorded in ``fields`` (under ``prefix + key``)."""
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    value = value.strip()
    if fields is not None:
        problem = text_problem(value, limit)
        if problem:
            fields[prefix + key] = problem
    return value


def _check_text(data, keys, fields, prefix=""):
    """A number, list or object sent where text belongs is an error, never quietly text."""
    for key in keys:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            fields[prefix + key] = _("text_expected", default="This field takes text.")


# YYYY-MM-DD, optionally with a time (T or one space) and a UTC offset; ASCII digits only
_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
                           r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?")


def parse_datetime(value):
    """ISO date or date-time (Asia/Shanghai local time); None if unparseable."""
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, datetime.time())
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if not _ISO_DATETIME.fullmatch(text):
        return None     # trailing text, week dates, "20250301", other digits than 0-9 ...
    text = text.replace(" ", "T", 1)
    try:
        if len(text) == 10:
            return datetime.datetime.combine(datetime.date.fromisoformat(text), datetime.time())
        parsed = datetime.datetime.fromisoformat(text)
        if parsed.tzinfo is not None:
            # 0001-01-01T00:00+14:00 is before the first day a datetime can hold
            parsed = parsed.astimezone(datetime.timezone(datetime.timedelta(hours=8))).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None
    return parsed.replace(microsecond=0)


def parse_date(value):
    parsed = parse_datetime(value)
    return parsed.date() if parsed else None


def due_problem(due, start):
    """None if ``due`` may be the due date of something that starts on ``start``, else a message."""
    if due < start:
        return _("due_before", default="The due date cannot be before ${date}.", mapping={"date": start.isoformat()})
    if due > start + datetime.timedelta(days=MAX_DUE_DAYS):
        return _("due_far", default="The due date is at most ${n} days after ${date}.",
                 mapping={"n": MAX_DUE_DAYS, "date": start.isoformat()})
    return None


def _bool(value):
    return value is True or (isinstance(value, str) and value.lower() in ("1", "true", "on", "yes"))


def validate_petitioners(raw, channel, fields):
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        fields["petitioners"] = _("petitioners_list", default="Petitioners must be a list.")
        return []
    people = []
    primaries = 0
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            fields[f"petitioners.{i}"] = _("petitioner_object", default="Each petitioner is an object.")
            continue
        person = {
            "name": _s(item, "name", 50, fields, f"petitioners.{i}."),
            "id_number": normalize(_s(item, "id_number")),   # checked whole below, never cut
            "phone": _s(item, "phone", 30, fields, f"petitioners.{i}."),
            "address": _s(item, "address", 200, fields, f"petitioners.{i}."),
            "anonymous": _bool(item.get("anonymous")),
            "primary": _bool(item.get("primary")),
            "rename": _bool(item.get("rename")),
            "row": i,
        }
        if not any((person["name"], person["id_number"], person["phone"], person["address"])) \
                and not person["anonymous"]:
            continue  # an empty row of the form
        if not person["name"] and not person["anonymous"]:
            fields[f"petitioners.{i}.name"] = _("name_required",
                                                default="Enter the petitioner's name or mark them anonymous.")
        if person["id_number"]:
            problem = id_number_problem(person["id_number"])
            if problem:
                fields[f"petitioners.{i}.id_number"] = problem
        elif channel in ID_REQUIRED_CHANNELS and not person["anonymous"]:
            fields[f"petitioners.{i}.id_number"] = _(
                "id_required", default="An ID number is required for letters and visits (unless anonymous).")
        if person["phone"] and not _PHONE.match(person["phone"]):
            fields[f"petitioners.{i}.phone"] = _("phone_bad", default="A phone number has 7 to 20 digits.")
        _check_text(item, ("name", "id_number", "phone", "address"), fields, f"petitioners.{i}.")
        primaries += person["primary"]
        people.append(person)
    if not people:
        fields["petitioners"] = _("petitioner_required",
                                  default="Enter at least one petitioner (or one anonymous petitioner).")
    elif primaries > 1:
        fields["petitioners"] = _("one_primary", default="Only one petitioner can be the primary one (主访人).")
    elif primaries == 0:
        people[0]["primary"] = True
    ids = [p["id_number"] for p in people if p["id_number"]]
    if len(ids) != len(set(ids)):
        fields["petitioners"] = _("duplicate_person", default="The same ID number is entered twice.")
    if channel in ("visit", "video") and len(people) > MAX_REPRESENTATIVES:
        fields["petitioners"] = _("too_many_representatives",
                                  default="A group visit sends at most ${n} representatives.",
                                  mapping={"n": MAX_REPRESENTATIVES})
    return people


def validate(site, data, now):
    """Check a registration; return the cleaned values or raise ValidationError with every field."""
    if not isinstance(data, dict):
        raise ValidationError(_("body_object", default="The request body must be an object."), {})
    fields = {}
    clean = {}
    channel = _s(data, "channel")
    if channel not in CHANNELS:
        fields["channel"] = _("channel_bad", default="Choose a channel: ${choices}.",
                              mapping={"choices": "、".join(CHANNELS.values())})
    clean["channel"] = channel

    raw_received = data.get("received_at")
    received = parse_datetime(raw_received)
    if raw_received in (None, ""):
        fields["received_at"] = _("received_required", default="Enter the date it was received.")
    elif received is None:
        fields["received_at"] = _("received_bad", default="The date received is not a valid date (YYYY-MM-DD).")
    elif received > now + datetime.timedelta(minutes=10):
        fields["received_at"] = _("received_future", default="The date received cannot be in the future.")
    elif received.year < 1990:
        fields["received_at"] = _("received_old", default="The date received is before 1990.")
    clean["received_at"] = received

    clean["subject"] = _s(data, "subject", None, fields)
    if not clean["subject"]:
        fields["subject"] = _("subject_required", default="Enter the subject (事由).")
    elif len(clean["subject"]) > 200:
        fields["subject"] = _("subject_long", default="The subject is at most 200 characters.")
    clean["content"] = _s(data, "content", MAX_CONTENT, fields)

    district = _s(data, "district")
    if district not in DISTRICTS + (CITY_LEVEL,):
        fields["district"] = _("district_bad", default="Choose where the matter happened (问题属地).")
    clean["district"] = district
    clean["category"] = _s(data, "category", 100, fields)

    ptype = _s(data, "petition_type") or "complaint"
    if ptype not in PETITION_TYPES:
        fields["petition_type"] = _("type_bad", default="Choose a petition type.")
    clean["petition_type"] = ptype

    accused = data.get("accused") or {}
    if not isinstance(accused, dict):
        fields["accused"] = _("accused_object", default="The accused is an object with a unit and a person.")
        accused = {}
    _check_text(accused, ("unit", "person"), fields, "accused.")
    clean["accused_unit"] = _s(accused, "unit") or None
    clean["accused_person"] = _s(accused, "person", 100, fields, "accused.")
    if clean["accused_unit"] and clean["accused_unit"] not in site.units:
        fields["accused.unit"] = _("unit_unknown", default="No responsible unit has code ${code}.",
                                   mapping={"code": clean["accused_unit"]})
    if ptype == "accusation" and not (clean["accused_unit"] or clean["accused_person"]):
        fields["accused"] = _("accused_required", default="An accusation names the accused person or unit.")

    clean["petitioners"] = validate_petitioners(data.get("petitioners"), channel, fields)
    for row, on_file in name_conflicts(site.petitioners, clean["petitioners"]).items():
        key = f"petitioners.{row}.name"
        if key not in fields and f"petitioners.{row}.id_number" not in fields:
            fields[key] = _("name_conflict", default="This ID number is on file as ${name}. Check the ID number "
                            "and the name; if the person has changed their name, confirm the change of name.",
                            mapping={"name": on_file})

    if channel in ("visit", "video"):
        size = data.get("group_size")
        if size is None or size == "":
            size = 0
        elif isinstance(size, float) and size.is_integer():
            size = int(size)        # 12.0 from a spreadsheet export is twelve
        elif isinstance(size, bool) or not isinstance(size, int):
            size = -1               # true, 1.5, "30", [] ... never quietly a number
        if size < 0 or size > 100000:
            fields["group_size"] = _("group_size_bad", default="The number of visitors is a whole number.")
        clean["group_size"] = max(size, len(clean["petitioners"]))
        clean["visit_place"] = _s(data, "visit_place", 100, fields)
        clean["leader"] = _s(data, "leader", 50, fields)
        if not clean["content"]:
            fields["content"] = _("transcript_required", default="Enter the visit transcript (接谈记录).")
    if channel == "online":
        clean["online_source"] = _s(data, "online_source") or "website"
        if clean["online_source"] not in ONLINE_SOURCES:
            fields["online_source"] = _("online_source_bad", default="Choose where the message came from.")
        clean["external_ref"] = _s(data, "external_ref", 64, fields)
    if channel in ("online", "phone") and not clean["content"]:
        fields["content"] = _("content_required", default="Enter what the petitioner asks for.")
    if channel == "transfer":
        source = data.get("source")
        if not isinstance(source, dict):
            source = {}
        _check_text(source, ("level", "mode", "ref", "due"), fields, "source.")
        level, mode, ref = _s(source, "level"), _s(source, "mode"), _s(source, "ref", 100, fields, "source.")
        if level not in TRANSFER_LEVELS:
            fields["source.level"] = _("level_bad", default="Choose the national or provincial bureau.")
        if mode not in TRANSFER_MODES:
            fields["source.mode"] = _("mode_bad", default="Choose forward, assign, supervise or copy.")
        if not ref:
            fields["source.ref"] = _("ref_required", default="Enter the reference of the transfer sheet.")
        due = source.get("due")
        due_date = parse_date(due) if due else None
        if due and due_date is None:
            fields["source.due"] = _("due_bad", default="The due date is not a valid date.")
        elif due_date is not None and "received_at" not in fields:
            problem = due_problem(due_date, received.date())
            if problem:
                fields["source.due"] = problem
        clean["source"] = {"level": level, "mode": mode, "ref": ref,
                           "due": due_date.isoformat() if due_date else None}
    clean["confidential"] = _bool(data.get("confidential"))
    _check_text(data, ("channel", "subject", "content", "district", "category", "petition_type", "visit_place",
                       "leader", "online_source", "external_ref"), fields)
    if fields:
        raise ValidationError(_("registration_invalid", default="The petition cannot be registered: "
                                "please correct the marked fields."), fields)
    return clean


def accused_users(site, person):
    """The users of this system an accusation names as the accused person (by username or by
    display name): they may never open the case (条例 第三十条). A shared name excludes every
    user who bears it, the safe side."""
    person = (person or "").strip()
    if not person:
        return ()
    return tuple(sorted(u.username for u in site.users.values() if person in (u.username, u.name)))


def register(site, data, uploads=(), by="", now=None, max_bytes=None, catalog=True):
    """Register a petition; returns the new case. Nothing is written unless all is valid."""
    now = now or localtime.now()
    clean = validate(site, data, now)
    for i, upload in enumerate(uploads):
        upload.check(max_bytes, field=f"files.{i}")
    channel = clean["channel"]
    if channel == "letter" and not uploads and not clean["content"]:
        raise ValidationError(_("letter_needs_content", default="Attach the letter's scan or enter its content."),
                              {"content": _("content_required", default="Enter what the petitioner asks for.")})

    people = []
    for person in clean["petitioners"]:
        record = site.petitioners.register(person["name"], person["id_number"], person["phone"],
                                           person["address"], person["anonymous"], rename=person["rename"])
        people.append((record, person["primary"]))

    received = clean["received_at"]
    case = site.cases.new_case(received.year)
    case.channel = channel
    case.received_at = received
    case.registered_at = now
    case.registered_by = by
    for key in ("subject", "content", "district", "category", "petition_type", "accused_unit",
                "accused_person", "confidential", "group_size", "visit_place", "leader",
                "online_source", "external_ref", "source"):
        if key in clean:
            setattr(case, key, clean[key])
    case.accused_users = accused_users(site, clean.get("accused_person"))
    case.petitioners = tuple((p.id, primary) for p, primary in people)
    for person, _primary in people:
        person.add_case(case.number)

    kind = ORIGIN_KIND[channel]
    title = f"{CHANNELS[channel]}：{clean['subject']}"
    scans = [u for u in uploads if u.media_type in SCAN_TYPES]
    others = [u for u in uploads if u.media_type not in SCAN_TYPES]
    if channel == "letter" and scans:
        for i, upload in enumerate(scans):
            case.file_document("origin", "letter_scan" if i else "letter", title if not i else
                               f"{title}（扫描件{i + 1}）", upload, now, by, text=clean["content"] if not i else "")
    else:
        body = clean["content"] or clean["subject"]
        case.file_document("origin", kind, title, text_upload(title, body), now, by, text=body)
        if channel == "transfer":
            kind = "transfer_sheet"
        for i, upload in enumerate(scans):
            case.file_document("origin", kind if channel == "transfer" else "evidence",
                               f"{KINDS[kind if channel == 'transfer' else 'evidence']}{i + 1}", upload, now, by)
    for i, upload in enumerate(others):
        case.file_document("origin", "evidence", upload.filename or f"材料{i + 1}", upload, now, by)
    case.record("register", now, by, CHANNELS[channel])
    notify(CaseAdded(case))   # the workflow opens the intake clocks: indexed below with the rest
    if catalog:
        site.catalog.index(case)
    return case


DOCUMENT_REF_LIMIT = 100        # characters of a document's 文号 and of its 责任者
DOCUMENT_TEXT_LIMIT = 200000    # characters of a typed text (a long visit transcript is 100,000-200,000)


def file_document(site, case, stage, kind, title, upload, by, text="", now=None, max_bytes=None, ref="",
                  author=""):
    """File one more document into a stage folder of a case. A 文号 or 责任者 over
    ``DOCUMENT_REF_LIMIT`` characters, or a typed text over ``DOCUMENT_TEXT_LIMIT``, is
    refused (422 naming the field), never cut. A longer text is filed as a file."""
    now = now or localtime.now()
    ensure_writable(case)
    fields = {}
    if stage not in dict(STAGES):
        fields["folder"] = _("folder_bad", default="Choose a folder of the case.")
    if kind not in KINDS:
        fields["kind"] = _("kind_bad", default="Choose the kind of document.")
    title = (title or "").strip()
    if not title:
        fields["title"] = _("title_required", default="Enter the document's title.")
    elif len(title) > 200:
        fields["title"] = _("title_long", default="The title is at most 200 characters.")
    ref, author = (ref or "").strip(), (author or "").strip()
    if len(ref) > DOCUMENT_REF_LIMIT:
        fields["ref"] = _("document_ref_long", default="The reference number (文号) is at most ${n} characters "
                          "(this has ${length}).", mapping={"n": DOCUMENT_REF_LIMIT, "length": len(ref)})
    if len(author) > DOCUMENT_REF_LIMIT:
        fields["author"] = _("document_author_long", default="Issued by (责任者) is at most ${n} characters "
                             "(this has ${length}).", mapping={"n": DOCUMENT_REF_LIMIT, "length": len(author)})
    if upload is None and not (text or "").strip():
        fields["file"] = _("file_required", default="Choose a file or enter the text.")
    elif len((text or "").strip()) > DOCUMENT_TEXT_LIMIT:
        fields["text"] = _("document_text_long", default="A text is at most ${n} characters (this has ${length}); "
                           "file a longer text as a file.",
                           mapping={"n": DOCUMENT_TEXT_LIMIT, "length": len((text or "").strip())})
    if fields:
        raise ValidationError(_("document_invalid", default="The document cannot be filed: "
                                "please correct the marked fields."), fields)
    if upload is None:
        upload = text_upload(title, text)
    upload.check(max_bytes)
    document = case.file_document(stage, kind, title, upload, now, by, text=(text or "").strip(), ref=ref,
                                  author=author)
    case.record("file", now, by, f"{document.kind_title}：{title}")
    notify(DocumentAdded(document))
    return document


def file_version(case, document, upload, by, note="", now=None, max_bytes=None):
    """File a corrected version of a document; the earlier versions stay readable."""
    now = now or localtime.now()
    ensure_writable(case)
    if upload is None:
        raise ValidationError(_("file_required", default="Choose a file or enter the text."),
                              {"file": _("file_required", default="Choose a file or enter the text.")})
    upload.check(max_bytes)
    version = document.add_version(upload, now, by, note=(note or "").strip()[:500])
    case.record("version", now, by, f"{document.title} v{version.number}")
    notify(DocumentModified(document))
    return version


def ensure_writable(case):
    if case.status == "archived":
        raise Conflict(_("case_archived", default="The case is archived and read-only."), {})
