"""``casefiles-adduser CONFIG USERNAME --role ROLE [--role …] [--unit CODE] [--name 显示名]``

Creates a user. The password is read from standard input (one line), or asked for twice
when standard input is a terminal, so it never appears in the shell history or ``ps``.
"""
import argparse
import getpass
import sys

import transaction

from casefiles.errors import ValidationError
from casefiles.i18n import _
from casefiles.security import ROLES, ROLE_TITLES

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_config_argument, check_config, error, open_site, run, say, t


def parser():
    p = argparse.ArgumentParser(
        prog="casefiles-adduser",
        description=t(_("cli_adduser_doc", default="Create a user; the password is read from standard input.")))
    add_config_argument(p)
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--role", action="append", default=[], metavar="ROLE",
                   help=t(_("cli_role_help", default="a role (repeat for several): ${roles}",
                            mapping={"roles": " ".join(ROLES)})))
    p.add_argument("--unit", metavar="CODE",
                   help=t(_("cli_unit_help", default="the responsible unit of a unit user (see casefiles-units)")))
    p.add_argument("--name", default="", help=t(_("cli_name_help", default="the name shown in the UI")))
    return p


def read_password(stdin=None):
    """One line from standard input, or asked twice on a terminal. None if they differ."""
    stdin = stdin or sys.stdin
    if stdin.isatty():
        first = getpass.getpass(t(_("cli_password_prompt", default="Password: ")))
        second = getpass.getpass(t(_("cli_password_again", default="Password again: ")))
        return first if first == second else None
    line = stdin.readline()
    return line.rstrip("\r\n")


def main(argv=None):
    args = parser().parse_args(argv)
    if not check_config(args.config):
        return EXIT_USAGE
    bad = [r for r in args.role if r not in ROLES]
    if not args.role or bad:
        error(_("role_bad", default="Roles are: ${roles}.", mapping={"roles": " ".join(ROLES)}))
        return EXIT_USAGE
    password = read_password()
    if password is None:
        error(_("cli_password_mismatch", default="The two passwords differ."))
        return EXIT_USAGE

    def body():
        with open_site(args.config) as opened:
            site = opened.site
            try:
                user = opened.transact(lambda: site.users.create(args.username, args.role, password,
                                                                 name=args.name.strip(), unit=args.unit,
                                                                 units=site.units))
            except ValidationError as exc:
                error(exc.message, exc.fields)
                return EXIT_USAGE
            except transaction.interfaces.TransientError:
                error(_("cli_retry", default="The database was busy; please try again."))
                return EXIT_FAILED
            opened.audit("user.create", detail={"username": user.username, "roles": list(user.roles),
                                                "unit": user.unit})
            roles = "、".join(ROLE_TITLES.get(r, r) for r in user.roles)
            unit = site.units.get(user.unit) if user.unit else None
            say(t(_("cli_user_created", default="Created user ${username} (${roles})${unit}.",
                    mapping={"username": user.username, "roles": roles,
                             "unit": f" — {unit.code} {unit.name}" if unit else ""})))
        return EXIT_OK
    return run(body)


if __name__ == "__main__":
    sys.exit(main())
