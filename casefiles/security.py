"""Permissions, roles and the ACLs of the resources.

Permission names are constants here and every view names one. ACL entries use the same
strings as Pyramid (``Allow``, ``Deny``, ``system.Everyone``) without importing it, so the
domain stays free of the web layer. Principals: ``user:NAME``, ``role:ROLE``, ``unit:CODE``.
"""
Allow = "Allow"
Deny = "Deny"
Everyone = "system.Everyone"
Authenticated = "system.Authenticated"


class _AllPermissions:
    def __contains__(self, other):
        return True

    def __iter__(self):
        return iter(())


ALL_PERMISSIONS = _AllPermissions()
DENY_ALL = (Deny, Everyone, ALL_PERMISSIONS)

# Permissions
VIEW = "view"            # open a case and read its documents
LIST = "list"            # see the case list and the dashboard (filtered by VIEW)
REGISTER = "register"    # register a new petition
FILE = "file"            # file documents and new versions into a case
LOOKUP = "lookup"        # look up petitioners by ID number
ADMINISTER = "administer"  # users, units, settings
REVEAL = "reveal"        # see one case's petitioners' full ID and phone numbers, giving a purpose

ROLES = ("clerk", "assigner", "supervisor", "analyst", "reviewer", "unit", "auditor", "admin")

ROLE_TITLES = {
    "clerk": "收登专班（办信网信组、接访处访组）",
    "assigner": "交办组",
    "supervisor": "督办组",
    "analyst": "综合工作组",
    "reviewer": "复查复核组",
    "unit": "责任单位",
    "auditor": "审计监督",
    "admin": "系统管理员",
}

# Role bundles build on each other: every bureau reader can view and list; the working
# groups can also file; intake can also register and look up petitioners.
_READ = (VIEW, LIST)
_WORK = _READ + (FILE,)
_INTAKE = _WORK + (REGISTER, LOOKUP)

ROLE_PERMISSIONS = {
    "clerk": _INTAKE,
    "assigner": _INTAKE,
    "supervisor": _WORK + (LOOKUP, REVEAL),
    "reviewer": _WORK + (LOOKUP, REVEAL),
    "analyst": _READ,
    "auditor": _READ + (LOOKUP, REVEAL),
    "unit": (LIST,),  # a unit gets VIEW, FILE and REVEAL on the cases routed to it, nowhere else
}


def role_principal(role):
    return f"role:{role}"


def unit_principal(code):
    return f"unit:{code}"


def site_acl():
    acl = [(Allow, role_principal("admin"), ALL_PERMISSIONS)]
    for role, perms in ROLE_PERMISSIONS.items():
        acl.append((Allow, role_principal(role), perms))
    acl.append(DENY_ALL)
    return acl


def case_acl(case):
    """The case's own ACL entries: its routed unit may view and file; an accused unit never."""
    acl = []
    accused = getattr(case, "accused_unit", None)
    if accused:
        acl.append((Deny, unit_principal(accused), ALL_PERMISSIONS))
    for username in getattr(case, "accused_users", ()) or ():
        acl.append((Deny, f"user:{username}", ALL_PERMISSIONS))
    if case.unit:
        acl.append((Allow, unit_principal(case.unit), (VIEW, FILE, REVEAL)))
    return acl


def principals_allowed(context, permission):
    """Principals granted ``permission`` on ``context`` by the ACLs along its lineage."""
    allowed, denied = set(), set()
    node = context
    while node is not None:
        for action, principal, perms in getattr(node, "__acl__", ()) or ():
            if permission not in perms:
                continue
            if principal in allowed or principal in denied:
                continue
            if action == Allow:
                allowed.add(principal)
            else:
                if principal == Everyone:
                    return sorted(allowed)
                denied.add(principal)
        node = getattr(node, "__parent__", None)
    return sorted(allowed)


def acl_decision(context, principals, permission):
    """The ACL entry that decides ``permission`` for ``principals`` on ``context``, walked as
    Pyramid's ACLHelper walks it (the context first, then its parents; the first entry that
    names one of the principals and the permission wins). Returns (allowed, node, entry);
    entry is None when no entry matches (denied)."""
    principals = set(principals)
    node = context
    while node is not None:
        for entry in getattr(node, "__acl__", ()) or ():
            action, principal, perms = entry
            if principal in principals and permission in perms:
                return action == Allow, node, entry
        node = getattr(node, "__parent__", None)
    return False, None, None
