from .support import petition, pdf_bytes


def test_register_and_read_back(api):
    clerk = api("clerk")
    res = clerk.post_json("/api/cases", petition(), status=201)
    number = res.json["number"]
    case = clerk.get(f"/api/cases/{number}").json
    assert case["subject"].startswith("平桥区")
    doc = case["folders"][0]["documents"][0]
    data = pdf_bytes()
    up = clerk.post(f"/api/cases/{number}/documents", {"kind": "evidence", "title": "证据"},
                    upload_files=[("file", "证据材料.pdf", data)], status=201)
    got = clerk.get(f"/api/cases/{number}/documents/{up.json['id']}/file")
    assert got.body == data
    assert "filename*=UTF-8''%E8%AF%81" in got.headers["Content-Disposition"]
    assert doc["kind"] == "letter"


def test_errors_are_chinese_json(api):
    res = api("clerk").post_json("/api/cases", {"channel": "letter", "received_at": "2099-01-01"}, status=422)
    assert res.json["error"] == "invalid"
    assert res.json["fields"]["subject"] == "请填写事由。"
    assert res.json["fields"]["received_at"] == "收到日期不能晚于今天。"


def test_login_page_is_chinese(testapp):
    res = testapp.get("/login")
    assert "登录" in res.text and "用户名" in res.text


def test_security_headers(testapp):
    res = testapp.get("/login")
    assert "script-src 'self'" in res.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in res.headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    assert res.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in res.headers["Content-Security-Policy"]
    assert res.headers["X-Content-Type-Options"] == "nosniff"


import pytest  # noqa: E402


@pytest.mark.real_argon2
def test_passwords_are_stored_as_argon2id_with_production_cost():
    from casefiles.users import User
    user = User("someone", ["clerk"])
    user.set_password("a-long-password")
    assert user.password_hash.startswith("$argon2id$")
    params = dict(p.split("=") for p in user.password_hash.split("$")[3].split(","))
    assert int(params["m"]) >= 65536 and int(params["t"]) >= 2
    assert user.check_password("a-long-password") and not user.check_password("wrong")
