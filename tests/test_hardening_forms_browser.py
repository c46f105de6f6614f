"""Browser checks of the form hardening: files kept across a refused registration, the side
nav's column down to the footer on a long page, the ID look-up with a number typed in groups.
Debian's Chromium through Playwright, on the real app served by waitress (as tests/test_browser.py)."""
import io
import re

import pytest

from .support import id_number, pdf_bytes, petition
from .test_browser import ARGS, CHROMIUM, browser, log_in, page, register_directly, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_a_refused_registration_keeps_the_chosen_scan(server, page, tmp_path):  # noqa: F811
    app, base = server
    log_in(page, base, "clerk")
    page.goto(base + "/register")
    scan = pdf_bytes("保留的来信扫描件")
    path = tmp_path / "来信扫描件.pdf"
    path.write_bytes(scan)
    good = id_number(401)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    page.fill('[name="received_at"]', "2025-03-01 09:30")
    page.fill('[name="petitioners.0.name"]', "钱国庆")
    page.fill('[name="petitioners.0.id_number"]', bad)
    page.fill('[name="subject"]', "浏览器登记：身份证号写错后重交")
    page.select_option('[name="district"]', "浉河区")
    page.set_input_files('[name="files"]', str(path))
    page.click("#intake-form button[type=submit]")
    page.wait_for_selector("#f-petitioners-0-id_number-error")
    # the file input is empty again (a browser cannot refill it), but the scan is kept and shown
    kept = page.locator("#pending-files")
    assert "已附" in kept.inner_text() and "来信扫描件.pdf" in kept.inner_text()
    page.fill('[name="petitioners.0.id_number"]', good)
    page.click("#intake-form button[type=submit]")
    page.wait_for_selector(".flash")
    number = page.inner_text(".case-number").strip()
    assert number.startswith("XY-")
    # the scan was filed with the letter
    page.click(".tree .doc-title >> nth=0")
    page.wait_for_selector("iframe.viewer-pdf")
    with page.expect_download() as info:
        page.click(".head-actions a.download")
    assert open(info.value.path(), "rb").read() == scan


def test_side_nav_column_reaches_the_footer_on_a_long_page(server, page):  # noqa: F811
    from PIL import Image
    app, base = server
    log_in(page, base, "clerk")
    page.goto(base + "/register?channel=visit")
    shell = page.locator(".shell").bounding_box()
    nav = page.locator(".sidenav").bounding_box()
    assert shell["height"] > nav["height"] + 200, "the page is not long enough to show the fault"
    shot = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
    y = int(shell["y"] + shell["height"] - 10)                  # just above the footer
    assert shot.getpixel((100, y)) == (255, 255, 255)          # the nav's white column
    assert shot.getpixel((int(nav["width"]) + 40, y)) != (255, 255, 255)   # the page's background beside it


def test_id_number_typed_in_groups_is_looked_up(server, page):  # noqa: F811
    app, base = server
    body = petition(subject="分组输入身份证号的查询")
    body["petitioners"][0].update(id_number=id_number(402), name="周文华")
    register_directly(app, body)
    log_in(page, base, "clerk")
    page.goto(base + "/register")
    spaced = " ".join(re.findall(r".{1,4}", id_number(402)))
    field = page.locator('[name="petitioners.0.id_number"]')
    field.click()
    field.press_sequentially(spaced, delay=5)
    assert field.input_value() == spaced                         # not cut at 20 characters
    box = page.locator('[data-lookup-for="0"] [data-result="found"]')
    box.wait_for()
    assert "周文华" in box.inner_text()
