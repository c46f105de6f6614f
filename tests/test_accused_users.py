"""An accusation that names a user of this system as the accused person: that user never
sees the case — not its page, its documents, a list row, a count, a search hit or a facet
(条例 第三十条) — even though their role may read every other case."""
import pytest

from casefiles import intake
from casefiles.site import EVOLVE_STEPS

from .support import add_users, change, open_site, petition


@pytest.fixture
def accused(app):
    def create(site):
        site.users.create("zhou", ["clerk"], "secret-pass-1", name="周志明")
        site.users.create("zhou2", ["reviewer"], "secret-pass-1", name="周志明")   # the same name
    change(app, create)
    return app


def register(api, **overrides):
    return api("clerk").post_json("/api/cases", petition(**overrides), status=201).json["number"]


def test_the_named_users_are_excluded_everywhere_others_are_not(accused, api):
    number = register(api, petition_type="accusation", subject="举报某工作人员索要好处费",
                      content="举报人反映：登记窗口工作人员周志明索要好处费，请求查处。",
                      accused={"unit": None, "person": "周志明"})
    other = register(api, subject="某小区供暖不足", content="冬季供暖温度不达标。")
    for username in ("zhou", "zhou2"):
        client = api(username)
        client.get(f"/api/cases/{number}", status=403)
        client.get(f"/api/cases/{number}/documents", status=403)
        client.get(f"/api/cases/{other}", status=200)
        listed = client.get("/api/cases").json
        assert number not in [c["number"] for c in listed["cases"]]
        assert listed["total"] == 1
        hits = client.get("/api/search", params={"q": "好处费"}).json
        assert hits["total"] == 0 and not hits["hits"]
        everything = client.get("/api/search", params={"q": "", "size": 50}).json
        assert number not in {h["number"] for h in everything["hits"]}
        assert sum(everything["facets"]["status"].values()) == everything["total"] > 0
        whole = api("clerk").get("/api/search", params={"q": "", "size": 50}).json
        assert whole["total"] > everything["total"]
    clerk = api("clerk")
    assert clerk.get(f"/api/cases/{number}").json["accused"]["person"] == "周志明"
    assert clerk.get("/api/cases").json["total"] == 2
    assert clerk.get("/api/search", params={"q": "好处费"}).json["total"] >= 1
    access = api("admin").get(f"/api/cases/{number}/access").json
    assert {"zhou", "zhou2"} <= {row["username"] for row in access["cannot"]}
    assert "clerk" in {row["username"] for row in access["can"]}


def test_the_list_excludes_them_also_after_the_buffer_is_merged(accused, api):
    number = register(api, petition_type="accusation", subject="举报某工作人员",
                      content="举报周志明。", accused={"unit": None, "person": "zhou"})

    def merge(site):
        site.catalog.merge(site.cases)
    change(accused, merge)
    assert api("zhou").get("/api/cases").json["total"] == 0
    assert api("zhou2").get("/api/cases").json["total"] == 1    # named by username: only zhou
    api("zhou2").get(f"/api/cases/{number}", status=200)


def test_resolving_the_accused_person(accused):
    conn, site = open_site(accused)
    try:
        assert intake.accused_users(site, "周志明") == ("zhou", "zhou2")
        assert intake.accused_users(site, " zhou ") == ("zhou",)
        assert intake.accused_users(site, "某局长") == ()
        assert intake.accused_users(site, "") == ()
    finally:
        conn.close()


def test_an_existing_database_gets_the_denied_index(accused, api):
    number = register(api, petition_type="accusation", subject="举报", content="举报周志明。",
                      accused={"unit": None, "person": "周志明"})
    for i in range(3):        # and cases that accuse nobody
        register(api, subject=f"道路维修{i}")

    def downgrade(site):      # as a database from before the index was there
        site.catalog.merge(site.cases)
        del site.catalog.catalog["denied"]
        site.schema_version = 6
    change(accused, downgrade)

    def evolve(site):
        for step in EVOLVE_STEPS[6:]:
            step(site)
            site.schema_version += 1
    change(accused, evolve)
    assert api("zhou").get("/api/cases").json["total"] == 3
    assert api("clerk").get("/api/cases").json["total"] == 4
    api("zhou").get(f"/api/cases/{number}", status=403)


def test_a_database_upgraded_without_the_other_cases_gets_them_back(accused, api):
    """Step 7 once indexed only the accusations, and lists left out every other case; step
    8 records the others as denying nobody."""
    register(api, petition_type="accusation", subject="举报", content="举报周志明。",
             accused={"unit": None, "person": "周志明"})
    for i in range(3):
        register(api, subject=f"道路维修{i}")

    def as_step_7_left_it(site):
        from hypatia.keyword import KeywordIndex
        from casefiles.catalog import _denied
        site.catalog.merge(site.cases)
        index = site.catalog.catalog["denied"] = KeywordIndex(_denied)
        for case in site.cases.all_cases():
            if case.accused_unit or case.accused_users:
                index.index_doc(case.docid, case)
        site.schema_version = 7
    change(accused, as_step_7_left_it)
    assert api("clerk").get("/api/cases").json["total"] == 1      # the bug: only the accusation

    def evolve(site):
        EVOLVE_STEPS[7](site)
        site.schema_version = 8
    change(accused, evolve)
    assert api("clerk").get("/api/cases").json["total"] == 4
    assert api("zhou").get("/api/cases").json["total"] == 3
