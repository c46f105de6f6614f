"""Resident ID numbers (GB 11643-1999): check digit, birth date, region; masking."""
import datetime

import pytest

from casefiles.idnumber import check_char, id_number_problem, make_id_number, mask, normalize

TODAY = datetime.date(2026, 6, 1)

VALID = [
    "11010519491231002X",      # the standard's own example (Beijing, check character X)
    "411502197506010011",      # 浉河区
    "411528198802291231",      # 息县, born on a leap day
    "411503200001015678",      # 平桥区
    "650102199508153017",      # Xinjiang
    "810000198001010014",      # Hong Kong residence permit (81)
    "41150219750601002X",
    "41150219750601002x",      # lower-case x is accepted and normalised
    " 411502 19750601 0011 ",  # spaces as people type them
]

INVALID = [
    ("411502197506010012", "id_check"),        # check digit off by one
    ("11010519491231002Y", "id_chars"),        # not a digit or X
    ("110105194912310021", "id_check"),        # X replaced by a digit
    ("41150219750601001", "id_length"),        # 17 characters
    ("4115021975060100111", "id_length"),      # 19 characters
    ("", "id_length"),
    ("41150219750601O011", "id_chars"),        # letter O instead of zero
    ("4115021975X6010011", "id_chars"),
    ("001502197506010011", "id_region"),       # no province 00
    ("991502197506010011", "id_region"),       # no province 99
    ("411502197502300011", "id_birthdate"),    # 30 February
    ("411502197513010011", "id_birthdate"),    # month 13
    ("411502197500010011", "id_birthdate"),    # month 0
    ("411502198902290011", "id_birthdate"),    # 1989 is not a leap year
    ("411502203001010011", "id_birthdate_range"),   # born in the future
    ("411502188001010011", "id_birthdate_range"),   # born before 1890
]


@pytest.mark.parametrize("value", VALID)
def test_valid_numbers(value):
    assert id_number_problem(value, today=TODAY) is None


@pytest.mark.parametrize("value,problem", INVALID)
def test_invalid_numbers_name_the_problem(value, problem):
    message = id_number_problem(value, today=TODAY)
    assert message is not None
    assert str(message) == problem   # the message id; the text is translated by the web layer
    assert message.default            # and it has an English default


def test_every_wrong_check_character_is_caught():
    first17 = "41150219750601001"
    right = check_char(first17)
    assert right == "1"
    for ch in "0123456789X":
        expected = None if ch == right else "id_check"
        problem = id_number_problem(first17 + ch, today=TODAY)
        assert (problem if problem is None else str(problem)) == expected, ch


def test_a_transposition_of_digits_is_caught():
    good = "411528198802291231"
    swapped = good[:14] + good[15] + good[14] + good[16:]
    assert swapped != good
    assert str(id_number_problem(swapped, today=TODAY)) == "id_check"


def test_make_id_number_builds_valid_numbers():
    seen = set()
    for seq in range(1, 200):
        value = make_id_number(411502, datetime.date(1975, 6, 1), seq)
        assert len(value) == 18 and id_number_problem(value, today=TODAY) is None
        seen.add(value)
    assert len(seen) == 199
    assert make_id_number(110105, datetime.date(1949, 12, 31), 2) == "11010519491231002X"


def test_normalize():
    assert normalize(" 41150219750601002x ") == "41150219750601002X"
    assert normalize(None) == ""


def test_mask_hides_the_middle():
    assert mask("11010519491231002X") == "1101**********002X"
    assert mask("41150219750601002x") == "4115**********002X"
    assert len(mask("411502197506010011")) == 18
    assert mask("1234567") == "*******"
    assert mask("") == ""
    # the birth date never shows
    assert "1975" not in mask("411502197506010011") and "0601" not in mask("411502197506010011")
