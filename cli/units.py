"""``casefiles-units CONFIG``: the responsible units as ``CODE<TAB>NAME`` lines."""
import argparse
import sys

from casefiles.i18n import _

from . import EXIT_OK, EXIT_USAGE, add_config_argument, check_config, open_site, run, t


def parser():
    p = argparse.ArgumentParser(
        prog="casefiles-units",
        description=t(_("cli_units_doc", default="List the responsible units as CODE<TAB>NAME lines.")))
    add_config_argument(p)
    p.add_argument("--all", action="store_true",
                   help=t(_("cli_units_all_help", default="also list units that are no longer active")))
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    if not check_config(args.config):
        return EXIT_USAGE

    def body():
        with open_site(args.config) as opened:
            lines = [f"{u.code}\t{u.name}" for u in opened.site.units.values() if args.all or u.active]
        sys.stdout.write("".join(line + "\n" for line in lines))
        sys.stdout.flush()
        return EXIT_OK
    return run(body)


if __name__ == "__main__":
    sys.exit(main())
