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
    archival = None    # casefiles.archival.Archival
    index_queue = None       # search: item ids committed but not yet in the index (indexing.sync)
    extract_queue = None     # search: documents waiting for text extraction / OCR
    saved_searches = None    # search: username -> tuple of saved searches
    rules = "national-2022"  # workflow: the rule set of the clocks (ini casefiles.rules)
    calendar = None          # workflow: casefiles.calendar.OfficialCalendar
    experts = None           # workflow: casefiles.experts.Experts (hearing expert pool)
    reception = None         # workflow: casefiles.reception.ReceptionDays (leader reception days)
    refs = None              # workflow: casefiles.workflow.RefCounters (document numbers 文号)

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


def _evolve_2(site):
    """Index the external references of imported online messages, so re-imports skip them."""
    from hypatia.field import FieldIndex

    from .catalog import _attr
    index = site.catalog.add_index("external_ref", FieldIndex(_attr("external_ref")))
    for case in site.cases.all_cases():
        if case.docid is not None:
            index.index_doc(case.docid, case)


def _evolve_3(site):
    """The archive register: archival references, archived cases, disposals (casefiles.archival)."""
    from .archival import Archival
    if getattr(site, "archival", None) is None:
        site.archival = Archival()


def _evolve_4(site):
    """Search: the durable queues of index and text-extraction work, and saved searches per user.

    Plain BTrees keyed by item id (``c:NUMBER``, ``d:NUMBER:DOCID``): written in the same
    transaction as the change they follow, cleared by ``indexing`` once the index has it."""
    from BTrees.OOBTree import OOBTree
    for name in ("index_queue", "extract_queue", "saved_searches"):
        if getattr(site, name, None) is None:
            setattr(site, name, OOBTree())
    for queue in (site.index_queue, site.extract_queue):
        queue["#"] = 0   # never removed: an emptied bucket would make concurrent commits conflict


def _evolve_5(site):
    """Workflow: the official calendar, the expert pool, leader reception days, document
    numbers, and the catalog indexes of the queues (earliest open due date, queue,
    provisional calendar years), filled from the cases' clocks."""
    from .calendar import OfficialCalendar
    from .experts import Experts
    from .reception import ReceptionDays
    from .workflow import RefCounters
    from .workflow import open_intake_clocks
    for name, factory in (("calendar", OfficialCalendar), ("experts", Experts), ("reception", ReceptionDays),
                          ("refs", RefCounters)):
        if getattr(site, name, None) is None:
            setattr(site, name, factory())

    def cases():
        for case in site.cases.all_cases():
            if case.status == "registered":   # registered before the clocks existed
                open_intake_clocks(site, case)
            yield case
    site.catalog.add_workflow_indexes(cases())


def _evolve_6(site):
    """The catalog's buffer of recently indexed cases (``CaseCatalog.recent``), merged into
    the indexes a batch at a time so that a registration writes one bucket, not every index;
    the index of case numbers goes (nothing filters by it; sorting by number reads ``docids``)."""
    from .catalog import Recent
    if getattr(site.catalog, "recent", None) is None:
        site.catalog.recent = Recent()
    if "number" in site.catalog.catalog:
        del site.catalog.catalog["number"]


def _evolve_7(site):
    """The catalog's ``denied`` index: an accusation's accused unit and accused users never
    see the case in a list or a count, even where one of their roles is allowed."""
    from hypatia.keyword import KeywordIndex
    from .catalog import _denied
    catalog = site.catalog
    if "denied" not in catalog.catalog:
        index = catalog.add_index("denied", KeywordIndex(_denied))
        for case in site.cases.all_cases():
            if case.docid is not None and (case.accused_unit or getattr(case, "accused_users", ())):
                index.index_doc(case.docid, case)


def _evolve_8(site):
    """Every case known to the ``denied`` index. Step 7 indexed only the accusations, but a
    list leaves out the denied cases with hypatia's ``NotAny``, which keeps only the docids
    its index knows: on a database upgraded by step 7 every other case fell out of every list
    and count. A case the index does not know has no accusation (step 7 and every reindex
    since put those in), so it is recorded as holding no denied principal, from the docids
    alone, without reading the cases."""
    from .catalog import _index_value
    catalog = site.catalog
    index = catalog.catalog.get("denied") if catalog is not None else None
    if index is None:
        return
    known = set(index._rev_index.keys()) | set(index._not_indexed)
    for docid in catalog.docids.keys():
        if docid not in known:
            _index_value(index, docid, None)


EVOLVE_STEPS = [_evolve_1, _evolve_2, _evolve_3, _evolve_4, _evolve_5, _evolve_6, _evolve_7, _evolve_8]
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
