"""Search hardening: the total and the hits shown agree for every sort, page and role; a
petitioner's phone or ID number finds cases only for users who see the numbers in full
(casefiles.privacy); saved searches give their time in Asia/Shanghai with the offset."""
import datetime
import time

import lxml.html
import pytest

from casefiles.access import route_to_unit
from casefiles.localtime import SHANGHAI

from .support import change, id_number, open_site, petition

PHONE_A = "15198932519"
PHONE_B = "13912345678"
SORTS = ("relevance", "newest", "oldest")
FULL_ROLES = ("clerk", "assigner")
MASKED_ROLES = ("supervisor", "analyst", "reviewer", "unit", "auditor", "admin")
WITHHELD = "按身份证号或电话号码检索仅限可查看完整号码的用户；检索中的这些部分未匹配任何结果。"


def register(client, **overrides):
    return client.post_json("/api/cases", petition(**overrides), status=201).json["number"]


def search(client, q, expect=200, **params):
    return client.get("/api/search", params=dict(params, q=q), status=expect).json


def all_pages(client, q, sort, size=2, **params):
    """Every page of a search, asserting on each that the total is what the pages show:
    (the total, the (number, document) hits in order)."""
    totals, hits, page = set(), [], 1
    while True:
        result = search(client, q, sort=sort, size=size, page=page, **params)
        totals.add(result["total"])
        assert len(result["hits"]) <= size
        if len(result["hits"]) < size:
            hits.extend((h["number"], h["document"]) for h in result["hits"])
            assert result["total"] == len(hits), (q, sort, page, result["total"], hits)
            break
        hits.extend((h["number"], h["document"]) for h in result["hits"])
        page += 1
    assert len(totals) == 1, totals
    assert len(set(hits)) == len(hits), "a hit shown on two pages"
    return totals.pop(), hits


def cases_of(hits):
    return sorted(number for number, document in hits if document is None)


@pytest.fixture
def phones(api, app):
    clerk = api("clerk")
    numbers = {
        "a1": register(clerk, subject="小区路灯损坏无人维修", content="路灯坏了三个月。",
                       received_at="2025-01-10T10:00:00",
                       petitioners=[{"name": "赵敏", "id_number": id_number(11), "phone": PHONE_A}]),
        "b1": register(clerk, subject="拆迁补偿款未足额发放", content="补偿款至今未发放。",
                       received_at="2025-02-10T10:00:00",
                       petitioners=[{"name": "钱进", "id_number": id_number(12), "phone": PHONE_B}]),
        "b2": register(clerk, subject="工地夜间施工噪音扰民", content="每晚施工到十二点。",
                       received_at="2025-03-10T10:00:00",
                       petitioners=[{"name": "钱进", "id_number": id_number(12), "phone": PHONE_B}]),
        "b3": register(clerk, subject="物业费收费过高", content="物业公司多收物业费。",
                       received_at="2025-04-10T10:00:00",
                       petitioners=[{"name": "钱进", "id_number": id_number(12), "phone": "139-1234-5678"}]),
        # the number only in the letter's text, not as a petitioner's phone
        "text": register(clerk, subject="反映供暖不热", content=f"联系电话{PHONE_B}，请回电。",
                         received_at="2025-05-10T10:00:00",
                         petitioners=[{"name": "孙丽", "id_number": id_number(13), "phone": "13700000013"}]),
        "other": register(clerk, subject="道路积水", content="下雨积水严重。",
                          received_at="2025-06-10T10:00:00",
                          petitioners=[{"name": "李雷", "id_number": id_number(14), "phone": "0376-6221234"}]),
    }
    conn, site = open_site(app)
    with conn.transaction_manager:      # the unit user may open a1 and b1
        route_to_unit(site, site.cases.by_number(numbers["a1"]), "411502")
        route_to_unit(site, site.cases.by_number(numbers["b1"]), "411502")
    conn.close()
    return numbers


def test_a_phone_number_finds_its_cases_on_every_sort_and_page(api, phones):
    b_all = sorted([phones["b1"], phones["b2"], phones["b3"], phones["text"]])
    for role in FULL_ROLES:
        client = api(role)
        for sort in SORTS:
            total, hits = all_pages(client, PHONE_A, sort)
            assert cases_of(hits) == [phones["a1"]] and total == len(hits) == 1, sort
            total, hits = all_pages(client, PHONE_B, sort)
            assert cases_of(hits) == b_all, sort
            assert total == len(hits) == 5     # the four cases and the letter holding the number
            # the same number with dashes or spaces, quoted
            assert cases_of(all_pages(client, "139-1234-5678", sort)[1]) == b_all, sort
            assert cases_of(all_pages(client, '"139 1234 5678"', sort)[1]) == b_all, sort
            assert cases_of(all_pages(client, f'"{PHONE_B}"', sort)[1]) == b_all, sort
            # a landline as typed or without its dash
            assert cases_of(all_pages(client, "0376-6221234", sort)[1]) == [phones["other"]], sort
            assert cases_of(all_pages(client, "phone:03766221234", sort)[1]) == [phones["other"]], sort
            # with other words, on one side of an OR, beside a filter
            assert cases_of(all_pages(client, f"{PHONE_B} OR 路灯", sort)[1]) == sorted(b_all + [phones["a1"]])
            assert cases_of(all_pages(client, f"{PHONE_B} 噪音", sort)[1]) == [phones["b2"]], sort
            assert cases_of(all_pages(client, f"phone:{PHONE_B} OR 积水", sort)[1]) == \
                sorted([phones["b1"], phones["b2"], phones["b3"], phones["other"]]), sort
            assert cases_of(all_pages(client, PHONE_B, sort, type="case")[1]) == b_all, sort
            # ID numbers, case numbers and date ranges on one side of an OR
            assert cases_of(all_pages(client, f"{id_number(12)} OR 路灯", sort)[1]) == \
                sorted([phones["a1"], phones["b1"], phones["b2"], phones["b3"]]), sort
            assert cases_of(all_pages(client, f"id:{id_number(11)} OR 积水", sort)[1]) == \
                sorted([phones["a1"], phones["other"]]), sort
            assert cases_of(all_pages(client, f"{phones['other']} OR 路灯", sort)[1]) == \
                sorted([phones["a1"], phones["other"]]), sort
            assert cases_of(all_pages(client, "路灯 OR 2025-06..2025-06", sort, type="case")[1]) == \
                sorted([phones["a1"], phones["other"]]), sort
            # a name, and digits run into Chinese words (the letter's text)
            assert cases_of(all_pages(client, "钱进", sort)[1]) == \
                sorted([phones["b1"], phones["b2"], phones["b3"]]), sort
            assert cases_of(all_pages(client, f"联系电话{PHONE_B}", sort)[1]) == [phones["text"]], sort


@pytest.mark.parametrize("role", MASKED_ROLES)
def test_who_sees_numbers_masked_cannot_find_cases_by_them(api, phones, role):
    client = api(role)
    for sort in SORTS:
        for q in (PHONE_A, PHONE_B, "139-1234-5678", f'"{PHONE_B}"', '"139 1234 5678"', f"phone:{PHONE_B}",
                  f"电话:{PHONE_A}", "phone:03766221234", id_number(12), f"id:{id_number(11)}",
                  f"身份证:{id_number(12)}", f"钱进 {PHONE_B}", f"联系电话{PHONE_B}", f"{PHONE_B} 噪音"):
            result = search(client, q, sort=sort)
            assert result["total"] == 0 and result["hits"] == [], (role, q, sort)
            assert all(not counts for counts in result["facets"].values()), (role, q)
            assert result.get("notice") == WITHHELD, (role, q)
        # the rest of the search still works, and the number excludes nothing either
        visible = cases_of(all_pages(client, "路灯", sort)[1])
        assert cases_of(all_pages(client, f"{PHONE_B} OR 路灯", sort)[1]) == visible
        assert cases_of(all_pages(client, f"路灯 -{PHONE_A}", sort)[1]) == visible
        assert cases_of(all_pages(client, f"路灯 -id:{id_number(11)}", sort)[1]) == visible
    assert visible == [phones["a1"]]
    assert "notice" not in search(client, "路灯")
    if role != "unit":      # (the unit may open a1 and b1 only)
        assert cases_of(all_pages(client, "积水", "newest")[1]) == [phones["other"]]
        assert search(client, "0376-6221234")["total"] == 0       # a petitioner's landline, not in any text
    # nor does the intake panel find earlier cases by an ID number for them
    similar = client.get("/api/similar", params={"id_number": id_number(12)}).json
    assert similar["candidates"] == []


def test_the_full_roles_find_by_id_number_in_the_intake_panel(api, phones):
    similar = api("clerk").get("/api/similar", params={"id_number": id_number(12)}).json
    assert sorted(c["number"] for c in similar["candidates"]) == sorted([phones["b1"], phones["b2"], phones["b3"]])


def test_the_document_hit_page_marks_a_number_only_for_who_sees_it(api, testapp, phones):
    from .test_search import login
    letter = next(h for h in search(api("clerk"), "供暖")["hits"] if h["document"])
    url = letter["url"].replace("http://localhost:6543", "").split("?")[0]
    login(testapp, "clerk")
    doc = lxml.html.fromstring(testapp.get(url, params={"q": PHONE_B}).text)
    assert doc.xpath('//div[contains(@class,"marked-text")]//mark')
    login(testapp, "analyst")
    res = testapp.get(url, params={"q": PHONE_B})
    assert not lxml.html.fromstring(res.text).xpath('//div[contains(@class,"marked-text")]//mark')


def test_the_search_page_shows_the_hits_it_counts(api, testapp, phones):
    from .test_search import login
    login(testapp, "clerk")
    for sort in SORTS:
        res = testapp.get("/search", params={"q": PHONE_B, "sort": sort})
        doc = lxml.html.fromstring(res.text)
        assert "共 5 条结果" in res.text and "没有找到结果" not in res.text
        assert len(doc.xpath('//li[contains(@class,"hit")]')) == 5
        assert not doc.xpath('//*[contains(@class,"search-notice")]')
    login(testapp, "analyst")
    res = testapp.get("/search", params={"q": PHONE_B})
    doc = lxml.html.fromstring(res.text)
    assert "共 0 条结果" in res.text and not doc.xpath('//li[contains(@class,"hit")]')
    assert "仅限可查看完整号码的用户" in doc.xpath('//*[contains(@class,"search-notice")]')[0].text_content()


def test_saved_searches_give_their_time_in_shanghai_with_the_offset(api, app, monkeypatch):
    clerk = api("clerk")
    before = datetime.datetime.now(SHANGHAI).replace(microsecond=0)
    saved = clerk.post_json("/api/searches", {"name": "电话", "q": "路灯"}, status=201).json
    created = datetime.datetime.fromisoformat(saved["created"])
    assert saved["created"].endswith("+08:00")
    assert before <= created <= datetime.datetime.now(SHANGHAI)
    assert clerk.get("/api/searches").json["searches"][0]["created"] == saved["created"]

    # a search saved before: the server's local time (here UTC) without an offset
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        def legacy(site):
            entry = dict(site.saved_searches["clerk"][0], id="old000000000", name="旧的",
                         created="2026-12-05T14:56:23")
            site.saved_searches["clerk"] = site.saved_searches["clerk"] + (entry,)
        change(app, legacy)
        listed = {s["name"]: s["created"] for s in clerk.get("/api/searches").json["searches"]}
        assert listed["旧的"] == "2026-12-05T22:56:23+08:00"
        assert listed["电话"] == saved["created"]
    finally:
        monkeypatch.undo()
        time.tzset()
