"""The auditors' page in a browser: find who opened a case, export it as CSV."""
import pytest

from .support import petition
from .test_browser import browser, log_in, page, register_directly, server  # noqa: F401  (fixtures)


@pytest.mark.browser
def test_an_auditor_finds_who_opened_a_case_and_exports_it(server, page, tmp_path):
    app, base = server
    number = register_directly(app, petition(subject="浏览器审计：征地补偿争议"))
    log_in(page, base, "analyst")
    page.goto(f"{base}/cases/{number[3:7]}/{number}/")
    page.goto(base + "/search?q=征地补偿")
    page.context.clear_cookies()
    log_in(page, base, "auditor")
    page.click('.sidenav a[href$="/audit"]')
    page.wait_for_url(base + "/audit")
    page.fill("#f-user", "analyst")
    page.fill("#f-case", number)
    page.click("form.filters button[type=submit]")
    page.wait_for_selector("#audit-entries")
    rows = page.locator("#audit-entries tbody tr")
    assert rows.count() == 1 and rows.first.get_attribute("data-action") == "case.view"
    page.screenshot(path=str(tmp_path / "audit.png"), full_page=True)
    with page.expect_download() as info:
        page.click("#audit-csv")
    text = open(info.value.path(), encoding="utf-8-sig").read()
    assert number in text and "analyst" in text and "case.view" in text
