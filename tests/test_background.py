"""Background work and the requests: the indexer and the extraction worker wait for a pause
in the requests (``indexing.activity``), and text extraction runs in one long-lived,
bounded child process (``indexing.extract``)."""
import threading
import time

from indexing import extract
from indexing.activity import Activity

from .support import pdf_bytes


def test_background_work_waits_for_a_pause_in_the_requests():
    activity = Activity({"casefiles.background_quiet_seconds": "0.2",
                         "casefiles.background_longest_wait_seconds": "5"})
    assert activity.wait_quiet() < 0.1          # nothing served yet: no waiting
    activity.begin()
    waited = []
    worker = threading.Thread(target=lambda: waited.append(activity.wait_quiet()))
    worker.start()
    time.sleep(0.3)
    assert not waited                           # a request is in flight
    activity.end()
    worker.join(5)
    assert 0.45 <= waited[0] < 2.0              # ... then 0.2 s of quiet after it ended


def test_waiting_is_bounded_and_can_be_hurried():
    activity = Activity({"casefiles.background_quiet_seconds": "10",
                         "casefiles.background_longest_wait_seconds": "0.3"})
    activity.begin()
    assert 0.25 <= activity.wait_quiet() < 1.0   # at most ``longest`` seconds, busy or not
    waited = []
    slow = Activity({"casefiles.background_quiet_seconds": "10",
                     "casefiles.background_longest_wait_seconds": "30"})
    slow.begin()
    worker = threading.Thread(target=lambda: waited.append(slow.wait_quiet()))
    worker.start()
    time.sleep(0.2)
    with slow.hurried():                        # a search waiting for the index
        worker.join(5)
    assert waited and waited[0] < 2.0
    stopped = slow.wait_quiet(stop=lambda: True)
    assert stopped < 0.1


def test_one_child_process_extracts_file_after_file(tmp_path):
    one, two = tmp_path / "1.pdf", tmp_path / "2.pdf"
    one.write_bytes(pdf_bytes("信访材料第一份", pages=2))
    two.write_bytes(pdf_bytes("信访材料第二份", pages=1))
    text, state, _error = extract.extract_file(str(one), "application/pdf")
    assert state == "text" and "第一份" in text
    child = extract._worker.proc.pid
    text, state, _error = extract.extract_file(str(two), "application/pdf")
    assert state == "text" and "第二份" in text and "第一份" not in text
    assert extract._worker.proc.pid == child    # the same process, no new interpreter per file
    # a broken file is reported, and the child goes on
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4\n" + b"\x00garbage" * 100)
    _text, state, _error = extract.extract_file(str(bad), "application/pdf")
    assert state in ("failed", "empty")
    assert extract.extract_file(str(two), "application/pdf")[1] == "text"


def test_a_time_out_replaces_the_child(tmp_path):
    path = tmp_path / "x.pdf"
    path.write_bytes(pdf_bytes("信访", pages=1))
    extract.extract_file(str(path), "application/pdf")
    before = extract._worker.proc
    text, state, error = extract.extract_file(str(path), "application/pdf", timeout=0.0001)
    assert (text, state) == ("", "failed") and "timed out" in error
    assert before.poll() is not None            # killed at the deadline
    assert extract.extract_file(str(path), "application/pdf")[1] == "text"
    assert extract._worker.proc is not before


def test_a_change_of_memory_limit_starts_a_new_child(tmp_path):
    path = tmp_path / "x.pdf"
    path.write_bytes(pdf_bytes("信访", pages=1))
    extract.extract_file(str(path), "application/pdf")
    before = extract._worker.proc
    assert extract.extract_file(str(path), "application/pdf", memory_mb=1536)[1] == "text"
    assert extract._worker.proc is not before and before.poll() is not None


def test_index_file_names_do_not_follow_the_random_module():
    """Whoosh names segments with the ``random`` module; reseeding it (as test tools do for
    every example) must not make two segments of one index share a name."""
    import random
    import indexing.store  # noqa: F401  (gives Whoosh its own names)
    from whoosh.codec import base
    from whoosh.filedb import filestore
    random.seed(7)
    first = base.Segment._random_id(), filestore.random_name()
    random.seed(7)
    second = base.Segment._random_id(), filestore.random_name()
    assert first[0] != second[0] and first[1] != second[1]
    assert len(first[0]) == 16 and first[0].isalnum()
