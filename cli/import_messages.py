"""``casefiles-import-messages CONFIG FILE.csv``: online messages become online complaints.

Each CSV row (a message posted to a government message board, 领导留言板) is registered as a
petition of channel ``online`` through the same ``casefiles.intake.register`` the web form
uses, so every rule of registration applies. Rows that cannot be registered are skipped and
counted by reason; the first few are printed. Rows are committed in batches (a busy database
makes a batch retry) and a progress bar runs on standard error.

Re-running is safe: a row whose message id (``external_ref``) is already in the database
for the same platform is skipped, found through the catalog's ``external_ref`` index.
"""
import argparse
import collections
import csv
import datetime
import os
import re
import sys
import time
import zlib

from casefiles import intake
from casefiles.cases import ONLINE_SOURCES
from casefiles.errors import DomainError
from casefiles.i18n import _
from casefiles.units import CITY_LEVEL, DISTRICTS

from . import EXIT_OK, EXIT_USAGE, Progress, add_config_argument, check_config, duration, error, open_site, run, say, t

SHOW_BAD_ROWS = 5
_TIME = re.compile(r"^(\d{4})[/\-.年](\d{1,2})[/\-.月](\d{1,2})日?"
                   r"(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?$")

REASONS = {
    "duplicate": _("skip_duplicate", default="already imported"),
    "duplicate_in_file": _("skip_duplicate_in_file", default="the same message id appears earlier in the file"),
    "no_ref": _("skip_no_ref", default="no message id"),
    "no_subject": _("skip_no_subject", default="no subject"),
    "no_body": _("skip_no_body", default="no message text"),
    "bad_time": _("skip_bad_time", default="the time is not a date"),
    "time_range": _("skip_time_range", default="the time is in the future or before 1990"),
    "malformed": _("skip_malformed", default="the row has too few or too many columns"),
    "invalid": _("skip_invalid", default="refused by registration"),
}


def parse_time(value):
    """``2019/2/25 11:30:16``, ``2019/2/25``, ``2019-02-25 11:30`` → datetime, else None."""
    match = _TIME.match((value or "").strip())
    if not match:
        return None
    y, mo, d, h, mi, s = (int(g) if g is not None else 0 for g in match.groups())
    try:
        return datetime.datetime(y, mo, d, h, mi, s)
    except ValueError:
        return None


def clean_text(value):
    """Message text without the markup's leading tabs and blank lines; inner newlines kept."""
    lines = [line.strip() for line in (value or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out, blank = [], False
    for line in lines:
        if not line:
            blank = bool(out)
            continue
        if blank:
            out.append("")
            blank = False
        out.append(line)
    return "\n".join(out)


def parser():
    p = argparse.ArgumentParser(
        prog="casefiles-import-messages",
        description=t(_("cli_import_doc", default="Import online messages from a CSV file as online complaints.")))
    add_config_argument(p)
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--ref-col", default="留言编号",
                   help=t(_("cli_ref_col_help", default="column of the message id (default 留言编号)")))
    p.add_argument("--subject-col", default="留言主题",
                   help=t(_("cli_subject_col_help", default="column of the subject (default 留言主题)")))
    p.add_argument("--body-col", default="留言详情",
                   help=t(_("cli_body_col_help", default="column of the message text (default 留言详情)")))
    p.add_argument("--time-col", default="留言时间",
                   help=t(_("cli_time_col_help", default="column of the time posted (default 留言时间)")))
    p.add_argument("--category-col", default=None,
                   help=t(_("cli_category_col_help", default="column of the category (default 一级标签 when present)")))
    p.add_argument("--user-col", default=None,
                   help=t(_("cli_user_col_help", default="column naming the poster (e.g. 留言用户); "
                            "without it petitioners are anonymous")))
    where = p.add_mutually_exclusive_group()
    where.add_argument("--district", choices=DISTRICTS + (CITY_LEVEL,), default=None,
                       help=t(_("cli_district_help", default="where the matters happened (default: ${city})",
                                mapping={"city": CITY_LEVEL})))
    where.add_argument("--district-random", action="store_true",
                       help=t(_("cli_district_random_help",
                                default="spread the messages over the ten districts (stable per message id)")))
    p.add_argument("--source", choices=sorted(ONLINE_SOURCES), default="website",
                   help=t(_("cli_source_help", default="the platform the messages came from")))
    p.add_argument("--ref-prefix", default="",
                   help=t(_("cli_ref_prefix_help", default="put this before every message id (for files whose "
                            "ids overlap with an earlier import's)")))
    p.add_argument("--encoding", default="utf-8-sig")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help=t(_("cli_limit_help", default="read at most N rows")))
    p.add_argument("--batch", type=int, default=500, metavar="N",
                   help=t(_("cli_batch_help", default="commit every N imported rows")))
    p.add_argument("--dry-run", action="store_true",
                   help=t(_("cli_dry_run_help", default="check every row and report, but write nothing")))
    p.add_argument("--by", default="import", help=t(_("cli_by_help", default="recorded as who registered")))
    return p


class Importer:
    def __init__(self, args, columns):
        self.args = args
        self.columns = columns
        self.counts = collections.Counter()
        self.shown = 0
        self.seen = set()

    # one row → a registration body, or a skip reason
    def body(self, row):
        a = self.args
        if None in row or any(row.get(c) is None for c in self.columns):
            return "malformed", ""
        ref = (row.get(a.ref_col) or "").strip()
        if not ref:
            return "no_ref", ""
        ref = a.ref_prefix + ref
        subject = clean_text(row.get(a.subject_col)).replace("\n", " ")
        if not subject:
            return "no_subject", ref
        content = clean_text(row.get(a.body_col))
        if not content:
            return "no_body", row.get(a.body_col) or ""
        raw_time = (row.get(a.time_col) or "").strip()
        received = parse_time(raw_time)
        if received is None:
            return "bad_time", raw_time
        if received.year < 1990 or received > datetime.datetime.now():
            return "time_range", raw_time
        if a.district_random:
            district = DISTRICTS[zlib.crc32(ref.encode("utf-8")) % len(DISTRICTS)]
        else:
            district = a.district or CITY_LEVEL
        person = {"anonymous": True}
        if a.user_col and (row.get(a.user_col) or "").strip():
            person = {"name": row[a.user_col].strip()[:50]}
        if len(subject) > 200:
            subject = subject[:199] + "…"
        return None, {
            "channel": "online", "online_source": a.source, "external_ref": ref[:64],
            "received_at": received.isoformat(), "subject": subject, "content": content,
            "district": district, "category": (row.get(a.category_col) or "").strip() if a.category_col else "",
            "petition_type": "complaint", "petitioners": [person],
        }

    def known(self, site, ref):
        catalog = site.catalog
        for docid in catalog.find("external_ref", ref):
            case = site.cases.by_number(catalog.docids.get(docid, ""))
            if case is not None and case.online_source == self.args.source:
                return True
        return False

    def skip(self, reason, recno, line, detail=""):
        self.counts[reason] += 1
        if self.shown < SHOW_BAD_ROWS and reason not in ("duplicate",):
            self.shown += 1
            detail = str(detail).strip().replace("\n", " ")
            detail = f" ({detail[:40]})" if detail else ""
            say(t(_("cli_skip_row", default="Row ${n} (line ${line}) skipped: ${reason}${detail}",
                    mapping={"n": recno, "line": line, "reason": t(REASONS[reason]), "detail": detail})),
                sys.stderr)


def count_rows(path, encoding):
    with open(path, newline="", encoding=encoding) as f:
        reader = csv.reader(f)
        next(reader, None)
        return sum(1 for _row in reader)


def main(argv=None):
    args = parser().parse_args(argv)
    if not check_config(args.config):
        return EXIT_USAGE
    if args.batch < 1 or (args.limit is not None and args.limit < 0):
        error(_("cli_batch_bad", default="--batch must be at least 1 and --limit at least 0."))
        return EXIT_USAGE
    try:
        with open(args.file, newline="", encoding=args.encoding) as f:
            header = next(csv.reader(f), None) or []
        total = count_rows(args.file, args.encoding)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        error(_("cli_csv_unreadable", default="Cannot read ${path}: ${problem}",
                mapping={"path": args.file, "problem": str(exc)}))
        return EXIT_USAGE
    header = [h.strip() for h in header]
    if args.category_col is None and "一级标签" in header:
        args.category_col = "一级标签"
    required = [args.ref_col, args.subject_col, args.body_col, args.time_col]
    optional = [c for c in (args.category_col, args.user_col) if c]
    missing = [c for c in required + optional if c not in header]
    if missing:
        error(_("cli_columns_missing", default="The file has no column ${missing}; its columns are: ${columns}",
                mapping={"missing": "、".join(missing), "columns": "、".join(header)}))
        return EXIT_USAGE
    if args.limit is not None:
        total = min(total, args.limit)
    return run(lambda: _import(args, required + optional, total))


def _import(args, columns, total):
    importer = Importer(args, columns)
    started = time.monotonic()
    imported = 0
    with open_site(args.config) as opened:
        site = opened.site
        max_bytes = opened.settings.get("casefiles.max_upload_bytes")
        pending = []   # (recno, line, body) of the batch not yet committed

        def flush():
            nonlocal imported

            def work():
                added, refused = 0, []
                for recno, line, body in pending:
                    try:
                        intake.register(site, body, (), by=args.by, max_bytes=max_bytes)
                        added += 1
                    except DomainError as exc:
                        refused.append((recno, line, "、".join(exc.fields) or t(exc.message)))
                return added, refused

            added, refused = opened.transact(work)
            for recno, line, detail in refused:
                importer.skip("invalid", recno, line, detail)
            imported += added
            if added:
                opened.audit("case.import", detail={"file": os.path.basename(args.file), "added": added,
                                                    "refused": len(refused)})
            pending.clear()

        with open(args.file, newline="", encoding=args.encoding) as f, \
                Progress(total, t(_("cli_importing", default="importing"))) as progress:
            reader = csv.DictReader(f)
            reader.fieldnames = [h.strip() for h in reader.fieldnames or []]
            waiting = 0    # rows read since the last commit
            for recno, row in enumerate(reader, 1):
                if args.limit is not None and recno > args.limit:
                    break
                reason, body = importer.body(row)
                if reason:
                    importer.skip(reason, recno, reader.line_num, body)
                else:
                    key = body["external_ref"]
                    if key in importer.seen:
                        importer.skip("duplicate_in_file", recno, reader.line_num, key)
                    elif importer.known(site, key):
                        importer.skip("duplicate", recno, reader.line_num, key)
                    elif args.dry_run:
                        importer.seen.add(key)
                        try:
                            intake.validate(site, body, datetime.datetime.now())
                            imported += 1
                        except DomainError as exc:
                            importer.skip("invalid", recno, reader.line_num, "、".join(exc.fields))
                    else:
                        importer.seen.add(key)
                        pending.append((recno, reader.line_num, body))
                        if len(pending) >= args.batch:
                            flush()
                # a row counts once its batch is committed, so the rate and ETA are the work's
                waiting += 1
                if not pending:
                    progress.update(waiting)
                    waiting = 0
            if pending:
                flush()
            progress.update(waiting)
        report(args, importer.counts, imported, time.monotonic() - started, progress.done)
    return EXIT_OK


def report(args, counts, imported, elapsed, read):
    skipped = sum(counts.values())
    rate = read / elapsed if elapsed > 0 else 0.0
    numbers = {"read": read, "imported": imported, "skipped": skipped}
    if args.dry_run:
        say(t(_("cli_import_dry_summary", default="Dry run: read ${read} rows; ${imported} would be imported, "
                "${skipped} skipped; nothing was written.", mapping=numbers)))
    else:
        say(t(_("cli_import_summary", default="Read ${read} rows; imported ${imported}, skipped ${skipped}.",
                mapping=numbers)))
    for reason, n in counts.most_common():
        if n:
            say(f"  {t(REASONS[reason])}: {n}")
    say(t(_("cli_import_time", default="Time ${time}, ${rate} rows per second.",
            mapping={"time": duration(elapsed) if elapsed >= 60 else f"{elapsed:.1f}s", "rate": f"{rate:.1f}"})))


if __name__ == "__main__":
    sys.exit(main())
