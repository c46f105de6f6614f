"""Resident identity card numbers (居民身份证号, GB 11643-1999).

Eighteen characters: a six-digit region code, the birth date, a sequence and a check
character computed with ISO 7064 MOD 11-2.
"""
import datetime
import re

from .i18n import _
from . import localtime

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_PROVINCES = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44,
              45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91}


def check_char(first17):
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


# what clerks type besides the canonical form: full-width digits and Ｘ/ｘ (a Chinese input
# method's full-width mode) and spaces between the groups; nothing else is converted, so a
# superscript or an Arabic-Indic digit stays and is refused as not a digit
_FULL_WIDTH = {0xFF10 + i: str(i) for i in range(10)}
_FULL_WIDTH.update({0xFF38: "X", 0xFF58: "X"})
_SPACES = re.compile(r"[^\S\x00-\x08\x0a-\x1f\x7f-\x9f]+")   # spaces, not control characters
_CANONICAL = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)


def normalize(value):
    """The canonical form of a typed ID number: ASCII digits and X, no spaces."""
    if not isinstance(value, str):
        value = "" if value is None else str(value)
    return _SPACES.sub("", value.translate(_FULL_WIDTH)).upper()


def id_number_problem(value, today=None):
    """Return None if ``value`` is a valid 18-character ID number, else a message."""
    value = normalize(value)
    if len(value) != 18:
        return _("id_length", default="An ID number has 18 characters.")
    if not _CANONICAL.fullmatch(value):
        return _("id_chars", default="An ID number is 17 digits followed by a digit or X.")
    if int(value[:2]) not in _PROVINCES:
        return _("id_region", default="The ID number's region code does not exist.")
    try:
        born = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return _("id_birthdate", default="The ID number's date of birth is not a real date.")
    today = today or localtime.today()
    if born > today or born.year < 1890:
        return _("id_birthdate_range", default="The ID number's date of birth is impossible.")
    if check_char(value[:17]) != value[17]:
        return _("id_check", default="The ID number's check digit is wrong; please check each digit.")
    return None


def mask(value):
    value = normalize(value)
    if len(value) < 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def make_id_number(region, born, seq):
    """Build a valid ID number (for demo data and tests)."""
    first17 = f"{region:06d}{born:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)
