"""Who sees petitioners' ID and phone numbers: the one masking policy of the system.

- Intake and contact work needs full identity: the clerks (收登) and the assigners (交办)
  always see ID numbers and phones in full.
- Users with the ``REVEAL`` permission on a case (supervisor, reviewer, auditor, the
  administrator, and a unit user on a case routed to its unit) see them masked
  (``4113**********1234``) until they reveal that case's petitioners, giving a purpose; the
  reveal is recorded in the audit trail and lasts a short while (``REVEAL_SECONDS``) in the
  browser session, or answers one API call.
- Everyone else (the analysts, units on other cases) sees them masked, always.

Free text is masked too where it is shown to a masked reader beside search results (ID and
mobile numbers inside a letter's text): ``mask_text``.

Where the masking applies, and where deliberately not:
- case page, case JSON, search hits and their snippets, the document hit page: masked per
  this policy;
- the petitioner look-up (``LOOKUP``): the ID number the user typed is returned as typed,
  the phone per this policy;
- the closing dossier PDF (卷宗) prints only petitioners' names on its cover and the
  documents as they were filed (the record): it carries no ID/phone field;
- the archival package (SIP) keeps full identity in its metadata XML because it is the
  archival record of the case: only users who see or may reveal the numbers download it
  (``views.archive_views``), and the download is recorded in the audit trail;
- filed documents (letters, scans, transcripts) are shown and downloaded as filed: they are
  the record and their original bytes cannot be masked; their text is masked only inside
  search snippets and the search-hit page.
"""
import re

from .idnumber import mask
from .security import REVEAL

FULL_IDENTITY_ROLES = ("clerk", "assigner")
PURPOSE_MAX = 200
REVEAL_SECONDS = 15 * 60

_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])([1-9]\d{5})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def full_identity(user):
    """Whether the user's work needs the full numbers on every case."""
    return user is not None and user.has_role(*FULL_IDENTITY_ROLES)


def may_reveal(user, permits, case):
    """Whether the user may reveal this case's petitioners (``permits(permission, context)``
    answers from the ACLs)."""
    if user is None or case is None:
        return False
    return full_identity(user) or bool(permits(REVEAL, case))


def masked_phone(phone):
    digits = (phone or "").strip()
    if not digits:
        return ""
    if len(digits) <= 4:
        return "*" * len(digits)
    keep = 3 if len(digits) >= 11 else 2
    return digits[:keep] + "*" * (len(digits) - keep - 4) + digits[-4:]


def mask_text(text):
    """``text`` with ID numbers and mobile numbers in it masked."""
    if not text:
        return text
    text = _ID_IN_TEXT.sub(lambda m: mask(m.group(0)), text)
    return _MOBILE_IN_TEXT.sub(lambda m: m.group(1) + "****" + m.group(3), text)


def check_purpose(purpose):
    """The cleaned purpose of a reveal, or raise ValidationError."""
    from .errors import ValidationError
    from .i18n import _
    purpose = " ".join(purpose.split()) if isinstance(purpose, str) else ""
    if not purpose:
        message = _("reveal_purpose_required", default="State why you need the full ID and phone numbers.")
        raise ValidationError(message, {"purpose": message})
    if len(purpose) > PURPOSE_MAX:
        message = _("reveal_purpose_long", default="The purpose is at most ${n} characters.",
                    mapping={"n": PURPOSE_MAX})
        raise ValidationError(message, {"purpose": message})
    return purpose


class Identity:
    """How one user sees petitioners on one case (``revealed``: after a reveal)."""

    def __init__(self, user, permits, case=None, revealed=False):
        self.full = full_identity(user) or (revealed and may_reveal(user, permits, case))
        self.can_reveal = not full_identity(user) and may_reveal(user, permits, case)
        self.revealed = bool(revealed and self.full and not full_identity(user))

    def id_number(self, person):
        if not person.id_number:
            return ""
        return person.id_number if self.full else mask(person.id_number)

    def phone(self, person):
        return (person.phone or "") if self.full else masked_phone(person.phone)

    def text(self, text):
        return text if self.full else mask_text(text)
