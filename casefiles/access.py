"""Changes of who may open a case. One function changes a case's access, so the catalog
(and, through the catalog, every list) follows."""
from .errors import ValidationError
from .events import AccessChanged, notify
from .i18n import _


def route_to_unit(site, case, unit_code):
    """Route a case to a responsible unit: that unit's users may then open and file into it."""
    if unit_code is not None and unit_code not in site.units:
        raise ValidationError(_("unit_unknown", default="No responsible unit has code ${code}.",
                                mapping={"code": unit_code}), {"unit": unit_code})
    case.unit = unit_code
    site.catalog.reindex(case)
    notify(AccessChanged(case))
    return case
