"""Hardening of the values that enter at intake and in the workflow, through the real app:
ID numbers typed with other digits than 0-9, dates a datetime cannot hold, text cut or
holding control characters, numbers that are not numbers, due dates far away, and a
channel the form does not offer. Each refusal is a 422 naming the field, and writes nothing."""
import datetime

import pytest

from casefiles import localtime

from .support import PASSWORD, id_number, petition
from .test_api_cases import chinese, error_of, stored_state

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def login(testapp, username):
    testapp.reset()
    form = testapp.get("/login").forms[0]
    form["username"] = username
    form["password"] = PASSWORD
    form.submit(status=303)


def form_post(testapp, channel="letter", status=303, **fields):
    """Post the intake form as the browser does (with its CSRF token), filled for a letter."""
    token = testapp.get(f"/register?channel={channel}").forms["intake-form"]["csrf_token"].value
    body = {"csrf_token": token, "channel": channel, "received_at": "2025-03-01 09:30", "subject": "补偿款未足额发放",
            "content": "请求依法处理。", "district": "平桥区", "primary": "0",
            "petitioners.0.name": "王建国", "petitioners.0.id_number": id_number(1)}
    body.update(fields)
    return testapp.post("/register", body, status=status)


def refused(res, field, status=422):
    body = error_of(res, status)
    assert field in body["fields"], body
    assert chinese(body["message"]) and chinese(body["fields"][field]), body
    return body


def form_error(res, field):
    """The page is the form again (422) with a message for ``field``."""
    assert res.status_int == 422, res.status
    assert f'id="f-{field.replace(".", "-")}-error"' in res.text or field == "channel", res.text[:2000]
    return res


# -- 1. ID numbers with digits other than 0-9 -------------------------------------------------

OTHER_DIGITS = ["4115021975060100¹1", "4¹1502197506010011", "٤١١٥٠٢١٩٧٥٠٦٠١٠٠١١",
                "4115021975060100\u20811", "41150219750601001\u0000"]


@pytest.mark.parametrize("number", OTHER_DIGITS)
def test_an_id_number_with_other_digits_is_422_everywhere(app, var, api, testapp, number):
    clerk = api("clerk")
    before = stored_state(app, var)
    res = clerk.post_json("/api/cases", petition(petitioners=[{"name": "王", "id_number": number}]), status="*")
    refused(res, "petitioners.0.id_number")
    refused(clerk.get("/api/petitioners", params={"id_number": number}, status="*"), "id_number")
    refused(clerk.get("/api/refusal-offers", params={"id_number": number, "district": "平桥区"}, status="*"),
            "id_number")
    login(testapp, "clerk")
    form_error(form_post(testapp, status="*", **{"petitioners.0.id_number": number}), "petitioners.0.id_number")
    assert stored_state(app, var) == before


# -- 2. full-width digits and spaces are the same person --------------------------------------

def test_full_width_and_spaced_id_numbers_are_the_same_petitioner(app, var, api, testapp):
    clerk = api("clerk")
    first = clerk.post_json("/api/cases", petition(), status=201).json
    person = first["petitioners"][0]["id"]
    canonical = id_number(1)
    full = canonical.translate(FULL_WIDTH)
    spaced = " ".join(canonical[i:i + 4] for i in range(0, 18, 4)) + " "
    lower_x = id_number(2)
    assert lower_x[-1] == "X"   # the second of this birth date has the check character X
    for typed in (full, spaced, "\u3000" + full[:9] + "\u3000" + full[9:]):
        case = clerk.post_json("/api/cases", petition(petitioners=[{"name": "王建国", "id_number": typed}]),
                               status=201).json
        assert case["petitioners"][0]["id"] == person, typed
    clerk.post_json("/api/cases", petition(petitioners=[{"name": "李四", "id_number": lower_x}]), status=201)
    again = clerk.post_json("/api/cases", petition(petitioners=[
        {"name": "李四", "id_number": lower_x[:-1].translate(FULL_WIDTH) + "ｘ"}]), status=201).json
    found = clerk.get("/api/petitioners", params={"id_number": lower_x[:-1] + "ｘ"}).json["petitioner"]
    assert found["id"] == again["petitioners"][0]["id"]
    found = clerk.get("/api/petitioners", params={"id_number": full}).json
    assert found["petitioner"]["id"] == person and len(found["cases"]) == 4
    clerk.get("/api/refusal-offers", params={"id_number": full, "district": "平桥区"}, status=200)
    login(testapp, "clerk")
    form_post(testapp, **{"petitioners.0.id_number": spaced.translate(FULL_WIDTH)})
    assert clerk.get("/api/petitioners", params={"id_number": canonical}).json["petitioner"]["id"] == person
    assert stored_state(app, var)["petitioners"] == 2


# -- 3. dates a datetime cannot hold ----------------------------------------------------------

BAD_TIMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-10:00", "0000-01-01", "99999-01-01",
             "2025-03-01garbage", "20250301", "2025-W09-6", "２０２５-03-01"]


def test_extreme_dates_and_offsets_are_422_not_500(app, var, api, testapp):
    clerk = api("clerk")
    before = stored_state(app, var)
    for value in BAD_TIMES:
        res = clerk.post_json("/api/cases", petition(received_at=value), status="*")
        body = refused(res, "received_at")
        assert "有效日期" in body["fields"]["received_at"], body
        source = {"level": "provincial", "mode": "assign", "ref": "豫信转〔2025〕1号", "due": value}
        res = clerk.post_json("/api/cases", petition(channel="transfer", source=source), status="*")
        assert set(refused(res, "source.due")["fields"]) == {"source.due"}, value
    login(testapp, "clerk")
    for value in BAD_TIMES[:2]:
        form_error(form_post(testapp, status="*", received_at=value), "received_at")
        form_error(form_post(testapp, "transfer", status="*", **{
            "source.level": "provincial", "source.mode": "assign", "source.ref": "豫信转〔2025〕1号",
            "source.due": value}), "source.due")
    assert stored_state(app, var) == before


# -- 4. content over its limit ----------------------------------------------------------------

def test_content_over_its_limit_is_refused_not_cut(app, var, api):
    clerk = api("clerk")
    before = stored_state(app, var)
    res = clerk.post_json("/api/cases", petition(content="诉" * 300000), status="*")
    assert "100000" in refused(res, "content")["fields"]["content"]
    for field, value in (("category", "类" * 101), ("visit_place", "地" * 101), ("leader", "领" * 51)):
        res = clerk.post_json("/api/cases", petition(channel="visit", **{field: value}), status="*")
        refused(res, field)
    res = clerk.post_json("/api/cases", petition(petitioners=[{"name": "王" * 51, "id_number": id_number(1)}]),
                          status="*")
    refused(res, "petitioners.0.name")
    assert stored_state(app, var) == before
    case = clerk.post_json("/api/cases", petition(content="诉" * 100000), status=201).json
    assert len(case["content"]) == 100000


# -- 5. group_size is a whole number ----------------------------------------------------------

def test_group_size_must_be_a_whole_number(app, var, api, testapp):
    clerk = api("clerk")
    before = stored_state(app, var)
    for value in ([], True, 1.5, "30", "５", {"n": 3}):
        res = clerk.post_json("/api/cases", petition(channel="visit", group_size=value), status="*")
        refused(res, "group_size")
    login(testapp, "clerk")
    for value in ("1.5", "３０", "-3", "30人"):
        form_error(form_post(testapp, "visit", status="*", group_size=value), "group_size")
    assert stored_state(app, var) == before
    assert clerk.post_json("/api/cases", petition(channel="visit", group_size=30), status=201).json["group_size"] == 30
    assert clerk.post_json("/api/cases", petition(channel="visit", group_size=12.0),
                           status=201).json["group_size"] == 12
    res = form_post(testapp, "visit", group_size="23")
    number = res.location.rsplit("/", 2)[-2]
    assert clerk.get(f"/api/cases/{number}").json["group_size"] == 23


# -- 6. control characters --------------------------------------------------------------------

@pytest.mark.parametrize("field,value", [
    ("subject", "a\u0000b"), ("subject", "拆迁\u001b[31m补偿"), ("content", "第一页\u000c第二页"),
    ("category", "城乡\u0085建设"), ("petitioners.0.name", "王\u0007建国"),
    ("petitioners.0.address", "信阳市\u0000平桥区"), ("accused.person", "张\u0000某"),
])
def test_control_characters_are_refused_naming_the_field(app, var, api, testapp, field, value):
    clerk = api("clerk")
    before = stored_state(app, var)
    body = petition(petition_type="accusation", accused={"unit": None, "person": "张某"})
    if field.startswith("petitioners."):
        body["petitioners"][0][field.rsplit(".", 1)[1]] = value
    elif field.startswith("accused."):
        body["accused"]["person"] = value
    else:
        body[field] = value
    res = clerk.post_json("/api/cases", body, status="*")
    message = refused(res, field)["fields"][field]
    assert "U+" in message
    if field in ("subject", "content", "petitioners.0.name"):
        login(testapp, "clerk")
        form_error(form_post(testapp, status="*", **{field: value}), field)
    assert stored_state(app, var) == before


def test_tabs_and_line_breaks_are_text(api):
    case = api("clerk").post_json("/api/cases", petition(content="第一段\r\n第二段\n\t第三段"), status=201).json
    assert case["content"] == "第一段\r\n第二段\n\t第三段"


# -- 7. workflow dates and numbers ------------------------------------------------------------

def history(client, number):
    case = client.get(f"/api/cases/{number}").json
    return case["status"], len(case["history"]), [d["due"] for d in case["deadlines"]]


def test_workflow_dates_and_numbers_are_strict(api):
    clerk, assigner = api("clerk"), api("assigner")
    number = clerk.post_json("/api/cases", petition(), status=201).json["number"]
    today = localtime.today()
    before = history(clerk, number)
    for body, field in (({"on": "2026-11-25garbage"}, "on"), ({"on": "20250302"}, "on"),
                        ({"on": today.isoformat() + "T00:00"}, "on"), ({"on": "２０２５-03-02"}, "on"),
                        ({"note": "a\u0000b"}, "note")):
        refused(clerk.post_json(f"/api/cases/{number}/actions/accept", body, status="*"), field)
    assert history(clerk, number) == before
    for due in ("9999-12-31", (today + datetime.timedelta(days=366)).isoformat(), "2026-01-01x"):
        res = assigner.post_json(f"/api/cases/{number}/actions/assign", {"unit": "411502", "due": due}, status="*")
        refused(res, "due")
    assert history(clerk, number) == before
    assigner.post_json(f"/api/cases/{number}/actions/accept", {}, status=200)
    before = history(clerk, number)
    for days in ("５", True, 1.5, "1e1", [5]):
        res = assigner.post_json(f"/api/cases/{number}/actions/extend",
                                 {"days": days, "reason": "情况复杂", "approved_by": "局长"}, status="*")
        refused(res, "days")
    assert history(clerk, number) == before
    assigner.post_json(f"/api/cases/{number}/actions/extend", {"days": "5", "reason": "情况复杂", "approved_by": "局长"})
    due = (today + datetime.timedelta(days=365)).isoformat()
    assigner.post_json(f"/api/cases/{number}/actions/assign", {"unit": "411502", "due": due}, status=200)


def test_reception_days_and_transfer_dues_within_bounds(app, var, api):
    clerk = api("clerk")
    today = localtime.today()
    for date in ("9999-12-31", (today + datetime.timedelta(days=400)).isoformat(), "1900-01-01",
                 "2025-04-15garbage", "20250415"):
        refused(clerk.post_json("/api/reception", {"date": date, "leader": "刘强"}, status="*"), "date")
    refused(clerk.post_json("/api/reception", {"date": "2025-04-15", "leader": "刘\u0000强"}, status="*"), "leader")
    refused(clerk.post_json("/api/reception", {"date": "2025-04-15", "leader": "刘强", "note": "注" * 501},
                            status="*"), "note")
    assert clerk.get("/api/reception?from=1900-01-01&to=2100-01-01").json["days"] == []
    before = stored_state(app, var)
    for due in ("2000-01-01", "2025-02-28", "2026-03-02", "9999-12-31"):
        source = {"level": "provincial", "mode": "assign", "ref": "豫信转〔2025〕1号", "due": due}
        res = clerk.post_json("/api/cases", petition(channel="transfer", source=source), status="*")
        refused(res, "source.due")
    assert stored_state(app, var) == before
    source = {"level": "provincial", "mode": "assign", "ref": "豫信转〔2025〕1号", "due": "2025-04-01"}
    case = clerk.post_json("/api/cases", petition(channel="transfer", source=source), status=201).json
    assert case["number"]


# -- 8. a channel the form does not offer -----------------------------------------------------

def test_the_form_refuses_an_unknown_channel(app, var, testapp):
    login(testapp, "clerk")
    before = stored_state(app, var)
    res = form_post(testapp, "bogus", status="*")
    assert res.status_int == 422
    assert "请选择信访渠道" in res.text     # the message beside the (hidden) channel field
    assert stored_state(app, var) == before
