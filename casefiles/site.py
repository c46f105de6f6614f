"""The site root: every case, petitioner, unit and user hangs from here.

``bootstrap`` creates the root on an empty database and runs the numbered evolve steps on
an existing one, so old databases load after the schema grows.
"""
from persistent import Persistent

from .catalog import CaseCatalog
from .cases import Cases
from .folder import Folder
from .petitioners import Petitioners
from .security import site_acl
from .units import Units, load_units
from .users import Users

ROOT_KEY = "casefiles"


class Site(Folder):
    __name__ = ""
    title = "信阳市信访局"
    schema_version = 0
    catalog = None

    @property
    def __acl__(self):
        return site_acl()

    @property
    def cases(self):
        return self["cases"]

    @property
    def petitioners(self):
        return self["petitioners"]

    @property
    def units(self):
        return self["units"]

    @property
    def users(self):
        return self["users"]


def _evolve_1(site):
    """Initial layout."""
    site.add("cases", Cases())
    site.add("petitioners", Petitioners())
    site.add("units", Units())
    site.add("users", Users())
    site.catalog = CaseCatalog()
    load_units(site.units)


EVOLVE_STEPS = [_evolve_1]
SCHEMA_VERSION = len(EVOLVE_STEPS)


def bootstrap(zodb_root, prefix=None):
    """Return the site in ``zodb_root``, creating and evolving it as needed.

    Returns (site, changed): the caller commits when ``changed``.
    """
    changed = False
    site = zodb_root.get(ROOT_KEY)
    if site is None:
        site = Site()
        zodb_root[ROOT_KEY] = site
        changed = True
    while site.schema_version < SCHEMA_VERSION:
        EVOLVE_STEPS[site.schema_version](site)
        site.schema_version += 1
        changed = True
    if prefix and site.cases.prefix != prefix:
        site.cases.prefix = prefix
        changed = True
    return site, changed


def find_site(resource):
    while resource is not None and not isinstance(resource, Site):
        resource = resource.__parent__
    return resource
