"""JSON shapes of the API contract (cases, documents, petitioners, users)."""
from casefiles.cases import STAGES
from casefiles.security import FILE, LOOKUP


def petitioner_json(person, primary=False, reveal=True):
    return {
        "id": person.id,
        "name": person.display_name,
        "id_number": person.id_number if reveal else person.masked_id,
        "phone": person.phone if reveal else person.masked_phone,
        "address": person.address,
        "anonymous": person.anonymous,
        "primary": bool(primary),
    }


def case_petitioners(site, case):
    out = []
    for pid, primary in case.petitioners:
        person = site.petitioners.get(pid)
        if person is not None:
            out.append((person, primary))
    return out


def document_json(document):
    version = document.current
    return {
        "id": document.id,
        "kind": document.kind,
        "title": document.title,
        "folder": document.__parent__.__name__ if document.__parent__ is not None else None,
        "filed_at": document.filed_at,
        "filed_by": document.filed_by,
        "media_type": version.media_type if version else None,
        "size": version.size if version else 0,
        "sha256": version.sha256 if version else None,
        "filename": version.filename if version else None,
        "version": version.number if version else 0,
        "text": document.text,
        "versions": [
            {"version": v.number, "filename": v.filename, "media_type": v.media_type, "size": v.size,
             "sha256": v.sha256, "filed_at": v.filed_at, "filed_by": v.filed_by, "note": v.note}
            for v in document.versions
        ],
    }


def document_summary(document):
    data = document_json(document)
    del data["text"], data["versions"]
    return data


def case_summary(request, case):
    return {
        "number": case.number,
        "url": request.resource_url(case),
        "channel": case.channel,
        "status": case.status,
        "subject": case.subject,
        "district": case.district,
        "category": case.category,
        "petition_type": case.petition_type,
        "received_at": case.received_at,
        "unit": case.unit,
    }


def reveals_identity(request, case):
    """Whether the user sees petitioners' full ID and phone numbers on this case: those who
    register and look up petitioners, and those who work on the case (file into it). Readers
    (the analysts) see them masked."""
    return bool(request.has_permission(LOOKUP, request.site) or request.has_permission(FILE, case))


def case_json(request, case):
    site = request.site
    data = case_summary(request, case)
    reveal = reveals_identity(request, case)
    data.update({
        "content": case.content,
        "registered_at": case.registered_at,
        "registered_by": case.registered_by,
        "petitioners": [petitioner_json(p, primary, reveal) for p, primary in case_petitioners(site, case)],
        "group_size": case.group_size,
        "source": dict(case.source) if case.source else None,
        "online_source": case.online_source or None,
        "external_ref": case.external_ref or None,
        "visit_place": case.visit_place or None,
        "leader": case.leader or None,
        "accused": ({"unit": case.accused_unit, "person": case.accused_person}
                    if case.accused_unit or case.accused_person else None),
        "deadlines": [dict(d) if isinstance(d, dict) else d.as_json() for d in case.deadlines],
        "folders": [
            {"name": name, "title": title,
             "documents": [document_summary(d) for d in sorted(case[name].values(), key=lambda d: d.order_key)]}
            for name, title in STAGES
        ],
        "links": [{"type": t, "number": n} for t, n in case.links],
        "history": [{"action": h.action, "at": h.at, "by": h.by, "note": h.note} for h in case.history],
    })
    return data


def user_json(user):
    return {"username": user.username, "name": user.name, "roles": list(user.roles), "unit": user.unit}
