"""Searching as users do: Chinese words and phrases, the query language, facets, paging,
highlighting, permissions (a unit user, an accused unit), similar cases, saved searches."""
import lxml.html
import pytest

from casefiles.access import route_to_unit
from casefiles.events import CaseModified, notify

from .support import id_number, open_site, petition


def search(client, q="", expect=200, **params):
    return client.get("/api/search", params=dict(params, q=q), status=expect).json


def register(client, **overrides):
    return client.post_json("/api/cases", petition(**overrides), status=201).json["number"]


def case_hits(result):
    return [h["number"] for h in result["hits"] if h["document"] is None]


def login(testapp, username):
    testapp.reset()
    form = testapp.get("/login").forms[0]
    form["username"] = username
    form["password"] = "secret-pass-1"
    return form.submit(status=303).follow()


@pytest.fixture
def corpus(api):
    clerk = api("clerk")
    numbers = {
        "research": register(clerk, subject="关于研究生命起源课题经费的反映", content="课题组经费使用不规范。",
                             district="浉河区", category="教育文体", received_at="2025-02-10T10:00:00"),
        "graduate": register(clerk, subject="研究生入学资格审查问题", content="研究生复试名单公示有误。",
                             district="平桥区", category="教育文体", received_at="2025-04-02T10:00:00",
                             petitioners=[{"name": "李秀英", "id_number": id_number(2), "phone": "13900000002"}]),
        "fee": register(clerk, subject="五里墩街道某小区物业费收费过高", channel="visit",
                        content="业主反映物业费每平方米三元，远高于备案标准，物业公司拒不退还。",
                        district="浉河区", category="城乡建设", received_at="2025-05-20T10:00:00",
                        petitioners=[{"name": "张伟", "id_number": id_number(3), "phone": "13900000003"}]),
        "demolition": register(clerk, subject="平桥区拆迁补偿款未足额发放", received_at="2025-06-15T10:00:00",
                               content="房屋被征收后补偿款至今未足额发放，多次反映无果。"),
        "noise": register(clerk, subject="商城县工地夜间施工噪音扰民", district="商城县", channel="online",
                          content="工地每晚十一点后仍在施工，噪音严重影响休息。", category="环境保护",
                          received_at="2024-11-03T10:00:00", petitioners=[{"name": "匿名", "anonymous": True}]),
    }
    return numbers


def test_chinese_word_boundaries(api, corpus):
    clerk = api("clerk")
    # 研究生命起源 is 研究/生命/起源: 研究生 must not find it, 生命 must
    assert case_hits(search(clerk, "研究生")) == [corpus["graduate"]]
    assert case_hits(search(clerk, "生命")) == [corpus["research"]]
    # the compound 物业费 and its parts
    assert case_hits(search(clerk, "物业费")) == [corpus["fee"]]
    assert case_hits(search(clerk, "物业公司")) == [corpus["fee"]]
    # a place name from the user dictionary is one word
    assert case_hits(search(clerk, "五里墩")) == [corpus["fee"]]
    assert case_hits(search(clerk, "补偿")) == [corpus["demolition"]]


def test_phrases_and_highlights(api, corpus):
    clerk = api("clerk")
    result = search(clerk, '"补偿款至今"')
    assert case_hits(result) == [corpus["demolition"]]
    hit = next(h for h in result["hits"] if h["document"] is None)
    assert any("<mark>补偿款</mark>" in h and "<mark>至今</mark>" in h for h in hit["highlights"])
    assert search(clerk, '"至今补偿款"')["total"] == 0         # a phrase keeps its order
    hit = search(clerk, "生命", type="case")["hits"][0]
    assert "研究<mark>生命</mark>起源" in hit["title_html"]
    hit = search(clerk, "研究生", type="case")["hits"][0]
    assert "<mark>研究生</mark>入学" in hit["title_html"]
    assert "<mark>研究生</mark>复试" in hit["highlights"][0]


def test_snippets_are_escaped(api):
    clerk = api("clerk")
    number = register(clerk, subject="反映<script>alert(1)</script>问题", content="内容里有<b>标签</b>和噪音")
    hit = next(h for h in search(clerk, "噪音")["hits"] if h["number"] == number and h["document"] is None)
    assert "<script>" not in hit["title_html"] and "&lt;script&gt;" in hit["title_html"]
    assert "<b>" not in hit["highlights"][0] and "<mark>噪音</mark>" in hit["highlights"][0]


def test_fields_dates_exclusions_sorting_and_paging(api, corpus):
    clerk = api("clerk")
    assert case_hits(search(clerk, "district:浉河区", type="case", sort="newest")) == [corpus["fee"], corpus["research"]]
    assert case_hits(search(clerk, "属地:浉河区 物业")) == [corpus["fee"]]
    assert case_hits(search(clerk, "channel:来访")) == [corpus["fee"]]
    assert case_hits(search(clerk, "channel:online")) == [corpus["noise"]]
    assert case_hits(search(clerk, "2025-04..2025-06", type="case", sort="oldest")) == \
        [corpus["graduate"], corpus["fee"], corpus["demolition"]]
    assert case_hits(search(clerk, "..2024-12")) == [corpus["noise"]]
    assert case_hits(search(clerk, "研究 -生命")) == [corpus["graduate"]]
    assert case_hits(search(clerk, "研究 NOT 生命")) == [corpus["graduate"]]
    assert sorted(case_hits(search(clerk, "噪音 OR 物业费"))) == sorted([corpus["fee"], corpus["noise"]])
    assert case_hits(search(clerk, f"number:{corpus['fee']}")) == [corpus["fee"]]
    assert case_hits(search(clerk, corpus["fee"].lower())) == [corpus["fee"]]
    assert case_hits(search(clerk, id_number(3))) == [corpus["fee"]]       # a bare ID number is exact
    assert case_hits(search(clerk, "张伟")) == [corpus["fee"]]
    assert case_hits(search(clerk, "kind:case category:环境保护")) == [corpus["noise"]]
    assert search(clerk, "kind:letter")["total"] == 3                        # the letters' origin documents
    assert case_hits(search(clerk, "", status="registered", district="商城县")) == [corpus["noise"]]
    assert case_hits(search(clerk, "", **{"from": "2025-06-01", "to": "2025-06-30"}, type="case")) == \
        [corpus["demolition"]]
    # paging
    first = search(clerk, "", type="case", sort="newest", size=2)
    second = search(clerk, "", type="case", sort="newest", size=2, page=2)
    assert first["total"] == second["total"] == 5
    assert case_hits(first) == [corpus["demolition"], corpus["fee"]]
    assert case_hits(second) == [corpus["graduate"], corpus["research"]]


def test_facets_count_what_matches(api, corpus):
    facets = search(api("clerk"), "", type="case")["facets"]
    assert facets["district"] == {"浉河区": 2, "平桥区": 2, "商城县": 1}
    assert facets["category"]["教育文体"] == 2
    assert facets["year"] == {"2025": 4, "2024": 1}
    assert facets["channel"] == {"letter": 3, "visit": 1, "online": 1}
    assert facets["status"] == {"registered": 5}


def test_bad_queries_are_refused_in_chinese(api):
    clerk = api("clerk")
    res = search(clerk, "status:不存在", expect=400)
    assert res["error"] == "bad_query" and "未知的办理状态" in res["message"]
    assert "不是本市的县区" in search(clerk, "district:北京", expect=400)["message"]
    assert "起始晚于截止" in search(clerk, "2025-06..2025-01", expect=400)["message"]
    assert search(clerk, "2025-13..2025-14", expect=400)["error"] == "bad_query"
    assert search(clerk, "x", page="abc", expect=400)["error"] == "bad_request"
    assert search(clerk, "x", sort="random", expect=400)["error"] == "bad_request"
    assert search(clerk, "物" * 600, expect=400)["error"] == "bad_query"


def test_a_unit_user_only_ever_sees_the_cases_routed_to_it(api, app, corpus):
    conn, site = open_site(app)
    with conn.transaction_manager:
        route_to_unit(site, site.cases.by_number(corpus["fee"]), "411502")
        route_to_unit(site, site.cases.by_number(corpus["noise"]), "411503")
    conn.close()
    unit = api("unit")
    result = search(unit, "")
    assert {h["number"] for h in result["hits"]} == {corpus["fee"]}
    assert result["total"] == 2                            # the case and its transcript
    assert result["facets"]["district"] == {"浉河区": 2}
    assert result["facets"]["unit"] == {"411502": 2}
    assert "商城县" not in str(result["facets"])
    assert search(unit, "噪音")["total"] == 0
    assert search(unit, corpus["noise"])["total"] == 0
    assert case_hits(search(api("unit2"), "噪音")) == [corpus["noise"]]
    assert api("unit").get(f"/api/cases/{corpus['noise']}/similar", status=403)


def test_an_accused_unit_never_sees_the_accusation(api, app):
    clerk = api("clerk")
    accusation = register(clerk, subject="举报浉河区某局违规审批", petition_type="accusation",
                          content="该局工作人员收受好处违规审批。", accused={"unit": "411502", "person": "王某"})
    other = register(clerk, subject="浉河区违规停车问题", content="小区门口长期违规停车。", district="浉河区")
    conn, site = open_site(app)
    with conn.transaction_manager:
        # even routed to the accused unit (a mistake), the deny wins
        route_to_unit(site, site.cases.by_number(accusation), "411502")
        route_to_unit(site, site.cases.by_number(other), "411502")
    conn.close()
    unit = api("unit")
    result = search(unit, "违规")
    assert {h["number"] for h in result["hits"]} == {other}
    assert result["total"] == 2
    assert result["facets"]["kind"] == {"case": 1, "letter": 1}
    assert search(unit, "审批")["total"] == 0
    assert search(unit, "", status="registered")["total"] == 2
    assert {h["number"] for h in search(clerk, "违规")["hits"]} == {accusation, other}
    # nor does the unit see it among similar cases
    similar = unit.get("/api/similar", params={"subject": "违规审批", "content": "收受好处"}).json
    assert accusation not in [c["number"] for c in similar["candidates"]]


def test_auditors_search_archived_cases(api, app, corpus):
    conn, site = open_site(app)
    with conn.transaction_manager:
        case = site.cases.by_number(corpus["noise"])
        case.status = "archived"
        notify(CaseModified(case))
    conn.close()
    auditor = api("auditor")
    result = search(auditor, "噪音", status="archived")
    assert case_hits(result) == [corpus["noise"]]
    assert result["facets"]["status"] == {"archived": 2}
    assert case_hits(search(auditor, "status:已归档 type:case")) == [corpus["noise"]]


def test_search_page_with_facets_highlights_and_paging(api, testapp, corpus):
    login(testapp, "clerk")
    res = testapp.get("/search", params={"q": "物业费"})
    doc = lxml.html.fromstring(res.text)
    assert doc.xpath('//li[contains(@class,"hit")]//mark[text()="物业费"]')
    assert doc.xpath('//section[@data-facet="district"]//a[text()="浉河区"]')
    assert "共 2 条结果" in res.text
    # a facet link narrows; the active filter can be removed
    link = doc.xpath('//section[@data-facet="kind"]//a[text()="案件"]/@href')[0]
    res = testapp.get(link.replace("http://localhost:6543", ""))
    assert "共 1 条结果" in res.text and "取消此筛选" in res.text
    # a bad query is shown on the page, in Chinese
    res = testapp.get("/search", params={"q": "district:火星"}, status=400)
    assert "不是本市的县区" in res.text
    # search within one case
    res = testapp.get("/search", params={"q": "发放", "case": corpus["demolition"]})
    assert "案内搜索" in res.text and corpus["demolition"] in res.text


def test_opening_a_hit_shows_the_document_highlighted(api, testapp, corpus):
    clerk = api("clerk")
    hit = next(h for h in search(clerk, "补偿款")["hits"] if h["document"])
    login(testapp, "clerk")
    res = testapp.get(hit["url"].replace("http://localhost:6543", ""))
    doc = lxml.html.fromstring(res.text)
    assert doc.xpath('//div[contains(@class,"marked-text")]//mark[text()="补偿款"]')
    assert "处与“补偿款”匹配" in res.text
    assert api("unit").get(hit["url"].replace("http://localhost:6543", ""), status=403)


def test_saved_searches_belong_to_their_user(api, testapp, corpus):
    clerk = api("clerk")
    res = clerk.post_json("/api/searches", {"name": "浉河区物业", "q": "物业", "district": "浉河区"}, status=201)
    saved = res.json
    assert saved["params"] == {"q": "物业", "district": "浉河区"}
    listed = clerk.get("/api/searches").json["searches"]
    assert [s["name"] for s in listed] == ["浉河区物业"]
    again = clerk.get(listed[0]["api"].replace("http://localhost:6543", "")).json
    assert case_hits(again) == [corpus["fee"]]
    assert api("assigner").get("/api/searches").json["searches"] == []
    assert clerk.post_json("/api/searches", {"name": "", "q": "x"}, status=422).json["fields"]["name"]
    assert clerk.post_json("/api/searches", {"name": "坏的", "q": "status:xx"}, status=400).json["error"] == "bad_query"
    assert api("assigner").testapp.delete(f"/api/searches/{saved['id']}", headers=api("assigner").headers,
                                          status=404)
    clerk.testapp.delete(f"/api/searches/{saved['id']}", headers=clerk.headers, status=200)
    assert clerk.get("/api/searches").json["searches"] == []
    # and through the page's form
    login(testapp, "clerk")
    page = testapp.get("/search", params={"q": "噪音"})
    form = next(f for f in page.forms.values() if f.action.endswith("/search/saved"))
    form["name"] = "噪音投诉"
    res = form.submit(status=303).follow()
    assert "已将本次搜索保存为“噪音投诉”" in res.text
    assert lxml.html.fromstring(res.text).xpath('//section[contains(@class,"saved-searches")]//a[text()="噪音投诉"]')


def test_similar_cases_with_reasons_and_a_category_suggestion(api, corpus):
    clerk = api("clerk")
    again = register(clerk, subject="小区物业费收费标准过高", content="物业公司按每平方米三元收取物业费，高于备案标准。",
                     district="浉河区", category="", petitioners=[{"name": "张伟", "id_number": id_number(3)}])
    result = clerk.get(f"/api/cases/{again}/similar").json
    first = result["candidates"][0]
    assert first["number"] == corpus["fee"]
    assert first["reasons"] == ["petitioner", "text", "district"]
    assert "同一信访人" in first["why"] and "内容相似" in first["why"] and "浉河区" in first["why"]
    assert again not in [c["number"] for c in result["candidates"]]
    assert result["categories"][0]["category"] == "城乡建设"
    # while a clerk types a new petition
    live = clerk.get("/api/similar", params={"subject": "工地施工噪音", "content": "夜间施工影响休息"}).json
    assert live["candidates"][0]["number"] == corpus["noise"]
    assert live["categories"][0]["category"] == "环境保护"
    by_person = clerk.get("/api/similar", params={"id_number": id_number(2)}).json
    assert [c["number"] for c in by_person["candidates"]] == [corpus["graduate"]]
    assert clerk.get("/api/similar").json == {"candidates": [], "categories": []}



def test_the_partials_for_other_pages_render(api, app, corpus):
    """document_highlight.jinja2 (document page), search_similar_panel.jinja2 (registration form and
    case page) and search_case_box.jinja2 (case page), as those pages include them."""
    from pyramid.renderers import render
    from pyramid.request import Request
    from pyramid.scripting import prepare
    request = Request.blank("/cases/x?q=%E8%A1%A5%E5%81%BF%E6%AC%BE", base_url="http://localhost:6543")
    env = prepare(request=request, registry=app.registry)
    try:
        case = request.site.cases.by_number(corpus["demolition"])
        document = next(iter(case.documents()))
        html = render("document_highlight.jinja2", {"document": document}, request=request)
        assert "<mark>补偿款</mark>" in html and "处与“补偿款”匹配" in html
        html = render("search_similar_panel.jinja2", {"case": case}, request=request)
        panel = lxml.html.fromstring(html).xpath('//section[@id="similar-panel"]')[0]
        assert panel.get("data-mode") == "case"
        assert panel.get("data-endpoint").endswith(f"/api/cases/{corpus['demolition']}/similar")
        assert panel.get("data-actions").endswith(f"/api/cases/{corpus['demolition']}/actions/")
        html = render("search_similar_panel.jinja2", {}, request=request)
        panel = lxml.html.fromstring(html).xpath('//section[@id="similar-panel"]')[0]
        assert panel.get("data-mode") == "intake" and panel.get("data-endpoint").endswith("/api/similar")
        assert panel.xpath('.//input[@name="link_type"]') and panel.xpath('.//input[@name="link_into"]')
        html = render("search_case_box.jinja2", {"case": case}, request=request)
        assert f'name="case" value="{corpus["demolition"]}"' in html
    finally:
        env["closer"]()


def test_the_fast_cut_is_jiebas_exact_mode():
    """The index cuts text with its own one-pass version of jieba's exact mode (no HMM); it
    must give jieba's words and offsets exactly, or letters and queries would disagree."""
    from indexing.analysis import cut, tokenizer
    tk = tokenizer()
    texts = [
        "本人房屋于2024年被征收，补偿款至今未足额发放，请求依法处理。",
        "信阳市浉河区五里墩街道噪音扰民，ABC123 abc x-y 3.5% C++ #标签 &amp;　全角 ＡＢＣ\r\n第二行\t制表",
        "XY-2025-000001 411502197506010019 138 1234 5678 a b 1 2 研究生命起源 南京市长江大桥",
        "", " ", "\r\n\r\n", "a", "中", "。。！？", "𠀀𠀁 emoji😀 混合 text 中文",
    ]
    for text in texts:
        expected = [w for w, _s, _e in tk.tokenize(text, HMM=False)]
        assert list(cut(text)) == expected, text


def test_the_fast_evaluation_agrees_with_whooshs_matchers(tmp_path, monkeypatch):
    """Totals, facets and the ranked page computed from posting blocks and set operations are
    those of Whoosh's own matchers and BM25F scorer (the slow path, kept for other queries)."""
    import datetime
    import random

    from whoosh import index

    from indexing import schema as S
    from indexing import search as engine
    from indexing.query import parse
    from indexing.sync import storable

    sentences = ["平桥区某小区拆迁补偿款未足额发放", "物业公司乱收物业费", "夜间施工噪音扰民严重",
                 "农民工工资被拖欠半年", "小区停车位被物业占用", "拆迁安置房质量问题", "学校周边交通拥堵",
                 "低保评定不公开不公正", "宅基地纠纷长期未解决", "噪音和油烟污染影响居民休息",
                 "补偿标准与邻村不一致", "物业服务质量差，业主要求更换物业公司"]
    rng = random.Random(7)
    ix = index.create_in(str(tmp_path), S.make_schema())
    writer = ix.writer()
    for i in range(600):
        if i == 300:
            writer.commit()            # two segments
            writer = ix.writer()
        text = "。".join(rng.choice(sentences) for _ in range(rng.randint(1, 5)))
        unit = rng.choice(["411502", "411503", "GAJ"])
        writer.add_document(**storable({
            S.ID_: f"c:XY-2025-{i:06d}", S.TYPE: "case", S.NUMBER: f"XY-2025-{i:06d}", S.TITLE: text[:12],
            S.TEXT: text, S.BODY: text, S.STATUS: rng.choice(["registered", "closed", "replied"]),
            S.CHANNEL: rng.choice(["letter", "online"]), S.DISTRICT: rng.choice(["平桥区", "浉河区"]),
            S.CATEGORY: "城乡建设", S.UNIT: unit, S.YEAR: "2025", S.KIND: "case",
            S.DATE: datetime.datetime(2025, 1, 1) + datetime.timedelta(days=i % 300),
            S.ALLOWED: f"role:clerk unit:{unit}", S.DENIED: "unit:GAJ" if i % 17 == 0 else "", S.STAMP: "x"}))
    writer.commit()
    with ix.writer() as writer:                  # deletions in the first segment
        for i in range(0, 300, 29):
            writer.delete_by_term(S.ID_, f"c:XY-2025-{i:06d}")
    searcher = ix.searcher()
    assert len(searcher.leaf_searchers()) >= 2
    queries = ["物业", "拆迁 补偿", "拆迁补偿", '"物业 公司"', "噪音 OR 物业", "拆迁 -补偿", "物业费 status:closed",
               "2025-03..2025-06 噪音", "不存在的词", "工资 拖欠 农民工", "NOT 物业 噪音", "district:平桥区 质量"]
    for principals in (["role:clerk"], ["unit:411502"], ["unit:GAJ"]):
        for text in queries:
            parsed = parse(text)
            evaluation = engine._Evaluation(searcher, searcher.leaf_searchers()[0][0],
                                            searcher.leaf_searchers()[0][0].reader(), engine.Caches(), True)
            evaluation.ids(parsed.query, set(range(300)))      # the fast path takes every one of these
            for sort in ("relevance", "newest"):
                fast = engine.run(searcher, parsed.query, principals, engine.Caches(), sort, 1, 50)
                with monkeypatch.context() as m:
                    m.setattr(engine, "_bm25f", lambda searcher: False)
                    m.setattr(engine._Evaluation, "ids", lambda *a: (_ for _ in ()).throw(engine._Unsupported()))
                    slow = engine.run(searcher, parsed.query, principals, engine.Caches(), sort, 1, 50)
                assert fast[0] == slow[0], (text, principals)
                assert fast[2] == slow[2], (text, principals)
                assert [d for _s, d in fast[1]] == [d for _s, d in slow[1]], (text, principals, sort)
                # the same scores, but for a constant: Whoosh adds 1 per exact filter matched
                assert len({round(a - b, 9) for (a, _x), (b, _y) in zip(fast[1], slow[1])}) <= 1, text
    assert engine.run(searcher, parse("物业").query, ["unit:GAJ"], engine.Caches())[0] > 0
