"""Every workflow action in every status for every role, generated from the action table.

One database holds a case in each status (reached by the workflow itself); each cell runs
the action inside a savepoint that is rolled back, so every cell starts from the same case.
An allowed cell must succeed (status, document, history); a role that may not act gets
403 before anything else; an allowed role in the wrong status gets 409 saying what is
allowed now.
"""
import datetime

import pytest
import transaction
from ZODB import DB
from ZODB.FileStorage import FileStorage

from casefiles import intake, workflow
from casefiles.cases import STATUSES
from casefiles.errors import Conflict, DomainError, Forbidden
from casefiles.experts import add_expert
from casefiles.security import ROLES
from casefiles.site import bootstrap
from casefiles.users import User

from .support import petition

FAKE_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def fake_render(kind, case, fields):
    return FAKE_PDF


def user(role, unit=None):
    return User(role if role != "unit" or unit == "411502" else "unit2", (role,), name=role,
                unit=unit if role == "unit" else None)


ADMIN = user("admin")
USERS = [user(r, "411502" if r == "unit" else None) for r in ROLES] + [user("unit", "411503")]


def act(site, case, name, body, who=ADMIN):
    return workflow.perform(site, case, name, body, who, fake_render)


def register(site, **overrides):
    data = petition(received_at="2025-03-03T09:00:00", **overrides)
    return intake.register(site, data, by="clerk", now=datetime.datetime(2025, 3, 3, 10, 0))


def file_report(site, case):
    from casefiles.documents import text_upload
    return intake.file_document(site, case, "handling", "handling_report", "办结报告",
                                text_upload("办结报告", "已调查核实并处理。"), by="unit", text="已调查核实并处理。",
                                now=datetime.datetime.now())


PATHS = {
    "registered": [],
    "accepted": [("accept", {"on": "2025-03-05"})],
    "rejected": [("reject", {"on": "2025-03-05", "reason": "不属于信访事项"})],
    "not-reaccepted": [("refuse-repeat", {"on": "2025-03-05", "reason": "同一事实和理由"})],
    "filed": [("file-for-record", {"on": "2025-03-05", "reason": "仅供参考"})],
    "forwarded": [("forward", {"on": "2025-03-05", "unit": "411502"})],
    "merged": [("join", {"on": "2025-03-05", "into": "ORIGINAL"})],
    "assigned": [("assign", {"on": "2025-03-05", "unit": "411502"})],
}
PATHS["reported"] = PATHS["assigned"] + [("FILE_REPORT", None), ("report", {"on": "2025-03-20", "summary": "已办结"})]
PATHS["replied-ready"] = PATHS["reported"] + [("approve-report", {"on": "2025-03-21", "opinion": "同意"})]
PATHS["replied"] = PATHS["replied-ready"] + [("reply", {"on": "2025-03-24", "outcome": "explain", "facts": "经查",
                                                        "basis": "有关规定", "opinion": "解释说明",
                                                        "delivered_on": "2025-03-24"})]
PATHS["under-review"] = PATHS["replied"] + [("request-review", {"on": "2025-04-01", "reasons": "不服"})]
PATHS["review-decided"] = PATHS["under-review"] + [("decide-review", {"on": "2025-04-20", "decision": "uphold",
                                                                      "opinion": "维持", "delivered_on": "2025-04-21"})]
PATHS["under-recheck"] = PATHS["review-decided"] + [("request-recheck", {"on": "2025-04-25", "reasons": "仍不服"})]
PATHS["hearing"] = PATHS["under-recheck"] + [("schedule-hearing", {"on": "2025-04-28", "hearing_date": "2025-05-05",
                                                                   "panel": "PANEL"})]
PATHS["recheck-decided"] = PATHS["under-recheck"] + [("decide-recheck", {"on": "2025-05-10", "decision": "uphold",
                                                                         "opinion": "维持", "delivered_on": "2025-05-11"})]
PATHS["closed"] = PATHS["recheck-decided"] + [("close", {"on": "2025-05-12"})]
PATHS["archived"] = PATHS["closed"] + [("archive", {"retention": "30"})]
assert set(PATHS) == set(STATUSES)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("matrix")
    db = DB(FileStorage(str(folder / "Data.fs"), blob_dir=str(folder / "blobs")))
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    with tm:
        site, _ = bootstrap(conn.root())
    tm.begin()
    experts = [add_expert(site, {"name": n, "field": f, "unit": u, "organisation": o}, "admin", None).id
               for n, f, u, o in (("李教授", "法学", "", "信阳师范大学"), ("赵律师", "法律", "", "律师事务所"),
                                  ("钱主任", "社会工作", "", "市人大"), ("孙科长", "城建", "411502", ""))]
    original = register(site)
    cases = {}
    for status, path in PATHS.items():
        case = register(site)
        for name, body in path:
            if name == "FILE_REPORT":
                file_report(site, case)
                continue
            body = dict(body)
            if body.get("into") == "ORIGINAL":
                body["into"] = original.number
            if body.get("panel") == "PANEL":
                body["panel"] = experts[:3]
            act(site, case, name, body)
        assert case.status == status, (status, case.status)
        cases[status] = case
    tm.commit()
    tm.begin()
    yield site, cases, original, experts, tm
    tm.abort()
    conn.close()
    db.close()


def body_for(name, case, original, experts):
    """A valid body for ``name`` on ``case`` (dated on the case's last step)."""
    on = workflow.previous_step(case).isoformat()
    bodies = {
        "accept": {}, "reject": {"reason": "理由"}, "refuse-repeat": {"reason": "理由"},
        "file-for-record": {"reason": "理由"}, "forward": {"unit": "411502"}, "assign": {"unit": "411502"},
        "object": {"reason": "不属于本单位职责"}, "report": {"summary": "已办结"},
        "approve-report": {"opinion": "同意"}, "return-report": {"opinion": "补充材料"},
        "extend": {"days": 30, "reason": "情况复杂", "approved_by": "局长"},
        "supervise": {"kind": "key", "instructions": "抓紧办理"},
        "end-supervision": {"result": "已按要求办理"},
        "suggest": {"type": "improve", "unit": "411502", "content": "建议改进工作"},
        "answer-suggestion": {"answer": "已采纳", "adoption": "adopted"},
        "reply": {"outcome": "support", "facts": "经查属实", "basis": "有关规定", "opinion": "予以支持",
                  "delivered_on": on},
        "deliver": {"delivered_on": on},
        "evaluate": {"bureau": "satisfied", "unit": "basically"},
        "request-review": {"reasons": "不服"},
        "decide-review": {"decision": "change", "opinion": "变更"},
        "request-recheck": {"reasons": "仍不服"},
        "schedule-hearing": {"hearing_date": on, "panel": experts[:3]},
        "record-hearing": {"record": "听证笔录"},
        "decide-recheck": {"decision": "uphold", "opinion": "维持"},
        "mark-repeat": {"into": original.number}, "join": {"into": original.number},
        "close": {}, "archive": {"retention": "10"},
    }
    body = dict(bodies[name])
    body["on"] = "2025-12-31" if name == "close" else on
    if name == "record-hearing" and case.hearings:
        body["on"] = case.hearings[-1]["date"].isoformat()
    return body


def prepare(site, case, name):
    """Records an action needs beyond its status (made as an administrator)."""
    on = workflow.previous_step(case).isoformat()
    if name == "report":
        file_report(site, case)
    elif name == "end-supervision":
        act(site, case, "supervise", {"on": on, "kind": "key", "instructions": "督办"})
    elif name == "answer-suggestion":
        act(site, case, "suggest", {"on": on, "type": "policy", "unit": "411502", "content": "建议"})
    elif name == "deliver":
        for key in ("recheck", "review", "reply"):
            record = getattr(case, key)
            if record:
                record = dict(record)
                record["delivered_on"] = None
                setattr(case, key, record)
                break


def expected(action, who, case):
    """The outcome the action table promises: "ok", 403 or 409."""
    if case.status == "archived":
        return 409
    role = who.roles[0]
    allowed_role = role == "admin" or (role in action.roles and (role != "unit" or case.unit == who.unit))
    if not allowed_role:
        return 403
    if case.status not in action.statuses:
        return 409
    if action.name == "deliver" and not any(getattr(case, k) for k in ("recheck", "review", "reply")):
        return 409   # nothing was decided yet, so nothing to deliver
    return "ok"


CELLS = [(status, name) for status in PATHS for name in workflow.ACTIONS]


@pytest.mark.parametrize("status,name", CELLS, ids=[f"{s}:{n}" for s, n in CELLS])
def test_action_in_state_for_every_role(world, status, name):
    site, cases, original, experts, tm = world
    case = cases[status]
    action = workflow.ACTIONS[name]
    for who in USERS:
        savepoint = tm.get().savepoint()
        try:
            want = expected(action, who, case)
            if want == "ok":
                prepare(site, case, name)
            documents = len(list(case.documents()))
            history = len(case.history)
            try:
                act(site, case, name, body_for(name, case, original, experts), who)
            except DomainError as exc:
                got = exc.status
                assert got == want, (status, name, who.username, exc.message, exc.fields)
                if got == 403:
                    assert isinstance(exc, Forbidden)
                if got == 409 and case.status != "archived" and want == 409 and case.status not in action.statuses:
                    assert isinstance(exc, Conflict)
                    assert "Allowed now" in exc.message.default
                    assert exc.message.mapping["action"] == action.title
                assert len(list(case.documents())) == documents and len(case.history) == history
                continue
            assert want == "ok", (status, name, who.username, "succeeded")
            if action.to:
                assert case.status == action.to
            else:
                assert case.status == status
            assert case.history[-1].action == name
            if name != "report":
                assert len(list(case.documents())) > documents
                assert any(d.kind == action.doc_kind for d in case.documents())
        finally:
            savepoint.rollback()
    assert case.status == status


def test_the_matrix_covers_the_whole_table():
    assert len(CELLS) == len(STATUSES) * len(workflow.ACTIONS)
    # the table of API.md: names, roles, statuses and targets as the contract says
    contract = {
        "accept": (("clerk", "assigner"), ("registered",), "accepted"),
        "reject": (("clerk", "assigner"), ("registered",), "rejected"),
        "refuse-repeat": (("clerk", "assigner"), ("registered",), "not-reaccepted"),
        "file-for-record": (("clerk", "assigner"), ("registered",), "filed"),
        "forward": (("clerk", "assigner"), ("registered",), "forwarded"),
        "assign": (("assigner",), ("registered", "accepted"), "assigned"),
        "object": (("unit",), ("assigned", "forwarded"), "registered"),
        "report": (("unit",), ("assigned",), "reported"),
        "approve-report": (("assigner",), ("reported",), "replied-ready"),
        "return-report": (("assigner",), ("reported",), "assigned"),
        "extend": (("assigner", "supervisor"), ("accepted", "assigned"), None),
        "reply": (("assigner", "unit"), ("accepted", "replied-ready"), "replied"),
        "evaluate": (("clerk",), ("replied", "closed"), None),
        "request-review": (("clerk", "reviewer"), ("replied",), "under-review"),
        "decide-review": (("reviewer",), ("under-review",), "review-decided"),
        "request-recheck": (("clerk", "reviewer"), ("review-decided",), "under-recheck"),
        "schedule-hearing": (("reviewer",), ("under-recheck",), "hearing"),
        "record-hearing": (("reviewer",), ("hearing",), "under-recheck"),
        "decide-recheck": (("reviewer",), ("under-recheck",), "recheck-decided"),
        "mark-repeat": (("clerk", "assigner"), ("registered",), "merged"),
        "join": (("clerk", "assigner"), ("registered",), "merged"),
        "close": (("assigner",), ("replied", "review-decided", "recheck-decided"), "closed"),
        "archive": (("admin",), ("closed",), "archived"),
    }
    for name, (roles, statuses, to) in contract.items():
        action = workflow.ACTIONS[name]
        assert (set(action.roles), set(action.statuses), action.to) == (set(roles), set(statuses), to), name
    supervise = workflow.ACTIONS["supervise"]
    assert supervise.roles == ("supervisor",) and supervise.to is None
    assert set(supervise.statuses) == {s for s in STATUSES if s not in workflow.CLOSED_STATUSES}


def test_a_refused_step_names_what_is_allowed_now(world):
    site, cases, original, experts, tm = world
    case = cases["accepted"]
    with pytest.raises(Conflict) as info:
        act(site, case, "close", {}, user("assigner"))
    mapping = info.value.message.mapping
    assert mapping["status"] == "已受理"
    assert "交办" in mapping["allowed"] and "答复" in mapping["allowed"] and "延期" in mapping["allowed"]
    with pytest.raises(Forbidden) as info:
        act(site, case, "assign", {"unit": "411502"}, user("clerk"))
    assert "交办组" in info.value.message.mapping["roles"]
    with pytest.raises(Forbidden):   # a unit acts only on cases routed to it
        act(site, cases["assigned"], "report", {"summary": "x"}, user("unit", "411503"))
