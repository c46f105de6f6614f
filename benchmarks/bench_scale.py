"""Scale: a database of 100,000 cases (no attachments).

Targets: opening the app on it takes under 2 s, the case page answers with p95 under
50 ms, and the serving process stays under 500 MB of memory.

The database is built once through the domain (``casefiles.intake.register`` with varied
petitions from every channel, about half routed to a responsible unit, all in the catalog;
a commit every ``--commit-every`` cases) into ``--var`` and reused while it holds the asked
number of cases. The full-text index is not built. Measuring happens in a fresh Python
process, so that its memory is that of a serving process:

- open: ``views.main()`` on the existing database, the first request (a clerk's
  ``POST /api/login``) and the first case page; the target is on the sum of the three;
- the case page (HTML, ``/cases/<year>/<number>/``) of ``--samples`` random cases, and
  ``GET /api/cases/<number>`` of as many other random cases;
- the first page of the case list (HTML ``/cases/`` and ``GET /api/cases``) as the clerk,
  filtered by district, and as a unit user who sees only the cases routed to their unit;
- the peak resident memory (VmHWM) of that process.

    .venv/bin/python benchmarks/bench_scale.py [--cases 100000] [--var benchmarks/var-scale]
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
SECRET = "bench-scale-secret"
MARKER = "bench-build.json"
UNIT_USER = ("unit", "411503")        # 平桥区人民政府
DEFAULT_VAR = os.path.join(common.HERE, "var-scale")


def settings_for(var):
    return {"casefiles.var": var, "casefiles.secret": SECRET}


# ------------------------------------------------------------------------- building

def read_marker(var):
    try:
        with open(os.path.join(var, MARKER), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ensure_database(args):
    """Reuse the database in ``args.var`` when it holds ``args.cases`` cases; otherwise build it."""
    var = os.path.abspath(args.var)
    marker = read_marker(var)
    complete = marker and marker.get("complete") and os.path.exists(os.path.join(var, "Data.fs"))
    if complete and marker.get("cases") == args.cases and not args.rebuild:
        common.progress(f"reusing the database in {var} ({marker['cases']:,} cases, "
                        f"built {marker.get('built_at')})")
        if args.fulltext == "empty" or marker.get("fulltext") != "full" or fulltext_outdated(var):
            prepare_fulltext(var, args, marker)
        marker["reused"] = True
        return marker
    if os.path.exists(var) and os.listdir(var):
        if marker is None:
            raise SystemExit(f"{var} is not empty and was not made by this benchmark: choose another --var")
        common.progress(f"removing the database in {var} ({marker.get('cases')} cases, asked for {args.cases})")
        shutil.rmtree(var)
    os.makedirs(var, exist_ok=True)
    marker = build(var, args)
    prepare_fulltext(var, args, marker)
    marker["reused"] = False
    return marker


def write_marker(var, marker):
    with open(os.path.join(var, MARKER), "w", encoding="utf-8") as f:
        json.dump({k: v for k, v in marker.items() if k != "reused"}, f, ensure_ascii=False, indent=2)


def fulltext_outdated(var):
    """True when the app would start a new search index (none yet, or an older schema)."""
    from indexing.store import IndexStore
    return IndexStore(os.path.join(var, "index")).created


def prepare_fulltext(var, args, marker):
    """Put the full-text index (``<var>/index``) in a known state before measuring.

    The app fills a NEW index in a background thread when it opens a database that has
    cases; that thread would compete with the measured requests. So the index is either
    created empty here ("empty", the default: case pages and lists do not read it), or
    built completely with the app's own rebuild ("full", ``--fulltext full``: slow).
    """
    from indexing.store import IndexStore
    path = os.path.join(var, "index")
    shutil.rmtree(path, ignore_errors=True)
    IndexStore(path)                              # creates an empty index folder
    marker["fulltext"] = "empty"
    marker.pop("fulltext_seconds", None)
    marker.pop("fulltext_cases_per_s", None)
    write_marker(var, marker)
    if args.fulltext == "full":
        from indexing import reindex
        from views import main
        os.environ.pop("CASEFILES_VAR", None)
        app = main({}, **settings_for(var))       # the index exists: no background fill starts
        common.progress(f"building the full-text index of {marker['cases']:,} cases (slow) …")
        try:
            with common.Timer() as t:
                done = reindex.rebuild(app.registry.search_indexer)
        finally:
            for db in app.registry._zodb_databases.values():
                db.close()
        marker["fulltext"] = "full"
        marker["fulltext_seconds"] = round(t.wall, 1)
        marker["fulltext_cases_per_s"] = round(done["cases"] / t.wall, 1)
        write_marker(var, marker)
        common.progress(f"full-text index: {done} in {t.wall:,.0f} s")


def build(var, args):
    import transaction
    import zodburi
    from ZODB import DB

    from benchmarks import fixtures
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
        site.users.create(UNIT_USER[0], ["unit"], PASSWORD, name="平桥区承办人", unit=UNIT_USER[1],
                          units=site.units)
    unit_codes = {name: str(code) for name, code in fixtures.DISTRICT_CODES.items()}

    rng = random.Random(args.seed)
    pool = []
    end = datetime.datetime.now().replace(microsecond=0, second=0) - datetime.timedelta(days=1)
    start = end - datetime.timedelta(days=int(365 * 3.5))
    span = (end - start).total_seconds()
    routed = 0
    started = time.perf_counter()
    last = started
    common.progress(f"building {args.cases:,} cases into {var} …")
    for i in range(args.cases):
        received = start + datetime.timedelta(seconds=span * i / args.cases + rng.uniform(0, 3600))
        received = min(received.replace(microsecond=0), end)
        body = fixtures.petition(rng, received, pool=pool)
        now = min(received + datetime.timedelta(minutes=rng.randint(5, 3 * 24 * 60)), end)
        case = register(site, body, (), by="clerk", now=now, catalog=False)
        unit = None
        if rng.random() < 0.55:
            if body["district"] in unit_codes and rng.random() < 0.6:
                unit = unit_codes[body["district"]]
            else:
                unit = fixtures.DEPARTMENTS.get(body["category"])
        if unit:
            route_to_unit(site, case, unit)          # indexes the case
            routed += 1
        else:
            site.catalog.index(case)
        if (i + 1) % args.commit_every == 0 or i + 1 == args.cases:
            tm.commit()
            conn.cacheGC()
            tm.begin()
            now_t = time.perf_counter()
            if now_t - last > 10 or i + 1 == args.cases:
                rate = (i + 1) / (now_t - started)
                common.progress(f"  {i + 1:,}/{args.cases:,} cases  {rate:,.0f} cases/s  "
                                f"ETA {(args.cases - i - 1) / rate:,.0f} s  RSS {common.rss_mb():,.0f} MB")
                last = now_t
    seconds = time.perf_counter() - started
    years = {bucket.__name__: bucket.sequence for bucket in site.cases.values()}
    conn.close()
    db.close()                        # writes Data.fs.index, so that opening does not scan the file
    marker = {
        "cases": args.cases, "complete": True, "seed": args.seed, "commit_every": args.commit_every,
        "routed": routed, "years": years, "seconds": round(seconds, 1),
        "cases_per_s": round(args.cases / seconds, 1), "peak_rss_mb": common.peak_rss_mb(),
        "built_at": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    write_marker(var, marker)
    common.progress(f"built {args.cases:,} cases in {seconds:,.0f} s ({marker['cases_per_s']:,} cases/s)")
    return marker


# ------------------------------------------------------------------------- measuring (child)

def measure(args):
    """Runs in a fresh process: open the app, serve pages, report JSON on the last line of stdout."""
    t_start = time.perf_counter()
    load_start = [round(x, 2) for x in os.getloadavg()]
    import webtest

    from views import main
    t_import = time.perf_counter() - t_start
    var = os.path.abspath(args.var)
    marker = read_marker(var)
    os.environ.pop("CASEFILES_VAR", None)
    out = {"rss_mb": {}, "peak_rss_mb": {}, "open": {"imports_s": round(t_import, 3)}}
    checkpoint(out, "after_imports")

    with common.Timer() as t:
        app = main({}, **settings_for(var))
    out["open"]["main_s"] = round(t.wall, 3)
    import threading
    out["threads_after_open"] = sorted(th.name for th in threading.enumerate())
    if any("fill" in name for name in out["threads_after_open"]):
        raise SystemExit("the app started filling its search index in the background: the figures would not be "
                         "those of a serving process; prepare the index (see --fulltext) and measure again")
    testapp = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543"}, lint=False)
    with common.Timer() as t:
        token = testapp.post_json("/api/login", {"username": "clerk", "password": PASSWORD}).json["token"]
    out["open"]["first_request_login_s"] = round(t.wall, 3)
    clerk = {"Authorization": f"Bearer {token}"}

    rng = random.Random(args.seed + 1)
    numbers = sample_numbers(marker["years"], rng, args.samples * 2 + 1)
    first = numbers.pop()
    with common.Timer() as t:
        res = testapp.get(case_url(first), headers=clerk, expect_errors=True)
    html_ok = res.status_int == 200 and res.content_type == "text/html" and first in res.text
    if not html_ok:
        out["html_case_page_problem"] = f"GET {case_url(first)}: {res.status} {res.content_type}"
        with common.Timer() as t:
            res = testapp.get(f"/api/cases/{first}", headers=clerk, status=200)
    out["open"]["first_case_page_s"] = round(t.wall, 3)
    out["open"]["first_case_page_kind"] = "html" if html_ok else "api"
    out["open"]["main_plus_first_request_s"] = round(out["open"]["main_s"] + out["open"]["first_request_login_s"], 3)
    out["open"]["total_s"] = round(out["open"]["main_plus_first_request_s"] + out["open"]["first_case_page_s"], 3)
    checkpoint(out, "after_open")

    # how many cases the clerk sees: the database holds what the marker says
    total = testapp.get("/api/cases", {"size": 1}, headers=clerk).json["total"]
    out["cases_in_catalog"] = total

    errors = {}
    cpu_ms = {}

    def timed(urls, headers, html=False, name=None):
        """Durations of the successful requests; failures are counted in ``errors[name]``."""
        durations = []
        cpu = []
        for url in urls:
            started_cpu = time.process_time()
            started = time.perf_counter()
            res = testapp.get(url, headers=headers, expect_errors=True)
            elapsed = time.perf_counter() - started
            elapsed_cpu = time.process_time() - started_cpu
            ok = res.status_int == 200 and (res.content_type == "text/html") == html
            if ok:
                durations.append(elapsed)
                cpu.append(elapsed_cpu)
            else:
                failed = errors.setdefault(name, {"count": 0, "first": None})
                failed["count"] += 1
                failed["first"] = failed["first"] or f"GET {url}: {res.status} {res.content_type}"
        cpu_ms[name] = common.summary(cpu)
        return durations

    pages = {}
    html_numbers, api_numbers = numbers[:args.samples], numbers[args.samples:]
    if html_ok:
        pages["case_page_html"] = timed([case_url(n) for n in html_numbers], clerk, True, "case_page_html")
    pages["case_api"] = timed([f"/api/cases/{n}" for n in api_numbers], clerk, False, "case_api")
    checkpoint(out, "after_case_pages")

    unit_token = testapp.post_json("/api/login", {"username": UNIT_USER[0], "password": PASSWORD}).json["token"]
    unit = {"Authorization": f"Bearer {unit_token}"}
    n = args.list_samples
    lists = {}
    res = testapp.get("/cases/", headers=clerk, expect_errors=True)
    list_html_ok = res.status_int == 200 and res.content_type == "text/html"
    if list_html_ok:
        lists["list_html_clerk"] = timed(["/cases/"] * n, clerk, True, "list_html_clerk")
        lists["list_html_unit"] = timed(["/cases/"] * n, unit, True, "list_html_unit")
    else:
        out["html_list_problem"] = f"GET /cases/: {res.status} {res.content_type}"
    lists["list_api_clerk"] = timed(["/api/cases"] * n, clerk, False, "list_api_clerk")
    lists["list_api_clerk_district"] = timed(["/api/cases?district=%E5%B9%B3%E6%A1%A5%E5%8C%BA"] * n, clerk,
                                             False, "list_api_clerk_district")
    lists["list_api_clerk_page_100"] = timed(["/api/cases?page=100"] * max(1, n // 5), clerk, False,
                                             "list_api_clerk_page_100")
    lists["list_api_unit"] = timed(["/api/cases"] * n, unit, False, "list_api_unit")
    res = testapp.get("/", headers=clerk, expect_errors=True)
    if res.status_int == 200:
        lists["dashboard_html_clerk"] = timed(["/"] * n, clerk, True, "dashboard_html_clerk")
    out["errors"] = errors
    out["unit_sees"] = testapp.get("/api/cases", {"size": 1}, headers=unit).json["total"]

    out["latency"] = {name: common.summary(d) for name, d in list(pages.items()) + list(lists.items())}
    out["cpu"] = cpu_ms
    out["loadavg"] = {"start": load_start, "end": [round(x, 2) for x in os.getloadavg()]}
    out["case_page_bytes"] = len(testapp.get(case_url(html_numbers[0]) if html_ok else f"/api/cases/{api_numbers[0]}",
                                             headers=clerk, expect_errors=True).body)
    out["connection_cache"] = cache_info(app)
    checkpoint(out, "after_lists")
    out["rss_mb"]["peak_vmhwm"] = common.peak_rss_mb()
    if args.profile:   # after the measurements, which the profiler would slow down
        import cProfile
        parts = []
        case_urls = [case_url(n) for n in html_numbers[:100]] if html_ok else \
            [f"/api/cases/{n}" for n in api_numbers[:100]]
        list_url = "/cases/" if list_html_ok else "/api/cases"
        for title, urls in ((f"{len(case_urls)} case pages", case_urls), (f"20 case lists {list_url}", [list_url] * 20)):
            profiler = cProfile.Profile()
            for url in urls:
                profiler.enable()
                testapp.get(url, headers=clerk, expect_errors=True)
                profiler.disable()
            parts.append(f"--- cProfile of {title} (clerk), by cumulative time ---\n"
                         + common.profile_top(profiler, args.profile_lines, "cumulative")
                         + f"\n--- cProfile of {title} (clerk), by own time ---\n"
                         + common.profile_top(profiler, args.profile_lines, "tottime"))
        out["profile"] = "\n".join(parts)
    for db in app.registry._zodb_databases.values():
        db.close()
    print(json.dumps(out, ensure_ascii=False))


def checkpoint(out, name):
    """RSS now and the peak so far (VmHWM), to see where the memory goes."""
    out["rss_mb"][name] = common.rss_mb()
    out["peak_rss_mb"][name] = common.peak_rss_mb()


def case_url(number):
    return f"/cases/{number.split('-')[1]}/{number}/"


def sample_numbers(years, rng, count):
    """``count`` distinct random case numbers over the year buckets (numbers have no gaps)."""
    pool = [(year, n) for year, n in sorted(years.items()) if n]
    total = sum(n for _y, n in pool)
    picked = set()
    count = min(count, total)
    while len(picked) < count:
        k = rng.randrange(total)
        for year, n in pool:
            if k < n:
                picked.add(f"XY-{year}-{k + 1:06d}")
                break
            k -= n
    out = sorted(picked)
    rng.shuffle(out)
    return out


def cache_info(app):
    db = app.registry._zodb_databases[""]
    return {"cache_size_setting": db.getCacheSize(), "objects_in_cache": db.cacheSize(),
            "detail_top": sorted(db.cacheDetail(), key=lambda kv: -kv[1])[:8]}


# ------------------------------------------------------------------------- reporting (parent)

def pack(var, marker):
    """Pack the database (FileStorage keeps every old revision of every object until then)."""
    import zodburi
    from ZODB import DB

    from views import configure_settings
    data_fs = os.path.join(var, "Data.fs")
    before = os.path.getsize(data_fs)
    settings = configure_settings(settings_for(var))
    factory, dbkw = zodburi.resolve_uri(settings["zodbconn.uri"])
    common.progress(f"packing {before / 1048576:,.0f} MB …")
    db = DB(factory(), **dbkw)
    try:
        with common.Timer() as t:
            db.pack()
    finally:
        db.close()
    if os.path.exists(data_fs + ".old"):
        os.remove(data_fs + ".old")
    marker["packed"] = {"before_mb": round(before / 1048576, 1),
                        "after_mb": round(os.path.getsize(data_fs) / 1048576, 1), "seconds": round(t.wall, 1)}
    write_marker(var, marker)
    common.progress(f"packed: {marker['packed']}")


def run(args):
    marker = ensure_database(args)
    var = os.path.abspath(args.var)
    if args.pack and not marker.get("packed"):
        pack(var, marker)
    data_fs = os.path.getsize(os.path.join(var, "Data.fs")) / 1048576
    index_file = os.path.join(var, "Data.fs.index")
    index_mb = os.path.getsize(index_file) / 1048576 if os.path.exists(index_file) else None
    cmd = [sys.executable, os.path.abspath(__file__), "--measure", "--var", var, "--samples", str(args.samples),
           "--list-samples", str(args.list_samples), "--seed", str(args.seed)]
    if args.profile:
        cmd += ["--profile", "--profile-lines", str(args.profile_lines)]
    common.progress("measuring in a fresh process …")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=common.ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"the measuring process failed ({proc.returncode})")
    result = json.loads(proc.stdout.strip().splitlines()[-1])

    lat = result["latency"]
    errors = result.get("errors", {})
    case_key = "case_page_html" if "case_page_html" in lat and "case_page_html" not in errors else "case_api"
    list_key = "list_html_clerk" if "list_html_clerk" in lat else "list_api_clerk"
    targets = [
        common.target("open: main() + first request + first case page", result["open"]["total_s"], 2.0, "s"),
        common.target(f"case page p95 ({'HTML' if case_key == 'case_page_html' else 'API JSON'})",
                      lat[case_key]["p95_ms"], 50.0, "ms"),
        common.target("peak RSS of the serving process (VmHWM)", result["rss_mb"]["peak_vmhwm"], 500.0, "MB"),
    ]

    print(f"\nScale: {marker['cases']:,} cases (no attachments), Data.fs {data_fs:,.0f} MB"
          + (f" + index {index_mb:,.1f} MB" if index_mb else "")
          + (f" (packed from {marker['packed']['before_mb']:,.0f} MB in {marker['packed']['seconds']} s)"
             if marker.get("packed") else " (not packed)"))
    built = "reused from an earlier build" if marker.get("reused") else "built now"
    print(f"build: {marker['seconds']:,} s, {marker['cases_per_s']:,} cases/s "
          f"(commit every {marker['commit_every']:,}; {built} at {marker['built_at']}); "
          f"routed to a unit: {marker['routed']:,}; per year: {marker['years']}")
    o = result["open"]
    print(f"open: imports {o['imports_s']} s (not counted), main() {o['main_s']} s, first request (login) "
          f"{o['first_request_login_s']} s, first case page ({o['first_case_page_kind']}) "
          f"{o['first_case_page_s']} s -> {o['total_s']} s")
    print(f"the clerk's list counts {result['cases_in_catalog']:,} cases; the unit user sees {result['unit_sees']:,}")
    if "html_case_page_problem" in result:
        print(f"HTML case page not measured: {result['html_case_page_problem']}")
    if "html_list_problem" in result:
        print(f"HTML case list not measured: {result['html_list_problem']}")
    for name, failed in errors.items():
        print(f"{name}: {failed['count']} requests failed, e.g. {failed['first']} (left out of the figures)")
    print(f"full-text index: {marker.get('fulltext')}"
          + (f" (built in {marker['fulltext_seconds']:,} s, {marker['fulltext_cases_per_s']} cases/s)"
             if marker.get("fulltext") == "full" else " (created empty: case pages and lists do not read it)")
          + f"; threads after open: {', '.join(result.get('threads_after_open', []))}")
    rows = [["request", "n", "mean ms", "p50 ms", "p95 ms", "p99 ms", "max ms", "CPU p50", "CPU p95", "failed"]]
    for name, s in lat.items():
        c = result.get("cpu", {}).get(name, {})
        rows.append([name, s["n"], s.get("mean_ms"), s.get("p50_ms"), s.get("p95_ms"), s.get("p99_ms"),
                     s.get("max_ms"), c.get("p50_ms"), c.get("p95_ms"), errors.get(name, {}).get("count", 0)])
    print(f"\nload average (1 min) when measuring: {result['loadavg']['start'][0]} at the start, "
          f"{result['loadavg']['end'][0]} at the end, on {os.cpu_count()} CPUs; "
          "'CPU' columns: this process's CPU time per request (ms), less sensitive to other load")
    common.print_table(rows)
    r = result["rss_mb"]
    p = result["peak_rss_mb"]
    print("\nRSS MB (peak so far): " + ", ".join(f"{k.replace('_', ' ')} {r[k]} ({p[k]})" for k in p)
          + f"; peak (VmHWM) {r['peak_vmhwm']}; "
          f"objects in the connection cache: {result['connection_cache']['objects_in_cache']:,}")
    common.print_targets(targets)
    if result.get("profile"):
        print("\n" + result["profile"])

    blobs_mb, blob_files = common.dir_size_mb(os.path.join(var, "blobs"))
    path = common.write_result("scale", {
        "description": "A database of N cases without attachments built through the domain; the app opened on it "
                       "in a fresh process; case pages of random cases, case lists and peak memory measured.",
        "parameters": {"cases": args.cases, "samples": args.samples, "list_samples": args.list_samples,
                       "seed": args.seed},
        "build": {k: marker.get(k) for k in ("cases", "seconds", "cases_per_s", "commit_every", "routed", "years",
                                             "built_at", "reused", "peak_rss_mb", "fulltext", "fulltext_seconds",
                                             "fulltext_cases_per_s", "packed")},
        "storage": {"data_fs_mb": round(data_fs, 1), "data_fs_index_mb": round(index_mb, 1) if index_mb else None,
                    "blobs_mb": blobs_mb, "blob_files": blob_files},
        "measured": result,
        "case_page_measured": case_key,
        "list_measured": list_key,
        "targets": targets,
    })
    print(f"\nwritten {os.path.relpath(path)}")
    return 0 if all(t["met"] for t in targets) else 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100000, help="cases in the database (default 100000)")
    parser.add_argument("--var", default=DEFAULT_VAR, help="the data folder (default benchmarks/var-scale)")
    parser.add_argument("--rebuild", action="store_true", help="build the database again even if it fits")
    parser.add_argument("--commit-every", type=int, default=1000)
    parser.add_argument("--fulltext", choices=("empty", "full"), default="empty",
                        help="the search index: created empty (default) or built with the app's rebuild (slow)")
    parser.add_argument("--pack", action="store_true",
                        help="pack the database (drop old object revisions) before measuring; records the sizes")
    parser.add_argument("--samples", type=int, default=500, help="random cases whose page is timed (default 500)")
    parser.add_argument("--list-samples", type=int, default=100, help="timed requests per list (default 100)")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--profile", action="store_true",
                        help="afterwards, profile 100 case pages and 20 lists with cProfile (not in the figures)")
    parser.add_argument("--profile-lines", type=int, default=30)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cases < 1 or args.samples < 1 or args.list_samples < 1 or args.commit_every < 1:
        parser.error("counts must be positive")
    if args.measure:
        measure(args)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
