"""JSON shapes of the API contract (cases, documents, petitioners, users)."""
from casefiles.cases import STAGES


def petitioner_json(person, primary=False, identity=None):
    """A petitioner as the API shows it; ``identity`` (a ``casefiles.privacy.Identity``)
    masks the ID and phone numbers per the masking policy (None: in full)."""
    return {
        "id": person.id,
        "name": person.display_name,
        "id_number": identity.id_number(person) if identity is not None else person.id_number,
        "phone": identity.phone(person) if identity is not None else person.phone,
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


def identity(request, case=None):
    """How the request's user sees petitioners' ID and phone numbers on ``case``
    (``casefiles.privacy``: full for intake and contact roles, masked for the others unless
    revealed with a purpose)."""
    from .pages import identity_for
    return identity_for(request, case)


def case_json(request, case):
    site = request.site
    data = case_summary(request, case)
    seen = identity(request, case)
    data.update({
        "content": seen.text(case.content),
        "registered_at": case.registered_at,
        "registered_by": case.registered_by,
        "petitioners": [petitioner_json(p, primary, seen) for p, primary in case_petitioners(site, case)],
        "identity": {"masked": not seen.full, "can_reveal": seen.can_reveal},
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


def user_admin_json(user, now):
    """A user as the administrators see it (never the password hash)."""
    data = user_json(user)
    data.update({"active": bool(user.active), "locked": bool(user.locked_for(now)),
                 "locked_for": user.locked_for(now), "last_login": user.last_login, "created": user.created,
                 "password_changed": user.password_changed})
    return data


def token_json(token_id, record, current=False):
    return {"id": token_id, "label": record.label, "created": record.created, "expires": record.expires,
            "current": bool(current)}
