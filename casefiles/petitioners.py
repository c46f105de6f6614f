"""The petitioner registry, shared across cases.

The same person across cases is one record, found by ID number, so a clerk sees their
history. Petitioners without an ID number (online, phone, anonymous) get a record of their
own per case.
"""
import uuid

from BTrees.OOBTree import OOBTree
from persistent import Persistent

from .events import PetitionerModified, notify
from .folder import Folder
from .idnumber import mask, normalize


class Petitioner(Persistent):
    __name__ = None
    __parent__ = None
    id = ""
    name = ""
    id_number = ""
    phone = ""
    address = ""
    anonymous = False
    # The numbers of the person's cases, sorted: a tuple kept in the record (records from
    # before hold an OOTreeSet), so registering a new person's case stores the person only.
    cases = ()

    def __init__(self, name, id_number="", phone="", address="", anonymous=False):
        self.id = uuid.uuid4().hex
        self.name = name
        self.id_number = normalize(id_number)
        self.phone = phone
        self.address = address
        self.anonymous = anonymous
        self.cases = ()

    def add_case(self, number):
        if isinstance(self.cases, tuple):
            if number not in self.cases:
                self.cases = tuple(sorted(self.cases + (number,)))
        else:
            self.cases.add(number)

    def remove_case(self, number):
        if isinstance(self.cases, tuple):
            self.cases = tuple(n for n in self.cases if n != number)
        elif number in self.cases:
            self.cases.remove(number)

    @property
    def display_name(self):
        return "匿名" if self.anonymous else self.name

    @property
    def masked_id(self):
        return mask(self.id_number) if self.id_number else ""

    @property
    def masked_phone(self):
        p = self.phone or ""
        return p[:3] + "*" * max(0, len(p) - 7) + p[-4:] if len(p) >= 7 else p


class Petitioners(Folder):
    title = "信访人"
    counted = False     # a new person at nearly every registration; nothing shows how many
    _by_id_number = None

    def by_id_number(self, id_number):
        if not id_number or self._by_id_number is None:
            return None
        key = self._by_id_number.get(normalize(id_number))
        return self.get(key) if key else None

    def register(self, name, id_number="", phone="", address="", anonymous=False, rename=False):
        """Find the person by ID number or add them. The phone and address become the latest
        given. The name changes only when the record has none or ``rename`` confirms a change of
        name: a different name with a known ID number is most often a mistyped ID number, which
        would attach the case to a stranger and rename that person on all their cases (intake
        refuses it, ``name_conflicts``)."""
        existing = self.by_id_number(id_number)
        if existing is not None:
            changed = []
            if name and name != existing.name and (rename or not existing.name):
                existing.name = name
                changed.append("name")
            if phone and phone != existing.phone:
                existing.phone = phone
                changed.append("phone")
            if address and address != existing.address:
                existing.address = address
                changed.append("address")
            if changed:
                notify(PetitionerModified(existing, changed))
            return existing
        person = Petitioner(name, id_number, phone, address, anonymous)
        self.add(person.id, person)
        if person.id_number:
            if self._by_id_number is None:
                self._by_id_number = OOBTree()
            self._by_id_number[person.id_number] = person.id
        return person


def name_conflicts(registry, people):
    """{row: name on file} for each entered person whose valid ID number is already on file
    under a different name, unless the row confirms a change of name (``rename``)."""
    conflicts = {}
    for person in people:
        if person.get("rename") or not person.get("id_number") or not person.get("name"):
            continue
        existing = registry.by_id_number(person["id_number"])
        if existing is not None and existing.name and existing.name != person["name"]:
            conflicts[person.get("row", 0)] = existing.name
    return conflicts

