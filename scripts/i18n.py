"""Keep the zh_CN catalog in step with the code.

    python scripts/i18n.py           extract every message, merge into the .po, compile the .mo
    python scripts/i18n.py --check   exit 1 listing messages without a Chinese translation
    python scripts/i18n.py --fill F  add translations from F (lines "msgid<TAB>中文"), then as above

Domain messages are ids with an English default (``_("id_check", default="...")``); the
extracted catalog carries the default as a comment so a translator sees the meaning.
"""
import io
import os
import subprocess
import sys

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCALE_DIR = os.path.join(HERE, "views", "locale")
DOMAIN = "casefiles"
PO = os.path.join(LOCALE_DIR, "zh_CN", "LC_MESSAGES", f"{DOMAIN}.po")
MO = PO[:-3] + ".mo"
POT = os.path.join(LOCALE_DIR, f"{DOMAIN}.pot")
SOURCES = ("casefiles", "views", "indexing", "archive", "cli", "templates")


def extract():
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-k", "_", "--no-location", "--sort-output", "-o", POT, "--project", "casefiles",
                    "--omit-header", *SOURCES], cwd=HERE, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(POT, "rb") as f:
        template = read_po(f)
    defaults = source_defaults()
    for message in template:
        if message.id in defaults:
            message.auto_comments = [defaults[message.id]]
    return template


def source_defaults():
    """msgid -> English default of every ``_("id", default="...")`` in the Python sources."""
    import ast
    out = {}
    for top in ("casefiles", "views", "indexing", "archive", "cli"):
        for folder, _dirs, files in os.walk(os.path.join(HERE, top)):
            for name in files:
                if not name.endswith(".py"):
                    continue
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    tree = ast.parse(f.read())
                for node in ast.walk(tree):
                    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_" and node.args \
                            and isinstance(node.args[0], ast.Constant):
                        for kw in node.keywords:
                            if kw.arg == "default" and isinstance(kw.value, ast.Constant):
                                out[node.args[0].value] = kw.value.value
    return out


def load_po():
    if not os.path.exists(PO):
        return Catalog(locale="zh_CN", domain=DOMAIN)
    with open(PO, "rb") as f:
        return read_po(f, locale="zh_CN")


def save(catalog):
    os.makedirs(os.path.dirname(PO), exist_ok=True)
    with open(PO, "wb") as f:
        write_po(f, catalog, omit_header=False, no_location=True, sort_output=True, width=0)
    compile_mo(catalog)


def compile_mo(catalog):
    buf = io.BytesIO()
    write_mo(buf, catalog)
    with open(MO, "wb") as f:
        f.write(buf.getvalue())


def untranslated(catalog, template):
    missing = []
    for message in template:
        if not message.id:
            continue
        have = catalog.get(message.id)
        if have is None or not have.string:
            missing.append(message.id)
    return missing


def main(argv=None):
    argv = argv if argv is not None else sys.argv[1:]
    template = extract()
    catalog = load_po()
    if "--check" in argv:
        missing = untranslated(catalog, template)
        for msgid in missing:
            print(f"untranslated: {msgid}")
        return 1 if missing else 0
    if "--fill" in argv:
        with open(argv[argv.index("--fill") + 1], encoding="utf-8") as f:
            for line in f:
                if "\t" in line.rstrip("\n"):
                    msgid, text = line.rstrip("\n").split("\t", 1)
                    msgid = msgid.replace("\\n", "\n")
                    if catalog.get(msgid) is None:
                        catalog.add(msgid, text)
                    else:
                        catalog.get(msgid).string = text
    catalog.update(template, no_fuzzy_matching=True)
    save(catalog)
    missing = untranslated(catalog, template)
    print(f"{len(template)} messages, {len(missing)} without a translation")
    for msgid in missing:
        print(f"  {msgid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
