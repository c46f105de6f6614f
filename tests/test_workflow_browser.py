"""In a real browser: an assigner opens the queue, finds a case due within three days
(amber), opens it, assigns it with the form on the case page, and the case is done: its
triage clock is met and it leaves the amber band."""
import datetime
import threading

import pytest
import webtest

from casefiles import clocks
from casefiles.calendar import OfficialCalendar
from views.workflow import today_here   # the server's today (Asia/Shanghai)

from .support import API, PASSWORD, petition

playwright_api = pytest.importorskip("playwright.sync_api")

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture
def server(app):
    from waitress.server import create_server
    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}"
    srv.close()
    thread.join(timeout=5)


def amber_receipt(today):
    """A receipt date whose 15-day triage clock falls due within three days from today."""
    calendar = OfficialCalendar()
    for back in range(1, 40):
        start = today - datetime.timedelta(days=back)
        d = clocks.Deadline("triage", clocks.load_rules(), start, "x")
        d.refresh(calendar)
        if 0 <= (d.due - today).days <= 3:
            return start
    raise AssertionError("no amber date")


def test_an_assigners_queue_turns_a_case_from_amber_to_done(app, server):
    testapp = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543"})
    clerk = API(testapp, "clerk")
    today = today_here()
    number = clerk.post_json("/api/cases", petition(received_at=amber_receipt(today).isoformat(),
                                                    subject="小区供暖不热"), status=201).json["number"]
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            page = browser.new_page()
            page.goto(server + "/login")
            page.fill("input[name=username]", "assigner")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(server + "/")
            page.goto(server + "/queue")
            amber = page.locator("[data-band=amber]")
            row = amber.locator(f"li[data-case='{number}']")
            assert row.count() == 1
            assert page.locator(f"[data-band=red] li[data-case='{number}']").count() == 0
            row.locator("a").click()
            page.wait_for_selector("#workflow")
            assert page.locator("#workflow").get_attribute("data-band") == "amber"
            assert "wf-amber" in page.locator("tr[data-deadline=triage]").get_attribute("class")
            page.click("details[data-action=assign] > summary")
            form = page.locator("details[data-action=assign] form")
            form.locator("select[name=unit]").select_option("411502")
            form.locator("button[type=submit]").click()
            page.wait_for_selector(".flash")
            assert "交办" in page.locator(".flash").first.inner_text()
            triage = page.locator("tr[data-deadline=triage]")
            assert "wf-done" in triage.get_attribute("class") and triage.get_attribute("data-state") == "met"
            page.goto(server + "/queue")
            assert page.locator(f"[data-band=amber] li[data-case='{number}']").count() == 0
            assert page.locator(f"li[data-case='{number}']").count() == 0   # now in the unit's queue
        finally:
            browser.close()
    assert clerk.get(f"/api/cases/{number}").json["status"] == "assigned"
