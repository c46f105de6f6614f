"""Clocks are kept in their case: a registration stores no clock records, a clock changed in
place is stored with its case, a supervision's clock stays the case's own clock across a
restart, and clocks stored as records of their own (before) keep working."""
import datetime

import pytest
import transaction
import ZODB
import ZODB.FileStorage

from casefiles import clocks, intake, workflow
from casefiles.calendar import OfficialCalendar
from casefiles.site import bootstrap

from .support import petition

NOW = datetime.datetime(2025, 3, 3, 10, 0)


@pytest.fixture
def reopen(tmp_path):
    """open() -> (connection, site) on the same FileStorage, each time from disk."""
    opened = []

    def open_():
        for db, conn in opened:
            conn.close()
            db.close()
        opened.clear()
        storage = ZODB.FileStorage.FileStorage(str(tmp_path / "Data.fs"), blob_dir=str(tmp_path / "blobs"))
        db = ZODB.DB(storage)
        conn = db.open()
        site, _ = bootstrap(conn.root())
        transaction.commit()
        opened.append((db, conn))
        return conn, site
    yield open_
    for db, conn in opened:
        transaction.abort()
        conn.close()
        db.close()


def test_clocks_live_in_the_case_and_changes_in_place_are_stored(reopen):
    conn, site = reopen()
    number = intake.register(site, petition(received_at="2025-03-03T09:00:00"), by="clerk", now=NOW).number
    transaction.commit()
    records = [r for t in conn.db().storage.iterator() for r in t if r.data]
    assert not any(b"casefiles.clocks" in r.data[:120] and b"Deadline" in r.data[:120] for r in records)

    conn, site = reopen()
    case = site.cases.by_number(number)
    assert [type(d) for d in case.deadlines] == [clocks.Clock, clocks.Clock]
    assert [d.name for d in clocks.clocks(case)] == ["triage", "notice"]
    clocks.meet(case, "triage", datetime.date(2025, 3, 5), "assigner")          # changed in place
    clocks.pause(case, "notice", datetime.date(2025, 3, 4), "听证")
    transaction.commit()

    conn, site = reopen()
    case = site.cases.by_number(number)
    triage, notice = case.deadlines
    assert triage.met_at == datetime.date(2025, 3, 5) and triage.met_by == "assigner"
    assert notice.is_paused and notice.pauses[0]["reason"] == "听证"


def test_a_supervision_keeps_the_case_s_own_clock(reopen):
    conn, site = reopen()
    case = intake.register(site, petition(received_at="2025-03-03T09:00:00"), by="clerk", now=NOW)
    clock = clocks.start_clock(case, "supervision", clocks.load_rules(), OfficialCalendar(),
                               datetime.date(2025, 3, 6), "督办")
    record = workflow.Supervision("DB-1", "leader", "请速办", "", datetime.date(2025, 3, 6), "supervisor", clock)
    case.supervisions = (record,)
    number = case.number
    transaction.commit()

    conn, site = reopen()
    case = site.cases.by_number(number)
    record = case.supervisions[0]
    assert record.deadline is case.deadlines[-1] and record.deadline.name == "supervision"
    record.deadline.met_at, record.deadline.met_by = datetime.date(2025, 3, 10), "unit"   # through the record
    transaction.commit()

    conn, site = reopen()
    case = site.cases.by_number(number)
    assert case.deadlines[-1].met_at == datetime.date(2025, 3, 10)
    assert case.supervisions[0].deadline is case.deadlines[-1] and not case.supervisions[0].deadline.is_open


def test_clock_records_from_before_keep_working(reopen):
    """A case whose clocks were stored as ``Deadline`` records of their own, with a
    supervision holding one of them: read, changed and extended by a new clock."""
    conn, site = reopen()
    case = intake.register(site, petition(received_at="2025-03-03T09:00:00"), by="clerk", now=NOW)
    rules, calendar = clocks.load_rules(), OfficialCalendar()
    old = clocks.Deadline("supervision", rules, datetime.date(2025, 3, 6), "督办")
    old.refresh(calendar)
    case.deadlines = (old,)
    case.supervisions = (workflow.Supervision("DB-1", "leader", "请速办", "", datetime.date(2025, 3, 6), "s", old),)
    number = case.number
    transaction.commit()
    assert old._p_oid is not None

    conn, site = reopen()
    case = site.cases.by_number(number)
    record = case.supervisions[0]
    assert type(record.deadline) is clocks.Deadline and record.deadline is case.deadlines[0]
    record.deadline.met_at = datetime.date(2025, 3, 8)
    clocks.start_clock(case, "triage", rules, calendar, datetime.date(2025, 3, 9), "收到来信")
    transaction.commit()

    conn, site = reopen()
    case = site.cases.by_number(number)
    assert [type(d) for d in case.deadlines] == [clocks.Deadline, clocks.Clock]
    assert case.deadlines[0].met_at == datetime.date(2025, 3, 8) and case.supervisions[0].deadline is case.deadlines[0]
    assert clocks.current(case, "triage") is case.deadlines[1]
