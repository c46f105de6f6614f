"""Who may do what: the site's role permissions and a case's own ACL (its routed unit may
open and file; an accused unit never), as Pyramid reads them and as the catalog indexes them."""
import datetime

import pytest
import transaction
import ZODB
from pyramid.authorization import ACLHelper, Authenticated, Everyone

from casefiles.access import route_to_unit
from casefiles.errors import ValidationError
from casefiles.security import (ADMINISTER, FILE, LIST, LOOKUP, REGISTER, REVEAL, ROLE_PERMISSIONS, ROLES, VIEW,
                                principals_allowed)
from casefiles.site import bootstrap

PERMISSIONS = (VIEW, LIST, REGISTER, FILE, LOOKUP, ADMINISTER, REVEAL)
BUREAU_READERS = {"role:admin", "role:clerk", "role:assigner", "role:supervisor", "role:reviewer", "role:analyst",
                  "role:auditor"}
BUREAU_WORKERS = {"role:admin", "role:clerk", "role:assigner", "role:supervisor", "role:reviewer"}


@pytest.fixture
def site():
    db = ZODB.DB(None)
    tm = transaction.TransactionManager()
    conn = db.open(tm)
    root_site, _ = bootstrap(conn.root())
    yield root_site
    tm.abort()
    conn.close()
    db.close()


def _case(site, unit=None, accused=None, year=2025):
    case = site.cases.new_case(year)
    case.subject = "测试"
    case.received_at = datetime.datetime(year, 3, 1, 9, 0)
    case.accused_unit = accused
    site.catalog.index(case)
    if unit:
        route_to_unit(site, case, unit)
    return case


def _permits(context, principals, permission):
    return bool(ACLHelper().permits(context, [Everyone, Authenticated, *principals], permission))


def test_site_permissions_by_role(site):
    expected = {
        "clerk": {VIEW, LIST, FILE, REGISTER, LOOKUP},
        "assigner": {VIEW, LIST, FILE, REGISTER, LOOKUP},
        "supervisor": {VIEW, LIST, FILE, LOOKUP, REVEAL},
        "reviewer": {VIEW, LIST, FILE, LOOKUP, REVEAL},
        "analyst": {VIEW, LIST},
        "auditor": {VIEW, LIST, LOOKUP, REVEAL},
        "unit": {LIST},
        "admin": set(PERMISSIONS),
    }
    assert set(expected) == set(ROLES)
    for role, perms in expected.items():
        granted = {p for p in PERMISSIONS if _permits(site, [f"role:{role}"], p)}
        assert granted == perms, role
        if role != "admin":
            assert set(ROLE_PERMISSIONS[role]) == perms
    # nobody without a role gets anything
    assert not any(_permits(site, ["user:someone"], p) for p in PERMISSIONS)
    assert not any(_permits(site, [], p) for p in PERMISSIONS)


def test_unrouted_case_is_open_to_bureau_roles_only(site):
    case = _case(site)
    assert set(principals_allowed(case, VIEW)) == BUREAU_READERS
    assert set(principals_allowed(case, FILE)) == BUREAU_WORKERS
    assert not _permits(case, ["role:unit", "unit:411502"], VIEW)


def test_routed_unit_may_view_and_file_but_not_more(site):
    case = _case(site, unit="411502")
    assert set(principals_allowed(case, VIEW)) == BUREAU_READERS | {"unit:411502"}
    assert set(principals_allowed(case, FILE)) == BUREAU_WORKERS | {"unit:411502"}
    assert "unit:411502" not in principals_allowed(case, REGISTER)
    assert "unit:411502" not in principals_allowed(case, LOOKUP)
    unit_user = ["user:u", "role:unit", "unit:411502"]
    assert _permits(case, unit_user, VIEW) and _permits(case, unit_user, FILE)
    assert not _permits(case, unit_user, REGISTER) and not _permits(case, unit_user, ADMINISTER)
    assert not _permits(case, ["user:v", "role:unit", "unit:411503"], VIEW)
    # documents inherit the case's ACL through their folder
    stage = case["origin"]
    assert _permits(stage, unit_user, VIEW)
    assert not _permits(stage, ["role:unit", "unit:411503"], VIEW)


def test_accused_unit_never_sees_the_case(site):
    routed_elsewhere = _case(site, unit="411503", accused="411502")
    assert "unit:411502" not in principals_allowed(routed_elsewhere, VIEW)
    assert "unit:411503" in principals_allowed(routed_elsewhere, VIEW)
    # even when routed to the accused unit by mistake, that unit stays out
    routed_to_accused = _case(site, unit="411502", accused="411502")
    for permission in (VIEW, FILE, LIST):
        assert "unit:411502" not in principals_allowed(routed_to_accused, permission)
        assert not _permits(routed_to_accused, ["role:unit", "unit:411502"], permission)
    # the bureau still sees it
    assert set(principals_allowed(routed_to_accused, VIEW)) == BUREAU_READERS


def test_principals_allowed_agrees_with_pyramid(site):
    """The catalog's filter (principals_allowed) and the view check (Pyramid's ACL) agree
    for every principal on every kind of case."""
    cases = [_case(site), _case(site, unit="411502"), _case(site, unit="411503", accused="411502"),
             _case(site, unit="411502", accused="411502")]
    principals = [f"role:{r}" for r in ROLES] + ["unit:411502", "unit:411503", "unit:411521", "user:clerk"]
    for case in cases:
        for permission in (VIEW, FILE):
            allowed = set(principals_allowed(case, permission))
            for principal in principals:
                assert (principal in allowed) == _permits(case, [principal], permission), \
                    (case.unit, case.accused_unit, permission, principal)


def test_route_to_unit_changes_access_and_the_catalog(site):
    case = _case(site)
    assert site.catalog.query(["unit:411502"], {})[0] == 0
    route_to_unit(site, case, "411502")
    assert case.unit == "411502"
    assert site.catalog.query(["unit:411502"], {}) == (1, [case.number])
    route_to_unit(site, case, "411503")
    assert site.catalog.query(["unit:411502"], {})[0] == 0
    assert site.catalog.query(["unit:411503"], {}) == (1, [case.number])
    route_to_unit(site, case, None)
    assert site.catalog.query(["unit:411503"], {})[0] == 0
    with pytest.raises(ValidationError) as e:
        route_to_unit(site, case, "000000")
    assert e.value.fields == {"unit": "000000"} and case.unit is None
