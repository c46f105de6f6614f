"""At intake, a clerk who sees in the similar-cases panel that a new item repeats an earlier
case (or belongs to another person's case on the same matter) registers it as such in one
step; a link that the workflow refuses registers nothing."""
import re

from .support import open_site
from .test_ui import fill_common, fill_person, intake_form, login, register_letter


def _register_linked(testapp, link_type, into, status):
    form = intake_form(testapp, "letter")
    fill_common(form)
    fill_person(form)
    form["content"] = "补偿款仍未发放，再次反映。"
    form["link_type"].force_value(link_type)   # what the panel's buttons set
    form["link_into"].force_value(into)
    return form.submit(status=status)


def test_a_new_item_registered_as_a_repeat_is_linked_both_ways(testapp, app):
    login(testapp, "clerk")
    first, _page = register_letter(testapp)
    res = _register_linked(testapp, "repeat", first, 303)
    second = re.search(r"XY-\d{4}-\d{6}", res.location).group(0)
    conn, site = open_site(app)
    try:
        new, old = site.cases.by_number(second), site.cases.by_number(first)
        assert new.status == "merged"
        assert any(n == first for _t, n in new.links)
        assert any(n == second for _t, n in old.links)
    finally:
        conn.close()


def test_a_refused_link_registers_nothing(testapp, app):
    login(testapp, "clerk")
    res = _register_linked(testapp, "repeat", "XY-2025-999999", 422)
    assert 'role="alert"' in res.text   # the refusal is shown on the form
    conn, site = open_site(app)
    try:
        assert site.catalog.query(["role:clerk"])[0] == 0
    finally:
        conn.close()

