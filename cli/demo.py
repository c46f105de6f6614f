"""``casefiles-demo CONFIG [--cases 300] [--seed 1] [--force]``: demo users and demo cases.

Creates one demo user per role (passwords for development only, see README) and a few hundred
made-up petition cases planned by ``cli.demodata`` and registered through the same
``casefiles.intake`` functions as the web UI; a share is routed to responsible units through
``casefiles.access.route_to_unit``. Does nothing when the demo cases are already there
(a marker in the database root says so) unless ``--force``.
"""
import argparse
import collections
import datetime
import sys
import time

from persistent.mapping import PersistentMapping

from casefiles import intake
from casefiles.access import route_to_unit
from casefiles.cases import CHANNELS
from casefiles.documents import Upload
from casefiles.errors import DomainError
from casefiles.i18n import _
from casefiles.security import ROLE_TITLES

from . import (EXIT_FAILED, EXIT_OK, EXIT_USAGE, Progress, add_config_argument, check_config, error, open_site, run,
               say, t)
from .demodata import Generator, render_pdf

MARKER = "casefiles.demo"

# username, role, unit, display name
DEMO_USERS = (
    ("clerk", "clerk", None, "张敏"),
    ("assigner", "assigner", None, "李国庆"),
    ("supervisor", "supervisor", None, "王立新"),
    ("analyst", "analyst", None, "赵静"),
    ("reviewer", "reviewer", None, "陈刚"),
    ("unit", "unit", "411502", "刘洋"),
    ("unit2", "unit", "411503", "杨帆"),
    ("auditor", "auditor", None, "孙丽"),
    ("admin", "admin", None, "周杰"),
)


def demo_password(username):
    """The development-only password of a demo user (documented in README.md)."""
    return f"demo-{username}-2025"


def parser():
    p = argparse.ArgumentParser(
        prog="casefiles-demo",
        description=t(_("cli_demo_doc", default="Create the demo users and demo cases (for development only).")))
    add_config_argument(p)
    p.add_argument("--cases", type=int, default=300, metavar="N",
                   help=t(_("cli_demo_cases_help", default="how many cases to make (default 300)")))
    p.add_argument("--seed", type=int, default=1,
                   help=t(_("cli_demo_seed_help", default="the same seed makes the same cases (default 1)")))
    p.add_argument("--force", action="store_true",
                   help=t(_("cli_demo_force_help", default="make more cases even if demo cases exist")))
    p.add_argument("--batch", type=int, default=25, metavar="N",
                   help=t(_("cli_demo_batch_help", default="commit every N cases (default 25)")))
    return p


def ensure_users(site):
    """Create the demo users that are missing; returns the ones created."""
    created = []
    for username, role, unit, name in DEMO_USERS:
        if username not in site.users:
            site.users.create(username, [role], demo_password(username), name=name, unit=unit, units=site.units)
            created.append(username)
    return created


def make_case(site, planned, max_bytes):
    """Register one planned case (and file its evidence, route it). Returns
    (counts, number, channel, None), or (None, None, None, error) if registration refused it."""
    stats = collections.Counter()
    uploads = []
    try:
        for attachment in planned.files:
            uploads.append(Upload.from_bytes(attachment.filename, render_pdf(attachment)))
            stats["pdfs"] += 1
        case = intake.register(site, planned.body, uploads, by=planned.by, now=planned.registered_at,
                               max_bytes=max_bytes)
    except DomainError as exc:
        return None, None, None, exc
    for attachment in planned.evidence:
        intake.file_document(site, case, "origin", "evidence", attachment.title,
                             Upload.from_bytes(attachment.filename, render_pdf(attachment)),
                             by=planned.by, now=planned.registered_at + datetime.timedelta(minutes=3),
                             max_bytes=max_bytes)
        stats["pdfs"] += 1
    site.catalog.reindex(case)
    if planned.unit:
        route_to_unit(site, case, planned.unit)
        stats["routed"] += 1
    stats["documents"] += len(list(case.documents()))
    return stats, case.number, case.channel, None


def main(argv=None):
    args = parser().parse_args(argv)
    if not check_config(args.config):
        return EXIT_USAGE
    if args.cases < 0 or args.batch < 1:
        error(_("cli_demo_args_bad", default="--cases cannot be negative and --batch must be at least 1."))
        return EXIT_USAGE
    return run(lambda: _demo(args))


def _demo(args):
    started = time.monotonic()
    with open_site(args.config) as opened:
        site = opened.site
        created = opened.transact(lambda: ensure_users(site))
        if created:
            say(t(_("cli_demo_users", default="Demo users (passwords for development only):")))
            for username, role, unit, name in DEMO_USERS:
                if username in created:
                    where = f" {unit} {site.units[unit].name}" if unit else ""
                    say(f"  {username:<11} {demo_password(username):<22} {ROLE_TITLES[role]}{where}")
        marker = opened.root.get(MARKER)
        if marker is not None and not args.force:
            say(t(_("cli_demo_exists", default="The demo cases are already there (${n} cases, seed ${seed}); "
                    "nothing to do. Use --force to add more.",
                    mapping={"n": marker.get("cases", 0), "seed": marker.get("seed")})))
            return EXIT_OK

        plan = Generator(args.seed).plan(args.cases)
        max_bytes = opened.settings.get("casefiles.max_upload_bytes")
        stats = collections.Counter()
        channels = collections.Counter()
        failures = []
        numbers = []
        with Progress(len(plan), t(_("cli_demo_progress", default="demo cases"))) as progress:
            for start in range(0, len(plan), args.batch):
                batch = plan[start:start + args.batch]
                done = opened.transact(lambda: [make_case(site, planned, max_bytes) for planned in batch])
                for planned, (case_stats, number, channel, problem) in zip(batch, done):
                    if problem is not None:
                        failures.append((planned.body.get("subject", ""), problem))
                        continue
                    stats.update(case_stats)
                    channels[channel] += 1
                    numbers.append(number)
                progress.update(len(batch))

        def mark():
            record = opened.root.get(MARKER)
            if record is None:
                record = opened.root[MARKER] = PersistentMapping()
            record["seed"] = args.seed
            record["cases"] = record.get("cases", 0) + len(numbers)
            record["created"] = datetime.datetime.now().replace(microsecond=0).isoformat()
        opened.transact(mark)
        repeaters = sum(1 for person in site.petitioners.values() if len(person.cases) > 1)
        summary(numbers, stats, channels, failures, repeaters, time.monotonic() - started)
    return EXIT_FAILED if failures else EXIT_OK


def summary(numbers, stats, channels, failures, repeaters, elapsed):
    say(t(_("cli_demo_summary", default="Made ${n} demo cases (${first} … ${last}) with ${docs} documents "
            "(${pdfs} PDF scans); ${routed} routed to responsible units; ${repeaters} petitioners with "
            "several cases. Time ${time}.",
            mapping={"n": len(numbers), "first": numbers[0] if numbers else "-",
                     "last": numbers[-1] if numbers else "-",
                     "docs": stats["documents"], "pdfs": stats["pdfs"], "routed": stats["routed"],
                     "repeaters": repeaters, "time": f"{elapsed:.1f}s"})))
    say("  " + "  ".join(f"{CHANNELS[c]} {n}" for c, n in channels.most_common()))
    for subject, exc in failures[:5]:
        error(_("cli_demo_failed", default="Could not register \u201c${subject}\u201d:", mapping={"subject": subject}))
        error(exc.message, exc.fields)


if __name__ == "__main__":
    sys.exit(main())
