"""The UI speaks Chinese: every message in the code has a zh_CN translation, and the
compiled catalog the app loads is the one the .po file describes."""
import gettext
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_message_has_a_chinese_translation():
    result = subprocess.run([sys.executable, "scripts/i18n.py", "--check"], cwd=HERE, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout


def test_compiled_catalog_matches_po():
    from babel.messages.pofile import read_po
    with open(os.path.join(HERE, "views/locale/zh_CN/LC_MESSAGES/casefiles.po"), "rb") as f:
        catalog = read_po(f)
    mo = gettext.translation("casefiles", os.path.join(HERE, "views/locale"), languages=["zh_CN"])
    for message in catalog:
        if message.id and message.string and not message.pluralizable:
            assert mo.gettext(message.id) == message.string, message.id
