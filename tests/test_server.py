"""The app served by waitress, as ``./run.sh`` serves it: refusals that a WSGI server
checks more strictly than WebTest (a 413 used to carry a hop-by-hop header, which waitress
turned into a 500), and a registration with a file over a real socket."""
import http.client
import json
import threading

import pytest

from .support import PASSWORD, add_users, close_app, make_app, open_site, pdf_bytes, petition

LIMIT = 256 * 1024


@pytest.fixture
def served(var):
    import waitress.server
    app = make_app(var, **{"casefiles.max_upload_bytes": str(LIMIT)})
    add_users(app, [("clerk", ["clerk"], None)])
    srv = waitress.server.create_server(app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        yield app, srv.effective_port
    finally:
        srv.close()
        thread.join(timeout=5)
        close_app(app)


def _send(port, method, path, body=b"", headers=None, chunked=False):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
        res = conn.getresponse()
        return res.status, dict(res.getheaders()), res.read()
    finally:
        conn.close()


def _token(port):
    status, _h, body = _send(port, "POST", "/api/login",
                             json.dumps({"username": "clerk", "password": PASSWORD}).encode(),
                             {"Content-Type": "application/json"})
    assert status == 200, body
    return json.loads(body)["token"]


def _multipart(data, filename, content):
    boundary = "served-test-boundary"
    body = b"".join([
        f'--{boundary}\r\nContent-Disposition: form-data; name="data"\r\n'
        'Content-Type: application/json\r\n\r\n'.encode(),
        json.dumps(data, ensure_ascii=False).encode("utf-8"),
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        'Content-Type: application/pdf\r\n\r\n'.encode("utf-8"),
        content,
        f"\r\n--{boundary}--\r\n".encode()])
    return body, f"multipart/form-data; boundary={boundary}"


def _case_count(app):
    conn, site = open_site(app)
    try:
        return sum(1 for _ in site.cases.all_cases())
    finally:
        conn.close()


def test_a_body_over_the_limit_is_a_413_with_its_message_not_a_500(served):
    app, port = served
    headers = {"Authorization": f"Bearer {_token(port)}"}
    body, ctype = _multipart(petition(), "big.pdf", pdf_bytes() + b"%" * (LIMIT + 2 * 1024 * 1024))
    for chunked in (False, True):
        status, response_headers, answer = _send(port, "POST", "/api/cases", body,
                                                 {**headers, "Content-Type": ctype}, chunked=chunked)
        assert status == 413, answer[:300]
        assert response_headers["Content-Type"].startswith("application/json")
        error = json.loads(answer)
        assert error["error"] == "too_large" and "MB" in error["message"]
    assert _case_count(app) == 0
    # the server is still serving, and a registration under the limit goes through
    scan = pdf_bytes()
    body, ctype = _multipart(petition(), "来信 扫描件.pdf", scan)
    status, response_headers, answer = _send(port, "POST", "/api/cases", body, {**headers, "Content-Type": ctype})
    assert status == 201, answer[:300]
    case = json.loads(answer)
    document = next(d for f in case["folders"] for d in f["documents"] if d["media_type"] == "application/pdf")
    status, response_headers, content = _send(
        port, "GET", f"/api/cases/{case['number']}/documents/{document['id']}/file", headers=headers)
    assert status == 200 and content == scan
    assert "filename*=UTF-8''%E6%9D%A5%E4%BF%A1%20%E6%89%AB%E6%8F%8F%E4%BB%B6.pdf" in response_headers["Content-Disposition"]
    assert _case_count(app) == 1
