"""``casefiles-archive CONFIG verify|export DIR|import DIR|due|dispose NUMBER --by ADMIN``

- ``verify`` re-checks every archived case: its bag (structure, completeness, every file's
  SHA-256 against the manifests), the package XML (schema and checksums), the dossier's
  embedded manifest, and the database's checksums against the package. Progress goes to
  standard error; each case whose bytes changed is named on standard output; exit 1 if any.
- ``export DIR`` copies the bags of the archived cases into DIR (one folder per case) and
  checks each copy; ``import DIR`` restores the cases of the bags (or package zips) in DIR
  into this installation — documents, history, petitioners, archival reference — and puts
  their bags into its archive store; the search index follows. ``--dry-run`` only checks.
- ``due`` lists the archived cases past their retention period; ``dispose NUMBER --by
  ADMIN`` records that administrator's approval of disposing of one — the second, different
  administrator's approval disposes of it and leaves a disposal record.
"""
import argparse
import os
import shutil
import sys
import tempfile
import zipfile

import transaction

from casefiles import archival
from casefiles.documents import Upload
from casefiles.errors import DomainError
from casefiles.i18n import _

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Progress, check_config, error, open_site, run, say, t


def parser():
    p = argparse.ArgumentParser(
        prog="casefiles-archive",
        description=t(_("cli_archive_doc", default="Verify, export, import and dispose of archived cases.")))
    p.add_argument("config", metavar="CONFIG", help=t(_("cli_config_help", default="the ini file, e.g. development.ini")))
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    verify = sub.add_parser("verify", help=t(_("cli_verify_help", default="re-check every archived case; exit 1 "
                                                 "naming each case whose bytes changed")))
    verify.add_argument("numbers", nargs="*", metavar="NUMBER",
                        help=t(_("cli_numbers_help", default="only these cases (default: all archived cases)")))
    export = sub.add_parser("export", help=t(_("cli_export_help", default="copy the archived cases' packages into DIR")))
    export.add_argument("dir", metavar="DIR")
    export.add_argument("numbers", nargs="*", metavar="NUMBER",
                        help=t(_("cli_numbers_help", default="only these cases (default: all archived cases)")))
    imp = sub.add_parser("import", help=t(_("cli_import_help", default="restore the archived cases of the packages "
                                              "in DIR")))
    imp.add_argument("dir", metavar="DIR")
    imp.add_argument("--dry-run", action="store_true",
                     help=t(_("cli_dry_run_help", default="only check; change nothing")))
    sub.add_parser("due", help=t(_("cli_due_help", default="list the archived cases past their retention period")))
    dispose = sub.add_parser("dispose", help=t(_("cli_dispose_help", default="approve disposing of a case past its "
                                                   "retention period (two different administrators)")))
    dispose.add_argument("number", metavar="NUMBER")
    dispose.add_argument("--by", required=True, metavar="ADMIN",
                         help=t(_("cli_by_help", default="the administrator who approves")))
    dispose.add_argument("--note", default="", help=t(_("cli_note_help", default="the reason, kept in the record")))
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    if not check_config(args.config):
        return EXIT_USAGE
    command = {"verify": verify, "export": export, "import": import_, "due": due, "dispose": dispose}[args.command]
    return run(lambda: command(args))


# ---------------------------------------------------------------- verify

def _problem_line(number, ref, problem):
    return f"{number}\t{ref}\t{t(problem.message)}" + (f"\t{problem.path}" if problem.path else "")


def verify(args):
    from archive import store as S
    with open_site(args.config) as opened:
        site = opened.site
        store = S.Store.from_settings(opened.settings)
        registry = archival.registry(site)
        numbers = list(args.numbers) or list(registry.archived.keys())
        orphans = [] if args.numbers else [n for n in store.numbers() if n not in registry.archived]
        changed = []
        with Progress(len(numbers) + len(orphans), t(_("cli_verifying", default="Verifying"))) as progress:
            for i, number in enumerate(numbers):
                case = site.cases.by_number(number)
                ref = registry.archived.get(number, "")
                if case is None or case.status != "archived":
                    problems = [S.Problem(number, _("verify_not_archived", default="The case is not archived here."))]
                else:
                    problems = S.verify_bag(store.path(number), number, case)
                if problems:
                    changed.append(number)
                    for problem in problems:
                        say(_problem_line(number, ref, problem))
                progress.update()
                if i % 100 == 99:
                    opened.connection.cacheGC()
            for number in orphans:
                problems = S.verify_bag(store.path(number), number)
                problems.append(S.Problem(number, _("verify_orphan", default="The archive store holds a package "
                                                    "of a case that is not archived in the database.")))
                changed.append(number)
                for problem in problems:
                    say(_problem_line(number, "", problem))
                progress.update()
        total = len(numbers) + len(orphans)
        if changed:
            say(t(_("cli_verify_failed", default="${bad} of ${total} archived cases failed verification: ${numbers}",
                    mapping={"bad": len(changed), "total": total, "numbers": " ".join(changed)})), sys.stderr)
            return EXIT_FAILED
        say(t(_("cli_verify_ok", default="All ${total} archived cases verified.", mapping={"total": total})),
            sys.stderr)
        return EXIT_OK


# ---------------------------------------------------------------- export

def export(args):
    from archive import store as S
    target = os.path.abspath(args.dir)
    os.makedirs(target, exist_ok=True)
    with open_site(args.config) as opened:
        site = opened.site
        store = S.Store.from_settings(opened.settings)
        registry = archival.registry(site)
        numbers = list(args.numbers) or list(registry.archived.keys())
        failed = []
        exported = 0
        index = []
        with Progress(len(numbers), t(_("cli_exporting", default="Exporting"))) as progress:
            for number in numbers:
                case = site.cases.by_number(number)
                if case is None or case.status != "archived":
                    error(_("cli_export_not_archived", default="${number} is not an archived case here.",
                            mapping={"number": number}))
                    failed.append(number)
                    progress.update()
                    continue
                destination = os.path.join(target, number)
                if os.path.exists(destination):
                    shutil.rmtree(destination)
                shutil.copytree(store.path(number), destination)
                problems = S.verify_bag(destination, number, case)
                if problems:
                    failed.append(number)
                    for problem in problems:
                        say(_problem_line(number, case.archival_ref, problem))
                else:
                    exported += 1
                    index.append(f"{number}\t{case.archival_ref}\t{case.retention}\t{case.subject}")
                progress.update()
        with open(os.path.join(target, "index.tsv"), "w", encoding="utf-8") as f:
            f.write("".join(line.replace("\n", " ") + "\n" for line in index))
        say(t(_("cli_exported", default="Exported ${n} archived cases to ${dir}.",
                mapping={"n": exported, "dir": target})), sys.stderr)
        return EXIT_FAILED if failed else EXIT_OK


# ---------------------------------------------------------------- import

def find_bags(folder):
    """Bag folders and package zips in ``folder`` (and its immediate sub-folders)."""
    out = []
    if os.path.isfile(os.path.join(folder, "bagit.txt")):
        return [folder]
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.isdir(path):
            if os.path.isfile(os.path.join(path, "bagit.txt")):
                out.append(path)
            else:
                out.extend(os.path.join(path, n) for n in sorted(os.listdir(path))
                           if os.path.isfile(os.path.join(path, n, "bagit.txt")))
        elif name.lower().endswith(".zip"):
            out.append(path)
    return out


# An imported package may hold scans of a whole file, but not unboundedly more than its zip:
# a zip bomb stops at these limits instead of filling the disk.
MAX_UNZIPPED_BYTES = 20 * 1024 ** 3
MAX_RATIO = 200          # uncompressed : compressed, per member over 1 MB
MAX_MEMBERS = 100_000


def unzip_bag(path, into, max_bytes=MAX_UNZIPPED_BYTES):
    """Extract a package zip safely (no path leaves ``into``; sizes and the expansion ratio are
    bounded while the bytes are written, whatever the zip's directory claims); returns the bag
    folder inside it."""
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise ValueError(f"{path} holds {len(members)} files, more than {MAX_MEMBERS}")
        for member in members:
            name = member.filename
            if name.startswith("/") or ".." in name.split("/") or "\\" in name or "\x00" in name:
                raise ValueError(f"unsafe path in {path}: {name!r}")
        total = 0
        for member in members:
            target = os.path.join(into, *member.filename.split("/"))
            if member.is_dir():
                os.makedirs(target, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            allowed = max(1024 * 1024, member.compress_size * MAX_RATIO)
            written = 0
            with archive.open(member) as source, open(target, "wb") as out:
                while True:
                    chunk = source.read(1024 * 1024)
                    if not chunk:
                        break
                    written += len(chunk)
                    total += len(chunk)
                    if written > allowed or total > max_bytes:
                        raise ValueError(f"{path}: {member.filename} expands beyond the limits "
                                         f"of an archival package (a zip bomb?)")
                    out.write(chunk)
    bags = find_bags(into)
    if len(bags) != 1:
        raise ValueError(f"{path} holds {len(bags)} bags")
    return bags[0]


def _uploads(stack, bag_dir, document):
    versions = []
    for v in document["versions"]:
        stream = stack.enter_context(open(os.path.join(bag_dir, "data", v["path"]), "rb"))
        versions.append((Upload(v["filename"], stream), v["filed_at"], v["filed_by"], v["note"], v["sha256"]))
    return versions


def restore(site, bag_dir, settings):
    """Restore the case of one verified bag; returns the case. The bag is copied into the
    store when the transaction commits."""
    import contextlib

    from archive import package as P
    from archive import store as S
    data = P.read_bag(bag_dir)
    with contextlib.ExitStack() as stack:
        documents = []
        for document in data.documents:
            item = dict(document)
            item["versions"] = _uploads(stack, bag_dir, document)
            documents.append(item)
        case = archival.restore_case(site, data.case, documents, data.history, data.petitioners, extra=data.extra)
    S.schedule_copy(case, bag_dir, settings)
    return case


def import_(args):
    from archive import package as P
    from archive import store as S
    source = os.path.abspath(args.dir)
    if not os.path.isdir(source):
        error(_("cli_import_no_dir", default="${dir} is not a folder.", mapping={"dir": source}))
        return EXIT_USAGE
    bags = find_bags(source)
    failed = []
    imported = skipped = 0
    with open_site(args.config) as opened, tempfile.TemporaryDirectory() as scratch:
        site = opened.site
        with Progress(len(bags), t(_("cli_importing", default="Importing"))) as progress:
            for i, path in enumerate(bags):
                name = os.path.basename(path)
                try:
                    bag_dir = unzip_bag(path, os.path.join(scratch, str(i))) if path.endswith(".zip") else path
                    problems = S.verify_bag(bag_dir)
                    if problems:
                        raise ValueError("; ".join(t(p.message) for p in problems[:3]))
                    data = P.read_bag(bag_dir)
                    name = data.number
                    existing = site.cases.by_number(data.number)
                    if existing is not None and existing.archival_ref == data.ref:
                        skipped += 1
                        say(t(_("cli_import_present", default="${number} is already here; skipped.",
                                mapping={"number": data.number})), sys.stderr)
                        progress.update()
                        continue
                    restore(site, bag_dir, opened.settings)
                    if args.dry_run:
                        opened.abort()
                    else:
                        opened.commit()
                        opened.audit("case.restore", case=data.number, detail={"ref": data.ref})
                    imported += 1
                except (ValueError, OSError, P.PackageInvalid, KeyError, TypeError) as exc:
                    opened.abort()
                    failed.append(name)
                    reason = _("cli_import_failed", default="not imported: ${reason}",
                               mapping={"reason": str(exc)[:300]})
                    say(f"{name}\t{t(reason)}")
                except DomainError as exc:
                    opened.abort()
                    failed.append(name)
                    say(f"{name}\t{t(exc.message)}")
                except transaction.interfaces.TransientError:
                    opened.abort()
                    failed.append(name)
                    error(_("cli_retry", default="The database was busy; please try again."))
                progress.update()
        indexer = getattr(opened.registry, "search_indexer", None)
        if indexer is not None and imported and not args.dry_run:
            indexer.wait_idle(300)  # the imported cases are searchable when the command ends
        done = _("cli_import_checked", default="Checked ${n} packages; nothing was changed (dry run).",
                 mapping={"n": imported}) if args.dry_run else \
            _("cli_imported", default="Imported ${n} archived cases (${skipped} already here, ${failed} failed).",
              mapping={"n": imported, "skipped": skipped, "failed": len(failed)})
        say(t(done), sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


# ---------------------------------------------------------------- due and dispose

def due(args):
    with open_site(args.config) as opened:
        site = opened.site
        registry = archival.registry(site)
        for case in archival.due_cases(site):
            approvals = ",".join(a[0] for a in registry.pending.get(case.number, ()))
            say("\t".join([case.number, case.archival_ref, archival.retention_title(case.retention),
                           case.retention_due.isoformat(), (case.subject or "").replace("\t", " "), approvals]))
    return EXIT_OK


def dispose(args):
    from archive import store as S
    with open_site(args.config) as opened:
        record, approvals = S.dispose(opened.site, args.number, args.by, opened.settings, note=args.note)
        try:
            opened.commit()
        except transaction.interfaces.TransientError:
            error(_("cli_retry", default="The database was busy; please try again."))
            return EXIT_FAILED
        opened.audit("archive.dispose", case=args.number,
                     detail={"by": args.by, "approved": record is not None, "note": (args.note or "")[:200]})
        if record is None:
            say(t(_("dispose_pending", default="Your approval of disposing of ${number} is recorded; a second "
                    "administrator must approve.", mapping={"number": args.number})))
        else:
            say(t(_("dispose_done", default="Case ${number} was disposed of; the disposal record keeps what it held "
                    "and who decided.", mapping={"number": args.number})))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
