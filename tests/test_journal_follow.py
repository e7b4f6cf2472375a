"""``cowlog replay|shortlog --follow JOURNAL``: a journal read while its owner writes, compacts and
trims it, never written by the reader (cowlog/cli/read_journal.py).

The reader's own steps (`_Tail`) are driven one look at a time, so that compactions, trims and a
file replaced by another log land exactly between two looks; a real process checks the command
end to end, Ctrl-C included.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_tail import Cowlog, assert_clean_interrupt

import cowlog.journal as journal
from cowlog._frames import encode_frame
from cowlog.cli import read_journal
from cowlog.cli.main import main
from cowlog.cli.read_journal import _Tail
from cowlog.cli.sources import SourceError

Runs = Iterator[tuple[list[tuple[int, Any]], list[tuple[int, Any]]]]
Following = Callable[[Path], tuple[_Tail, list[str], Runs]]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "events.journal"


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read_journal, "_POLL", 0.001)


@pytest.fixture
def run() -> Iterator[Any]:
    started: list[Cowlog] = []

    def start(*args: str | Path) -> Cowlog:
        started.append(Cowlog(*args))
        return started[-1]

    yield start
    for process in started:
        process.stop()


def write(path: Path, items: list[tuple[Any, Any, int]]) -> None:
    """Write a journal at *path* holding *items*, and close it."""
    with journal.open(path, fsync="never") as log:
        log.ingest_many(items)


@pytest.fixture
def following() -> Iterator[Following]:
    tails: list[_Tail] = []

    def start(path: Path) -> tuple[_Tail, list[str], Runs]:
        notes: list[str] = []
        tails.append(_Tail(str(path), notes.append))
        tails[-1].start()
        return tails[-1], notes, tails[-1].runs()

    yield start
    for tail in tails:
        tail.close()


def test_a_follower_reads_each_write_once_through_compactions(
    path: Path, following: Following
) -> None:
    with journal.open(path, fsync="never") as log:
        log.ingest_many([("a", i, i) for i in range(3)])
        tail, notes, runs = following(path)
        assert tail.seen == 3 and tail.last == (2, (2, "a", 2))
        log.ingest("b", 3, 3)
        assert next(runs) == ([(3, (3, "b", 3))], [])
        log.compact()  # a new file under the name, holding offsets 0..3 again
        log.ingest_many([("c", 4, 4), ("d", 5, 5)])
        assert next(runs) == ([(4, (4, "c", 4)), (5, (5, "d", 5))], [])
        assert notes == [f"cowlog: {path} has been replaced; following the new file"]
        log.trim(before=5)  # a trim frame: nothing to print, nothing taken back
        log.ingest("e", 6, 6)
        assert next(runs) == ([(6, (6, "e", 6))], [])


def test_events_trimmed_and_compacted_away_unread_are_noted_not_invented(
    path: Path, following: Following
) -> None:
    with journal.open(path, fsync="never") as log:
        log.ingest_many([("a", 0, 0), ("b", 1, 1)])
        _, notes, runs = following(path)
        log.compact()  # file B: never opened by the follower
        log.ingest_many([("a", 2, 2), ("c", 3, 3), ("a", 4, 4), ("d", 5, 5)])
        log.trim(before=4)
        log.compact()  # file C: starts at 4; c's event 3 survives for the shortlog
        records, survivors = next(runs)
    assert records == [(4, (4, "a", 4)), (5, (5, "d", 5))]
    assert survivors == [(3, (3, "c", 3))]  # 2 is a's, superseded by 4: not a survivor
    assert notes[-1] == f"cowlog: {path}: events 2 to 3 were trimmed before they could be read"


def test_another_log_under_the_name_is_read_from_its_start(
    path: Path, following: Following
) -> None:
    write(path, [("a", i, i) for i in range(3)])
    tail, notes, runs = following(path)
    path.unlink()
    write(path, [("z", i, 10 + i) for i in range(4)])  # as long, but another history
    assert next(runs) == ([(i, (10 + i, "z", i)) for i in range(4)], [])
    assert notes[-1] == f"cowlog: {path} holds another log now; reading it from its start"
    assert tail.restarts == 1
    path.unlink()
    write(path, [("y", 0, 0)])  # shorter than what was read
    assert next(runs) == ([(0, (0, "y", 0))], [])
    assert "is shorter than what was read: another log" in notes[-1]


def test_the_same_history_rewritten_carries_on_without_repeats(
    path: Path, following: Following
) -> None:
    write(path, [("a", i, i) for i in range(3)])
    tail, _, runs = following(path)
    journal.dump(journal.load(path), str(path) + ".copy")
    with journal.open(str(path) + ".copy", fsync="never") as copy:
        copy.ingest("b", 3, 3)
    os.replace(str(path) + ".copy", path)
    assert next(runs) == ([(3, (3, "b", 3))], [])
    assert tail.restarts == 0


def test_a_frame_being_written_is_shown_once_it_is_whole(path: Path, following: Following) -> None:
    write(path, [("a", 0, 0)])
    tail, _, runs = following(path)
    frame = encode_frame(b'[1,"b",1]')
    with path.open("ab") as f:
        f.write(frame[:5])
    assert tail._look() == ([], [])  # not yet whole: not read, not an error
    with path.open("ab") as f:
        f.write(frame[5:])
    assert next(runs) == ([(1, (1, "b", 1))], [])


def test_damage_in_the_middle_stops_the_follow_and_changes_nothing(
    path: Path, following: Following
) -> None:
    write(path, [("a", 0, 0)])
    _, _, runs = following(path)
    bad = bytearray(encode_frame(b'[1,"b",1]'))
    bad[-2] ^= 1
    with path.open("ab") as f:
        f.write(bytes(bad) + encode_frame(b'[2,"c",2]'))
    before = path.read_bytes()
    with pytest.raises(SourceError, match=r"damaged at offset \d+ \(an intact frame follows\)"):
        next(runs)
    assert path.read_bytes() == before


def test_a_non_journal_under_the_name_is_a_clear_error(path: Path, following: Following) -> None:
    write(path, [("a", 0, 0)])
    _, _, runs = following(path)
    path.unlink()
    path.write_text('{"key": "a"}\n')
    with pytest.raises(SourceError, match="not a cowlog journal"):
        next(runs)


def test_replay_follow_of_a_journal_end_to_end(path: Path, run: Any) -> None:
    log = journal.open(path, fsync="never")  # the owner holds the lock all along
    try:
        log.ingest_many([("a", i, i) for i in range(5)])
        cowlog = run("replay", "--follow", "--tail", "2", "--format", "jsonl", path)
        cowlog.wait_for_lines(2)
        log.ingest("b", {"n": 5}, 5)
        cowlog.wait_for_lines(3)
        log.compact()
        log.ingest_many([("c", 6, 6), ("d", 7, 7)])
        cowlog.wait_for_lines(5)
        assert_clean_interrupt(cowlog, cowlog.interrupt())
    finally:
        log.close()
    lines = [json.loads(line) for line in cowlog.out]
    assert [line["offset"] for line in lines] == [3, 4, 5, 6, 7]
    assert lines[2] == {"offset": 5, "timestamp": 5, "key": "b", "value": {"n": 5}}
    assert any("has been replaced" in line for line in cowlog.err)


def test_shortlog_follow_of_a_journal_prints_each_new_latest(path: Path, run: Any) -> None:
    log = journal.open(path, fsync="never")
    try:
        log.ingest_many([("a", "old", 10), ("b", "b", 11)])
        cowlog = run("shortlog", "--follow", "--format", "jsonl", path)
        cowlog.wait_for_lines(2)
        log.ingest("a", "late", 9)  # older than a's latest: the shortlog does not change
        log.ingest("a", "tie", 10)  # same time, later arrival: the new latest
        cowlog.wait_for_lines(3)
        assert_clean_interrupt(cowlog, cowlog.interrupt())
    finally:
        log.close()
    assert [(x["offset"], x["value"]) for x in map(json.loads, cowlog.out)] == [
        (0, "old"),
        (1, "b"),
        (3, "tie"),
    ]


def test_tail_and_since_together_are_refused_for_a_journal(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with journal.open(path) as log:
        log.ingest("a", 0, 0)
    for follow in ([], ["--follow"]):
        assert main(["replay", *follow, "--tail", "1", "--since", "1", str(path)]) == 2
        assert capsys.readouterr().err == "cowlog: --tail and --since do not go together\n"


class Thing:
    """Equal to nothing but itself, as an object without ``__eq__`` is: pickle brings back a
    copy of it."""

    def __init__(self, n: int) -> None:
        self.n = n


@pytest.mark.filterwarnings("ignore::cowlog.journal.UnsafeCodecWarning")
def test_a_pickle_journal_is_followed_through_compactions(path: Path, following: Following) -> None:
    with journal.open(path, fsync="never", codec="pickle") as log:
        log.ingest("a", Thing(0), 0)  # a single ingest: pickle stores a tuple, not a list
        log.ingest_many([("a", Thing(i), i) for i in (1, 2)])
        tail, notes, runs = following(path)
        log.ingest("b", Thing(3), 3)
        assert [(offset, record[2].n) for offset, record in next(runs)[0]] == [(3, 3)]
        log.compact()  # the record at offset 3 comes back a copy, unequal to the one read
        log.ingest("c", Thing(4), 4)
        assert [(offset, record[2].n) for offset, record in next(runs)[0]] == [(4, 4)]
    assert tail.restarts == 0 and not any("another log" in note for note in notes)


def test_writes_the_owner_took_back_are_noted_and_replaced(
    path: Path, following: Following
) -> None:
    """A write whose fsync failed is cut out of the file; the owner, reopened, writes another
    event at the same offset (here by hand: the bytes are what the owner would write)."""
    write(path, [("a", 0, 0)])
    tail, notes, runs = following(path)
    size = path.stat().st_size
    with path.open("ab") as f:
        f.write(encode_frame(b'[1,"b",1]'))
    assert next(runs) == ([(1, (1, "b", 1))], [])
    os.truncate(path, size)  # the owner's cut: the write is refused
    with path.open("ab") as f:  # then a longer frame at the same place: `pos` is inside it
        f.write(encode_frame(b'[2,"c","a longer value"]') + encode_frame(b'[3,"d",3]'))
    assert next(runs) == ([(1, (2, "c", "a longer value")), (2, (3, "d", 3))], [])
    assert notes[-1] == (
        f"cowlog: {path}: events 1 to 1 were taken back by the owner (a failed write): they are "
        "not in its log"
    )
    assert tail.restarts == 0
    os.truncate(path, size)  # cut back again, with nothing after: nothing to print
    with path.open("ab") as f:
        f.write(encode_frame(b'[4,"e",4]'))
    assert next(runs) == ([(1, (4, "e", 4))], [])
    assert "events 1 to 2 were taken back" in notes[-1]


def test_a_replay_follow_prints_all_of_another_log(
    path: Path, following: Following, run: Any
) -> None:
    with journal.open(path, fsync="never") as log:
        log.ingest_many([("a", i, i) for i in range(10)])
        log.trim(before=8)
        log.compact()  # the replay starts at offset 8
    cowlog = run("replay", "--follow", "--format", "jsonl", path)
    cowlog.wait_for_lines(2)
    path.unlink()
    write(path, [("z", i, i) for i in range(12)])
    cowlog.wait_for_lines(14)
    assert_clean_interrupt(cowlog, cowlog.interrupt())
    assert [json.loads(line)["offset"] for line in cowlog.out] == [8, 9, *range(12)]


def test_a_file_still_being_made_under_the_name_is_waited_for(
    path: Path, following: Following
) -> None:
    write(path, [("a", 0, 0)])
    tail, _, runs = following(path)
    data = path.read_bytes()
    path.unlink()
    path.write_bytes(data[:5])  # not yet a whole header
    assert tail._look() == ([], []) and not tail._switched()
    path.write_bytes(data + encode_frame(b'[1,"b",1]'))
    assert next(runs) == ([(1, (1, "b", 1))], [])
