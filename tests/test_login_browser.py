"""Browser journeys of the login engineer's pages: a reviewer reveals a case's petitioners
with a purpose; an administrator opens the users and access pages. No page may trip the
Content-Security-Policy (no inline script)."""
import pytest

from .support import id_number, petition
from .test_browser import browser, log_in, page, register_directly, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def watch_csp(page):  # noqa: F811
    violations = []
    page.on("console", lambda msg: violations.append(msg.text)
            if "Content Security Policy" in msg.text or "Refused to" in msg.text else None)
    return violations


def test_reviewer_reveals_with_a_purpose(server, page):  # noqa: F811
    app, base = server
    violations = watch_csp(page)
    number = register_directly(app, petition())
    log_in(page, base, "reviewer")
    page.goto(f"{base}/cases/{number[3:7]}/{number}/")
    people = page.inner_text("#petitioners")
    assert id_number(1) not in people and id_number(1)[:4] + "*" * 10 in people
    page.fill("#f-reveal-purpose", "复查需要核实信访人身份")
    page.click("#petitioners button[type=submit]")
    page.wait_for_selector("#petitioners .badge")
    assert id_number(1) in page.inner_text("#petitioners")
    assert not violations, violations


def test_admin_sees_users_and_who_can_open_a_case(server, page, tmp_path):  # noqa: F811
    app, base = server
    violations = watch_csp(page)
    number = register_directly(app, petition(), unit="411502")
    log_in(page, base, "admin")
    page.click('.sidenav a[href$="/admin/users"]')
    page.wait_for_url(base + "/admin/users")
    assert page.locator("#users tr[data-user=unit]").count() == 1
    page.screenshot(path=str(tmp_path / "users.png"), full_page=True)
    page.goto(f"{base}/cases/{number[3:7]}/{number}/@@access")
    assert page.locator("#access-can tr[data-user=unit][data-reason=routed_unit]").count() == 1
    assert page.locator("#access-cannot tr[data-user=unit2]").count() == 1
    page.screenshot(path=str(tmp_path / "access.png"), full_page=True)
    page.goto(f"{base}/admin/users/unit")
    page.screenshot(path=str(tmp_path / "user.png"), full_page=True)
    assert not violations, violations
