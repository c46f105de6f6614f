"""Responsible units (责任单位): Xinyang's ten districts/counties and the city departments.

Units are data: ``data/units.csv`` is loaded into the site at start and whenever an
administrator reloads it; existing units keep their code and are updated in place.
"""
import csv
import importlib.resources

from persistent import Persistent

from .events import UnitModified, notify
from .folder import Folder

DISTRICTS = ("浉河区", "平桥区", "罗山县", "光山县", "新县", "商城县", "固始县", "潢川县", "淮滨县", "息县")
CITY_LEVEL = "市直"


class Unit(Persistent):
    __name__ = None
    __parent__ = None
    code = ""
    name = ""
    kind = "department"   # district | county | department
    district = ""         # the district a district/county government answers for
    active = True

    def __init__(self, code, name, kind="department", district=""):
        self.code = code
        self.name = name
        self.kind = kind
        self.district = district


class Units(Folder):
    title = "责任单位"

    def by_district(self, district):
        for unit in self.values():
            if unit.district == district:
                return unit
        return None

    def active_units(self):
        return [u for u in self.values() if u.active]


def bundled_units():
    text = importlib.resources.files("casefiles").joinpath("data/units.csv").read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


def load_units(units, rows=None):
    """Add or update units from rows of code/name/kind/district. Returns (added, updated)."""
    added = updated = 0
    for row in rows if rows is not None else bundled_units():
        code = row["code"].strip()
        existing = units.get(code)
        if existing is None:
            units.add(code, Unit(code, row["name"].strip(), row.get("kind") or "department",
                                 (row.get("district") or "").strip()))
            added += 1
        elif (existing.name, existing.kind, existing.district) != (
                row["name"].strip(), row.get("kind") or "department", (row.get("district") or "").strip()):
            renamed = existing.name != row["name"].strip()
            existing.name = row["name"].strip()
            existing.kind = row.get("kind") or "department"
            existing.district = (row.get("district") or "").strip()
            updated += 1
            notify(UnitModified(existing, ("name",) if renamed else ()))
    return added, updated
