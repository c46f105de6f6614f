"""Workflow: the overdue and due-soon lists over 100,000 open cases, and one full action.

Targets, all measured in the same run on the same database:

- ``GET /api/cases?overdue=true`` and ``GET /api/cases?due_within=3`` (first page, 25
  cases, most urgent first, as an assigner who may open every case): p95 under 50 ms, and
  at least 20 times faster than a full scan that loads every case and works out the same
  list (its access, its clocks' earliest open due date, the same order);
- one full action, ``POST /api/cases/<n>/actions/accept`` with its 受理告知书 rendered as a
  PDF with the embedded Chinese font, filed, indexed and committed: p95 under 150 ms.

The database is built once through the domain (``casefiles.intake.register`` of varied
petitions received over the last 100 days; the triage clocks start at registration; about
a third are then accepted and a quarter assigned to a unit with their clocks moved as the
workflow moves them) into ``--var`` and reused while it holds the asked number of cases.
The lists, the scan and the actions are measured in a fresh process on the app
(``views.main``) through WebTest.

    .venv/bin/python benchmarks/bench_workflow.py [--cases 100000] [--var benchmarks/var-workflow]
"""
import argparse
import datetime
import json
import os
import random
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import common  # noqa: E402

PASSWORD = "bench-pass-123"
SECRET = "bench-workflow-secret"
MARKER = "bench-build.json"
DEFAULT_VAR = os.path.join(common.HERE, "var-workflow")
PAGE = 25


def settings_for(var):
    return {"casefiles.var": var, "casefiles.secret": SECRET}


def read_marker(var):
    try:
        with open(os.path.join(var, MARKER), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ensure_database(args):
    var = os.path.abspath(args.var)
    marker = read_marker(var)
    complete = marker and marker.get("complete") and os.path.exists(os.path.join(var, "Data.fs"))
    if complete and marker.get("cases") == args.cases and not args.rebuild:
        common.progress(f"reusing the database in {var} ({marker['cases']:,} cases, built {marker.get('built_at')})")
        marker["reused"] = True
        return marker
    if os.path.exists(var) and os.listdir(var):
        if marker is None:
            raise SystemExit(f"{var} is not empty and was not made by this benchmark: choose another --var")
        shutil.rmtree(var)
    os.makedirs(var, exist_ok=True)
    marker = build(var, args)
    marker["reused"] = False
    return marker


def build(var, args):
    import transaction
    import zodburi
    from ZODB import DB

    from benchmarks import fixtures
    from casefiles import clocks, workflow  # noqa: F401  (workflow starts the clocks of new cases)
    from casefiles.access import route_to_unit
    from casefiles.intake import register
    from casefiles.site import bootstrap
    from views import configure_settings

    os.environ.pop("CASEFILES_VAR", None)
    settings = configure_settings(settings_for(var))
    factory, dbkw = zodburi.resolve_uri(settings["zodbconn.uri"])
    db = DB(factory(), **dbkw)
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    with open(os.path.join(var, MARKER), "w", encoding="utf-8") as f:
        json.dump({"cases": args.cases, "complete": False}, f)
    with tm:
        site, _changed = bootstrap(conn.root(), settings["casefiles.number_prefix"])
        site.users.create("clerk", ["clerk"], PASSWORD, name="登记员")
        site.users.create("assigner", ["assigner"], PASSWORD, name="交办员")
    rules = clocks.load_rules(site.rules)
    units = [u.code for u in site.units.values()]
    rng = random.Random(args.seed)
    pool = []
    today = datetime.date.today()
    states = {"registered": 0, "accepted": 0, "assigned": 0}
    started = last = time.perf_counter()
    common.progress(f"building {args.cases:,} open cases into {var} …")
    for i in range(args.cases):
        received = datetime.datetime.combine(today - datetime.timedelta(days=rng.randint(0, 100)),
                                             datetime.time(rng.randint(8, 17), rng.randint(0, 59)))
        body = fixtures.petition(rng, received, pool=pool)
        case = register(site, body, (), by="clerk", now=received + datetime.timedelta(minutes=30), catalog=False)
        roll = rng.random()
        step = received.date() + datetime.timedelta(days=rng.randint(1, 12))
        if roll < 0.6 or step > today:
            states["registered"] += 1
        else:
            clocks.meet(case, "triage", step, "assigner")
            clocks.meet(case, "notice", step, "assigner")
            clocks.start_clock(case, "handling", rules, site.calendar, step, "受理")
            case.step_on = step
            if roll < 0.85:
                case.status = "accepted"
                states["accepted"] += 1
            else:
                route_to_unit(site, case, rng.choice(units))
                clocks.start_clock(case, "unit_report", rules, site.calendar, step, "交办")
                clocks.start_clock(case, "objection", rules, site.calendar, step, "交办责任单位")
                case.status = "assigned"
                states["assigned"] += 1
        site.catalog.index(case)
        if (i + 1) % args.commit_every == 0 or i + 1 == args.cases:
            tm.commit()
            conn.cacheGC()
            now_t = time.perf_counter()
            if now_t - last > 15 or i + 1 == args.cases:
                rate = (i + 1) / (now_t - started)
                common.progress(f"  {i + 1:,}/{args.cases:,} cases  {rate:,.0f} cases/s  "
                                f"ETA {(args.cases - i - 1) / rate:,.0f} s  RSS {common.rss_mb():,.0f} MB")
                last = now_t
    seconds = time.perf_counter() - started
    conn.close()
    db.close()
    marker = {"cases": args.cases, "complete": True, "seed": args.seed, "states": states,
              "built_on": today.isoformat(), "seconds": round(seconds, 1),
              "cases_per_s": round(args.cases / seconds, 1),
              "built_at": datetime.datetime.now().isoformat(timespec="seconds")}
    with open(os.path.join(var, MARKER), "w", encoding="utf-8") as f:
        json.dump(marker, f, ensure_ascii=False, indent=2)
    common.progress(f"built {args.cases:,} cases in {seconds:,.0f} s")
    return marker


def empty_search_index(var):
    """An empty full-text index before measuring: on a database with cases and no index the
    app fills a new index in a background thread, which would compete with the measured
    requests. The lists measured here do not read it; the actions still update it."""
    from indexing.store import IndexStore
    path = os.path.join(var, "index")
    shutil.rmtree(path, ignore_errors=True)
    IndexStore(path)


# ------------------------------------------------------------------------- measuring (child)

def scan(site, principals, today, overdue, within):
    """The list without indexes: load every case, check who may open it and its clocks."""
    from casefiles.clocks import next_due
    from casefiles.security import VIEW, principals_allowed
    wanted = set(principals)
    low, high = (None, today.toordinal() - 1) if overdue else (today.toordinal(), today.toordinal() + within)
    hits = []
    for case in site.cases.all_cases():
        due = next_due(case)
        if due is None:
            continue
        d = due.toordinal()
        if (low is not None and d < low) or d > high:
            continue
        if not wanted.intersection(principals_allowed(case, VIEW)):
            continue
        hits.append((d, case.docid, case.number))
    hits.sort()      # most urgent first, as the API lists them
    return len(hits), [n for _d, _i, n in hits[:PAGE]]


def measure(args):
    import transaction
    import webtest

    from casefiles.clocks import next_due
    from views import main
    var = os.path.abspath(args.var)
    os.environ.pop("CASEFILES_VAR", None)
    app = main({}, **settings_for(var))
    import threading
    filling = [t.name for t in threading.enumerate() if "fill" in t.name]
    if filling:
        common.progress(f"WARNING: the app is filling its search index while we measure ({filling})")
    testapp = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543"}, lint=False)
    token = testapp.post_json("/api/login", {"username": "assigner", "password": PASSWORD}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    out = {"lists": {}, "scan": {}, "speedup": {}, "action": {}}
    today = datetime.date.today()
    queries = {"overdue": {"overdue": "true", "size": PAGE}, "due_within_3": {"due_within": 3, "size": PAGE}}
    api_results = {}
    for name, params in queries.items():
        testapp.get("/api/cases", params, headers=headers)        # warm
    times = {name: [] for name in queries}
    for _ in range(args.samples):
        for name, params in queries.items():
            t0 = time.perf_counter()
            res = testapp.get("/api/cases", params, headers=headers)
            times[name].append(time.perf_counter() - t0)
            api_results[name] = (res.json["total"], [c["number"] for c in res.json["cases"]])
    queue_times = []
    for _ in range(max(5, args.samples // 4)):
        t0 = time.perf_counter()
        testapp.get("/api/queue", {"limit": PAGE}, headers=headers)
        queue_times.append(time.perf_counter() - t0)
    for name in queries:
        out["lists"][name] = dict(common.summary(times[name]), total=api_results[name][0])
    out["lists"]["queue"] = common.summary(queue_times)
    common.progress(f"lists: overdue p95 {out['lists']['overdue']['p95_ms']} ms, due within 3 days p95 "
                    f"{out['lists']['due_within_3']['p95_ms']} ms")

    # the same lists by a full scan, in the same process, on the same database
    db = app.registry._zodb_databases[""]
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    site = conn.root()["casefiles"]
    principals = site.users["assigner"].principals + ["system.Everyone", "system.Authenticated"]
    for name, overdue, within in (("overdue", True, None), ("due_within_3", False, 3)):
        scan_times = []
        for _ in range(args.scan_samples):
            t0 = time.perf_counter()
            total, numbers = scan(site, principals, today, overdue, within)
            scan_times.append(time.perf_counter() - t0)
        api_total, api_numbers = api_results[name]
        # the same number of cases, and a first page with the same due dates in the same order
        # (cases due on the same day may come in another order)
        dues = [next_due(site.cases.by_number(n)) for n in numbers]
        api_dues = [next_due(site.cases.by_number(n)) for n in api_numbers]
        out["scan"][name] = dict(common.summary(scan_times), total=total,
                                 same_total=total == api_total, same_first_page=dues == api_dues)
        out["speedup"][name] = round(out["scan"][name]["p95_ms"] / out["lists"][name]["p95_ms"], 1)
        common.progress(f"scan {name}: p95 {out['scan'][name]['p95_ms']:,.0f} ms, total {total} "
                        f"(index: {api_total}), same page: {numbers == api_numbers}")
    tm.abort()
    conn.close()

    # one full action: accept with its notice PDF, committed. The search index follows each
    # commit in a background thread of the same process; "paced" lets it catch up before the
    # next action (a user's next click), "back to back" does not.
    from indexing.sync import indexer_for_db
    indexer = indexer_for_db(db)
    res = testapp.get("/api/cases", {"status": "registered", "size": args.actions * 2 + 1}, headers=headers)
    numbers = [c["number"] for c in res.json["cases"]]
    testapp.post_json(f"/api/cases/{numbers.pop()}/actions/accept", {}, headers=headers)   # font loading

    def accept_all(batch, paced):
        times, ok = [], 0
        for number in batch:
            if paced and indexer is not None:
                indexer.wait_idle(timeout=30)
            t0 = time.perf_counter()
            res = testapp.post_json(f"/api/cases/{number}/actions/accept", {}, headers=headers, expect_errors=True)
            times.append(time.perf_counter() - t0)
            ok += res.status_int == 200 and res.json["status"] == "accepted" and any(
                d["title"] == "受理告知书" and d["media_type"] == "application/pdf"
                for f in res.json["folders"] for d in f["documents"])
        return dict(common.summary(times), ok=ok)

    out["action"]["accept"] = accept_all(numbers[:args.actions], paced=True)
    out["action"]["accept_back_to_back"] = accept_all(numbers[args.actions:args.actions * 2], paced=False)
    common.progress(f"accept: p95 {out['action']['accept']['p95_ms']} ms paced, "
                    f"{out['action']['accept_back_to_back']['p95_ms']} ms back to back")
    print(json.dumps(out))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100000)
    parser.add_argument("--var", default=DEFAULT_VAR)
    parser.add_argument("--samples", type=int, default=100, help="requests per list")
    parser.add_argument("--scan-samples", type=int, default=5, help="full scans per list")
    parser.add_argument("--actions", type=int, default=60)
    parser.add_argument("--commit-every", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        measure(args)
        return 0
    marker = ensure_database(args)
    empty_search_index(os.path.abspath(args.var))
    child = subprocess.run([sys.executable, os.path.abspath(__file__), "--measure", "--var", args.var,
                            "--cases", str(args.cases), "--samples", str(args.samples),
                            "--scan-samples", str(args.scan_samples), "--actions", str(args.actions)],
                           capture_output=True, text=True)
    sys.stderr.write(child.stderr[-4000:] if child.returncode else "")
    if child.returncode:
        raise SystemExit(f"measuring failed ({child.returncode})")
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    lists, scans, speedup = measured["lists"], measured["scan"], measured["speedup"]
    rows = [["measure", "n", "p50 ms", "p95 ms", "total"]]
    for name in ("overdue", "due_within_3"):
        rows.append([f"GET /api/cases {name}", lists[name]["n"], lists[name]["p50_ms"], lists[name]["p95_ms"],
                     lists[name]["total"]])
        rows.append([f"full scan {name}", scans[name]["n"], scans[name]["p50_ms"], scans[name]["p95_ms"],
                     scans[name]["total"]])
    rows.append(["GET /api/queue", lists["queue"]["n"], lists["queue"]["p50_ms"], lists["queue"]["p95_ms"], ""])
    accept = measured["action"]["accept"]
    rows.append(["POST accept (+PDF)", accept["n"], accept["p50_ms"], accept["p95_ms"], f"{accept['ok']} ok"])
    b2b = measured["action"]["accept_back_to_back"]
    rows.append(["  back to back", b2b["n"], b2b["p50_ms"], b2b["p95_ms"], f"{b2b['ok']} ok"])
    print(f"\nWorkflow lists over {args.cases:,} open cases")
    common.print_table(rows)
    targets = [
        common.target("overdue list p95", lists["overdue"]["p95_ms"], 50, "ms"),
        common.target("due-within-3 list p95", lists["due_within_3"]["p95_ms"], 50, "ms"),
        common.target("overdue list vs full scan", speedup["overdue"], 20, "x", better="higher"),
        common.target("due-within-3 list vs full scan", speedup["due_within_3"], 20, "x", better="higher"),
        common.target("accept with notice PDF p95", accept["p95_ms"], 150, "ms"),
    ]
    same = all(scans[n]["same_total"] and scans[n]["same_first_page"] for n in scans)
    targets.append({"name": "index and scan give the same lists", "measured": same, "limit": True, "unit": "",
                    "better": "higher", "met": same})
    common.print_targets(targets)
    path = common.write_result("workflow", {
        "description": "Overdue and due-within-3-days lists through the API (catalog indexes next_due, queue, "
                       "allowed) against a full scan of every case in the same run; one accept action with "
                       "its notice PDF.",
        "parameters": {"cases": args.cases, "samples": args.samples, "scan_samples": args.scan_samples,
                       "actions": args.actions, "page": PAGE, "seed": args.seed},
        "build": marker, "measured": measured, "targets": targets})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
