"""Snapshot: O(1), immutable, consistent views of one published version."""

from __future__ import annotations

import pytest
from _model import shortlog_by_rule

from cowlog import EventLog, Snapshot
from cowlog._state import CHUNK


def make_log(n: int, keys: int = 7) -> tuple[EventLog[int, int], list[tuple[int, int, int]]]:
    log: EventLog[int, int] = EventLog()
    expected = []
    for i in range(n):
        key, timestamp = i % keys, (i * 31) % 17
        log.ingest(key, i, timestamp)
        expected.append((timestamp, key, i))
    return log, expected


def test_snapshot_is_unchanged_by_later_ingests() -> None:
    log, expected = make_log(CHUNK + 10)
    snap = log.snapshot()
    shortlog = list(snap.shortlog())
    latest = {key: snap.latest(key) for key in range(7)}
    for i in range(3 * CHUNK):  # seals chunks, moves every survivor, adds keys
        log.ingest(i % 11, -i, 10**6 + i)
    log.ingest_many([(99, 0, 10**9)] * 5)
    assert len(snap) == len(expected)
    assert list(snap) == expected
    assert list(snap.shortlog()) == shortlog == shortlog_by_rule(expected)
    assert {key: snap.latest(key) for key in range(7)} == latest
    assert snap.latest(99) is None and snap.latest(10) is None
    assert snap[-1] == expected[-1]


def test_snapshot_sequence_protocol_matches_list() -> None:
    log, expected = make_log(2 * CHUNK + 5)
    snap = log.snapshot()
    assert isinstance(snap, Snapshot)
    for index in [0, 1, CHUNK - 1, CHUNK, len(expected) - 1, -1, -CHUNK, -len(expected)]:
        assert snap[index] == expected[index]
        assert type(snap[index]) is tuple
    for sl in [
        slice(None),
        slice(5, 9),
        slice(CHUNK - 2, CHUNK + 2),
        slice(-3, None),
        slice(None, None, -1),
        slice(3, 2000, 7),
        slice(10, 5),
        slice(-5000, 5000),
    ]:
        assert snap[sl] == expected[sl], sl
    assert list(iter(snap)) == expected


@pytest.mark.parametrize("index", [2 * CHUNK + 5, -(2 * CHUNK + 6), 10**9])
def test_snapshot_index_out_of_range_raises_index_error(index: int) -> None:
    log, _ = make_log(2 * CHUNK + 5)
    with pytest.raises(IndexError, match="out of range"):
        log.snapshot()[index]


@pytest.mark.parametrize("index", ["0", 1.0, None, True])
def test_snapshot_index_must_be_int_or_slice(index: object) -> None:
    log, _ = make_log(3)
    with pytest.raises(TypeError, match="integers or slices"):
        log.snapshot()[index]  # type: ignore[index]


def test_empty_snapshot() -> None:
    snap = EventLog().snapshot()
    assert len(snap) == 0 and list(snap) == [] and list(snap.shortlog()) == []
    assert list(snap.replay(5)) == [] and snap[:] == [] and snap.latest("a") is None
    with pytest.raises(IndexError):
        snap[0]


def test_replay_since_matches_list_slicing_at_every_boundary() -> None:
    log, expected = make_log(2 * CHUNK + 1)
    snap = log.snapshot()
    for since in range(0, len(expected) + 3, 97):
        assert list(snap.replay(since)) == expected[since:]
    for since in [CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 1]:
        assert list(snap.replay(since=since)) == expected[since:]


def test_iterators_are_independent_and_lazy() -> None:
    log, expected = make_log(CHUNK + 3)
    snap = log.snapshot()
    first, second = snap.replay(), snap.replay(CHUNK)
    assert next(first) == expected[0]
    assert next(second) == expected[CHUNK]
    log.ingest(0, 0, 0)  # does not leak into running iterators
    assert list(first) == expected[1:]
    assert list(second) == expected[CHUNK + 1 :]


def test_log_readers_equal_snapshot_readers() -> None:
    log, expected = make_log(100, keys=9)
    snap = log.snapshot()
    assert list(log.replay()) == list(snap.replay()) == expected
    assert list(log.replay(40)) == list(snap.replay(40))
    assert list(log.shortlog()) == list(snap.shortlog()) == shortlog_by_rule(expected)
    assert all(log.latest(key) == snap.latest(key) for key in range(10))


def test_values_are_stored_by_reference_snapshots_are_shallow() -> None:
    log: EventLog[str, dict[str, int]] = EventLog()
    value = {"n": 1}
    log.ingest("a", value, 1)
    snap = log.snapshot()
    value["n"] = 2  # the caller mutates the value after ingesting it
    assert snap[0][2] == {"n": 2}
    assert snap[0][2] is value


def test_snapshot_is_a_sequence_of_events() -> None:
    from collections.abc import Sequence

    log, expected = make_log(CHUNK + 2)
    snap = log.snapshot()
    assert isinstance(snap, Sequence)
    assert list(reversed(snap)) == expected[::-1]
    assert expected[CHUNK] in snap and (0, "absent", 0) not in snap
    assert snap.index(expected[5]) == expected.index(expected[5])
