"""Revealing petitioners' identity with a purpose, and who can open a case and why.

- ``POST …/<case>/@@reveal`` (form ``purpose``) and ``POST /api/cases/{number}/reveal``
  ``{"purpose"}``: a user with ``REVEAL`` on the case sees its petitioners' full ID and phone
  numbers; the purpose is recorded in the audit trail (``identity.reveal``). In the browser
  the reveal lasts ``casefiles.privacy.REVEAL_SECONDS`` for that case in this session; the
  API answers the petitioners in full once.
- ``…/<case>/@@access`` and ``GET /api/cases/{number}/access`` (administrators and
  auditors): every user who can open the case with the reason, and every active user who
  cannot, with the reason — read from the same ACLs Pyramid checks
  (``casefiles.security.acl_decision``), not from a second rule set.
"""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from casefiles import privacy
from casefiles.cases import Case
from casefiles.errors import Forbidden, ValidationError
from casefiles.i18n import _
from casefiles.security import (ADMINISTER, ALL_PERMISSIONS, Authenticated, Everyone, ROLE_TITLES,
                                VIEW, acl_decision, principals_allowed)

from .fields import text_field
from .pages import remember_reveal
from .serialize import case_petitioners, petitioner_json
from .uploads import json_body

AUDIT_ACCESS = "audit_access"   # not a permission of its own: administrators and auditors


def _audit(request, action, **kw):
    audit = getattr(request, "audit", None)
    if audit is not None:
        audit(action, **kw)


def _may_reveal(request, case):
    if not privacy.may_reveal(request.user, request.has_permission, case):
        raise Forbidden(_("reveal_forbidden", default="You may not see these petitioners' full ID and phone "
                                                      "numbers."), {})


@view_config(context=Case, name="reveal", request_method="POST", permission=VIEW)
def reveal_page(request):
    case = request.context
    _may_reveal(request, case)
    try:
        purpose = privacy.check_purpose(request.POST.get("purpose"))
    except ValidationError as e:
        request.session.flash(request.t(e.message))
        return HTTPSeeOther(request.resource_url(case) + "#petitioners")
    remember_reveal(request, case, privacy.REVEAL_SECONDS)
    _audit(request, "identity.reveal", case=case.number, detail={"purpose": purpose})
    return HTTPSeeOther(request.resource_url(case) + "#petitioners")


def reveal_api(request):
    case = request.context
    _may_reveal(request, case)
    body = json_body(request)
    purpose = privacy.check_purpose(text_field(body, "purpose"))   # a number or a list: "must be text"
    _audit(request, "identity.reveal", case=case.number, detail={"purpose": purpose})
    seen = privacy.Identity(request.user, request.has_permission, case, revealed=True)
    return {"number": case.number, "purpose": purpose,
            "petitioners": [petitioner_json(p, primary, seen) for p, primary in case_petitioners(request.site, case)]}


# --- who can open a case and why ------------------------------------------------------------------

def may_see_access(request):
    user = request.user
    return user is not None and (bool(request.has_permission(ADMINISTER, request.site)) or user.has_role("auditor"))


def _principals(user):
    return [Everyone, Authenticated] + list(user.principals)


def _reason(request, case, allowed, entry):
    """(code, text) of the ACL entry that decided."""
    if entry is None:
        return "no_grant", request.t(_("access_no_grant", default="No role or unit of the user grants it."))
    action, principal, perms = entry
    kind, _sep, value = principal.partition(":")
    if principal == Everyone:
        return "no_grant", request.t(_("access_no_grant", default="No role or unit of the user grants it."))
    if kind == "role" and value == "admin" and perms is ALL_PERMISSIONS:
        return "admin", request.t(_("access_admin", default="Administrator: every permission."))
    if kind == "role":
        return "role", request.t(_("access_role", default="Role ${role}: its permissions include opening cases.",
                                   mapping={"role": ROLE_TITLES.get(value, value)}))
    if kind == "unit" and not allowed and value == case.accused_unit:
        return "accused_unit", request.t(_("access_accused", default="Unit ${unit} is the accused unit of the "
                                                                     "case: never, whatever else it has.",
                                           mapping={"unit": _unit_name(request, value)}))
    if kind == "unit" and allowed:
        return "routed_unit", request.t(_("access_routed", default="The case is routed to unit ${unit}.",
                                          mapping={"unit": _unit_name(request, value)}))
    if kind == "user":
        return "user", request.t(_("access_user", default="Granted to the user by name."))
    return "acl", principal


def _unit_name(request, code):
    unit = request.site.units.get(code) if code else None
    return f"{unit.name}（{code}）" if unit is not None else (code or "")


def case_access(request, case):
    """For ``case``: who can open it (VIEW) and why, who cannot and why; from the ACLs."""
    allowed_principals = principals_allowed(case, VIEW)
    can, cannot = [], []
    for user in sorted(request.site.users.values(), key=lambda u: u.username):
        if not user.active:
            continue
        allowed, _node, entry = acl_decision(case, _principals(user), VIEW)
        code, text = _reason(request, case, allowed, entry)
        row = {"username": user.username, "name": user.name, "roles": list(user.roles), "unit": user.unit,
               "role_titles": [ROLE_TITLES.get(r, r) for r in user.roles],
               "reason": code, "why": text,
               "principal": entry[1] if entry is not None else None,
               "reveal": bool(allowed and privacy.may_reveal(
                   user, lambda perm, ctx: acl_decision(ctx, _principals(user), perm)[0], case)),
               "full_identity": privacy.full_identity(user)}
        (can if allowed else cannot).append(row)
    return {
        "number": case.number,
        "unit": case.unit,
        "accused_unit": case.accused_unit or None,
        "confidential": bool(getattr(case, "confidential", False)),
        "principals": allowed_principals,
        "can": can,
        "cannot": cannot,
    }


def _check_access_reader(request):
    if not may_see_access(request):
        raise Forbidden(_("forbidden", default="You are not allowed to do this."), {})


@view_config(context=Case, name="access", renderer="admin_case_access.jinja2", permission=VIEW)
def access_page(request):
    _check_access_reader(request)
    return {"case": request.context, "access": case_access(request, request.context)}


def access_api(request):
    _check_access_reader(request)
    return case_access(request, request.context)


def includeme(config):
    from .routes import case_factory
    config.add_route("api_case_reveal", "/api/cases/{number}/reveal", factory=case_factory)
    config.add_route("api_case_access", "/api/cases/{number}/access", factory=case_factory)
    config.add_view(reveal_api, route_name="api_case_reveal", request_method="POST", renderer="json",
                    permission=VIEW)
    config.add_view(access_api, route_name="api_case_access", request_method="GET", renderer="json",
                    permission=VIEW)
