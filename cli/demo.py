"""``casefiles-demo CONFIG [--cases 300] [--seed 1] [--force]``: demo users and demo cases.

Creates one demo user per role (passwords for development only, see README), an account
``unit-CODE`` for each other responsible unit that receives a case, a small hearing expert
pool, and a few hundred made-up petition cases planned by ``cli.demodata``: registered
through the same ``casefiles.intake`` functions as the web UI, then taken through their
planned workflow steps by ``casefiles.workflow.perform`` (the notices rendered as the web
layer renders them), registrations and steps together in the order of their dates. A case
reaches a responsible unit only through an assign or forward step. Does nothing when the
demo cases are already there (a marker in the database root says so) unless ``--force``.
"""
import argparse
import collections
import contextlib
import datetime
import sys
import time

from persistent.mapping import PersistentMapping

from casefiles import clocks, intake, workflow
from casefiles.cases import CHANNELS, STATUSES
from casefiles.documents import Upload
from casefiles.errors import DomainError
from casefiles.experts import add_expert, conflicted_units
from casefiles.i18n import _
from casefiles.security import ROLE_TITLES

from . import (EXIT_FAILED, EXIT_OK, EXIT_USAGE, Progress, add_config_argument, check_config, error, open_site, run,
               say, t)
from .demodata import FILE_REPORT, PANEL, Generator, PlannedCase, render_pdf, unit_user

MARKER = "casefiles.demo"
CONFLICT_ATTEMPTS = 30     # the search index's worker writes its queue while the steps are committed

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


# the hearing expert pool (name, field, unit code, organisation)
DEMO_EXPERTS = (
    ("李明", "法学", "", "信阳师范大学"),
    ("王芳", "社会学", "", "信阳市社会科学界联合会"),
    ("陈志远", "城乡建设", "", "河南豫南律师事务所"),
    ("赵丽华", "劳动和社会保障", "", "信阳农林学院"),
    ("孙建国", "土地管理", "ZRZYJ", ""),
    ("周敏", "心理咨询", "", "信阳市心理咨询师协会"),
    ("吴海涛", "法学", "", "河南申城律师事务所"),
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
                   help=t(_("cli_demo_batch_help", default="commit every N registrations or workflow steps "
                            "(default 25)")))
    return p


def ensure_users(site):
    """Create the demo users that are missing; returns the ones created."""
    created = []
    for username, role, unit, name in DEMO_USERS:
        if username not in site.users:
            site.users.create(username, [role], demo_password(username), name=name, unit=unit, units=site.units)
            created.append(username)
    return created


def ensure_unit_users(site, plan):
    """An account for each responsible unit the plan routes a case to (``unit-CODE``, with
    a made-up name), so that every unit step is taken by that unit's own user."""
    created = []
    codes = sorted({step.body["unit"] for planned in plan for step in planned.steps
                    if step.action in ("assign", "forward")})
    for code in codes:
        username = unit_user(code)
        if username not in site.users:
            site.users.create(username, ["unit"], demo_password(username), name=Generator(code).name(), unit=code,
                              units=site.units)
            created.append(username)
    return created


def ensure_experts(site, now):
    """A small hearing expert pool (听证专家库) when there is none."""
    if any(expert.active for expert in site.experts.values()):
        return 0
    for name, field, unit, organisation in DEMO_EXPERTS:
        add_expert(site, {"name": name, "field": field, "unit": unit, "organisation": organisation}, "reviewer", now)
    return len(DEMO_EXPERTS)


def hearing_panel(site, case):
    """Three experts of the pool who may sit on the case's hearing (the same ones for the
    same case)."""
    barred = conflicted_units(case)
    pool = sorted((e for e in site.experts.values() if e.active and e.unit not in barred), key=lambda e: e.name)
    if len(pool) < 3:
        return [e.id for e in pool]
    first = case.seq % len(pool)
    return [pool[(first + i) % len(pool)].id for i in range(3)]


def take_step(site, case, step, numbers, today, max_bytes):
    """Take one planned step on the case: file the unit's handling report, or perform the
    workflow action as its user (raises DomainError if the workflow refuses it)."""
    from archive.notices import render
    body = dict(step.body)
    if step.action == FILE_REPORT:
        attachment = body["attachment"]
        intake.file_document(site, case, "handling", "handling_report", body["title"],
                             Upload.from_bytes(attachment.filename, render_pdf(attachment)), by=step.by,
                             text=body["text"], now=step.at, max_bytes=max_bytes)
        return
    for key in ("into", "original"):
        if isinstance(body.get(key), PlannedCase):
            body[key] = numbers.get(id(body[key]), "")
    if body.get("panel") == PANEL:
        body["panel"] = hearing_panel(site, case)
    workflow.perform(site, case, step.action, body, site.users[step.by], render, today=today, now=step.at)


def make_case(site, planned, max_bytes):
    """Register one planned case (and file its evidence). Returns (counts, number, channel,
    None), or (None, None, None, error) if registration refused it. Its workflow steps are
    taken by ``play``."""
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
    return stats, case.number, case.channel, None


def play(site, plan, events, numbers, dead, today, max_bytes):
    """Registrations and steps ``events`` ((time, case index, step index or -1)), in order.
    Returns (registered: [(index, counts, number, channel)], problems: [(index, step, error)]);
    ``numbers`` and ``dead`` are read, not changed (the transaction may be run again)."""
    numbers, dead = dict(numbers), set(dead)
    registered, problems = [], []
    for _at, index, which in events:
        planned = plan[index]
        if index in dead:
            continue
        if which < 0:
            case_stats, number, channel, problem = make_case(site, planned, max_bytes)
            if problem is not None:
                dead.add(index)
                problems.append((index, None, problem))
                continue
            numbers[id(planned)] = number
            registered.append((index, case_stats, number, channel))
            continue
        step = planned.steps[which]
        case = site.cases.by_number(numbers[id(planned)])
        try:
            take_step(site, case, step, numbers, today, max_bytes)
        except DomainError as exc:
            dead.add(index)       # its later steps would make no sense
            problems.append((index, step, exc))
    return registered, problems


def timeline(plan, batch):
    """The registrations and steps of the plan in date order, in chunks of ``batch`` (each
    committed on its own: short transactions, which the search index's worker, writing its
    queue meanwhile, seldom conflicts with). A case is registered at the time it was
    received, so case numbers follow the calendar, and before any of its steps."""
    events = sorted([(planned.received, i, -1) for i, planned in enumerate(plan)] +
                    [(step.at, i, j) for i, planned in enumerate(plan) for j, step in enumerate(planned.steps)])
    return [events[start:start + batch] for start in range(0, len(events), batch)]


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

        generator = Generator(args.seed)
        plan = generator.plan(args.cases)
        today = generator.now.date()
        max_bytes = opened.settings.get("casefiles.max_upload_bytes")
        units, _experts = opened.transact(lambda: (ensure_unit_users(site, plan), ensure_experts(site, generator.now)))
        if units:
            say(t(_("cli_demo_unit_users", default="Accounts of ${n} more responsible units: unit-CODE, password "
                    "demo-unit-CODE-2025 (for example ${example} ${password}).",
                    mapping={"n": len(units), "example": units[0], "password": demo_password(units[0])})))
        stats = collections.Counter()
        channels = collections.Counter()
        failures = []
        numbers = []
        by_plan = {}            # id(planned) -> its case number
        dead = set()            # plan indexes whose registration or a step was refused
        # the search index's worker yields to work in flight (as to requests): it takes what
        # was committed in larger batches, which conflict less often with these short commits
        activity = getattr(getattr(opened.registry, "search_indexer", None), "activity", None)
        busy = activity.working() if activity is not None else contextlib.nullcontext()
        with Progress(len(plan), t(_("cli_demo_progress", default="demo cases"))) as progress, busy:
            for chunk in timeline(plan, args.batch):
                registered, problems = opened.transact(
                    lambda: play(site, plan, chunk, by_plan, dead, today, max_bytes), attempts=CONFLICT_ATTEMPTS)
                for index, case_stats, number, channel in registered:
                    by_plan[id(plan[index])] = number
                    stats.update(case_stats)
                    channels[channel] += 1
                    numbers.append(number)
                for index, step, problem in problems:
                    dead.add(index)
                    failures.append((plan[index], by_plan.get(id(plan[index])), step, problem))
                progress.update(len(registered) + sum(1 for _i, step, _p in problems if step is None))
        made = [site.cases.by_number(number) for number in numbers]
        stats["documents"] = sum(len(list(case.documents())) for case in made)
        stats["routed"] = sum(1 for case in made if case.unit)
        states = collections.Counter(case.status for case in made)
        overdue = sum(1 for case in made if (clocks.next_due(case) or today) < today)

        def mark():
            record = opened.root.get(MARKER)
            if record is None:
                record = opened.root[MARKER] = PersistentMapping()
            record["seed"] = args.seed
            record["cases"] = record.get("cases", 0) + len(numbers)
            record["created"] = datetime.datetime.now().replace(microsecond=0).isoformat()
        opened.transact(mark)
        repeaters = sum(1 for person in site.petitioners.values() if len(person.cases) > 1)
        summary(numbers, stats, channels, failures, repeaters, time.monotonic() - started, states, overdue)
    return EXIT_FAILED if failures else EXIT_OK


def summary(numbers, stats, channels, failures, repeaters, elapsed, states=None, overdue=0):
    say(t(_("cli_demo_summary", default="Made ${n} demo cases (${first} … ${last}) with ${docs} documents "
            "(${pdfs} PDF scans); ${routed} routed to responsible units; ${repeaters} petitioners with "
            "several cases. Time ${time}.",
            mapping={"n": len(numbers), "first": numbers[0] if numbers else "-",
                     "last": numbers[-1] if numbers else "-",
                     "docs": stats["documents"], "pdfs": stats["pdfs"], "routed": stats["routed"],
                     "repeaters": repeaters, "time": f"{elapsed:.1f}s"})))
    say("  " + "  ".join(f"{CHANNELS[c]} {n}" for c, n in channels.most_common()))
    if states:
        say(t(_("cli_demo_states", default="By status: ${states}; ${overdue} overdue.",
                mapping={"states": "  ".join(f"{title} {states[s]}" for s, title in STATUSES.items() if states.get(s)),
                         "overdue": overdue})))
    for planned, number, step, exc in failures[:5]:
        if step is None:
            error(_("cli_demo_failed", default="Could not register \u201c${subject}\u201d:",
                    mapping={"subject": planned.body.get("subject", "")}))
        else:
            action = workflow.ACTIONS[step.action].title if step.action in workflow.ACTIONS else step.action
            error(_("cli_demo_step_failed", default="Could not take the step \u201c${action}\u201d (${on}) on "
                    "${number}:", mapping={"action": action, "on": step.on.isoformat(), "number": number}))
        error(exc.message, exc.fields)


if __name__ == "__main__":
    sys.exit(main())
