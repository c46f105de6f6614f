"""The hearing expert pool (听证专家库) of the review committee.

An expert has a name, a field and the unit they work for (a responsible unit's code, or
an outside organisation). A hearing panel is drawn from the pool; an expert from the case's
responsible unit (or from the unit the petition accuses) cannot sit on that case.
"""
import uuid

from persistent import Persistent

from .errors import ValidationError
from .folder import Folder
from .i18n import _

MIN_PANEL = 3
MAX_PANEL = 9


class Expert(Persistent):
    __name__ = None
    __parent__ = None
    id = ""
    name = ""
    field = ""
    unit = None           # a responsible unit's code, or None
    organisation = ""     # where an expert from outside the units works
    phone = ""
    active = True
    added_by = ""
    added_at = None

    def __init__(self, name, field, unit=None, organisation="", phone="", added_by="", added_at=None):
        self.id = uuid.uuid4().hex[:12]
        self.name = name
        self.field = field
        self.unit = unit
        self.organisation = organisation
        self.phone = phone
        self.added_by = added_by
        self.added_at = added_at


class Experts(Folder):
    title = "听证专家库"

    def active_experts(self):
        return sorted((e for e in self.values() if e.active), key=lambda e: (e.field, e.name))


def _text(data, key, fields, limit, required=False):
    value = data.get(key)
    if value is None:
        value = ""
    if not isinstance(value, str):
        fields[key] = _("text_expected", default="This field takes text.")
        return ""
    value = value.strip()
    if required and not value:
        fields[key] = _("wf_required", default="Required.")
    elif len(value) > limit:
        fields[key] = _("wf_too_long", default="At most ${n} characters.", mapping={"n": limit})
    return value


def add_expert(site, data, by, now):
    """Validate ``{"name","field","unit","organisation","phone"}`` and add the expert."""
    if not isinstance(data, dict):
        raise ValidationError(_("body_object", default="The request body must be an object."), {})
    fields = {}
    name = _text(data, "name", fields, 50, required=True)
    field = _text(data, "field", fields, 100, required=True)
    unit = _text(data, "unit", fields, 100)
    organisation = _text(data, "organisation", fields, 100)
    phone = _text(data, "phone", fields, 30)
    code = None
    if unit:
        if unit in site.units:
            code = unit
        else:
            match = [u.code for u in site.units.values() if u.name == unit]
            if match:
                code = match[0]
            elif not organisation:
                organisation = unit   # an outside organisation named in the unit field
    if not code and not organisation and "unit" not in fields:
        fields["unit"] = _("expert_unit_required", default="Enter the expert's unit or organisation.")
    if fields:
        raise ValidationError(_("expert_invalid", default="The expert cannot be added: please correct the marked "
                                "fields."), fields)
    expert = Expert(name, field, code, organisation, phone, by, now)
    site.experts.add(expert.id, expert)
    return expert


def conflicted_units(case):
    return {u for u in (case.unit, getattr(case, "accused_unit", None)) if u}


def eligible(site, case):
    """The active experts who may sit on a hearing of ``case``."""
    barred = conflicted_units(case)
    return [e for e in site.experts.active_experts() if e.unit not in barred]


def check_panel(site, case, ids):
    """The experts named by ``ids``; ValidationError naming the field ``panel`` otherwise."""
    if not isinstance(ids, (list, tuple)) or not all(isinstance(i, str) for i in ids):
        raise ValidationError(_("panel_list", default="The panel is a list of expert ids."),
                              {"panel": _("panel_list", default="The panel is a list of expert ids.")})
    ids = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
    barred = conflicted_units(case)
    problems = []
    experts = []
    for expert_id in ids:
        expert = site.experts.get(expert_id)
        if expert is None or not expert.active:
            problems.append(_("panel_unknown", default="There is no expert with id ${id}.", mapping={"id": expert_id}))
        elif expert.unit in barred:
            unit = site.units.get(expert.unit)
            problems.append(_("panel_conflict", default="${name} works for ${unit}, the unit responsible for (or "
                              "accused in) this case, and cannot sit on its hearing.",
                              mapping={"name": expert.name, "unit": unit.name if unit else expert.unit}))
        else:
            experts.append(expert)
    if not problems and not MIN_PANEL <= len(experts) <= MAX_PANEL:
        problems.append(_("panel_size", default="A hearing panel has ${low} to ${high} experts.",
                          mapping={"low": MIN_PANEL, "high": MAX_PANEL}))
    if problems:
        raise ValidationError(problems[0], {"panel": problems[0]})
    return experts
