"""The case catalog: filters, sort orders, paging limits and counts, always restricted to
the cases the asking principals may open."""
import datetime

import pytest
import transaction
import ZODB

from casefiles.access import route_to_unit
from casefiles.site import bootstrap

CLERK = ["user:clerk", "role:clerk"]
UNIT = ["user:unit", "role:unit", "unit:411502"]
UNIT2 = ["user:unit2", "role:unit", "unit:411503"]

ROWS = [
    # (received, status, channel, district, category, petition_type, routed unit, accused unit)
    ("2025-03-01 09:00", "registered", "letter", "平桥区", "城乡建设", "complaint", None, None),
    ("2025-03-05 10:00", "accepted", "online", "浉河区", "劳动社保", "complaint", "411502", None),
    ("2025-03-03 08:00", "assigned", "visit", "浉河区", "城乡建设", "accusation", "411502", None),
    ("2024-12-30 16:00", "closed", "letter", "息县", "农业农村", "suggestion", None, None),
    ("2025-01-15 11:00", "assigned", "phone", "平桥区", "城乡建设", "accusation", "411503", "411502"),
    ("2025-02-10 09:30", "registered", "transfer", "市直", "", "complaint", None, None),
]


@pytest.fixture
def site():
    db = ZODB.DB(None)
    tm = transaction.TransactionManager()
    conn = db.open(tm)
    root_site, _ = bootstrap(conn.root())
    for received, status, channel, district, category, ptype, unit, accused in ROWS:
        at = datetime.datetime.fromisoformat(received)
        case = root_site.cases.new_case(at.year)
        case.received_at, case.status, case.channel, case.district = at, status, channel, district
        case.category, case.petition_type, case.accused_unit = category, ptype, accused
        case.subject = f"{district}{category}"
        root_site.catalog.index(case)
        if unit:
            route_to_unit(root_site, case, unit)
    yield root_site
    tm.abort()
    conn.close()
    db.close()


def numbers(site, rows):
    """Case numbers of ROWS indexes, as the site numbered them (per year, in order)."""
    out = []
    for i in rows:
        year = ROWS[i][0][:4]
        seq = sum(1 for r in ROWS[: i + 1] if r[0][:4] == year)
        out.append(f"XY-{year}-{seq:06d}")
    return out


def test_everything_newest_first(site):
    total, found = site.catalog.query(CLERK, {})
    assert total == 6
    assert found == numbers(site, [1, 2, 0, 5, 4, 3])
    total, oldest = site.catalog.query(CLERK, {}, reverse=False)
    assert oldest == list(reversed(found))


def test_filters(site):
    q = site.catalog.query
    assert q(CLERK, {"district": "浉河区"}) == (2, numbers(site, [1, 2]))
    assert q(CLERK, {"status": "assigned"}) == (2, numbers(site, [2, 4]))
    assert q(CLERK, {"status": "assigned", "district": "平桥区"}) == (1, numbers(site, [4]))
    assert q(CLERK, {"channel": "letter"}) == (2, numbers(site, [0, 3]))
    assert q(CLERK, {"year": 2024}) == (1, numbers(site, [3]))
    assert q(CLERK, {"year": 2025})[0] == 5
    assert q(CLERK, {"unit": "411502"}) == (2, numbers(site, [1, 2]))
    assert q(CLERK, {"petition_type": "accusation"})[0] == 2
    assert q(CLERK, {"category": "城乡建设"})[0] == 3
    assert q(CLERK, {"status": ["registered", "closed"]}) == (3, numbers(site, [0, 5, 3]))
    assert q(CLERK, {"status": "merged"}) == (0, [])
    # empty filters are ignored
    assert q(CLERK, {"status": "", "district": None})[0] == 6
    # a missing value is indexed as "-"
    assert q(CLERK, {"category": "-"}) == (1, numbers(site, [5]))
    assert q(CLERK, {"unit": "-"})[0] == 3


def test_sort_and_limit(site):
    q = site.catalog.query
    total, first_two = q(CLERK, {}, limit=2)
    assert total == 6 and first_two == numbers(site, [1, 2])
    total, by_number = q(CLERK, {}, sort="number", reverse=False)
    assert by_number == sorted(by_number) and total == 6
    total, unsorted = q(CLERK, {}, sort=None)
    assert sorted(unsorted) == sorted(by_number)


def test_principals_restrict_every_query(site):
    q = site.catalog.query
    # the unit sees the two cases routed to it, not the one it is accused in
    assert q(UNIT, {}) == (2, numbers(site, [1, 2]))
    assert q(UNIT, {"district": "平桥区"}) == (0, [])
    assert q(UNIT2, {}) == (1, numbers(site, [4]))
    assert q(["user:nobody"], {}) == (0, [])
    assert q([], {}) == (0, [])
    for role in ("clerk", "assigner", "supervisor", "reviewer", "analyst", "auditor", "admin"):
        assert q([f"role:{role}"], {})[0] == 6, role
    assert q(["role:unit"], {})[0] == 0


def test_counts(site):
    counts = site.catalog.counts
    assert counts(CLERK, "district") == {"浉河区": 2, "平桥区": 2, "息县": 1, "市直": 1}
    assert counts(CLERK, "status") == {"registered": 2, "accepted": 1, "assigned": 2, "closed": 1}
    assert counts(CLERK, "year") == {2025: 5, 2024: 1}
    assert counts(CLERK, "status", {"district": "浉河区"}) == {"accepted": 1, "assigned": 1}
    # counts never include a case the principals may not open
    assert counts(UNIT, "district") == {"浉河区": 2}
    assert counts(UNIT2, "status") == {"assigned": 1}
    assert counts(["user:nobody"], "district") == {}
    assert sum(counts(CLERK, "channel").values()) == 6


def test_reindex_follows_changes_and_unindex_removes(site):
    number = numbers(site, [0])[0]
    case = site.cases.by_number(number)
    case.status = "accepted"
    assert site.catalog.query(CLERK, {"status": "accepted"})[0] == 1   # not yet reindexed
    site.catalog.reindex(case)
    assert site.catalog.query(CLERK, {"status": "accepted"})[0] == 2
    docid = case.docid
    site.catalog.reindex(case)
    assert case.docid == docid   # reindexing keeps the docid
    site.catalog.unindex(case)
    assert site.catalog.query(CLERK, {})[0] == 5
    assert number not in site.catalog.query(CLERK, {})[1]
    site.catalog.index(case)
    assert site.catalog.query(CLERK, {})[0] == 6 and case.docid == docid


def test_docids_are_unique(site):
    docids = [c.docid for c in site.cases.all_cases()]
    assert len(set(docids)) == len(docids) == 6
    assert {site.catalog.docids[d] for d in docids} == {c.number for c in site.cases.all_cases()}


def test_the_newest_page_of_a_long_list_matches_a_full_sort():
    """A large list's first page comes from walking the received index backwards; it must
    equal what sorting every case gives, ties (same minute) included."""
    db = ZODB.DB(None)
    conn = db.open(transaction.TransactionManager())
    big, _ = bootstrap(conn.root())
    start = datetime.datetime(2025, 1, 1, 8, 0)
    for i in range(300):
        case = big.cases.new_case(2025)
        case.received_at = start + datetime.timedelta(hours=(i * 37) % 500)  # shuffled, with ties
        case.district = "浉河区" if i % 3 else "息县"
        big.catalog.index(case)
    catalog = big.catalog
    for limit in (5, 10):
        total, scanned = catalog.query(CLERK, limit=limit)
        assert total == 300 and len(scanned) == limit
        received = [big.cases.by_number(n).received_at for n in scanned]
        assert received == sorted(received, reverse=True)
        newest = sorted((c.received_at for c in big.cases.all_cases()), reverse=True)[:limit]
        assert received == newest
    # a filtered list (息县: 100 cases, limit 4 → scan) still gives only matching cases
    total, scanned = catalog.query(CLERK, {"district": "息县"}, limit=4)
    assert total == 100 and all(big.cases.by_number(n).district == "息县" for n in scanned)
    assert [big.cases.by_number(n).received_at for n in scanned] == sorted(
        (c.received_at for c in big.cases.all_cases() if c.district == "息县"), reverse=True)[:4]
    conn.transaction_manager.abort()
    conn.close()
    db.close()
