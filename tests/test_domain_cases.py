"""Case folders, their numbering, history and stage folders; the petitioner registry.
Plain objects on a throwaway database: no web layer."""
import datetime

import pytest
import transaction
import ZODB
import ZODB.FileStorage

from casefiles import intake
from casefiles.cases import STAGES, Case, Cases, CaseYear, Stage
from casefiles.errors import NotFound, ValidationError
from casefiles.folder import Folder
from casefiles.idnumber import make_id_number
from casefiles.petitioners import Petitioners
from casefiles.site import bootstrap

NOW = datetime.datetime(2025, 3, 2, 10, 0, 0)


def idn(seq):
    return make_id_number(411502, datetime.date(1975, 6, 1), seq)


def petition(**overrides):
    body = {"channel": "letter", "received_at": "2025-03-01T09:30:00", "subject": "拆迁补偿款未足额发放",
            "content": "请求依法处理。", "district": "平桥区", "category": "城乡建设",
            "petitioners": [{"name": "王建国", "id_number": idn(1), "phone": "13800000001"}]}
    body.update(overrides)
    return body


@pytest.fixture
def db(tmp_path):
    storage = ZODB.FileStorage.FileStorage(str(tmp_path / "Data.fs"), blob_dir=str(tmp_path / "blobs"))
    database = ZODB.DB(storage)
    yield database
    database.close()


@pytest.fixture
def conn(db):
    tm = transaction.TransactionManager()
    connection = db.open(tm)
    yield connection
    tm.abort()
    connection.close()


@pytest.fixture
def site(conn):
    root_site, changed = bootstrap(conn.root())
    assert changed
    conn.transaction_manager.commit()
    return root_site


# -- Folder ----------------------------------------------------------------------------------

class Item(Folder):
    pass


def test_folder_add_remove_len():
    folder = Folder()
    assert len(folder) == 0 and list(folder) == [] and folder  # an empty folder is still true
    assert folder.get("a") is None and "a" not in folder
    with pytest.raises(KeyError):
        folder["a"]
    a, b = Item(), Item()
    assert folder.add("a", a) is a
    folder.add("b", b)
    assert len(folder) == 2 and list(folder) == ["a", "b"] and "a" in folder
    assert a.__name__ == "a" and a.__parent__ is folder and folder["b"] is b
    assert list(folder.values()) == [a, b] and list(folder.items()) == [("a", a), ("b", b)]
    with pytest.raises(KeyError):
        folder.add("a", Item())
    assert len(folder) == 2
    for bad in ("", "x/y", "@@view", None, 3):
        with pytest.raises(ValueError):
            folder.add(bad, Item())
    assert folder.remove("a") is a
    assert len(folder) == 1 and "a" not in folder and list(folder) == ["b"]
    with pytest.raises(KeyError):
        folder.remove("a")
    assert len(folder) == 1


def test_folder_persists(db):
    tm = transaction.TransactionManager()
    c1 = db.open(tm)
    folder = c1.root()["f"] = Folder()
    for name in ("x", "y", "z"):
        folder.add(name, Item())
    folder.remove("y")
    tm.commit()
    c1.close()
    c2 = db.open(tm)
    again = c2.root()["f"]
    assert len(again) == 2 and list(again) == ["x", "z"] and again["z"].__parent__ is again
    c2.close()


# -- numbering -------------------------------------------------------------------------------

def test_numbers_are_sequential_per_year_and_start_again_each_year():
    cases = Cases()
    made = [cases.new_case(year).number for year in (2024, 2024, 2025, 2024, 2025, 2026)]
    assert made == ["XY-2024-000001", "XY-2024-000002", "XY-2025-000001", "XY-2024-000003", "XY-2025-000002",
                    "XY-2026-000001"]
    assert cases.year(2024).sequence == 3 and len(cases.year(2024)) == 3
    assert cases.year(2023) is None
    assert cases.by_number("XY-2025-000002").seq == 2
    assert cases["XY-2024-000003"].year == 2024
    assert isinstance(cases["2024"], CaseYear)
    for missing in ("XY-2025-000009", "XY-2023-000001", "nonsense", "", None, "XY-abc-000001"):
        assert cases.by_number(missing) is None
    assert sorted(c.number for c in cases.all_cases()) == sorted(made)


def test_prefix_is_a_setting(conn):
    site, _ = bootstrap(conn.root(), prefix="XYS")
    assert site.cases.new_case(2025).number == "XYS-2025-000001"


def test_registration_numbers_through_intake(site):
    numbers = [intake.register(site, petition(received_at=at), by="clerk", now=NOW).number
               for at in ("2025-01-05", "2024-12-31T23:59", "2025-03-01")]
    assert numbers == ["XY-2025-000001", "XY-2024-000001", "XY-2025-000002"]
    with pytest.raises(ValidationError):
        intake.register(site, petition(subject=""), by="clerk", now=NOW)
    assert site.cases.year(2025).sequence == 2
    assert intake.register(site, petition(), by="clerk", now=NOW).number == "XY-2025-000003"


# -- the case folder -------------------------------------------------------------------------

def test_case_has_six_stage_folders_and_a_history():
    case = Case("XY-2025-000001", 2025, 1)
    assert list(case) == sorted(name for name, _ in STAGES)
    assert [s.__name__ for s in case.stages()] == [name for name, _ in STAGES]
    assert all(isinstance(s, Stage) and len(s) == 0 and s.title for s in case.stages())
    assert case.history == []
    case.record("register", NOW, "clerk", "来信")
    case.record("file", NOW + datetime.timedelta(minutes=1), "clerk", "证据")
    assert [(h.action, h.by, h.note) for h in case.history] == [("register", "clerk", "来信"),
                                                               ("file", "clerk", "证据")]
    with pytest.raises(NotFound):
        case.document("nope")
    assert case.is_open and case.status_title == "已登记"
    case.status = "closed"
    assert not case.is_open


def test_register_writes_the_case_and_its_origin_document(site):
    case = intake.register(site, petition(), by="clerk", now=NOW)
    assert (case.status, case.channel, case.registered_by, case.registered_at) == ("registered", "letter", "clerk",
                                                                                  NOW)
    assert case.received_at == datetime.datetime(2025, 3, 1, 9, 30)
    letter, = case["origin"].values()
    assert letter.kind == "letter" and letter.text == "请求依法处理。"
    assert letter.current.read().decode("utf-8") == "请求依法处理。"
    assert case.document(letter.id) is letter and letter.case is case
    assert [h.action for h in case.history] == ["register"]
    assert site.catalog.query(["role:clerk"], {})[1] == [case.number]


# -- petitioners -----------------------------------------------------------------------------

def test_registry_finds_the_same_person_by_id_number():
    people = Petitioners()
    first = people.register("王建国", idn(1), "13800000001", "平桥区")
    again = people.register("王建国", idn(1).lower(), "", "")
    assert again is first and len(people) == 1
    assert (again.phone, again.address) == ("13800000001", "平桥区")   # blanks do not erase
    # a different name keeps the name on file (intake refuses it) unless the change is confirmed
    moved = people.register("王建國", " " + idn(1), "13900000002", "浉河区")
    assert moved is first and (first.name, first.phone, first.address) == ("王建国", "13900000002", "浉河区")
    renamed = people.register("王建國", idn(1), rename=True)
    assert renamed is first and first.name == "王建國"
    other = people.register("李秀英", idn(2))
    assert other is not first and len(people) == 2
    assert people.by_id_number(idn(2)) is other and people.by_id_number(idn(3)) is None
    assert people.by_id_number("") is None


def test_people_without_id_number_are_never_merged():
    people = Petitioners()
    a = people.register("网民", "")
    b = people.register("网民", "")
    anonymous = people.register("", "", anonymous=True)
    assert len({a.id, b.id, anonymous.id}) == 3 and len(people) == 3
    assert anonymous.display_name == "匿名" and a.display_name == "网民"
    assert a.masked_id == ""


def test_unchanged_details_do_not_rewrite_the_record(conn):
    people = conn.root()["people"] = Petitioners()
    person = people.register("王建国", idn(1), "13800000001", "平桥区")
    conn.transaction_manager.commit()
    people.register("王建国", idn(1), "13800000001", "平桥区")
    assert not person._p_changed        # no needless write, so no needless conflict
    people.register("王建国", idn(1), "13800000002", "平桥区")
    assert person._p_changed


def test_history_across_cases(site):
    first = intake.register(site, petition(subject="第一次"), by="clerk", now=NOW)
    second = intake.register(site, petition(subject="第二次", petitioners=[
        {"name": "王建国", "id_number": idn(1)}, {"name": "李秀英", "id_number": idn(2), "primary": True}]),
        by="clerk", now=NOW)
    wang = site.petitioners.by_id_number(idn(1))
    li = site.petitioners.by_id_number(idn(2))
    assert list(wang.cases) == [first.number, second.number]
    assert list(li.cases) == [second.number]
    assert second.petitioners == ((wang.id, False), (li.id, True))
    assert first.petitioners == ((wang.id, True),)
    assert len(site.petitioners) == 2
    assert wang.masked_id == idn(1)[:4] + "*" * 10 + idn(1)[-4:]
    assert wang.masked_phone == "138****0001"
    # the catalog knows who petitioned in which case
    assert sorted(site.catalog.find("petitioners", wang.id)) == sorted([first.docid, second.docid])
    site.catalog.merge()   # and once the recent cases are merged into the indexes
    assert sorted(site.catalog.catalog["petitioners"].applyEq(wang.id)) == sorted([first.docid, second.docid])


# -- what a registration stores ---------------------------------------------------------------

def test_stage_folders_are_stored_from_their_first_document(site, conn):
    case = intake.register(site, petition(), by="clerk", now=NOW)
    conn.transaction_manager.commit()
    assert set(case._items) == {"origin"}                      # only the folder with the letter
    handling = case["handling"]
    assert isinstance(handling, Stage) and len(handling) == 0 and handling.title == "办理材料"
    assert handling.__parent__ is case and handling.__name__ == "handling" and handling._p_jar is None
    assert case["handling"] is handling and case.get("handling") is handling and "handling" in case
    assert [s.__name__ for s in case.stages()] == [name for name, _ in STAGES] and len(case) == 6
    other_view = Stage("办理材料")        # another unstored view of the same folder (another request's)
    other_view.__name__, other_view.__parent__ = "handling", case
    first = intake.file_document(site, case, "handling", "investigation", "调查笔录", None, "clerk", text="笔录",
                                 now=NOW)
    conn.transaction_manager.commit()
    assert set(case._items) == {"origin", "handling"} and case["handling"]._p_jar is not None
    # an unstored view of the folder taken before files into the stored one, never beside it
    from casefiles.documents import Document
    second = other_view.file(Document("investigation", "调查笔录二", NOW, "clerk"))
    assert other_view._p_jar is None and len(other_view) == 0
    assert [d.id for d in case["handling"].values()] == sorted([first.id, second.id])
    assert case.document(second.id) is second and second.case is case
    with pytest.raises(KeyError):
        case["nope"]
    with pytest.raises(ValueError):
        case.add("handling", Item())


def test_cases_stored_before_keep_their_folders_and_history(site, conn):
    """A case from before lazy stages: six stage folders in a BTree, history entries in an
    IOBTree of persistent objects; it reads, files and records as before."""
    from BTrees.IOBTree import IOBTree
    from BTrees.OOBTree import OOBTree

    from casefiles.cases import HistoryEntry
    case = Case.__new__(Case)
    case.number, case.year, case.seq = "XY-2024-000001", 2024, 1
    for name, title in STAGES:
        stage = Stage.__new__(Stage)
        stage.title = title
        Folder.add(case, name, stage)
    case._history = IOBTree()
    case._history[0] = HistoryEntry("register", NOW, "clerk", "来信")
    site.cases.year(2024, create=True).add(case.number, case)
    conn.transaction_manager.commit()
    assert isinstance(case._items, OOBTree) and len(case) == 6
    document = intake.file_document(site, case, "review", "other", "补充材料", None, "clerk", text="补充", now=NOW)
    conn.transaction_manager.commit()
    assert case["review"].get(document.id) is document and len(case["review"]) == 1
    assert [h.action for h in case.history] == ["register", "file"]
    assert list(case.documents()) == [document]


def test_a_registration_stores_a_few_objects(tmp_path):
    """The objects one registration writes: the case (its two clocks inside it), its origin
    folder, the document (its version inside it) and the blob, the year's counter and
    bucket, the petitioner and the registry's two buckets, and two catalog buckets: 11. The catalog's
    indexes only once in ``merge_at`` registrations (in the web app, not even then: the search
    indexer's thread merges them)."""
    storage = ZODB.FileStorage.FileStorage(str(tmp_path / "Data.fs"), blob_dir=str(tmp_path / "blobs"))
    database = ZODB.DB(storage)
    tm = transaction.TransactionManager()
    connection = database.open(tm)
    site, _ = bootstrap(connection.root())
    tm.commit()
    for i in range(200):
        intake.register(site, petition(subject=f"第{i}件", petitioners=[{"name": "张三", "id_number": idn(i + 10)}]),
                        by="clerk", now=NOW)
        tm.commit()
    counts = [sum(1 for r in t if r.data) for t in storage.iterator()][-200:]
    merges = [n for n in counts if n > 40]
    assert len(merges) == 200 // site.catalog.merge_at
    ordinary = sorted(n for n in counts if n <= 40)
    assert ordinary[len(ordinary) // 2] <= 11 and ordinary[-1] <= 22    # more when a bucket splits
    assert sum(counts) / len(counts) <= 18
    connection.close()
    database.close()
