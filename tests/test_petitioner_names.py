"""A known ID number under another name: intake refuses it unless the change of name is
confirmed, so a mistyped ID number neither attaches a case to a stranger nor renames that
person on all their cases."""
import re

import lxml.html

from .support import id_number, open_site, petition
from .test_ui import fill_common, fill_person, intake_form, login


def person_on_file(app, number):
    conn, site = open_site(app)
    try:
        person = site.petitioners.by_id_number(number)
        return person.name, person.phone, sorted(person.cases)
    finally:
        conn.close()


def case_count(api):
    return api("clerk").get("/api/cases").json["total"]


def test_another_name_for_a_known_id_number_is_refused_and_changes_nothing(app, api):
    clerk = api("clerk")
    first = clerk.post_json("/api/cases", petition(), status=201).json["number"]
    before = case_count(api)
    other = petition(petitioners=[{"name": "赵文明", "id_number": id_number(1), "phone": "13912345678"}])
    res = clerk.post_json("/api/cases", other, status=422).json
    assert res["error"] == "invalid"
    assert "王建国" in res["fields"]["petitioners.0.name"]
    assert "更名" in res["fields"]["petitioners.0.name"]
    assert case_count(api) == before
    assert person_on_file(app, id_number(1)) == ("王建国", "13800000001", [first])
    shown = clerk.get(f"/api/cases/{first}").json["petitioners"][0]
    assert shown["name"] == "王建国"


def test_the_same_name_updates_the_contact_details(app, api):
    clerk = api("clerk")
    first = clerk.post_json("/api/cases", petition(), status=201).json["number"]
    again = petition(petitioners=[{"name": "王建国", "id_number": id_number(1), "phone": "13912345678"}])
    second = clerk.post_json("/api/cases", again, status=201).json["number"]
    assert person_on_file(app, id_number(1)) == ("王建国", "13912345678", sorted([first, second]))


def test_a_confirmed_change_of_name_renames_the_person(app, api):
    clerk = api("clerk")
    first = clerk.post_json("/api/cases", petition(), status=201).json["number"]
    renamed = petition(petitioners=[{"name": "王建民", "id_number": id_number(1), "rename": True}])
    second = clerk.post_json("/api/cases", renamed, status=201).json["number"]
    name, _phone, cases = person_on_file(app, id_number(1))
    assert name == "王建民" and cases == sorted([first, second])


def test_the_form_offers_the_confirmation_and_registers_once_it_is_ticked(app, api, testapp):
    api("clerk").post_json("/api/cases", petition(), status=201)
    before = case_count(api)
    login(testapp, "clerk")
    form = intake_form(testapp)
    fill_common(form)
    form["content"] = "小区供暖温度长期不达标，请求协调处理。"
    fill_person(form, name="赵文明")
    res = form.submit(status=422)
    html = lxml.html.fromstring(res.text)
    error = html.xpath('//*[@id="petitioners-0-name-error"]') or html.xpath(
        '//input[@name="petitioners.0.name"]/ancestor::div[1]//*[contains(@class,"field-error")]')
    assert error and "王建国" in error[0].text_content()
    assert html.xpath('//input[@name="petitioners.0.rename"]')
    assert case_count(api) == before
    form = res.forms["intake-form"]
    form["petitioners.0.rename"] = True
    res = form.submit(status=303)
    number = re.search(r"XY-\d{4}-\d{6}", res.location).group(0)
    assert person_on_file(app, id_number(1))[0] == "赵文明"
    assert number in person_on_file(app, id_number(1))[2]
