"""File bookmarks: unchanged files are skipped, changed files re-read, progress per file."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import UTC, datetime

from scheduling_support import FIXTURES, make_connector

HEADER = "PAT_ENC_CSN_ID,PAT_MRN_ID,APPT_DTTM,APPT_STATUS_C,REFERRAL_ID\n"


def _export(path, rows: int, status: str = "1") -> None:
    lines = [f"{i},{1000 + i},2024-03-05 09:00,{status},R-{i}\n" for i in range(rows)]
    path.write_text(HEADER + "".join(lines))


def _connector(tmp_path, **settings):
    return make_connector(tmp_path, preset="epic_cadence", **settings)


def _read(connector, since=None, until=None):
    return list(connector.read("stage_event", since=since, fields=(), until=until))


def test_bookmark_records_each_file_by_content_hash_and_is_json(tmp_path):
    _export(tmp_path / "a.csv", 3)
    pages = _read(_connector(tmp_path))
    entry = pages[-1].bookmark["files"]["a.csv"]
    assert set(entry) == {"sha256", "size", "mtime_ns", "checked_ns"}
    assert json.loads(json.dumps(pages[-1].bookmark)) == pages[-1].bookmark


def test_a_file_already_read_is_skipped_on_the_next_run(tmp_path):
    _export(tmp_path / "a.csv", 3)
    connector = _connector(tmp_path)
    bookmark = _read(connector)[-1].bookmark
    assert _read(connector, since=bookmark) == []
    assert connector.stats.files_skipped == 1 and connector.stats.rows == 0


def test_a_touched_but_unchanged_file_is_still_skipped(tmp_path):
    _export(tmp_path / "a.csv", 3)
    connector = _connector(tmp_path)
    bookmark = _read(connector)[-1].bookmark
    os.utime(tmp_path / "a.csv", (1_800_000_000, 1_800_000_000))
    pages = _read(connector, since=bookmark)
    assert sum(len(p.records) for p in pages) == 0


def _settled(path, days: int = 1) -> int:
    """Give ``path`` a modification time ``days`` ago; the time in nanoseconds."""
    then = time.time_ns() - days * 86_400 * 10**9
    os.utime(path, ns=(then, then))
    return then


def _rewritten_keeping_size_and_time(path, mtime_ns: int) -> None:
    text = path.read_text()
    path.write_text(text.replace(",1,R-", ",2,R-"))  # every row completed: the same size
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_a_settled_file_with_its_size_and_time_is_skipped_without_being_read(tmp_path):
    """As make, rsync and git trust file times: other bytes of the same size under the old
    time (which only a tool that sets times can leave) are not seen."""
    _export(tmp_path / "a.csv", 3)
    then = _settled(tmp_path / "a.csv")
    connector = _connector(tmp_path)
    bookmark = _read(connector)[-1].bookmark
    _rewritten_keeping_size_and_time(tmp_path / "a.csv", then)
    assert _read(connector, since=bookmark) == []
    assert connector.stats.files_skipped == 1
    os.utime(tmp_path / "a.csv")  # touched: read, and the change seen
    pages = _read(connector, since=bookmark)
    assert [r.fields["stage"] for p in pages for r in p.records] == ["completed"] * 3


def test_a_file_hashed_as_it_was_being_written_is_hashed_again(tmp_path):
    """Racily clean: written within the file system clock's tick of its hashing, other
    bytes could carry the same size and time; its times are not trusted."""
    _export(tmp_path / "a.csv", 3)
    mtime = (tmp_path / "a.csv").stat().st_mtime_ns  # just now: not settled when hashed
    connector = _connector(tmp_path)
    bookmark = _read(connector)[-1].bookmark
    _rewritten_keeping_size_and_time(tmp_path / "a.csv", mtime)
    pages = _read(connector, since=bookmark)
    assert [r.fields["stage"] for p in pages for r in p.records] == ["completed"] * 3


def test_an_entry_without_trusted_times_is_renewed_once_the_same_bytes_have_settled(tmp_path):
    _export(tmp_path / "a.csv", 3)
    connector = _connector(tmp_path)
    bookmark = _read(connector)[-1].bookmark
    entry = bookmark["files"]["a.csv"]
    older = {"files": {"a.csv": {k: entry[k] for k in ("sha256", "size", "mtime_ns")}}}
    then = _settled(tmp_path / "a.csv")  # as an earlier refsync left it, a day later
    pages = _read(connector, since=older)
    assert sum(len(p.records) for p in pages) == 0
    renewed = pages[-1].bookmark["files"]["a.csv"]
    assert renewed["sha256"] == entry["sha256"] and renewed["mtime_ns"] == then
    assert _read(connector, since=pages[-1].bookmark) == []  # now trusted by its times


def test_a_file_changed_in_place_is_read_again_from_the_top(tmp_path):
    _export(tmp_path / "a.csv", 3)
    connector = _connector(tmp_path)
    bookmark = _read(connector)[-1].bookmark
    _export(tmp_path / "a.csv", 4, status="2")
    pages = _read(connector, since=bookmark)
    assert [r.fields["stage"] for p in pages for r in p.records] == ["completed"] * 4
    assert pages[-1].bookmark["files"]["a.csv"] != bookmark["files"]["a.csv"]


def test_a_new_file_is_read_and_the_old_one_skipped(tmp_path):
    _export(tmp_path / "a.csv", 3)
    connector = _connector(tmp_path)
    bookmark = _read(connector)[-1].bookmark
    _export(tmp_path / "b.csv", 2)
    pages = _read(connector, since=bookmark)
    assert {r.fields["source_file"] for p in pages for r in p.records} == {"b.csv"}
    assert set(pages[-1].bookmark["files"]) == {"a.csv", "b.csv"}


def test_a_file_enters_the_bookmark_only_on_the_page_that_completes_it(tmp_path):
    _export(tmp_path / "a.csv", 5)
    _export(tmp_path / "b.csv", 5)
    pages = _read(_connector(tmp_path, page_size=2))
    seen = [(len(p.records), sorted(p.bookmark["files"])) for p in pages]
    assert seen == [
        (2, []),
        (2, []),
        (1, ["a.csv"]),
        (2, ["a.csv"]),
        (2, ["a.csv"]),
        (1, ["a.csv", "b.csv"]),
    ]


def test_a_crash_mid_file_reads_that_file_again_and_yields_the_same_records(tmp_path):
    _export(tmp_path / "a.csv", 5)
    connector = _connector(tmp_path, page_size=2)
    first = _read(connector)
    committed = first[0].bookmark  # the engine committed page 1, then the process died
    again = _read(connector, since=committed)
    assert [r.id for p in again for r in p.records] == [r.id for p in first for r in p.records]


def test_replaying_a_file_yields_identical_record_ids(tmp_path):
    shutil.copy(FIXTURES / "epic_cadence_report.csv", tmp_path / "epic.csv")
    connector = _connector(tmp_path)
    first = [r.id for p in _read(connector) for r in p.records]
    second = [r.id for p in _read(connector) for r in p.records]
    assert first == second and len(set(first)) == 6


def test_files_modified_after_the_run_started_wait_for_the_next_run(tmp_path):
    _export(tmp_path / "a.csv", 2)
    _export(tmp_path / "b.csv", 2)
    started = datetime(2024, 3, 1, tzinfo=UTC)
    os.utime(tmp_path / "a.csv", (started.timestamp() - 60, started.timestamp() - 60))
    pages = _read(_connector(tmp_path), until=started)
    assert {r.fields["source_file"] for p in pages for r in p.records} == {"a.csv"}
    assert set(pages[-1].bookmark["files"]) == {"a.csv"}


def test_bookmark_entries_of_files_that_disappeared_are_dropped(tmp_path):
    _export(tmp_path / "a.csv", 1)
    _export(tmp_path / "b.csv", 1)
    connector = _connector(tmp_path)
    bookmark = _read(connector)[-1].bookmark
    (tmp_path / "b.csv").unlink()
    pages = _read(connector, since=bookmark)
    assert [p.records for p in pages] == [[]]
    assert set(pages[-1].bookmark["files"]) == {"a.csv"}


def test_temporary_and_hidden_files_are_not_read(tmp_path):
    _export(tmp_path / "a.csv", 1)
    _export(tmp_path / ".b.csv", 1)
    (tmp_path / "c.csv.part").write_text(HEADER)
    (tmp_path / "notes.md").write_text("not an export")
    pages = _read(_connector(tmp_path))
    assert set(pages[-1].bookmark["files"]) == {"a.csv"}


def test_a_page_closes_after_page_size_rejects_so_memory_stays_flat(tmp_path):
    (tmp_path / "bad.csv").write_text(
        HEADER + "".join(f"{i},1,2024-03-05 09:00,99,R-{i}\n" for i in range(7))
    )
    pages = _read(_connector(tmp_path, page_size=3))
    assert [len(p.rejects) for p in pages] == [3, 3, 1]
    assert all(p.records == [] for p in pages)


def test_an_unreadable_file_is_reported_and_the_others_still_read(tmp_path):
    _export(tmp_path / "a.csv", 1)
    (tmp_path / "b.csv").symlink_to(tmp_path / "gone.csv")  # dangling: open() fails
    _export(tmp_path / "c.csv", 1)
    pages = _read(_connector(tmp_path))
    rejects = [e for p in pages for e in p.rejects]
    assert [(e.source_file, e.code) for e in rejects] == [("b.csv", "UNREADABLE_FILE")]
    assert set(pages[-1].bookmark["files"]) == {"a.csv", "c.csv"}
