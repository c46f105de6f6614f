"""Intake: register cases each with a PDF letter scan through the real WSGI app, in-process.

Target: at least half the throughput of a minimal baseline app (one Pyramid view storing
one blob in ZODB), measured in the same run, with the same PDF and the same number of
requests.

Each registration of the real app is ONE request: ``POST /api/cases`` as multipart with a
``data`` part (the JSON registration body) and a ``file`` part (the PDF), authenticated with
a bearer token of a clerk. The baseline receives the very same multipart body and stores
the file in a ``ZODB.blob.Blob`` in an ``OOBTree``. Both apps are driven with
``webtest.TestApp`` (lint off) on their own fresh FileStorage with blobs, in chunks that
alternate between the two, so that whatever else runs on the machine weighs on both alike.

    .venv/bin/python benchmarks/bench_intake.py [--count 2000] [--size-kb 200]
"""
import argparse
import datetime
import json
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import common, fixtures  # noqa: E402

PASSWORD = "bench-pass-123"
BOUNDARY = "----casefiles-bench-boundary-7d1f3a"


# --- the baseline: one Pyramid view that stores one blob in ZODB -------------------------

def baseline_upload(request):
    from BTrees.OOBTree import OOBTree
    from pyramid_zodbconn import get_connection
    from ZODB.blob import Blob
    root = get_connection(request).root()
    tree = root.get("files")
    if tree is None:
        tree = root["files"] = OOBTree()
    field = request.POST["file"]
    blob = Blob()
    size = 0
    with blob.open("w") as out:
        while True:
            chunk = field.file.read(1 << 16)
            if not chunk:
                break
            size += len(chunk)
            out.write(chunk)
    key = tree.maxKey() + 1 if tree else 1
    tree[key] = blob
    request.response.status_int = 201
    return {"id": key, "size": size}


def baseline_app(var):
    from pyramid.config import Configurator
    settings = {
        "zodbconn.uri": (f"file://{var}/Data.fs?blobstorage_dir={var}/blobs&blobstorage_layout=bushy"
                         f"&connection_cache_size=50000"),
        "tm.manager_hook": "pyramid_tm.explicit_manager",
    }
    with Configurator(settings=settings) as config:
        config.include("pyramid_tm")
        config.include("pyramid_zodbconn")
        config.add_route("upload", "/upload")
        config.add_view(baseline_upload, route_name="upload", request_method="POST", renderer="json")
        return config.make_wsgi_app()


# --- the real app ------------------------------------------------------------------------

def real_app(var, ocr=True, **settings):
    import transaction

    from casefiles.site import ROOT_KEY
    from views import main
    os.environ.pop("CASEFILES_VAR", None)
    app = main({}, **{"casefiles.var": var, "casefiles.secret": "bench-secret",
                      "casefiles.ocr": "true" if ocr else "false", **settings})
    db = app.registry._zodb_databases[""]
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    with tm:
        site = conn.root()[ROOT_KEY]
        site.users.create("clerk", ["clerk"], PASSWORD, name="登记员")
    conn.close()
    return app


def close(app):
    """Stop the app's background workers (index, extraction, audit writer) before its
    database closes, as the app does at shutdown; the baseline has none."""
    if getattr(app.registry, "search_indexer", None) is not None:
        from cli import close_app
        close_app(app.registry)
        return
    for db in app.registry._zodb_databases.values():
        db.close()


def multipart(data, filename, content):
    """One multipart/form-data body with a ``data`` part and a ``file`` part."""
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"data\"\r\n"
            f"Content-Type: application/json; charset=UTF-8\r\n\r\n").encode()
    filehead = (f"\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
                f"Content-Type: application/pdf\r\n\r\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    return b"".join((head, json.dumps(data, ensure_ascii=False).encode("utf-8"), filehead, content, tail))


CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def bodies(count, pdf, seed, start=0):
    """``count`` request bodies: varied letters (channel 来信) each with its own copy of the PDF."""
    rng = random.Random(seed)
    received = datetime.datetime.now().replace(microsecond=0) - datetime.timedelta(days=1)
    for i in range(start, start + count):
        data = fixtures.petition(rng, received - datetime.timedelta(minutes=i), channel="letter")
        yield multipart(data, f"来信扫描件-{i + 1}.pdf", fixtures.vary_pdf(pdf, i + 1))


def take(iterator, n):
    return [body for _i, body in zip(range(n), iterator)]


class Client:
    def __init__(self, name, app, url, headers=None):
        import webtest
        self.name = name
        self.app = app
        self.url = url
        self.headers = headers or {}
        self.testapp = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543"}, lint=False)
        self.wall = []
        self.cpu = []
        self.drained = []     # seconds spent waiting for the app's background work after each chunk

    def post(self, body, record=True):
        started_cpu = time.process_time()
        started = time.perf_counter()
        res = self.testapp.request(self.url, method="POST", body=body, headers=self.headers,
                                   content_type=CONTENT_TYPE, status=201)
        wall = time.perf_counter() - started
        if record:
            self.wall.append(wall)
            self.cpu.append(time.process_time() - started_cpu)
        return res


def drain(client):
    """Wait for the app's background work after its requests (search indexer, text extraction)
    and time it, so that it neither weighs on the baseline's requests nor goes unseen."""
    indexer = getattr(client.app.registry, "search_indexer", None)
    if indexer is None:
        return
    started = time.perf_counter()
    idle = indexer.wait_idle(600)
    ocr = getattr(indexer, "ocr", None)
    if ocr is not None and getattr(ocr, "enabled", True):
        idle = ocr.wait_idle(600) and indexer.wait_idle(600) and idle
    client.drained.append(time.perf_counter() - started)
    if not idle:
        common.progress("  the app's background work did not finish within 600 s")


def login(testapp):
    res = testapp.post_json("/api/login", {"username": "clerk", "password": PASSWORD})
    return {"Authorization": f"Bearer {res.json['token']}"}


def check_first(res, size):
    """The real app really filed the PDF as the case's letter."""
    docs = [d for f in res.json["folders"] for d in f["documents"]]
    pdfs = [d for d in docs if d["media_type"] == "application/pdf"]
    if len(pdfs) != 1 or abs(pdfs[0]["size"] - size) > 16:
        raise SystemExit(f"the registration did not file the PDF: {docs}")


def run(args):
    tmp = tempfile.mkdtemp(prefix="bench-intake-", dir=args.tmp)
    real_var, base_var = os.path.join(tmp, "real"), os.path.join(tmp, "baseline")
    os.makedirs(real_var)
    os.makedirs(base_var)
    common.progress(f"generating a {args.size_kb} KB PDF and {args.count + args.warmup} request bodies …")
    pdf = fixtures.make_pdf(args.size_kb)
    source = bodies(args.count + args.warmup, pdf, seed=7)
    body_bytes = []
    real = Client("app", real_app(real_var, ocr=args.ocr == "on"), "/api/cases")
    real.headers = login(real.testapp)
    base = Client("baseline", baseline_app(base_var), "/upload")
    rss_start = common.rss_mb()
    try:
        for i, body in enumerate(take(source, args.warmup)):
            res = real.post(body, record=False)
            if i == 0:
                check_first(res, len(fixtures.vary_pdf(pdf, 1)))
            base.post(body, record=False)
        drain(real)
        real.drained = []
        started = time.perf_counter()
        done = 0
        while done < args.count:
            chunk = take(source, min(args.chunk, args.count - done))   # made outside the timed requests
            body_bytes += [len(b) for b in chunk]
            first, second = (real, base) if (done // args.chunk) % 2 == 0 else (base, real)
            for client in (first, second):
                for body in chunk:
                    client.post(body)
                if client is real:
                    drain(real)
            done += len(chunk)
            if done % (args.chunk * 4) == 0 or done == args.count:
                common.progress(f"  {done}/{args.count}  app {sum(real.wall):.1f} s  baseline {sum(base.wall):.1f} s")
        elapsed = time.perf_counter() - started
        profile = profile_pass(args, real, base, pdf) if args.profile else None
    finally:
        close(real.app)
        close(base.app)
    sizes = {"app": common.dir_size_mb(real_var), "baseline": common.dir_size_mb(base_var)}
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        common.progress(f"kept the data folders in {tmp}")

    results = {}
    for client in (real, base):
        wall = sum(client.wall)
        stats = common.summary(client.wall)
        results[client.name] = {
            "requests": len(client.wall),
            "seconds": round(wall, 3),
            "cases_per_s": round(len(client.wall) / wall, 2),
            "background_drain_seconds": round(sum(client.drained), 3),
            "sustained_cases_per_s": round(len(client.wall) / (wall + sum(client.drained)), 2),
            "cpu_seconds": round(sum(client.cpu), 3),
            "cpu_ms_per_request": round(sum(client.cpu) / len(client.cpu) * 1000, 2),
            "latency": stats,
            "data_fs_and_blobs_mb": sizes[client.name][0],
            "files": sizes[client.name][1],
        }
    body_mb = sum(body_bytes) / len(body_bytes) / 1048576
    ratio = results["app"]["cases_per_s"] / results["baseline"]["cases_per_s"]
    sustained = results["app"]["sustained_cases_per_s"] / results["baseline"]["cases_per_s"]
    targets = [common.target("app throughput / baseline throughput", round(ratio, 3), 0.5, "x", better="higher")]

    print(f"\nIntake: {args.count} registrations with a {len(pdf) / 1024:.0f} KB PDF "
          f"(multipart body {body_mb * 1024:.0f} KB), in-process through WebTest, "
          f"{args.warmup} warm-up requests each not counted; text extraction {args.ocr}")
    rows = [["app", "cases/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "CPU ms/req", "drain s", "sustained/s",
             "disk MB"]]
    for name in ("app", "baseline"):
        r = results[name]
        rows.append([name, r["cases_per_s"], r["latency"]["p50_ms"], r["latency"]["p95_ms"], r["latency"]["p99_ms"],
                     r["latency"]["max_ms"], r["cpu_ms_per_request"], r["background_drain_seconds"],
                     r["sustained_cases_per_s"], r["data_fs_and_blobs_mb"]])
    common.print_table(rows)
    print("cases/s and the percentiles are the requests' own; 'drain s' is the time the app's background work "
          "(search indexer, text extraction) still took after its chunks; 'sustained/s' counts it in.")
    print(f"\nratio app/baseline throughput: {ratio:.3f}; counting the background work: {sustained:.3f}   "
          f"(CPU-time ratio baseline/app, whole process: "
          f"{results['baseline']['cpu_seconds'] / results['app']['cpu_seconds']:.3f})")
    common.print_targets(targets)
    if profile:
        print("\n" + profile)

    path = common.write_result("intake", {
        "description": "Register cases each with a PDF through the real WSGI app (multipart POST /api/cases, "
                       "data + file, bearer token) and the same bodies through a minimal Pyramid+ZODB blob "
                       "baseline, in-process with WebTest, alternating chunks.",
        "parameters": {"count": args.count, "size_kb": args.size_kb, "pdf_bytes": len(pdf),
                       "body_bytes_mean": round(body_mb * 1048576), "warmup": args.warmup, "chunk": args.chunk,
                       "ocr": args.ocr},
        "elapsed_s": round(elapsed, 2),
        "rss_mb": {"before": rss_start, "after": common.rss_mb(), "peak": common.peak_rss_mb()},
        "results": results,
        "ratio": round(ratio, 3),
        "ratio_sustained": round(sustained, 3),
        "targets": targets,
        "profile": profile,
    })
    print(f"\nwritten {os.path.relpath(path)}")
    return 0 if all(t["met"] for t in targets) else 1


def profile_pass(args, real, base, pdf):
    """Extra registrations under cProfile (not part of the figures above): where the time goes."""
    import cProfile
    extra = list(bodies(args.profile, pdf, seed=11, start=args.count + args.warmup))
    out = []
    for client in (real, base):
        profiler = cProfile.Profile()
        for body in extra:
            profiler.enable()
            client.post(body, record=False)
            profiler.disable()
        out.append(f"--- cProfile of {args.profile} {client.name} requests, by cumulative time ---\n"
                   + common.profile_top(profiler, args.profile_lines, "cumulative"))
        out.append(f"--- cProfile of {args.profile} {client.name} requests, by own time ---\n"
                   + common.profile_top(profiler, args.profile_lines, "tottime"))
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000, help="registrations measured per app (default 2000)")
    parser.add_argument("--size-kb", type=int, default=200, help="size of the PDF in KB (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="requests per app before measuring (default 10)")
    parser.add_argument("--chunk", type=int, default=50, help="requests per app before switching (default 50)")
    parser.add_argument("--ocr", choices=("on", "off"), default="on",
                        help="the app's text extraction worker (casefiles.ocr; default on, as deployed)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="afterwards, profile N more requests per app with cProfile and print the top entries")
    parser.add_argument("--profile-lines", type=int, default=25)
    parser.add_argument("--tmp", default=None, help="where the temporary data folders go (default: TMPDIR)")
    parser.add_argument("--keep", action="store_true", help="keep the data folders")
    args = parser.parse_args(argv)
    if args.count < 1 or args.size_kb < 1 or args.chunk < 1:
        parser.error("--count, --size-kb and --chunk must be positive")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
