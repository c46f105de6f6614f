"""Many clerks writing at the same moment through the real WSGI app.

Every registration in a year takes the next number from the year's counter and every
filing appends to its case's history, so concurrent writes conflict in the object
database. Within one process the API lets such writes take turns
(``views.api.exclusive_transaction``); a conflict that still happens (another process,
another kind of request) is replayed by pyramid_retry. Either way every request succeeds,
numbers stay unique and gap-free and nothing is lost.
"""
import threading

import webtest
from pyramid_retry import IBeforeRetry

from casefiles import events, intake

from .support import API, add_users, close_app, id_number, make_app, open_site, pdf_bytes, petition

THREADS = 6
PER_THREAD = 5


def _run_threads(worker, n):
    start = threading.Barrier(n)
    errors = []

    def run(i):
        try:
            worker(i, start)
        except Exception as e:  # reported by the assertion below
            errors.append(repr(e))
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors


def _count_retries(app):
    retries = []
    app.registry.registerHandler(lambda event: retries.append(type(event.exception).__name__), (IBeforeRetry,))
    return retries


def test_concurrent_registrations_get_unique_contiguous_numbers(tmp_path):
    app = make_app(tmp_path / "var")
    try:
        add_users(app, [(f"clerk{i}", ["clerk"], None) for i in range(THREADS)])
        clients = [API(webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543"}), f"clerk{i}")
                   for i in range(THREADS)]
        retries = _count_retries(app)
        results = [[] for _ in range(THREADS)]

        def worker(i, start):
            client = clients[i]
            start.wait(timeout=60)
            for j in range(PER_THREAD):
                # every thread registers its own petitioner and one shared one, so the
                # petitioner registry is contended as well as the year's counter
                body = petition(subject=f"并发登记 {i}-{j}", petitioners=[
                    {"name": f"信访人{i}-{j}", "id_number": id_number(100 + i * PER_THREAD + j), "primary": True},
                    {"name": "共同信访人", "id_number": id_number(999), "phone": f"1380000{i:02d}{j:02d}"},
                ])
                res = client.post_json("/api/cases", body, status="*")
                results[i].append((res.status_int, res.json.get("number"), body["subject"]))

        _run_threads(worker, THREADS)
        flat = [r for rs in results for r in rs]
        total = THREADS * PER_THREAD
        assert len(flat) == total
        assert [status for status, _n, _s in flat] == [201] * total, (flat, retries)
        numbers = [n for _status, n, _s in flat]
        assert len(set(numbers)) == total
        assert sorted(int(n.rsplit("-", 1)[1]) for n in numbers) == list(range(1, total + 1))

        conn, site = open_site(app)
        try:
            all_total, listed = site.catalog.query(["role:clerk"], {})
            assert all_total == total
            assert sorted(listed) == sorted(numbers)
            bucket = site.cases.year(2025)
            assert bucket.sequence == total and len(bucket) == total
            # each number belongs to the case whose request received it
            for _status, number, subject in flat:
                assert site.cases.by_number(number).subject == subject
            shared = site.petitioners.by_id_number(id_number(999))
            assert sorted(shared.cases) == sorted(numbers)
            assert len(site.petitioners) == total + 1
        finally:
            conn.close()
    finally:
        close_app(app)


def test_a_conflicting_registration_is_retried_with_the_next_number(app, api):
    """Another process registers a case while a request is registering: the request's
    commit conflicts on the year's counter, pyramid_retry replays it, and it gets the next
    number; nothing is lost or doubled."""
    clerk = api("clerk")
    retries = _count_retries(app)
    fired = []

    def register_elsewhere(event):
        if isinstance(event, events.CaseAdded) and not fired:
            fired.append(event.case.number)
            conn, site = open_site(app)
            with conn.transaction_manager:
                intake.register(site, petition(subject="另一进程登记"), by="import")
            conn.close()
    events.subscribe(register_elsewhere)
    try:
        res = clerk.post_json("/api/cases", petition(subject="本请求登记"), status=201)
    finally:
        events.unsubscribe(register_elsewhere)
    assert fired == ["XY-2025-000001"]          # the first attempt had taken number 1
    assert retries == ["ConflictError"]
    assert res.json["number"] == "XY-2025-000002" and res.json["subject"] == "本请求登记"
    listed = clerk.get("/api/cases").json
    assert listed["total"] == 2
    assert {c["number"]: c["subject"] for c in listed["cases"]} == {"XY-2025-000001": "另一进程登记",
                                                                    "XY-2025-000002": "本请求登记"}


def test_concurrent_filing_into_one_case(tmp_path):
    app = make_app(tmp_path / "var")
    try:
        add_users(app, [(f"clerk{i}", ["clerk"], None) for i in range(THREADS)])
        clients = [API(webtest.TestApp(app), f"clerk{i}") for i in range(THREADS)]
        number = clients[0].post_json("/api/cases", petition(), status=201).json["number"]
        data = pdf_bytes()
        results = []

        def worker(i, start):
            start.wait(timeout=60)
            for j in range(PER_THREAD):
                res = clients[i].post(f"/api/cases/{number}/documents", {"kind": "evidence", "title": f"证据{i}-{j}"},
                                      upload_files=[("file", f"证据{i}-{j}.pdf", data)], status="*")
                results.append((res.status_int, res.json.get("id")))

        _run_threads(worker, THREADS)
        total = THREADS * PER_THREAD
        assert [s for s, _id in results] == [201] * total, results
        case = clients[0].get(f"/api/cases/{number}").json
        origin = next(f for f in case["folders"] if f["name"] == "origin")["documents"]
        assert {d["id"] for d in origin} >= {i for _s, i in results}
        assert len(origin) == total + 1
        assert sorted(d["title"] for d in origin if d["kind"] == "evidence") == \
            sorted(f"证据{i}-{j}" for i in range(THREADS) for j in range(PER_THREAD))
        assert [h["action"] for h in case["history"]].count("file") == total
    finally:
        close_app(app)


def test_every_write_gives_its_turn_back(app, api):
    """The turn a write takes is given back however the request ends (201, 4xx, conflict)."""
    from views.api import _WRITES
    clerk = api("clerk")
    number = clerk.post_json("/api/cases", petition(), status=201).json["number"]
    assert not _WRITES.locked()
    clerk.post_json("/api/cases", petition(subject=""), status=422)
    assert not _WRITES.locked()
    clerk.post(f"/api/cases/{number}/documents", {"kind": "evidence", "title": "可执行文件"},
               upload_files=[("file", "a.pdf", b"\x7fELF\x02\x01\x01\x00" + bytes(100))], status=415)
    assert not _WRITES.locked()
    doc = clerk.post(f"/api/cases/{number}/documents", {"kind": "evidence", "title": "证据"},
                     upload_files=[("file", "a.pdf", pdf_bytes())], status=201).json
    assert not _WRITES.locked()
    clerk.post(f"/api/cases/{number}/documents/{doc['id']}/versions", {}, status=422)
    clerk.post(f"/api/cases/{number}/documents/{doc['id']}/versions", {},
               upload_files=[("file", "b.pdf", pdf_bytes("第二版"))], status=201)
    assert not _WRITES.locked()
