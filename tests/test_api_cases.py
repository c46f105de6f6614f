"""Registering, reading and listing cases through the JSON API, and refusing bad input
without writing anything."""
import hashlib
import json
import os
from urllib.parse import quote

import webtest

from casefiles.access import route_to_unit

from .support import (API, add_users, change, close_app, id_number, jpeg_bytes, make_app, open_site, pdf_bytes, petition,
                      png_bytes)

DOCUMENT_KEYS = {"id", "kind", "title", "filed_at", "filed_by", "media_type", "size", "sha256", "version"}
CASE_KEYS = {"number", "url", "channel", "status", "subject", "content", "petition_type", "district", "category",
             "received_at", "petitioners", "unit", "deadlines", "folders", "links", "history"}
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(56) + b"\x00" * 200
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 300


# -- helpers shared with the other API tests -------------------------------------------------

def error_of(res, status, code=None):
    """The JSON error body of a response, checked against the contract's shape."""
    assert res.status_int == status, res.text
    assert res.content_type == "application/json"
    body = res.json
    assert set(body) == {"error", "message", "fields"}
    assert isinstance(body["fields"], dict) and body["message"]
    if code:
        assert body["error"] == code
    return body


def chinese(text):
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def multipart(fields=(), files=()):
    """A multipart/form-data body built by hand, so names can hold anything a client might send.
    ``fields``: (name, text); ``files``: (name, filename, bytes). Returns (body, content type)."""
    boundary = "----casefiles-test-boundary-7d3a"
    out = []
    for name, value in fields:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() +
                   (value if isinstance(value, bytes) else value.encode("utf-8")) + b"\r\n")
    for name, filename, data in files:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                   f'Content-Type: application/octet-stream\r\n\r\n'.encode("utf-8") + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def post_multipart(client, url, fields=(), files=(), status=201):
    body, content_type = multipart(fields, files)
    return client.testapp.post(url, body, headers={**client.headers, "Content-Type": content_type}, status=status)


def blob_files(var):
    root = os.path.join(str(var), "blobs")
    out = set()
    for folder, _dirs, names in os.walk(root):
        if os.path.basename(folder) == "tmp":
            continue
        out.update(os.path.join(folder, n) for n in names if n != ".lock")
    return out


def stored_state(app, var):
    """What a registration writes: catalog total, every year's counter, petitioners, blob files."""
    conn, site = open_site(app)
    try:
        total, _ = site.catalog.query(["role:admin"], {})
        counters = {name: bucket.sequence for name, bucket in site.cases.items()}
        cases = sum(len(bucket) for bucket in site.cases.values())
        return {"total": total, "counters": counters, "cases": cases, "petitioners": len(site.petitioners),
                "blobs": blob_files(var)}
    finally:
        conn.close()


def route(app, number, unit):
    change(app, lambda site: route_to_unit(site, site.cases.by_number(number), unit))


def set_case(app, number, **attrs):
    def edit(site):
        case = site.cases.by_number(number)
        for key, value in attrs.items():
            setattr(case, key, value)
        site.catalog.reindex(case)
    change(app, edit)


# -- registration ----------------------------------------------------------------------------

def test_register_returns_the_case_in_the_contract_shape(api):
    clerk = api("clerk")
    body = petition(petitioners=[
        {"name": "王建国", "id_number": id_number(1), "phone": "13800000001", "address": "平桥区平西街道"},
        {"name": "李秀英", "id_number": id_number(2).lower()[:-1] + id_number(2)[-1].lower(), "primary": True},
    ])
    res = clerk.post_json("/api/cases", body, status=201)
    case = res.json
    assert CASE_KEYS <= set(case)
    assert case["number"] == "XY-2025-000001"
    assert res.headers["Location"].endswith("/api/cases/XY-2025-000001")
    assert case["url"].endswith("/cases/2025/XY-2025-000001/")
    assert (case["channel"], case["status"], case["district"], case["category"], case["petition_type"]) == \
        ("letter", "registered", "平桥区", "城乡建设", "complaint")
    assert case["subject"] == body["subject"] and case["content"] == body["content"]
    assert case["received_at"] == "2025-03-01T09:30:00"
    assert case["unit"] is None and case["links"] == []
    assert isinstance(case["deadlines"], list)
    for deadline in case["deadlines"]:
        assert {"name", "rule", "start", "due", "met_at", "paused_days", "extended_days", "overdue"} <= set(deadline)
    people = case["petitioners"]
    assert [p["name"] for p in people] == ["王建国", "李秀英"]
    assert [p["primary"] for p in people] == [False, True]
    assert people[0]["id_number"] == id_number(1) and people[0]["phone"] == "13800000001"
    assert people[1]["id_number"] == id_number(2)  # normalised (upper-case X)
    assert [f["name"] for f in case["folders"]] == ["origin", "notices", "handling", "supervision", "review",
                                                    "closing"]
    assert all(f["title"] for f in case["folders"])
    origin = case["folders"][0]["documents"]
    assert len(origin) == 1 and DOCUMENT_KEYS <= set(origin[0])
    letter = origin[0]
    assert letter["kind"] == "letter" and letter["filed_by"] == "clerk" and letter["version"] == 1
    assert letter["media_type"] == "text/plain"
    text = clerk.get(f"/api/cases/{case['number']}/documents/{letter['id']}/file").body
    assert text.decode("utf-8") == body["content"]
    assert letter["size"] == len(text) and letter["sha256"] == hashlib.sha256(text).hexdigest()
    assert [h["action"] for h in case["history"]] == ["register"]
    assert case["history"][0]["by"] == "clerk" and set(case["history"][0]) == {"action", "at", "by", "note"}
    assert all(not f["documents"] for f in case["folders"][1:])
    # reading it back gives the same case
    assert clerk.get(f"/api/cases/{case['number']}").json == case


def test_numbers_are_sequential_per_year(api):
    clerk = api("clerk")
    numbers = [clerk.post_json("/api/cases", petition(received_at=at), status=201).json["number"]
               for at in ("2025-03-01", "2025-12-31T23:59:59", "2024-06-01", "2025-01-01", "2024-01-02")]
    assert numbers == ["XY-2025-000001", "XY-2025-000002", "XY-2024-000001", "XY-2025-000003", "XY-2024-000002"]


def test_register_channels(api):
    clerk = api("clerk")
    online = clerk.post_json("/api/cases", petition(channel="online", petitioners=[{"name": "网民甲"}],
                                                    online_source="wechat", external_ref="WX-1"), status=201).json
    assert online["channel"] == "online" and online["online_source"] == "wechat"
    assert online["petitioners"][0]["id_number"] == ""
    phone = clerk.post_json("/api/cases", petition(channel="phone", petitioners=[{"anonymous": True}]),
                            status=201).json
    assert phone["petitioners"][0]["anonymous"] is True and phone["petitioners"][0]["name"] == "匿名"
    transfer = clerk.post_json("/api/cases", petition(
        channel="transfer", source={"level": "provincial", "mode": "assign", "ref": "豫信交〔2025〕12号",
                                    "due": "2025-04-01"}), status=201).json
    assert transfer["source"] == {"level": "provincial", "mode": "assign", "ref": "豫信交〔2025〕12号",
                                  "due": "2025-04-01"}
    assert transfer["folders"][0]["documents"][0]["kind"] == "transfer_sheet"
    accusation = clerk.post_json("/api/cases", petition(petition_type="accusation",
                                                        accused={"unit": "411503", "person": "张某"}),
                                 status=201).json
    assert accusation["accused"] == {"unit": "411503", "person": "张某"}
    visit = clerk.post_json("/api/cases", petition(channel="visit", group_size=12), status=201).json
    assert visit["group_size"] == 12 and visit["folders"][0]["documents"][0]["kind"] == "visit_transcript"


def test_register_multipart_with_files(api):
    clerk = api("clerk")
    scan, photo = pdf_bytes("来信扫描件"), png_bytes()
    res = post_multipart(clerk, "/api/cases", [("data", json.dumps(petition(), ensure_ascii=False))],
                         [("file", "来信.pdf", scan), ("file", "现场照片.png", photo)])
    case = res.json
    docs = case["folders"][0]["documents"]
    by_type = {d["media_type"]: d for d in docs}
    assert set(by_type) == {"application/pdf", "image/png"}
    assert by_type["application/pdf"]["kind"] == "letter"
    for data, doc in ((scan, by_type["application/pdf"]), (photo, by_type["image/png"])):
        assert doc["sha256"] == hashlib.sha256(data).hexdigest() and doc["size"] == len(data)
        got = clerk.get(f"/api/cases/{case['number']}/documents/{doc['id']}/file")
        assert got.body == data and got.content_type == doc["media_type"]


def test_register_multipart_with_data_sent_as_a_file_part(api):
    clerk = api("clerk")
    data = json.dumps(petition()).encode("utf-8")
    res = post_multipart(clerk, "/api/cases", files=[("data", "petition.json", data),
                                                     ("file", "scan.jpg", jpeg_bytes())])
    assert res.json["number"] == "XY-2025-000001"
    assert res.json["folders"][0]["documents"][0]["media_type"] == "image/jpeg"


# -- refusals: 400 / 422 and nothing written --------------------------------------------------

INVALID = [
    # (overrides, field named in the error)
    ({"received_at": "2099-01-01"}, "received_at"),
    ({"received_at": "2030-01-01T00:00:00"}, "received_at"),
    ({"received_at": "2025-02-30"}, "received_at"),
    ({"received_at": "昨天"}, "received_at"),
    ({"received_at": 20250301}, "received_at"),
    ({"received_at": None}, "received_at"),
    ({"received_at": "1989-12-31"}, "received_at"),
    ({"subject": ""}, "subject"),
    ({"subject": "   "}, "subject"),
    ({"subject": 123}, "subject"),
    ({"subject": ["事由"]}, "subject"),
    ({"subject": "长" * 201}, "subject"),
    ({"content": {"text": "x"}}, "content"),
    ({"channel": "fax"}, "channel"),
    ({"channel": None}, "channel"),
    ({"district": "北京市"}, "district"),
    ({"petition_type": "praise"}, "petition_type"),
    ({"petitioners": []}, "petitioners"),
    ({"petitioners": {"name": "王建国"}}, "petitioners"),
    ({"petitioners": ["王建国"]}, "petitioners.0"),
    ({"petitioners": [{"name": "王建国", "id_number": id_number(1)[:-1] + ("0" if id_number(1)[-1] != "0" else "1")}]},
     "petitioners.0.id_number"),
    ({"petitioners": [{"name": "王建国", "id_number": "41150219750230001X"}]}, "petitioners.0.id_number"),
    ({"petitioners": [{"name": "王建国", "id_number": "99150219750601001X"}]}, "petitioners.0.id_number"),
    ({"petitioners": [{"name": "王建国", "id_number": "4115021975060100"}]}, "petitioners.0.id_number"),
    ({"petitioners": [{"name": "王建国", "id_number": 411502197506010011}]}, "petitioners.0.id_number"),
    ({"petitioners": [{"name": "王建国"}]}, "petitioners.0.id_number"),
    ({"petitioners": [{"name": "", "id_number": id_number(1)}]}, "petitioners.0.name"),
    ({"petitioners": [{"name": 5, "id_number": id_number(1)}]}, "petitioners.0.name"),
    ({"petitioners": [{"name": "王建国", "id_number": id_number(1), "phone": "call me"}]}, "petitioners.0.phone"),
    ({"petitioners": [{"name": "王建国", "id_number": id_number(1), "phone": 13800000001}]}, "petitioners.0.phone"),
    ({"petitioners": [{"name": "甲", "id_number": id_number(1), "primary": True},
                      {"name": "乙", "id_number": id_number(2), "primary": True}]}, "petitioners"),
    ({"petitioners": [{"name": "甲", "id_number": id_number(1)}, {"name": "乙", "id_number": id_number(1)}]},
     "petitioners"),
    ({"channel": "visit", "petitioners": [{"name": f"访{i}", "id_number": id_number(i)} for i in range(1, 7)]},
     "petitioners"),
    ({"channel": "visit", "content": ""}, "content"),
    ({"channel": "visit", "group_size": "很多"}, "group_size"),
    ({"content": ""}, "content"),
    ({"petition_type": "accusation"}, "accused"),
    ({"petition_type": "accusation", "accused": ["张某"]}, "accused"),
    ({"accused": {"unit": "999999"}}, "accused.unit"),
    ({"accused": {"unit": 411503}}, "accused.unit"),
    ({"channel": "transfer"}, "source.level"),
    ({"channel": "transfer", "source": {"level": "provincial", "mode": "assign", "ref": "x", "due": "不久"}},
     "source.due"),
    ({"channel": "online", "online_source": "fax", "petitioners": [{"name": "网民"}]}, "online_source"),
]


def test_invalid_registrations_are_422_naming_the_field_and_write_nothing(app, var, api):
    clerk = api("clerk")
    clerk.post_json("/api/cases", petition(), status=201)
    before = stored_state(app, var)
    for overrides, field in INVALID:
        res = clerk.post_json("/api/cases", petition(**overrides), status="*")
        body = error_of(res, 422, "invalid")
        assert field in body["fields"], (overrides, body)
        assert chinese(body["message"]) and all(chinese(m) for m in body["fields"].values()), body
        assert stored_state(app, var) == before, overrides
    # the next good registration takes the next number: nothing was used up
    assert clerk.post_json("/api/cases", petition(), status=201).json["number"] == "XY-2025-000002"


def test_a_received_date_in_the_future_is_refused_even_by_minutes(api):
    import datetime

    from casefiles import localtime
    soon = (localtime.now() + datetime.timedelta(hours=1)).isoformat(timespec="seconds")
    body = error_of(api("clerk").post_json("/api/cases", petition(received_at=soon), status=422), 422)
    assert set(body["fields"]) == {"received_at"}
    today = localtime.today().isoformat()
    api("clerk").post_json("/api/cases", petition(received_at=today), status=201)


MALFORMED = [
    b"", b"null", b"[]", b'["channel", "letter"]', b'"letter"', b"42", b"{", b'{"channel": "letter",}',
    b"\xff\xfe{\x00}\x00", b'{"subject": NaN}', b'{"group_size": Infinity}', b'{"group_size": 1e999}',
    b"[" * 100000 + b"]" * 100000, b'{"subject": "\\ud800"}',
]


def test_malformed_bodies_are_400_and_write_nothing(app, var, api):
    clerk = api("clerk")
    before = stored_state(app, var)
    for raw in MALFORMED:
        res = clerk.testapp.post("/api/cases", raw, headers={**clerk.headers, "Content-Type": "application/json"},
                                 status="*")
        body = error_of(res, 400, "bad_json")
        assert chinese(body["message"]), raw[:40]
    # the same mistakes inside a multipart registration, and broken forms
    for raw in MALFORMED[:10]:
        res = post_multipart(clerk, "/api/cases", [("data", raw)], status="*")
        error_of(res, 400, "bad_json")
    error_of(post_multipart(clerk, "/api/cases", [("subject", "x")], status="*"), 400, "bad_json")
    for content_type in ("multipart/form-data", "multipart/form-data; boundary="):
        res = clerk.testapp.post("/api/cases", b"--x\r\ngarbage", status="*",
                                 headers={**clerk.headers, "Content-Type": content_type})
        assert chinese(error_of(res, 400)["message"])
    assert stored_state(app, var) == before


def test_refused_files_leave_no_case(app, var, api):
    clerk = api("clerk")
    before = stored_state(app, var)
    data = [("data", json.dumps(petition()))]
    for name, content, status, code in (("信件.pdf", ELF, 415, "unsupported_type"),
                                        ("scan.pdf", EXE, 415, "unsupported_type"),
                                        ("空白.pdf", b"", 422, "invalid")):
        # a good file beside the bad one is not kept either
        res = post_multipart(clerk, "/api/cases", data, [("file", "good.pdf", pdf_bytes()), ("file", name, content)],
                             status="*")
        body = error_of(res, status, code)
        assert "files.1" in body["fields"] and chinese(body["message"])
        assert stored_state(app, var) == before


def test_too_large_registration_is_413_and_leaves_nothing(tmp_path):
    var = tmp_path / "var"
    app = make_app(var, **{"casefiles.max_upload_bytes": "2000"})
    try:
        add_users(app, [("clerk", ["clerk"], None)])
        clerk = API(webtest.TestApp(app), "clerk")
        before = stored_state(app, var)
        res = post_multipart(clerk, "/api/cases", [("data", json.dumps(petition()))],
                             [("file", "small.png", png_bytes((4, 4))), ("file", "big.pdf", pdf_bytes(pages=3))],
                             status="*")
        body = error_of(res, 413, "too_large")
        assert chinese(body["message"]) and "files.1" in body["fields"]
        # far over the limit: refused before the body is read
        res = post_multipart(clerk, "/api/cases", [("data", json.dumps(petition()))],
                             [("file", "huge.pdf", b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024))], status="*")
        error_of(res, 413, "too_large")
        assert stored_state(app, var) == before
        assert clerk.post_json("/api/cases", petition(), status=201).json["number"] == "XY-2025-000001"
    finally:
        close_app(app)


# -- reading cases ---------------------------------------------------------------------------

def test_unknown_case_is_404(api):
    for url in ("/api/cases/XY-2025-000001", "/api/cases/nonsense", "/api/cases/XY-abcd-000001"):
        body = error_of(api("clerk").get(url, status=404), 404, "not_found")
        assert chinese(body["message"])


def test_list_filters_pages_and_counts(app, api):
    clerk = api("clerk")
    made = [
        petition(received_at="2025-03-01", district="平桥区"),
        petition(received_at="2025-03-05", district="浉河区", channel="online", petitioners=[{"name": "网民"}]),
        petition(received_at="2025-03-03", district="浉河区"),
        petition(received_at="2024-11-30", district="息县", channel="phone", petitioners=[{"name": "来电人"}]),
        petition(received_at="2025-02-01", district="平桥区", petition_type="suggestion"),
    ]
    numbers = [clerk.post_json("/api/cases", body, status=201).json["number"] for body in made]
    set_case(app, numbers[2], status="accepted")
    route(app, numbers[2], "411502")

    listed = clerk.get("/api/cases").json
    assert listed["total"] == 5
    # newest received first
    assert [c["number"] for c in listed["cases"]] == [numbers[i] for i in (1, 2, 0, 4, 3)]
    assert set(listed["cases"][0]) >= {"number", "url", "status", "subject", "channel", "district", "received_at",
                                       "unit"}

    def numbers_for(query):
        res = clerk.get("/api/cases?" + quote(query, safe="=&")).json
        assert res["total"] == len(res["cases"])
        return {c["number"] for c in res["cases"]}
    assert numbers_for("district=浉河区") == {numbers[1], numbers[2]}
    assert numbers_for("channel=online") == {numbers[1]}
    assert numbers_for("status=accepted") == {numbers[2]}
    assert numbers_for("status=registered&district=平桥区") == {numbers[0], numbers[4]}
    assert numbers_for("year=2024") == {numbers[3]}
    assert numbers_for("unit=411502") == {numbers[2]}
    assert numbers_for("petition_type=suggestion") == {numbers[4]}
    assert numbers_for("status=closed") == set()

    page1 = clerk.get("/api/cases?size=2").json
    page2 = clerk.get("/api/cases?size=2&page=2").json
    page3 = clerk.get("/api/cases?size=2&page=3").json
    page9 = clerk.get("/api/cases?size=2&page=9").json
    assert (page1["total"], page2["total"], page3["total"], page9["total"]) == (5, 5, 5, 5)
    assert [len(p["cases"]) for p in (page1, page2, page3, page9)] == [2, 2, 1, 0]
    assert [c["number"] for p in (page1, page2, page3) for c in p["cases"]] == \
        [c["number"] for c in listed["cases"]]

    for query in ("page=0", "page=x", "size=0", "size=1000", "year=abc", "status=nonsense", "channel=fax",
                  "petition_type=x"):
        body = error_of(clerk.get(f"/api/cases?{query}", status=400), 400, "bad_request")
        assert chinese(body["message"]) and body["fields"], query


def test_unit_users_see_only_cases_routed_to_their_unit(app, api):
    clerk = api("clerk")
    mine, theirs, unrouted, accused = [clerk.post_json("/api/cases", body, status=201).json["number"] for body in (
        petition(subject="甲"), petition(subject="乙"), petition(subject="丙"),
        petition(subject="丁", petition_type="accusation", accused={"unit": "411502", "person": "某科长"}))]
    route(app, mine, "411502")
    route(app, theirs, "411503")
    route(app, accused, "411502")   # routed to the accused unit by mistake: still closed to it
    unit, unit2 = api("unit"), api("unit2")

    listed = unit.get("/api/cases").json
    assert listed["total"] == 1 and [c["number"] for c in listed["cases"]] == [mine]
    assert unit.get("/api/cases?unit=411503").json == {"total": 0, "page": 1, "size": 25, "cases": []}
    assert unit.get("/api/cases?status=registered").json["total"] == 1
    assert unit.get(f"/api/cases/{mine}").json["subject"] == "甲"
    doc = unit.get(f"/api/cases/{mine}").json["folders"][0]["documents"][0]
    assert unit.get(f"/api/cases/{mine}/documents/{doc['id']}/file").body
    for number in (theirs, unrouted, accused):
        error_of(unit.get(f"/api/cases/{number}", status=403), 403, "forbidden")
        error_of(unit.get(f"/api/cases/{number}/documents", status=403), 403, "forbidden")
    other_doc = clerk.get(f"/api/cases/{theirs}").json["folders"][0]["documents"][0]["id"]
    error_of(unit.get(f"/api/cases/{theirs}/documents/{other_doc}", status=403), 403)
    error_of(unit.get(f"/api/cases/{theirs}/documents/{other_doc}/file", status=403), 403)
    assert [c["number"] for c in unit2.get("/api/cases").json["cases"]] == [theirs]
    error_of(unit2.get(f"/api/cases/{mine}", status=403), 403)

    # routing away takes the case out of the old unit's list at once
    route(app, mine, "411503")
    assert unit.get("/api/cases").json["total"] == 0
    error_of(unit.get(f"/api/cases/{mine}", status=403), 403)
    assert unit2.get("/api/cases").json["total"] == 2


def test_petitioner_lookup_shows_history_the_user_may_see(app, api):
    clerk = api("clerk")
    first = clerk.post_json("/api/cases", petition(subject="第一次"), status=201).json["number"]
    second = clerk.post_json("/api/cases", petition(subject="第二次", petitioners=[
        {"name": "王建国", "id_number": id_number(1), "phone": "13900000009"}]), status=201).json["number"]
    found = clerk.get(f"/api/petitioners?id_number={id_number(1)}").json
    assert found["petitioner"]["name"] == "王建国" and found["petitioner"]["phone"] == "13900000009"
    assert [c["number"] for c in found["cases"]] == [second, first]
    assert clerk.get(f"/api/petitioners?id_number={id_number(7)}").json == {"petitioner": None, "cases": []}
    body = error_of(clerk.get("/api/petitioners?id_number=411502197506010012", status=422), 422, "invalid")
    assert "id_number" in body["fields"]
    error_of(clerk.get("/api/petitioners", status=422), 422)
    # units and analysts cannot look people up
    error_of(api("unit").get(f"/api/petitioners?id_number={id_number(1)}", status=403), 403)
    error_of(api("analyst").get(f"/api/petitioners?id_number={id_number(1)}", status=403), 403)
    # an auditor can, but sees only the cases they may open (all of them)
    assert len(api("auditor").get(f"/api/petitioners?id_number={id_number(1)}").json["cases"]) == 2


def test_readers_see_masked_identity_numbers(app, api):
    number = api("clerk").post_json("/api/cases", petition(), status=201).json["number"]
    full = api("clerk").get(f"/api/cases/{number}").json["petitioners"][0]
    assert full["id_number"] == id_number(1) and full["phone"] == "13800000001"
    masked = api("analyst").get(f"/api/cases/{number}").json["petitioners"][0]
    assert masked["id_number"] != id_number(1) and masked["id_number"].startswith(id_number(1)[:4])
    assert "*" in masked["id_number"] and "*" in masked["phone"]
    route(app, number, "411502")   # a routed unit sees them masked until it reveals them with a purpose
    assert api("unit").get(f"/api/cases/{number}").json["petitioners"][0]["id_number"] == masked["id_number"]
    revealed = api("unit").post_json(f"/api/cases/{number}/reveal", {"purpose": "办理回复"}).json
    assert revealed["petitioners"][0]["id_number"] == id_number(1)


def test_unknown_document_is_404(api):
    number = api("clerk").post_json("/api/cases", petition(), status=201).json["number"]
    for path in ("/api/cases/{n}/documents/nope", "/api/cases/{n}/documents/nope/file",
                 "/api/cases/XY-2025-000009/documents/nope"):
        error_of(api("clerk").get(path.format(n=number), status=404), 404, "not_found")


def test_malformed_urls_are_400_not_500(api):
    clerk = api("clerk")
    number = clerk.post_json("/api/cases", petition(), status=201).json["number"]
    for url in ("/api/cases/%ff", f"/api/cases/{number}/documents/%ff%fe/file", "/api/cases?page=%ff",
                "/api/cases?status=%ff", "/api/petitioners?id_number=%ff"):
        body = error_of(clerk.get(url, status="*"), 400, "bad_request")
        assert chinese(body["message"]), url
    # an undecodable locale parameter is ignored, not an error
    assert clerk.get(f"/api/cases/{number}?_LOCALE_=%ff").json["number"] == number
