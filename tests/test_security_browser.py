"""Script in every text field, opened in a real browser: a case whose subject, content,
petitioner name and address, document title and file name and workflow note carry script
and markup is shown on the dashboard, the list, the case page, the document page, the search
results, the queue and the intake form's live panels. Nothing runs, no dialog opens, no
element or attribute of the payload reaches the DOM (the CSP alone would hide an escaping
mistake, so the DOM is checked as well), and the text is shown as typed."""
import os
import threading

import pytest
import webtest
from argon2 import PasswordHasher

from casefiles import users

from .support import PASSWORD, ROLES, add_users, close_app, id_number, make_app, pdf_bytes, petition

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '"><img src=x onerror="window.__pwned=1">'
SVG = "</textarea><svg onload=window.__pwned=1>"
ATTR = "' onmouseover='window.__pwned=1' x='"
TEMPLATE = "{{7*7}}${7*7}"
MARK = "钒钛磁铁"   # a searchable word next to the payloads


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed")
    import waitress.server
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("CASEFILES_VAR", raising=False)
        mp.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        app = make_app(tmp_path_factory.mktemp("xss-var"))
        add_users(app, [(role, [role], "411502" if role == "unit" else None) for role in ROLES])
        srv = waitress.server.create_server(app, host="127.0.0.1", port=0, threads=4)
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        yield app, f"http://127.0.0.1:{srv.effective_port}"
        srv.close()
        thread.join(timeout=5)
        close_app(app)


@pytest.fixture(scope="module")
def hostile_case(server):
    """Registered, filed into and moved through the API, as another client would."""
    app, _base = server
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543"})

    def token(user):
        return {"Authorization": "Bearer " + client.post_json("/api/login", {"username": user,
                                                                              "password": PASSWORD}).json["token"]}
    clerk, assigner = token("clerk"), token("assigner")
    body = petition(subject=f"{MARK}{SCRIPT}{IMG}", content=f"{MARK}内容{SVG}{ATTR}{TEMPLATE}{SCRIPT}",
                    petitioners=[{"name": f"王{SCRIPT}", "id_number": id_number(501), "phone": "13800000501",
                                  "address": f"信阳市{IMG}{SVG}", "primary": True}])
    res = client.post_json("/api/cases", body, headers=clerk, status="*")
    assert res.status_int == 201, res.json
    number = res.json["number"]
    doc = client.post(f"/api/cases/{number}/documents", {"kind": "evidence", "title": f"{MARK}材料{IMG}{SCRIPT}"},
                      upload_files=[("file", f"{SCRIPT}{IMG}.pdf", pdf_bytes("材料"))], headers=clerk).json["id"]
    client.post_json(f"/api/cases/{number}/actions/accept", {"note": f"受理{SCRIPT}{IMG}"}, headers=clerk)
    client.post_json(f"/api/cases/{number}/actions/assign", {"unit": "411502", "note": f"交办{SVG}{ATTR}"},
                     headers=assigner)
    return number, doc, body


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(15000)
    pg.dialogs = []
    pg.on("dialog", lambda dialog: (pg.dialogs.append(dialog.message), dialog.dismiss()))
    yield pg
    context.close()


def log_in(page, base, username):
    page.goto(base + "/login")
    page.fill("#f-username", username)
    page.fill("#f-password", PASSWORD)
    page.click("form button[type=submit].btn-primary")
    page.wait_for_url(base + "/")


INJECTED = """() => {
  const found = [];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      if (/^on/i.test(attr.name)) found.push(el.tagName + '[' + attr.name + ']');
    }
  }
  for (const img of document.querySelectorAll('img')) {
    if (img.getAttribute('src') === 'x') found.push('img[src=x]');
  }
  for (const s of document.querySelectorAll('script')) {
    if ((s.textContent || '').includes('__pwned')) found.push('script with the payload');
  }
  for (const svg of document.querySelectorAll('svg')) {
    if (svg.closest('main') && (svg.outerHTML || '').includes('__pwned')) found.push('svg with the payload');
  }
  return found;
}"""


def assert_inert(page, where):
    page.wait_for_load_state("load")
    page.mouse.move(200, 300)
    page.mouse.move(600, 500)
    assert page.evaluate("typeof window.__pwned") == "undefined", f"script ran on {where}"
    assert not page.dialogs, f"a dialog opened on {where}: {page.dialogs}"
    assert page.evaluate(INJECTED) == [], f"the payload became markup on {where}"
    assert "49" not in page.inner_text("main").replace(id_number(501), ""), f"a template expression ran on {where}"


def test_script_in_every_field_runs_nowhere(server, page, hostile_case):
    app, base = server
    number, doc, body = hostile_case
    case_url = f"{base}/cases/{number[3:7]}/{number}/"
    log_in(page, base, "assigner")
    for where in ("/", "/cases/"):
        page.goto(base + where)
        assert_inert(page, where)
        assert number in page.inner_text("main"), where
    page.goto(case_url)
    assert_inert(page, "the case page")
    text = page.inner_text("main")
    for shown in (body["subject"], SCRIPT, IMG, SVG, TEMPLATE, f"王{SCRIPT}", f"交办{SVG}"):
        assert shown in text, f"the case page does not show {shown!r} as text"
    page.goto(f"{case_url}origin/{doc}/")
    assert_inert(page, "the document page")
    assert f"{MARK}材料{IMG}{SCRIPT}" in page.inner_text("main")
    page.goto(f"{base}/search?q={MARK}")
    assert_inert(page, "the search results")
    results = page.inner_text("main")
    assert number in results and SCRIPT in results
    page.goto(f"{base}/search?q=script")
    assert_inert(page, "the search for 'script'")
    page.goto(f"{case_url}origin/{doc}/@@hit?q={MARK}")
    assert_inert(page, "the highlighted document")
    # the unit the case was assigned to: its queue and its (masked) view of the case
    page.context.clear_cookies()
    log_in(page, base, "unit")
    page.goto(base + "/queue")
    assert_inert(page, "the unit's queue")
    assert number in page.inner_text("main")
    page.goto(case_url)
    assert_inert(page, "the case page as the unit")
    assert SCRIPT in page.inner_text("main")


def test_the_live_panels_of_the_intake_form_show_script_as_text(server, page, hostile_case):
    """The ID look-up and the similar-cases panel fill themselves from the API while the
    clerk types: the petitioner's name and the earlier case's subject arrive as data."""
    app, base = server
    number, _doc, body = hostile_case
    log_in(page, base, "clerk")
    page.goto(base + "/register?channel=visit")
    field = page.locator('[name="petitioners.0.id_number"]')
    field.click()
    field.press_sequentially(id_number(501), delay=5)
    box = page.locator('[data-lookup-for="0"] [data-result="found"]')
    box.wait_for()
    assert f"王{SCRIPT}" in box.inner_text()
    page.fill('[name="subject"]', f"{MARK}开采问题")
    page.fill('[name="content"]', f"{MARK}内容")
    page.wait_for_timeout(1500)   # the similar-cases panel asks the API after a pause in typing
    assert_inert(page, "the intake form")
    if number in page.inner_text("main"):
        assert body["subject"] in page.inner_text("main")
