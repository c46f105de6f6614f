"""What the index holds for a case and for each of its documents, read from the database.

``case_items(site, case)`` returns the field dicts of the case and of all its documents;
each carries the case's metadata, the principals allowed to view it (from
``casefiles.security.principals_allowed``) and a stamp (a hash of the values) that lets an
update or a check skip what has not changed.
"""
import hashlib

from casefiles.security import Allow, Deny, Everyone, VIEW, principals_allowed

from . import schema as S
from .analysis import normalize
from .extract import extraction_state

MAX_TEXT = 400_000       # characters of one item's text that are indexed
MAX_BODY = 200_000       # characters kept for snippets


def denied_principals(context, permission=VIEW):
    """Principals whose first matching ACE along the lineage denies ``permission``."""
    seen, denied = set(), set()
    node = context
    while node is not None:
        for action, principal, perms in getattr(node, "__acl__", ()) or ():
            if permission not in perms or principal in seen:
                continue
            seen.add(principal)
            if action == Deny:
                if principal == Everyone:
                    return sorted(denied)
                denied.add(principal)
            elif action != Allow:
                continue
        node = getattr(node, "__parent__", None)
    return sorted(denied)


def _people(site, case):
    out = []
    for pid, _primary in case.petitioners or ():
        person = site.petitioners.get(pid) if site is not None else None
        if person is not None:
            out.append(person)
    return out


def _unit_name(site, code):
    """The responsible unit's name (searchable as words; a rename re-indexes its cases)."""
    if not code or site is None or "units" not in site:
        return ""
    unit = site.units.get(code)
    return unit.name if unit is not None else ""


def _stamp(fields):
    digest = hashlib.sha1()
    for key in sorted(fields):
        if key == S.STAMP:
            continue
        value = fields[key]
        digest.update(key.encode())
        digest.update(b"\x00")
        digest.update(str(value).encode("utf-8", "surrogatepass"))
        digest.update(b"\x01")
    return digest.hexdigest()


def _facet(value):
    return str(value) if value not in (None, "") else S.NONE


def _shared(case):
    return {
        S.NUMBER: case.number,
        S.STATUS: _facet(case.status),
        S.CHANNEL: _facet(case.channel),
        S.DISTRICT: _facet(case.district),
        S.CATEGORY: _facet(case.category),
        S.UNIT: _facet(case.unit),
        S.YEAR: _facet(case.year or (case.received_at.year if case.received_at else "")),
        S.PTYPE: _facet(case.petition_type),
        S.ALLOWED: " ".join(principals_allowed(case, VIEW)),
        S.DENIED: " ".join(denied_principals(case, VIEW)),
    }


def _join(*parts):
    return "\n".join(p for p in parts if p)


def case_fields(site, case, shared=None):
    people = _people(site, case)
    names = " ".join(p.name for p in people if p.name and not p.anonymous)
    addresses = " ".join(p.address for p in people if p.address)
    source = case.source or {}
    subject = normalize(case.subject)
    content = normalize(case.content)
    text = _join(subject, subject, content, names, normalize(addresses), normalize(case.visit_place),
                 normalize(case.accused_person), normalize(case.leader), source.get("ref") or "",
                 case.external_ref, normalize(case.category), normalize(_unit_name(site, case.unit)))
    fields = dict(shared or _shared(case))
    fields.update({
        S.ID_: S.case_id(case.number),
        S.TYPE: "case",
        S.DOC: "",
        S.TITLE: case.subject or case.number,
        S.TEXT: text[:MAX_TEXT],
        S.BODY: content[:MAX_BODY],
        S.IDNUMBER: " ".join(p.id_number for p in people if p.id_number),
        S.PHONE: " ".join(p.phone.replace(" ", "").replace("-", "") for p in people if p.phone),
        S.KIND: S.CASE_KIND,
        S.OCR: "",
    })
    if case.received_at is not None:
        fields[S.DATE] = case.received_at
    fields[S.STAMP] = _stamp(fields)
    return fields


def document_fields(case, document, shared=None):
    title = normalize(document.title)
    own = normalize(document.text)
    extracted = normalize(getattr(document, "extracted_text", "") or "")
    if extracted and extracted.strip() == own.strip():
        extracted = ""
    version = document.current
    body = _join(own, extracted)
    text = _join(title, title, own, extracted, document.ref, normalize(document.author),
                 version.filename if version is not None else "")
    fields = dict(shared or _shared(case))
    fields.update({
        S.ID_: S.document_id(case.number, document.id),
        S.TYPE: "document",
        S.DOC: document.id,
        S.TITLE: document.title or document.id,
        S.TEXT: text[:MAX_TEXT],
        S.BODY: body[:MAX_BODY],
        S.IDNUMBER: "",
        S.PHONE: "",
        S.KIND: _facet(document.kind),
        S.OCR: extraction_state(document),
    })
    if document.filed_at is not None:
        fields[S.DATE] = document.filed_at
    fields[S.STAMP] = _stamp(fields)
    return fields


def case_items(site, case):
    """{item id: fields} for the case and every document in it."""
    shared = _shared(case)
    items = {}
    fields = case_fields(site, case, shared)
    items[fields[S.ID_]] = fields
    for document in case.documents():
        fields = document_fields(case, document, shared)
        items[fields[S.ID_]] = fields
    return items
