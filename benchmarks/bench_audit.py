"""The audit trail's cost, and how long proving it intact takes.

1. Auditing on against auditing off, in the same run: two instances of the real app, one with
   ``casefiles.audit = true`` (as deployed) and one with ``false``, each on its own fresh data
   folder holding the same cases. Both are driven in-process with WebTest, in chunks that
   alternate between the two so that whatever else runs on the machine weighs on both alike:
   - the case page (HTML, ``/cases/<year>/<number>/``) of random cases: p95 latency;
   - intake: ``POST /api/cases`` with a PDF letter scan (as ``bench_intake``): throughput.
   After each chunk of the audited app its audit writer is flushed (every entry on disk,
   fsync'd and indexed) and that time is reported ("drain") and counted in the sustained
   throughput. Target: auditing costs under 10 % (p95 and throughput).
2. ``verify`` of a trail of ``--verify-entries`` entries (default one million), written with
   the real appender (``casefiles.audit.AuditLog.append``, batches of 10,000, without fsync:
   the fast path for generating), then checked the way ``casefiles-audit CONFIG verify``
   checks it (a count for the progress bar, then every hash, link and seq, and the anchor).
   Target: under 60 s.

    .venv/bin/python benchmarks/bench_audit.py                     # the full run
    .venv/bin/python benchmarks/bench_audit.py --cases 60 --pages 300 --intake 60 --verify-entries 100000
"""
import argparse
import datetime
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import common, fixtures  # noqa: E402
from benchmarks.bench_intake import CONTENT_TYPE, PASSWORD, bodies, multipart, real_app  # noqa: E402

class Instance:
    def __init__(self, name, var, audit, ocr):
        import webtest
        self.name = name
        self.var = var
        self.app = real_app(var, ocr=(ocr == "true"), **{"casefiles.audit": "true" if audit else "false"})
        self.testapp = webtest.TestApp(self.app, extra_environ={"HTTP_HOST": "localhost:6543"}, lint=False)
        token = self.testapp.post_json("/api/login", {"username": "clerk", "password": PASSWORD}).json["token"]
        self.headers = {"Authorization": f"Bearer {token}"}
        self.page_wall = []
        self.intake_wall = []
        self.drained = {"pages": [], "intake": []}
        self.numbers = []

    def register(self, body, record=True):
        started = time.perf_counter()
        res = self.testapp.request("/api/cases", method="POST", body=body, headers=self.headers,
                                   content_type=CONTENT_TYPE, status=201)
        if record:
            self.intake_wall.append(time.perf_counter() - started)
        return res.json["number"]

    def case_page(self, number):
        url = f"/cases/{number[3:7]}/{number}/"
        started = time.perf_counter()
        res = self.testapp.get(url, headers=self.headers)
        self.page_wall.append(time.perf_counter() - started)
        if number not in res.text:
            raise SystemExit(f"{self.name}: {url} did not show the case")

    def drain(self, kind=None):
        """Wait for the background work: the search indexer, text extraction, the audit writer."""
        started = time.perf_counter()
        indexer = getattr(self.app.registry, "search_indexer", None)
        if indexer is not None:
            indexer.wait_idle(600)
            ocr = getattr(indexer, "ocr", None)
            if ocr is not None and getattr(ocr, "enabled", True):
                ocr.wait_idle(600)
                indexer.wait_idle(600)
        audit_started = time.perf_counter()
        writer = getattr(self.app.registry, "audit_writer", None)
        if writer is not None:
            writer.flush(600)
        if kind:
            self.drained[kind].append(time.perf_counter() - audit_started)
        return time.perf_counter() - started

    def close(self):
        from cli import close_app
        close_app(self.app.registry)


def alternate(instances, items, chunk, work, kind):
    """Run ``work(instance, item)`` over ``items`` for each instance, alternating chunks and
    the order inside each pair of chunks."""
    for start in range(0, len(items), chunk):
        part = items[start:start + chunk]
        order = instances if (start // chunk) % 2 == 0 else instances[::-1]
        for inst in order:
            for item in part:
                work(inst, item)
            inst.drain(kind)


def audit_cost(args, tmp):
    common.progress(f"two apps (auditing on / off), {args.cases} cases each …")
    on = Instance("audit on", os.path.join(tmp, "on"), True, args.ocr)
    off = Instance("audit off", os.path.join(tmp, "off"), False, args.ocr)
    instances = [on, off]
    try:
        pdf = fixtures.make_pdf(args.size_kb)
        rng = random.Random(3)
        received = datetime.datetime.now().replace(microsecond=0) - datetime.timedelta(days=2)
        seed_bodies = [multipart(fixtures.petition(rng, received - datetime.timedelta(minutes=i), channel="letter"),
                                 f"来信-{i}.pdf", fixtures.vary_pdf(pdf, i + 1)) for i in range(args.cases)]
        for inst in instances:
            inst.numbers = [inst.register(body, record=False) for body in seed_bodies]
            inst.drain()
        if on.numbers != off.numbers:
            raise SystemExit("the two apps numbered the same cases differently")
        # warm up: every case page once (the object caches as in a serving process)
        for inst in instances:
            for number in inst.numbers:
                inst.case_page(number)
            inst.page_wall = []
            inst.drain()
        common.progress(f"case pages: {args.pages} each, alternating chunks of {args.chunk} …")
        prng = random.Random(5)
        sample = [prng.choice(on.numbers) for _ in range(args.pages)]
        alternate(instances, sample, args.chunk, lambda inst, n: inst.case_page(n), "pages")
        common.progress(f"intake: {args.intake} registrations with a {args.size_kb} KB PDF each, "
                        f"alternating chunks of {args.intake_chunk} …")
        intake_bodies = list(bodies(args.intake, pdf, seed=17, start=args.cases))
        alternate(instances, intake_bodies, args.intake_chunk, lambda inst, body: inst.register(body), "intake")
        entries = on.app.registry.audit_log.head().seq
        from casefiles import audit as A
        intact = A.verify(on.app.registry.audit_log).ok
    finally:
        for inst in instances:
            inst.close()
    out = {}
    for inst in instances:
        intake_s = sum(inst.intake_wall)
        drain_intake = sum(inst.drained["intake"])
        out[inst.name] = {
            "case_page": common.summary(inst.page_wall),
            "case_page_audit_drain_s": round(sum(inst.drained["pages"]), 3),
            "intake": common.summary(inst.intake_wall),
            "intake_cases_per_s": round(len(inst.intake_wall) / intake_s, 2),
            "intake_audit_drain_s": round(drain_intake, 3),
            "intake_sustained_cases_per_s": round(len(inst.intake_wall) / (intake_s + drain_intake), 2),
        }
    page_on, page_off = out["audit on"]["case_page"]["p95_ms"], out["audit off"]["case_page"]["p95_ms"]
    p50_on, p50_off = out["audit on"]["case_page"]["p50_ms"], out["audit off"]["case_page"]["p50_ms"]
    rate_on = out["audit on"]["intake_sustained_cases_per_s"]
    rate_off = out["audit off"]["intake_sustained_cases_per_s"]
    out["cost_percent"] = {
        "case_page_p95": round((page_on - page_off) / page_off * 100, 2),
        "case_page_p50": round((p50_on - p50_off) / p50_off * 100, 2),
        "intake_throughput": round((1 - rate_on / rate_off) * 100, 2),
    }
    out["audit_entries_written"] = entries
    out["audit_trail_intact"] = intact
    return out


def verify_speed(args, tmp):
    from casefiles import audit as A
    path = os.path.join(tmp, "verify-audit")
    log = A.AuditLog(path, fsync=False)
    rng = random.Random(9)
    actions = ["case.view", "document.view", "document.download", "search", "case.list", "workflow.assign",
               "login", "case.register"]
    users = [f"user{i:03d}" for i in range(120)]
    total = args.verify_entries
    batch = 10_000
    common.progress(f"writing {total:,} entries with the real appender …")
    with common.Timer() as written:
        done = 0
        base = datetime.datetime(2026, 1, 1, 8, 0, tzinfo=A.SHANGHAI)
        while done < total:
            n = min(batch, total - done)
            entries = []
            for i in range(done, done + n):
                action = rng.choice(actions)
                case = f"XY-2025-{rng.randrange(1, 100_000):06d}"
                detail = {"q": "拆迁补偿 平桥区"} if action == "search" else None
                entries.append(A.make_entry(action, user=rng.choice(users), address=f"10.20.{i % 250}.{i % 199}",
                                            case=None if action in ("search", "login", "case.list") else case,
                                            document=None, outcome="ok", detail=detail,
                                            at=(base + datetime.timedelta(seconds=i * 3)).isoformat(
                                                timespec="microseconds")))
            log.append(entries)
            done += n
            if done % 200_000 == 0:
                common.progress(f"  {done:,}")
    size_mb, files = common.dir_size_mb(path)
    common.progress(f"verifying {total:,} entries …")
    with common.Timer() as counted:
        lines = log.count_lines()
    with common.Timer() as checked:
        report = A.verify(log)
    if not report.ok or report.checked != total or lines != total:
        raise SystemExit(f"verify did not pass over the generated trail: {report.as_json()}")
    # and a broken one: one byte changed in the middle is found, where it is
    middle = log.segment_path(log.segment_of(total // 2 + 1))
    line_in_segment = total // 2 + 1 - (log.segment_of(total // 2 + 1) - 1) * log.segment_entries
    with open(middle, "r+b") as f:
        for _ in range(line_in_segment - 1):
            f.readline()
        pos = f.tell()
        raw = f.readline()
        at = raw.index(b'"user":"') + len(b'"user":"')
        f.seek(pos + at)
        f.write(b"X")
    with common.Timer() as broken_run:
        broken = A.verify(log)
    shutil.rmtree(path, ignore_errors=True)
    return {
        "entries": total,
        "segments": files - 2,
        "disk_mb": size_mb,
        "bytes_per_entry": round(size_mb * 1048576 / total),
        "write_s": round(written.wall, 2),
        "write_entries_per_s": round(total / written.wall),
        "count_s": round(counted.wall, 2),
        "verify_s": round(checked.wall, 2),
        "verify_cpu_s": round(checked.cpu, 2),
        "verify_total_s": round(counted.wall + checked.wall, 2),
        "verify_entries_per_s": round(total / checked.wall),
        "tampered_entry_found": broken.problem.as_json() if broken.problem else None,
        "tampered_verify_s": round(broken_run.wall, 2),
    }


def run(args):
    tmp = tempfile.mkdtemp(prefix="bench-audit-", dir=args.tmp)
    result = {"parameters": vars(args).copy()}
    targets = []
    try:
        if args.pages or args.intake:
            cost = audit_cost(args, tmp)
            result["audit_cost"] = cost
            targets.append(common.target("case page p95: cost of auditing", cost["cost_percent"]["case_page_p95"],
                                         10.0, "%"))
            targets.append(common.target("intake throughput: cost of auditing",
                                         cost["cost_percent"]["intake_throughput"], 10.0, "%"))
        if args.verify_entries:
            speed = verify_speed(args, tmp)
            result["verify"] = speed
            targets.append(common.target(f"verify of {speed['entries']:,} entries", speed["verify_total_s"],
                                         60.0, "s"))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            common.progress(f"kept {tmp}")

    if "audit_cost" in result:
        cost = result["audit_cost"]
        print(f"\nAuditing on vs off, same run: {args.cases} cases per app, {args.pages} case pages "
              f"(chunks of {args.chunk}), {args.intake} registrations with a {args.size_kb} KB PDF "
              f"(chunks of {args.intake_chunk}); text extraction {args.ocr}")
        rows = [["app", "page p50 ms", "page p95 ms", "page p99 ms", "intake/s", "intake p95 ms", "audit drain s",
                 "sustained/s"]]
        for name in ("audit on", "audit off"):
            r = cost[name]
            rows.append([name, r["case_page"]["p50_ms"], r["case_page"]["p95_ms"], r["case_page"]["p99_ms"],
                         r["intake_cases_per_s"], r["intake"]["p95_ms"],
                         round(r["case_page_audit_drain_s"] + r["intake_audit_drain_s"], 3),
                         r["intake_sustained_cases_per_s"]])
        common.print_table(rows)
        c = cost["cost_percent"]
        print(f"cost of auditing: case page p95 {c['case_page_p95']:+.2f} %, p50 {c['case_page_p50']:+.2f} %, "
              f"intake throughput (with the writer's drain counted) {c['intake_throughput']:+.2f} %; "
              f"{cost['audit_entries_written']} entries written, chain intact: {cost['audit_trail_intact']}")
    if "verify" in result:
        v = result["verify"]
        print(f"\nverify: {v['entries']:,} entries in {v['segments']} segments ({v['disk_mb']} MB, "
              f"{v['bytes_per_entry']} bytes/entry), written in {v['write_s']} s; counted in {v['count_s']} s and "
              f"checked in {v['verify_s']} s ({v['verify_entries_per_s']:,} entries/s); one changed byte found at "
              f"{v['tampered_entry_found']}")
    common.print_targets(targets)
    result["targets"] = targets
    result["description"] = ("The audit trail's cost: case page p95 and intake throughput with auditing on vs off "
                             "(two real apps, alternating chunks, same run); verify of a generated trail.")
    path = common.write_result(args.name, result)
    print(f"\nwritten {os.path.relpath(path)}")
    return 0 if all(t["met"] for t in targets) else 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=300, help="cases registered in each app first (default 300)")
    parser.add_argument("--pages", type=int, default=3000, help="case pages measured per app (default 3000)")
    parser.add_argument("--chunk", type=int, default=10, help="case pages per app before switching (default 10)")
    parser.add_argument("--intake", type=int, default=600, help="registrations measured per app (default 600)")
    parser.add_argument("--intake-chunk", type=int, default=5)
    parser.add_argument("--size-kb", type=int, default=200, help="size of the letter PDF (default 200 KB)")
    parser.add_argument("--ocr", choices=("true", "false"), default="false",
                        help="text extraction in both apps (default off: it is the same work in both)")
    parser.add_argument("--verify-entries", type=int, default=1_000_000)
    parser.add_argument("--name", default="audit", help="results/<name>.json (default audit)")
    parser.add_argument("--tmp", default=None)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
