"""Dossiers and archive verification.

1. Build the closing dossier of one case with 40 documents, 20 of them scanned PDFs
   totalling 200 pages (the other 20: typeset notices and reports, and photographs), and
   compare it with the floor: pypdf merely merging the same 20 PDFs, in the same run.
   Each is measured in its own child process (so peak memory is its own): wall time
   (cold: the first build in a process, font loading included; warm: the median of the
   next ones) and peak RSS. Targets: within 3 times the floor, under 5 s, under 300 MB.
2. Verify 1,000 archived cases (``casefiles-archive verify`` logic: bag, XML checksums,
   the dossier's embedded manifest, the database's checksums) and compare its throughput
   with ``sha256sum`` over the same files.

    .venv/bin/python benchmarks/bench_dossier.py                     # the full run
    .venv/bin/python benchmarks/bench_dossier.py --cases 20 --quick  # a quick check

Writes ``benchmarks/results/dossier.json``.
"""
import argparse
import datetime
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import common, fixtures  # noqa: E402

PASSWORD = "bench-pass-123"


# --- inputs ------------------------------------------------------------------------------

def scan_page_jpeg(rng, width=1240, height=1754):
    """A page scanned at 150 dpi, grey: paper noise, lines of "text", a stamp-like blot."""
    from PIL import Image, ImageDraw, ImageFilter
    page = Image.new("L", (width, height), 238)
    draw = ImageDraw.Draw(page)
    y = 160
    while y < height - 200:
        x = 120
        while x < width - 140:
            w = rng.randint(18, 34)
            draw.rectangle([x, y, x + w, y + 26], fill=rng.randint(20, 80))
            x += w + rng.randint(6, 14)
        y += rng.randint(44, 58)
    draw.ellipse([width - 420, height - 420, width - 180, height - 180], outline=90, width=9)
    noise = Image.frombytes("L", (width // 4, height // 4), rng.randbytes((width // 4) * (height // 4)))
    page = Image.blend(page, noise.resize((width, height)).filter(ImageFilter.GaussianBlur(1)), 0.12)
    buf = io.BytesIO()
    page.save(buf, "JPEG", quality=70, dpi=(150, 150))
    return buf.getvalue()


def scan_pdf(pages_jpeg):
    """A scanner's PDF: one full-page JPEG per page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1, pageCompression=1)
    for data in pages_jpeg:
        c.drawImage(ImageReader(io.BytesIO(data)), 0, 0, A4[0], A4[1])
        c.showPage()
    c.save()
    return buf.getvalue()


def photo_jpeg(rng, size=(1600, 1200)):
    from PIL import Image, ImageFilter
    im = Image.frombytes("RGB", (size[0] // 8, size[1] // 8), rng.randbytes(size[0] // 8 * size[1] // 8 * 3))
    im = im.resize(size).filter(ImageFilter.GaussianBlur(3))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=80, dpi=(72, 72))
    return buf.getvalue()


def make_inputs(folder, documents, scans, scan_pages, seed=7):
    """Write the scanned PDFs and the other documents' contents into ``folder``; a manifest."""
    rng = random.Random(seed)
    os.makedirs(folder, exist_ok=True)
    distinct = [scan_page_jpeg(rng) for _ in range(12)]
    per = [scan_pages // scans + (1 if i < scan_pages % scans else 0) for i in range(scans)]
    items = []
    for i, pages in enumerate(per):
        order = [distinct[(i * 5 + p) % len(distinct)] for p in range(pages)]
        name = f"scan-{i + 1:02d}.pdf"
        with open(os.path.join(folder, name), "wb") as f:
            f.write(scan_pdf(order))
        items.append({"file": name, "kind": "evidence", "stage": "origin", "title": f"扫描材料{i + 1}（{pages}页）"})
    others = documents - scans
    stages = [("closing", "closing_summary"), ("handling", "investigation"), ("handling", "reply"),
              ("notices", "notice"), ("supervision", "supervision")]
    for i in range(others):
        if i % 4 == 3:
            name = f"photo-{i + 1:02d}.jpg"
            with open(os.path.join(folder, name), "wb") as f:
                f.write(photo_jpeg(rng))
            items.append({"file": name, "kind": "evidence", "stage": "origin", "title": f"现场照片{i + 1}"})
        else:
            stage, kind = stages[i % len(stages)]
            text = "\n".join(fixtures.LETTER for _ in range(1 + i % 5))
            items.append({"text": text, "kind": kind, "stage": stage, "title": f"{kind}材料{i + 1}"})
    with open(os.path.join(folder, "inputs.json"), "w", encoding="utf-8") as f:
        json.dump(items, f, ensure_ascii=False)
    return items


def make_app(var):
    from tests.support import make_app as _make_app
    return _make_app(var)


def build_case(var, inputs_dir):
    """A closed case holding every input, in a fresh database under ``var``; its number."""
    from casefiles import intake
    from casefiles.documents import Upload
    from tests.support import close_app, open_site
    with open(os.path.join(inputs_dir, "inputs.json"), encoding="utf-8") as f:
        items = json.load(f)
    app = make_app(var)
    conn, site = open_site(app)
    rng = random.Random(3)
    now = datetime.datetime(2025, 6, 30, 10, 0)
    try:
        for attempt in conn.transaction_manager.attempts(5):
            with attempt:
                if "bench-admin" not in site.users:
                    site.users.create("bench-admin", ["admin"], PASSWORD, name="档案管理员")
                body = fixtures.petition(rng, datetime.datetime(2025, 3, 3, 9, 0), channel="letter")
                case = intake.register(site, body, [], by="bench-admin", now=now)
                for i, item in enumerate(items):
                    upload = None
                    if "file" in item:
                        with open(os.path.join(inputs_dir, item["file"]), "rb") as f:
                            upload = Upload.from_bytes(item["file"], f.read())
                    intake.file_document(site, case, item["stage"], item["kind"], item["title"], upload,
                                         "bench-admin", text=item.get("text", ""),
                                         now=now + datetime.timedelta(minutes=i))
                case.status = "closed"
                case.record("close", now + datetime.timedelta(days=1), "bench-admin", "办结")
                number = case.number
    finally:
        conn.close()
        idle(app)
        close_app(app)
    return number


def idle(app):
    """Let the search indexer finish before the database closes."""
    indexer = getattr(app.registry, "search_indexer", None)
    if indexer is not None:
        indexer.wait_idle(120)


# --- the children ----------------------------------------------------------------------------

def child_floor(inputs_dir, repeat):
    """pypdf merging the scanned PDFs: the least any binding of them costs."""
    from pypdf import PdfReader, PdfWriter
    names = sorted(n for n in os.listdir(inputs_dir) if n.endswith(".pdf"))
    target = os.path.join(inputs_dir, "merged.out")   # both write their PDF to a file
    base = common.rss_mb()
    times, cpu = [], []
    size = pages = 0
    for _ in range(repeat):
        with common.Timer() as t:
            writer = PdfWriter()
            handles = [open(os.path.join(inputs_dir, n), "rb") for n in names]
            for handle in handles:
                writer.append(PdfReader(handle))
            with open(target, "wb") as out:
                writer.write(out)
            for handle in handles:
                handle.close()
        size, pages = os.path.getsize(target), len(writer.pages)
        times.append(t.wall)
        cpu.append(t.cpu)
        del writer
    return {"times": times, "cpu": cpu, "peak_rss_mb": common.peak_rss_mb(), "base_rss_mb": base, "bytes": size,
            "pages": pages}


def open_database(var):
    """The database of a data folder opened directly (no web app, no search index): what a
    process that only builds dossiers holds."""
    from ZODB import DB
    from ZODB.FileStorage import FileStorage
    storage = FileStorage(os.path.join(var, "Data.fs"), blob_dir=os.path.join(var, "blobs"), read_only=True)
    return DB(storage)


def child_build(var, number, repeat):
    from archive import dossier as D
    from casefiles.site import ROOT_KEY
    db = open_database(var)
    conn = db.open()
    site = conn.root()[ROOT_KEY]
    case = site.cases.by_number(number)
    list(case.documents())
    base = common.rss_mb()
    times, cpu = [], []
    result = None
    try:
        target = os.path.join(var, "dossier.out")
        for _ in range(repeat):
            with common.Timer() as t:
                result = D.build(site, case, path=target)
            times.append(t.wall)
            cpu.append(t.cpu)
        return {"times": times, "cpu": cpu, "peak_rss_mb": common.peak_rss_mb(), "base_rss_mb": base, "bytes": result.size,
                "pages": result.total, "documents": len(result.documents), "sha256": result.sha256,
                "modes": {m: sum(1 for d in result.documents if d["mode"] == m)
                          for m in sorted({d["mode"] for d in result.documents})}}
    finally:
        conn.close()
        db.close()


def run_child(*args):
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", *map(str, args)],
                         capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- verify ------------------------------------------------------------------------------------

def build_archive(var, cases, seed=11):
    """``cases`` archived cases, each with a 3-page letter scan, a photo and a typeset reply."""
    from archive import store as S
    from casefiles import archival, intake
    from casefiles.documents import Upload
    from tests.support import close_app, open_site
    rng = random.Random(seed)
    letters = [scan_pdf([scan_page_jpeg(rng, 620, 877) for _ in range(3)]) for _ in range(5)]
    photos = [photo_jpeg(rng, (800, 600)) for _ in range(5)]
    app = make_app(var)
    settings = app.registry.settings
    conn, site = open_site(app)
    start = datetime.datetime(2024, 1, 5, 9, 0)
    done = 0
    try:
        with conn.transaction_manager:
            if "bench-admin" not in site.users:
                site.users.create("bench-admin", ["admin"], PASSWORD, name="档案管理员")
        batch = 20
        while done < cases:
            for attempt in conn.transaction_manager.attempts(5):
                with attempt:
                    for i in range(done, min(done + batch, cases)):
                        now = start + datetime.timedelta(hours=i)
                        body = fixtures.petition(rng, now - datetime.timedelta(days=2), channel="letter")
                        case = intake.register(site, body, [Upload.from_bytes("来信.pdf", letters[i % 5])],
                                               by="bench-admin", now=now)
                        intake.file_document(site, case, "origin", "evidence", "现场照片",
                                             Upload.from_bytes("照片.jpg", photos[i % 5]), "bench-admin", now=now)
                        intake.file_document(site, case, "handling", "reply", "信访处理意见书", None, "bench-admin",
                                             text=fixtures.LETTER, now=now + datetime.timedelta(minutes=5))
                        case.status = "closed"
                        case.record("close", now + datetime.timedelta(days=1), "bench-admin", "办结")
                        archival.archive_case(site, case, ("Y", "30", "10")[i % 3], "bench-admin",
                                              now=now + datetime.timedelta(days=2))
                        S.write_package(site, case, settings)
            done = min(done + batch, cases)
            conn.cacheGC()
            common.progress(f"  archived {done}/{cases}")
    finally:
        conn.close()
        idle(app)
        close_app(app)
    return S.archive_dir(settings)


def child_verify(var):
    from archive import store as S
    from casefiles import archival
    from tests.support import close_app, open_site
    app = make_app(var)
    conn, site = open_site(app)
    settings = app.registry.settings
    store = S.Store.from_settings(settings)
    try:
        numbers = list(archival.registry(site).archived.keys())
        files = 0
        total = 0
        for number in numbers:
            for path in S.bag_files(store.path(number)):
                files += 1
                total += os.path.getsize(path)
        problems = 0
        with common.Timer() as t:
            for i, number in enumerate(numbers):
                problems += len(S.verify_bag(store.path(number), number, site.cases.by_number(number)))
                if i % 100 == 99:
                    conn.cacheGC()
        return {"cases": len(numbers), "files": files, "bytes": total, "seconds": t.wall, "cpu": t.cpu,
                "problems": problems, "peak_rss_mb": common.peak_rss_mb()}
    finally:
        conn.close()
        close_app(app)


def sha256sum_seconds(root):
    listing = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        listing.extend(os.path.join(folder, n) for n in names)
    listing.sort()
    with tempfile.NamedTemporaryFile("w", delete=False) as f:
        f.write("\0".join(listing))
        list_path = f.name
    try:
        with common.Timer() as t:
            out = subprocess.run(f"xargs -0 -a {list_path} sha256sum > /dev/null", shell=True)
        if out.returncode != 0:
            raise RuntimeError("sha256sum failed")
    finally:
        os.unlink(list_path)
    return t.wall, len(listing), sum(os.path.getsize(p) for p in listing)


# --- main --------------------------------------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--documents", type=int, default=40)
    p.add_argument("--scans", type=int, default=20)
    p.add_argument("--scan-pages", type=int, default=200)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--cases", type=int, default=1000)
    p.add_argument("--quick", action="store_true", help="fewer, smaller inputs (a check that it runs)")
    p.add_argument("--keep", help="keep the data in this folder")
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        kind = args.child[0]
        if kind == "floor":
            result = child_floor(args.child[1], int(args.child[2]))
        elif kind == "build":
            result = child_build(args.child[1], args.child[2], int(args.child[3]))
        else:
            result = child_verify(args.child[1])
        print(json.dumps(result))
        return 0
    if args.quick:
        args.documents, args.scans, args.scan_pages, args.repeat = 12, 4, 20, 2
    work = args.keep or tempfile.mkdtemp(prefix="bench-dossier-")
    os.makedirs(work, exist_ok=True)
    try:
        return run(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def run(args, work):
    inputs = os.path.join(work, "inputs")
    var = os.path.join(work, "var-dossier")
    common.progress(f"making {args.documents} documents, {args.scans} scanned PDFs of {args.scan_pages} pages")
    make_inputs(inputs, args.documents, args.scans, args.scan_pages)
    scan_bytes = sum(os.path.getsize(os.path.join(inputs, n)) for n in os.listdir(inputs) if n.endswith(".pdf"))
    number = build_case(var, inputs)
    common.progress("measuring the floor (pypdf merge) and the dossier build, each in its own process")
    repeat = args.repeat + 1
    floor = run_child("floor", inputs, repeat)
    build = run_child("build", var, number, repeat)
    again = run_child("build", var, number, 1)
    floor_warm = statistics.median(floor["times"][1:])
    build_cold = build["times"][0]
    build_warm = statistics.median(build["times"][1:])
    floor_cpu = statistics.median(floor["cpu"][1:])
    build_cpu = statistics.median(build["cpu"][1:])
    dossier = {
        "documents": args.documents, "scanned_pdfs": args.scans, "scanned_pages": args.scan_pages,
        "scanned_pdf_mb": round(scan_bytes / 1048576, 1),
        "floor": {"seconds_median": round(floor_warm, 3), "seconds_all": [round(x, 3) for x in floor["times"]],
                  "peak_rss_mb": floor["peak_rss_mb"], "base_rss_mb": floor["base_rss_mb"],
                  "output_mb": round(floor["bytes"] / 1048576, 1), "pages": floor["pages"]},
        "build": {"seconds_cold": round(build_cold, 3), "seconds_median": round(build_warm, 3),
                  "seconds_all": [round(x, 3) for x in build["times"]], "peak_rss_mb": build["peak_rss_mb"],
                  "base_rss_mb": build["base_rss_mb"], "output_mb": round(build["bytes"] / 1048576, 1),
                  "pages": build["pages"], "modes": build["modes"],
                  "identical_across_processes": build["sha256"] == again["sha256"]},
        "ratio_to_floor": round(build_warm / floor_warm, 2) if floor_warm else None,
        "cpu_ratio_to_floor": round(build_cpu / floor_cpu, 2) if floor_cpu else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    dossier["floor"]["cpu_seconds_median"] = round(floor_cpu, 3)
    dossier["build"]["cpu_seconds_median"] = round(build_cpu, 3)
    rows = [["", "seconds (median)", "CPU s (median)", "first run", "peak RSS MB", "output MB", "pages"],
            ["pypdf merge (floor)", floor_warm, floor_cpu, floor["times"][0], floor["peak_rss_mb"],
             dossier["floor"]["output_mb"], floor["pages"]],
            ["dossier build", build_warm, build_cpu, build_cold, build["peak_rss_mb"], dossier["build"]["output_mb"],
             build["pages"]]]
    print(f"\nDossier: {args.documents} documents, {args.scans} scanned PDFs, {args.scan_pages} scanned pages "
          f"({dossier['scanned_pdf_mb']} MB)")
    common.print_table(rows)
    print(f"ratio to the floor: {dossier['ratio_to_floor']} (CPU time: {dossier['cpu_ratio_to_floor']}); "
          f"load average {dossier['load_average']}; the same bytes in another process: "
          f"{dossier['build']['identical_across_processes']}")

    common.progress(f"archiving {args.cases} cases for the verify benchmark")
    archive_var = os.path.join(work, "var-archive")
    with common.Timer() as making:
        root = build_archive(archive_var, args.cases)
    verify = run_child("verify", archive_var)
    sha_seconds, sha_files, sha_bytes = sha256sum_seconds(root)
    mb = verify["bytes"] / 1048576
    verify_result = {
        "cases": verify["cases"], "files": verify["files"], "mb": round(mb, 1), "seconds": round(verify["seconds"], 2),
        "cpu_seconds": round(verify["cpu"], 2), "cases_per_second": round(verify["cases"] / verify["seconds"], 1),
        "mb_per_second": round(mb / verify["seconds"], 1), "problems": verify["problems"],
        "peak_rss_mb": verify["peak_rss_mb"], "archiving_seconds": round(making.wall, 1),
        "sha256sum": {"files": sha_files, "mb": round(sha_bytes / 1048576, 1), "seconds": round(sha_seconds, 2),
                      "mb_per_second": round(sha_bytes / 1048576 / sha_seconds, 1) if sha_seconds else None},
    }
    verify_result["throughput_vs_sha256sum"] = round(verify_result["mb_per_second"] /
                                                     verify_result["sha256sum"]["mb_per_second"], 2)
    print(f"\nVerify: {verify['cases']} archived cases, {verify['files']} files, {mb:.1f} MB")
    common.print_table([
        ["", "seconds", "MB/s", "cases/s"],
        ["casefiles verify", verify["seconds"], verify_result["mb_per_second"], verify_result["cases_per_second"]],
        ["sha256sum (same files)", sha_seconds, verify_result["sha256sum"]["mb_per_second"], "-"],
    ])
    targets = [
        common.target("dossier build within 3x the pypdf merge floor", dossier["ratio_to_floor"], 3.0, "x"),
        common.target("dossier build within 3x the floor, CPU time", dossier["cpu_ratio_to_floor"], 3.0, "x"),
        common.target("dossier build, first in a process", round(build_cold, 3), 5.0, "s"),
        common.target("dossier build peak RSS", build["peak_rss_mb"], 300.0, "MB"),
        common.target("verify finds no problem in an intact archive", verify["problems"], 1, "problems"),
    ]
    common.print_targets(targets)
    path = common.write_result("dossier", {"dossier": dossier, "verify": verify_result, "targets": targets,
                                           "quick": bool(args.quick)})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
