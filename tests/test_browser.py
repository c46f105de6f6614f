"""Browser journeys: the real app served by waitress on a free localhost port, driven by
Debian's Chromium through Playwright. One app (fresh data folder) and one browser per module."""
import os
import threading

import pytest
from argon2 import PasswordHasher

from casefiles import intake, users
from casefiles.access import route_to_unit

from .support import PASSWORD, ROLES, add_users, close_app, id_number, make_app, open_site, pdf_bytes, petition

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed")
    import waitress.server
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("CASEFILES_VAR", raising=False)
        # passwords are not what these journeys are about: a cheap argon2 keeps log-ins fast
        mp.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        var = tmp_path_factory.mktemp("browser-var")
        app = make_app(var)
        add_users(app, [(role, [role], "411502" if role == "unit" else None) for role in ROLES]
                  + [("unit2", ["unit"], "411503")])
        srv = waitress.server.create_server(app, host="127.0.0.1", port=0, threads=4)
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        yield app, f"http://127.0.0.1:{srv.effective_port}"
        srv.close()
        thread.join(timeout=5)
        close_app(app)


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(15000)
    errors = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"script errors on the page: {errors}"


def log_in(page, base, username):
    page.goto(base + "/login")
    page.fill("#f-username", username)
    page.fill("#f-password", PASSWORD)
    page.click("form button[type=submit].btn-primary")
    page.wait_for_url(base + "/")


def register_directly(app, body, unit=None):
    conn, site = open_site(app)
    try:
        for attempt in conn.transaction_manager.attempts(5):   # the index writer may commit meanwhile
            with attempt:
                case = intake.register(site, body, by="clerk")
                if unit:
                    route_to_unit(site, case, unit)
                number = case.number
        return number
    finally:
        conn.close()


def test_clerk_registers_a_letter_with_a_scan_and_downloads_it(server, page, tmp_path):
    app, base = server
    log_in(page, base, "clerk")
    assert page.locator(".sidenav").inner_text().count("信访登记") == 1
    page.click("text=信访登记")
    page.wait_for_url(base + "/register")
    scan = pdf_bytes("浏览器登记的来信")
    path = tmp_path / "来信扫描件.pdf"
    path.write_bytes(scan)
    page.fill('[name="received_at"]', "2025-03-01 09:30")
    page.fill('[name="petitioners.0.name"]', "赵志强")
    page.fill('[name="petitioners.0.id_number"]', id_number(301))
    page.fill('[name="petitioners.0.phone"]', "13900000001")
    page.fill('[name="subject"]', "浏览器登记：小区物业乱收费")
    page.select_option('[name="district"]', "浉河区")
    page.set_input_files('[name="files"]', str(path))
    page.click("#intake-form button[type=submit]")
    page.wait_for_selector(".flash")
    assert "登记成功" in page.inner_text(".flash")
    number = page.inner_text(".case-number").strip()
    assert number.startswith("XY-2025-")
    assert "赵志强" in page.inner_text("main")
    # open the document page and download the scan
    page.click(".tree .doc-title >> nth=0")
    page.wait_for_selector("iframe.viewer-pdf")
    with page.expect_download() as info:
        page.click(".head-actions a.download")
    download = info.value
    assert download.suggested_filename == "来信扫描件.pdf"
    assert open(download.path(), "rb").read() == scan


def test_unit_user_cannot_open_another_units_case(server, page):
    app, base = server
    theirs = register_directly(app, petition(subject="交平桥区办理的事项"), unit="411503")
    mine = register_directly(app, petition(subject="交浉河区办理的事项"), unit="411502")
    log_in(page, base, "unit")
    page.goto(base + "/cases/")
    listed = page.inner_text("table.cases")
    assert mine in listed and theirs not in listed
    response = page.goto(f"{base}/cases/{theirs[3:7]}/{theirs}/")
    assert response.status == 403
    assert "您无权进行此操作" in page.inner_text("main")
    response = page.goto(f"{base}/cases/{mine[3:7]}/{mine}/")
    assert response.status == 200
    assert "交浉河区办理的事项" in page.inner_text("h1")


def test_id_lookup_shows_earlier_cases_while_typing(server, page):
    app, base = server
    body = petition(subject="早先反映的征地补偿问题")
    body["petitioners"][0]["id_number"] = id_number(302)
    body["petitioners"][0]["name"] = "孙立新"
    earlier = register_directly(app, body)
    log_in(page, base, "clerk")
    page.goto(base + "/register?channel=visit")
    # only the first representative row shows until more are added
    assert page.locator("fieldset.person-row:visible").count() == 1
    page.click("button.add-row")
    assert page.locator("fieldset.person-row:visible").count() == 2
    field = page.locator('[name="petitioners.0.id_number"]')
    field.click()
    field.press_sequentially(id_number(302), delay=10)
    box = page.locator('[data-lookup-for="0"] [data-result="found"]')
    box.wait_for()
    assert "孙立新" in box.inner_text()
    link = box.locator(f'a:has-text("{earlier}")')
    assert link.count() == 1
    assert link.get_attribute("href").endswith(f"/cases/{earlier[3:7]}/{earlier}/")
    page.click('[data-lookup-for="0"] button')
    assert page.input_value('[name="petitioners.0.name"]') == "孙立新"
    # an unknown but valid ID number says so; a wrong check digit is flagged at once
    other = page.locator('[name="petitioners.1.id_number"]')
    other.press_sequentially(id_number(303), delay=5)
    page.locator('[data-lookup-for="1"] [data-result="none"]').wait_for()
    other.fill("")
    bad = id_number(303)[:-1] + ("0" if id_number(303)[-1] != "0" else "1")
    other.press_sequentially(bad, delay=5)
    page.locator('[data-lookup-for="1"] [data-result="error"]').wait_for()
    assert "校验位" in page.inner_text('[data-lookup-for="1"]')
