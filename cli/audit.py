"""``casefiles-audit CONFIG verify|reindex|export [--case N] [--user U] [--action A] [--from D] [--to D]``

- ``verify`` walks the whole audit trail, segment by segment: every entry's SHA-256, the
  link to the entry before (``prev``), the unbroken sequence numbers, the tail against the
  anchor and against the head recorded in every archival package. Exit 0 if the trail is
  intact; exit 1 naming the first broken entry (segment file, line, seq and why). Progress
  goes to standard error. It reads the files only: it may run while the server runs.
- ``reindex`` rebuilds the auditors' query index (SQLite) from the log.
- ``export`` writes the entries that match the filters as CSV (UTF-8 with BOM, for Excel)
  or, with ``--format jsonl``, as the log's own lines (each still checkable by its hash),
  to standard output or ``--output FILE``.
"""
import argparse
import datetime
import glob
import json
import os
import sys

from casefiles import audit as A
from casefiles.i18n import _

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Progress, check_config, run, say, t


def parser():
    p = argparse.ArgumentParser(
        prog="casefiles-audit",
        description=t(_("cli_audit_doc", default="Verify, reindex and export the audit trail.")))
    p.add_argument("config", metavar="CONFIG",
                   help=t(_("cli_config_help", default="the ini file, e.g. development.ini")))
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    verify = sub.add_parser("verify", help=t(_("cli_audit_verify_help", default="check the whole hash chain; exit 1 "
                                                 "naming the first broken entry")))
    verify.add_argument("--json", action="store_true",
                        help=t(_("cli_reindex_json", default="print the result as JSON")))
    verify.add_argument("--no-packages", action="store_true",
                        help=t(_("cli_audit_no_packages", default="do not compare with the heads recorded in the "
                                 "archival packages")))
    sub.add_parser("reindex", help=t(_("cli_audit_reindex_help", default="rebuild the query index from the log")))
    export = sub.add_parser("export", help=t(_("cli_audit_export_help", default="write the matching entries as CSV "
                                                 "or JSON Lines")))
    export.add_argument("--case", help=t(_("cli_audit_case", default="only this case number")))
    export.add_argument("--user", help=t(_("cli_audit_user", default="only this user")))
    export.add_argument("--action", help=t(_("cli_audit_action", default="only this action (login* for a family)")))
    export.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD",
                        help=t(_("cli_audit_from", default="from this day (inclusive)")))
    export.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD",
                        help=t(_("cli_audit_to", default="to this day (inclusive)")))
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    export.add_argument("--output", "-o", metavar="FILE", help=t(_("cli_audit_output", default="write to FILE "
                                                                     "instead of standard output")))
    return p


def audit_settings(config_uri):
    """The settings of the ini (with CASEFILES_VAR), without opening the database."""
    from pyramid.paster import get_appsettings

    from views import configure_settings
    from views.audit import audit_settings as fill
    return fill(configure_settings(get_appsettings(config_uri)))


def package_heads(settings):
    """``[(bag folder, Head)]`` recorded in the archival packages of the archive store."""
    from archive.store import archive_dir
    root = archive_dir(settings)
    out = []
    for path in sorted(glob.glob(os.path.join(root, "*", "*", "data", A.EXTRACT_DIR, A.HEAD_NAME))):
        bag = os.path.dirname(os.path.dirname(os.path.dirname(path)))
        head = A.read_package_head(bag)
        if head is not None:
            out.append((bag, head))
    return out


REASONS = {
    "hash": _("cli_audit_r_hash", default="its content does not match its hash (the entry was changed)"),
    "link": _("cli_audit_r_link", default="its link to the entry before is broken (an entry was changed or removed)"),
    "sequence": _("cli_audit_r_sequence", default="a sequence number is missing (an entry was removed)"),
    "unreadable": _("cli_audit_r_unreadable", default="the line is not an audit entry"),
    "segment": _("cli_audit_r_segment", default="a segment file is missing or ends early"),
    "truncated": _("cli_audit_r_truncated", default="the end of the trail was cut off"),
    "anchor": _("cli_audit_r_anchor", default="the entry differs from the one the anchor or a package recorded"),
}


def verify_command(settings, args):
    log = A.AuditLog(settings["casefiles.audit_dir"], anchor=settings["casefiles.audit_anchor"],
                     segment_entries=settings["casefiles.audit_segment_entries"])
    heads = [] if args.no_packages else package_heads(settings)
    total = log.count_lines()
    with Progress(total, t(_("cli_audit_verifying", default="Checking the audit trail"))) as bar:
        report = A.verify(log, progress=bar.update)
    problem = report.problem
    packages_checked = 0
    if problem is None:
        for bag, head in heads:
            packages_checked += 1
            if head.seq > report.head.seq:
                problem = A.Problem("truncated", log.segment_name(log.segment_of(head.seq)), None, head.seq,
                                    f"the package {os.path.basename(bag)} records seq {head.seq}, "
                                    f"the log ends at {report.head.seq}")
            elif _hash_at(log, head.seq) != head.hash:
                problem = A.Problem("anchor", log.segment_name(log.segment_of(head.seq)), None, head.seq,
                                    f"the package {os.path.basename(bag)} records a different entry {head.seq}")
            if problem is not None:
                report.problem = problem
                break
    if args.json:
        data = report.as_json()
        data["packages"] = packages_checked
        say(json.dumps(data, ensure_ascii=False))
    else:
        say(t(_("cli_audit_checked", default="Checked ${n} entries in ${segments} segment files in ${seconds} s "
                "(${folder}).", mapping={"n": report.checked, "segments": report.segments,
                                         "seconds": f"{report.seconds:.1f}", "folder": log.path})))
        if problem is None:
            say(t(_("cli_audit_head", default="Head: entry ${seq}, ${hash}; anchor: entry ${aseq}.",
                    mapping={"seq": report.head.seq, "hash": report.head.hash, "aseq": report.anchor.seq})))
        else:
            say(t(_("cli_audit_intact_to", default="Intact up to entry ${seq}; the anchor records entry ${aseq}.",
                    mapping={"seq": report.head.seq, "aseq": report.anchor.seq})))
        if report.recovered:
            say(t(_("cli_audit_recovered",
                    default="${n} line(s) torn by a crash are accounted for by a recovery entry.",
                    mapping={"n": report.recovered})))
        if heads:
            say(t(_("cli_audit_packages", default="Compared with the heads recorded in ${n} archival packages.",
                    mapping={"n": packages_checked})))
        if problem is None:
            say(t(_("cli_audit_intact", default="The audit trail is intact.")))
        else:
            where = problem.segment or ""
            if problem.line:
                where += f":{problem.line}"
            say(t(_("cli_audit_broken", default="BROKEN at entry ${seq} (${where}): ${why}. ${detail}",
                    mapping={"seq": problem.seq, "where": where, "why": t(REASONS.get(problem.reason, problem.reason)),
                             # which package, or where the log ends (the reasons above say the rest)
                             "detail": problem.detail if problem.reason in ("truncated", "anchor") else ""})))
    return EXIT_OK if report.problem is None else EXIT_FAILED


def _hash_at(log, seq):
    for entry, _raw in log.entries(seq):
        return entry.get("hash") if entry.get("seq") == seq else None
    return None


def _date(value, name):
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        say(t(_("cli_audit_bad_date", default="${name}: give a date as YYYY-MM-DD.", mapping={"name": name})),
            sys.stderr)
        raise SystemExit(EXIT_USAGE)


def export_command(settings, args):
    filters = {k: v for k, v in (("case", args.case), ("user", args.user), ("action", args.action)) if v}
    for key, value, name in (("from", args.date_from, "--from"), ("to", args.date_to, "--to")):
        day = _date(value, name)
        if day:
            filters[key] = day
    log = A.AuditLog(settings["casefiles.audit_dir"], anchor=settings["casefiles.audit_anchor"],
                     segment_entries=settings["casefiles.audit_segment_entries"])
    index = A.AuditIndex(settings["casefiles.audit_index"])
    index.catch_up(log)
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
    try:
        if args.format == "jsonl":
            for raw in index.iter_raw(filters):
                out.write(raw.rstrip("\n") + "\n")
        else:
            for chunk in A.csv_rows(index.iter_raw(filters)):
                out.write(chunk)
    finally:
        if args.output:
            out.close()
    if args.output:
        say(t(_("cli_audit_exported", default="Wrote the matching entries to ${path}.", mapping={"path": args.output})),
            sys.stderr)
    return EXIT_OK


def reindex_command(settings, args):
    log = A.AuditLog(settings["casefiles.audit_dir"], anchor=settings["casefiles.audit_anchor"],
                     segment_entries=settings["casefiles.audit_segment_entries"])
    index = A.AuditIndex(settings["casefiles.audit_index"])
    with Progress(log.count_lines(), t(_("cli_audit_indexing", default="Indexing the audit trail"))) as bar:
        added = index.rebuild(log, progress=bar.update)
    say(t(_("cli_audit_reindexed", default="Indexed ${n} entries.", mapping={"n": added})))
    return EXIT_OK


def main(argv=None):
    args = parser().parse_args(argv)
    if not check_config(args.config):
        return EXIT_USAGE

    def body():
        settings = audit_settings(args.config)
        command = {"verify": verify_command, "reindex": reindex_command, "export": export_command}[args.command]
        return command(settings, args)
    return run(body)


if __name__ == "__main__":
    sys.exit(main())
