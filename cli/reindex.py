"""``casefiles-reindex CONFIG [--dry-run] [--check [--repair]] [--procs N]``

Without options: rebuild the search index from the database into a new folder and swap it
in (changes committed meanwhile reach the new index after the swap). ``--dry-run`` reads
everything and says what would be indexed, writing nothing. ``--check`` compares the
database with the index and lists every difference (exit status 1 if there is one);
with ``--repair`` it also fixes them and checks again.
"""
import argparse
import json
import sys

from casefiles.i18n import _

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Progress, check_config, open_site, run, say, t

SHOWN = 50


def parser():
    p = argparse.ArgumentParser(
        prog="casefiles-reindex",
        description=t(_("cli_reindex_doc", default="Rebuild or check the full-text search index.")))
    p.add_argument("config", metavar="CONFIG", help=t(_("cli_config_help", default="the ini file, e.g. development.ini")))
    p.add_argument("--dry-run", action="store_true",
                   help=t(_("cli_reindex_dry", default="read everything and report, change nothing")))
    p.add_argument("--check", action="store_true",
                   help=t(_("cli_reindex_check", default="compare the database with the index and list the differences")))
    p.add_argument("--repair", action="store_true",
                   help=t(_("cli_reindex_repair", default="with --check: fix the differences found")))
    p.add_argument("--procs", type=int, default=None,
                   help=t(_("cli_reindex_procs", default="processes for a rebuild (default: one per core)")))
    p.add_argument("--json", action="store_true",
                   help=t(_("cli_reindex_json", default="print the result as JSON")))
    return p


def _print_report(report, as_json):
    if as_json:
        say(json.dumps(report.as_json(), ensure_ascii=False))
        return
    say(t(_("cli_reindex_counts", default="Database: ${db} items; index: ${ix} items.",
            mapping={"db": report.database, "ix": report.index})))
    labels = {
        "missing": _("cli_reindex_missing", default="missing from the index"),
        "extra": _("cli_reindex_extra", default="in the index but not in the database"),
        "stale": _("cli_reindex_stale", default="out of date in the index"),
        "duplicate": _("cli_reindex_duplicate", default="in the index more than once"),
    }
    for name, label in labels.items():
        ids = getattr(report, name)
        if ids:
            say(f"{t(label)}: {len(ids)}")
            for item_id in ids[:SHOWN]:
                say(f"  {item_id}")
            if len(ids) > SHOWN:
                say("  " + t(_("cli_reindex_more", default="… and ${n} more", mapping={"n": len(ids) - SHOWN})))
    if not report.differences:
        say(t(_("cli_reindex_same", default="The index agrees with the database.")))


def main(argv=None):
    args = parser().parse_args(argv)
    if not check_config(args.config):
        return EXIT_USAGE
    if args.repair and not args.check:
        say(t(_("cli_reindex_repair_needs_check", default="--repair goes with --check.")), sys.stderr)
        return EXIT_USAGE

    def body():
        from indexing import get_indexer
        from indexing.reindex import check, rebuild, repair
        with open_site(args.config) as opened:
            indexer = get_indexer(opened.registry)
            total = len(list(opened.site.cases.all_cases()))
            opened.abort()
            if args.check:
                with Progress(total, t(_("cli_reindex_reading", default="Reading cases"))) as bar:
                    report = check(indexer, progress=bar.update)
                _print_report(report, args.json)
                if not report.differences:
                    return EXIT_OK
                if not args.repair or args.dry_run:
                    return EXIT_FAILED
                numbers = report.numbers()
                with Progress(len(numbers), t(_("cli_reindex_repairing", default="Repairing cases"))) as bar:
                    repair(indexer, report, progress=bar.update)
                with Progress(total, t(_("cli_reindex_rechecking", default="Checking again"))) as bar:
                    report = check(indexer, progress=bar.update)
                _print_report(report, args.json)
                return EXIT_OK if not report.differences else EXIT_FAILED
            label = _("cli_reindex_dry_label", default="Reading cases") if args.dry_run else \
                _("cli_reindex_label", default="Indexing cases")
            with Progress(total, t(label)) as bar:
                result = rebuild(indexer, progress=bar.update, dry_run=args.dry_run, procs=None if args.procs is None else max(1, args.procs))
            if args.json:
                say(json.dumps(dict(result, dry_run=args.dry_run), ensure_ascii=False))
            elif args.dry_run:
                say(t(_("cli_reindex_would", default="Would index ${cases} cases with ${items} items; nothing was written.",
                        mapping=result)))
            else:
                say(t(_("cli_reindex_done", default="Indexed ${cases} cases with ${items} items in ${seconds} s; the new index is live.",
                        mapping=result)))
            return EXIT_OK

    return run(body)


if __name__ == "__main__":
    sys.exit(main())
