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


@pytest.fixture(params=[1, 4, 1000], ids=["merged", "mixed", "recent"])
def site(request):
    """The ROWS in a catalog; every test runs with the cases merged into the indexes one by
    one, in batches of four (some still in ``recent``), and all still in ``recent``."""
    db = ZODB.DB(None)
    tm = transaction.TransactionManager()
    conn = db.open(tm)
    root_site, _ = bootstrap(conn.root())
    root_site.catalog.merge_at = request.param
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


def _random_site(merge_at, seed=5, count=90):
    """``count`` cases with random fields, statuses, units and clocks, in a catalog that
    merges ``merge_at`` at a time; some are reindexed and one unindexed after registration."""
    import random

    from casefiles.workflow import open_intake_clocks
    rng = random.Random(seed)
    db = ZODB.DB(None)
    conn = db.open(transaction.TransactionManager())
    site, _ = bootstrap(conn.root())
    site.catalog.merge_at = merge_at
    cases = []
    start = datetime.datetime(2024, 11, 1, 8, 0)
    minutes = rng.sample(range(200 * 24 * 60), count)   # no two received at once: ties sort either way
    for i in range(count):
        at = start + datetime.timedelta(minutes=minutes[i])
        case = site.cases.new_case(at.year)
        case.received_at = at
        case.channel = rng.choice(["letter", "visit", "online"])
        case.district = rng.choice(["平桥区", "浉河区", "息县"])
        case.category = rng.choice(["城乡建设", "劳动社保", ""])
        case.status = "registered"
        open_intake_clocks(site, case)
        site.catalog.index(case)
        if rng.random() < 0.3:
            route_to_unit(site, case, rng.choice(["411502", "411503"]))
        cases.append(case)
    for case in rng.sample(cases, 20):   # later changes of status (some in recent, some merged)
        case.status = rng.choice(["accepted", "assigned", "closed"])
        site.catalog.reindex(case)
    site.catalog.unindex(cases[count // 2])
    return db, conn, site


def test_recent_and_merged_cases_answer_alike():
    """Queries, counts, due bands and look-ups give the same answers whether the cases are
    in the indexes, still in ``recent``, or some in each."""
    answers = []
    for merge_at in (1, 7, 1000):
        db, conn, site = _random_site(merge_at)
        catalog = site.catalog
        assert len(catalog.recent) == {1: 0, 7: len(catalog.recent), 1000: 89}[merge_at]
        today = datetime.date(2025, 3, 1).toordinal()
        out = []
        for principals in (CLERK, UNIT, UNIT2, ["role:unit"]):
            for filters in ({}, {"district": "息县"}, {"status": ["accepted", "closed"]}, {"category": "-"},
                            {"status": "registered", "channel": "visit"}, {"year": 2025}):
                for limit in (None, 3, 25):
                    out.append(catalog.query(principals, filters, limit=limit))
                    out.append(catalog.query(principals, filters, reverse=False, limit=limit))
                    out.append(catalog.query(principals, filters, sort="number", limit=limit))
                out.append(catalog.query(principals, filters, sort=None)[0])
                for n in (1, 5, 200):   # the most recently registered: the highest docids
                    newest = catalog.newest(principals, filters, n)
                    everything = [catalog.docids[d] for d in sorted(
                        (d for d, number in catalog.docids.items()
                         if number in catalog.query(principals, filters, sort=None)[1]), reverse=True)]
                    assert newest == everything[:n]
                    out.append(newest)
                out.append(sorted(catalog.query(principals, filters, sort=None)[1]))
            for field in ("status", "district", "unit", "year", "queue"):
                out.append(catalog.counts(principals, field))
            out.append(catalog.counts(principals, "status", {"district": "平桥区"}))
            for keys in (["clerk"], ["unit:411502"], ["clerk", "assigner", "unit:411503"]):
                for warn in (0, 3, 30):
                    out.append(catalog.due_bands(principals, keys, today, warn, 4))
        from casefiles.catalog import Between
        out.append(catalog.query(CLERK, {"next_due": Between(None, today)}, sort="next_due", reverse=False,
                                 limit=5))
        out.append(catalog.query(CLERK, {"next_due": Between(today - 30, today + 30), "district": "浉河区"},
                                 sort="next_due", reverse=False, limit=50))
        out.append(sorted(catalog.docids[d] for d in catalog.find("unit", ["411502", "411503"])))
        answers.append(out)
        # merging what is left changes no answer
        if merge_at != 1:
            catalog.merge(site.cases)
            assert not catalog.recent
            assert catalog.query(CLERK, {}) == out[0]
        conn.transaction_manager.abort()
        conn.close()
        db.close()
    assert answers[0] == answers[1] == answers[2]


def test_a_registration_writes_one_catalog_bucket_until_the_merge():
    """A new case goes to ``recent`` (no index changes); the ``merge_at``-th moves them all."""
    db = ZODB.DB(None)
    tm = transaction.TransactionManager()
    conn = db.open(tm)
    site, _ = bootstrap(conn.root())
    tm.commit()
    site.catalog.merge_at = 3
    at = datetime.datetime(2025, 3, 1, 9, 0)
    for i in range(2):
        case = site.cases.new_case(2025)
        case.received_at = at + datetime.timedelta(minutes=i)
        site.catalog.index(case)
        tm.commit()
    assert len(site.catalog.recent) == 2
    assert site.catalog.catalog["received"].indexed_count() == 0
    assert site.catalog.query(CLERK, {})[0] == 2
    case = site.cases.new_case(2025)
    case.received_at = at + datetime.timedelta(minutes=5)
    site.catalog.index(case)
    tm.commit()
    assert len(site.catalog.recent) == 0
    assert site.catalog.catalog["received"].indexed_count() == 3
    assert site.catalog.query(CLERK, {}) == (3, ["XY-2025-000003", "XY-2025-000002", "XY-2025-000001"])
    conn.close()
    db.close()


def test_newest_reads_windows_down_the_docids():
    """``newest`` over a catalog larger than its first windows matches a full sort."""
    db, conn, site = _random_site(50, seed=9, count=1500)
    catalog = site.catalog
    for filters in ({"district": "息县"}, {"district": "平桥区", "status": ["registered", "accepted"]}, {}):
        for principals in (CLERK, UNIT):
            matching = set(catalog.query(principals, filters, sort=None)[1])
            everything = [catalog.docids[d] for d in sorted(catalog.docids.keys(), reverse=True)
                          if catalog.docids[d] in matching]
            for n in (10, 300, 2000):
                assert catalog.newest(principals, filters, n) == everything[:n]
    conn.transaction_manager.abort()
    conn.close()
    db.close()


def test_a_merge_stores_what_hypatia_stores():
    """Merging ``recent`` puts into every index exactly what hypatia's own ``index_doc``
    computes from the cases."""
    db, conn, site = _random_site(1000, seed=11, count=120)
    catalog = site.catalog
    by_docid = {case.docid: case for case in site.cases.all_cases() if case.docid in catalog.recent}
    catalog.merge(site.cases)
    expected = bootstrap(ZODB.DB(None).open(transaction.TransactionManager()).root())[0].catalog.catalog
    for name in catalog.catalog:
        if name not in expected:
            expected[name] = type(catalog.catalog[name])(catalog.catalog[name].discriminator)
    for docid, case in by_docid.items():
        expected.index_doc(docid, case)

    def state(index):
        return ({k: sorted(v) for k, v in index._fwd_index.items()},
                {k: (sorted(v) if not isinstance(v, str) and hasattr(v, "keys") else v)
                 for k, v in index._rev_index.items()},
                index._num_docs(), sorted(index._not_indexed))
    for name, index in catalog.catalog.items():
        assert state(index) == state(expected[name]), name
    conn.transaction_manager.abort()
    conn.close()
    db.close()


def test_a_background_merger_takes_the_full_buffer_unless_it_grows_too_far():
    """Where a background thread merges (``defer_merges``: the web app's search indexer), the
    registration that fills ``recent`` leaves it full; ``merge_if_full`` then merges it. A
    buffer grown to ``DEFER_LIMIT`` times ``merge_at`` (the thread stopped) is merged by the
    registration itself. Every query sees every case throughout."""
    from casefiles.catalog import DEFER_LIMIT, defer_merges
    db = ZODB.DB(None)
    tm = transaction.TransactionManager()
    conn = db.open(tm)
    site, _ = bootstrap(conn.root())
    tm.commit()
    defer_merges(db)
    site.catalog.merge_at = 3
    at = datetime.datetime(2025, 3, 1, 9, 0)

    def register(n):
        for _i in range(n):
            case = site.cases.new_case(2025)
            case.received_at = at + datetime.timedelta(minutes=case.seq)
            site.catalog.index(case)
            tm.commit()

    register(4)
    assert len(site.catalog.recent) == 4 and site.catalog.catalog["received"].indexed_count() == 0
    assert site.catalog.query(CLERK, {})[0] == 4
    assert site.catalog.merge_if_full() == 4
    tm.commit()
    assert len(site.catalog.recent) == 0 and site.catalog.catalog["received"].indexed_count() == 4
    assert site.catalog.merge_if_full() == 0
    register(2)
    assert site.catalog.merge_if_full() == 0 and len(site.catalog.recent) == 2   # not full yet
    register(3 * DEFER_LIMIT - 3)
    assert len(site.catalog.recent) == 3 * DEFER_LIMIT - 1
    register(1)                      # the limit: merged by the registration
    assert len(site.catalog.recent) == 0
    total, listed = site.catalog.query(CLERK, {})
    assert total == 4 + 3 * DEFER_LIMIT and listed[0] == f"XY-2025-{total:06d}"
    conn.close()
    db.close()
