"""Issue 12: writes return offsets, reads hand out the stored records, three write-path bugs."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest

from cowlog import EventLog, Record
from cowlog._state import CHUNK


def _log_of(n: int, keys: int = 7) -> EventLog[str, int]:
    log: EventLog[str, int] = EventLog()
    log.ingest_many([(f"k{i % keys}", i, i // 3) for i in range(n)])
    return log


# -- offsets ---------------------------------------------------------------------------------------


def test_ingest_returns_dense_offsets_from_zero() -> None:
    log: EventLog[Any, int] = EventLog(clock=lambda: 3)
    assert [log.ingest("a", 0, 1), log.ingest(("t",), 1, 2), log.ingest("b", 2)] == [0, 1, 2]


def test_ingest_many_returns_the_batchs_range() -> None:
    log = _log_of(5)
    assert log.ingest_many([("a", 1, 1), ("b", 2, 2)]) == range(5, 7)
    assert log.ingest_many(iter([])) == range(7, 7)
    assert len(log.ingest_many([("c", 3, None)] * 3)) == 3


def test_the_returned_offset_indexes_the_record() -> None:
    log: EventLog[str, object] = EventLog()
    value = object()
    offset = log.ingest("x", value, 9)
    assert log.snapshot()[offset] == (9, "x", value)
    assert log.snapshot()[offset][2] is value


# -- zero-copy reads -------------------------------------------------------------------------------


def test_every_read_hands_out_the_stored_record_itself() -> None:
    """`snap[i] is next(snap.replay(i))`, and the same object from every other read."""
    log = _log_of(2 * CHUNK + 9)
    snap = log.snapshot()
    for i in [0, 1, CHUNK - 1, CHUNK, 2 * CHUNK, len(snap) - 1]:
        record = snap[i]
        assert type(record) is tuple
        assert record is next(snap.replay(i))
        assert record is list(snap)[i] is snap[i : i + 1][0] is snap[::1][i]
    for record in snap.shortlog():
        assert record is snap.latest(record[1])
        assert any(record is r for r in snap)


def test_records_type_check_as_record() -> None:
    log: EventLog[str, int] = EventLog()
    log.ingest("a", 1, 2)
    record: Record[str, int] = log.snapshot()[0]
    ts, key, value = record
    assert (ts, key, value) == (2, "a", 1)


# -- integer-like timestamps, indexes and offsets --------------------------------------------------


class IndexLike:
    """Integer-like through __index__ only, as numpy.int64 is."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


def test_index_likes_are_accepted_and_stored_as_plain_ints() -> None:
    log: EventLog[str, int] = EventLog()
    log.ingest("a", 1, IndexLike(5))  # type: ignore[arg-type]
    log.ingest_many([("b", 2, IndexLike(6))])  # type: ignore[list-item]
    assert [(type(ts), ts) for ts, _, _ in log.replay()] == [(int, 5), (int, 6)]
    snap = log.snapshot()
    assert snap[IndexLike(1)] == (6, "b", 2)  # type: ignore[call-overload]
    assert list(snap.replay(IndexLike(1))) == [(6, "b", 2)]  # type: ignore[arg-type]
    assert snap[IndexLike(0) : IndexLike(1)] == [(5, "a", 1)]  # type: ignore[misc]


def test_bool_float_and_strings_stay_refused() -> None:
    log: EventLog[str, int] = EventLog()
    for bad in (True, 1.0, "1", b"1"):
        with pytest.raises(TypeError, match="timestamp must be an int"):
            log.ingest("a", 1, bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="since must be an int"):
            log.replay(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not bool"):
        log.snapshot()[True]
    assert len(log) == 0


def test_int_subclass_overriding_index_uses_its_int_value_consistently() -> None:
    class Liar(int):
        def __index__(self) -> int:
            return 10**9

        def __int__(self) -> int:
            return -5

    log = _log_of(3)
    log.ingest("k0", "liar", Liar(100))
    assert log.latest("k0") == (100, "k0", "liar")
    assert list(log.replay(Liar(3))) == [(100, "k0", "liar")]
    assert log.snapshot()[Liar(3)] == (100, "k0", "liar")  # type: ignore[call-overload]
    log._check()


def test_numpy_integers_are_accepted() -> None:
    numpy = pytest.importorskip("numpy", reason="numpy is not installed (not a dependency)")
    log: EventLog[str, int] = EventLog()
    log.ingest("a", 1, numpy.int64(7))
    log.ingest_many([("b", 2, numpy.uint32(8))])
    assert list(log.replay(numpy.int64(0))) == [(7, "a", 1), (8, "b", 2)]
    assert type(log.snapshot()[numpy.int16(0)][0]) is int


# -- a refused batch whose new key changes its hash ------------------------------------------------


class Fickle:
    """A key whose __hash__ changes (or raises) after it was inserted."""

    def __init__(self) -> None:
        self.calls = 0
        self.mode = "stable"

    def __hash__(self) -> int:
        self.calls += 1
        if self.mode == "raise":
            raise RuntimeError("hash exploded")
        return self.calls if self.mode == "drift" else 1

    def __eq__(self, other: object) -> bool:
        return self is other


@pytest.mark.parametrize("mode", ["drift", "raise"])
def test_refused_batch_with_a_fickle_new_key_leaves_the_log_writable(mode: str) -> None:
    log = _log_of(10)
    fickle = Fickle()
    before = list(log.replay())

    class Flip:
        """A bad item that, when its hash is taken, turns the fickle key fickle."""

        def __hash__(self) -> int:
            fickle.mode = mode
            raise TypeError("unhashable Flip")

    with pytest.raises(TypeError):
        log.ingest_many([("k1", 1, 1), (fickle, 2, 2), ("new", 3, 3), (Flip(), 4, 4)])
    assert list(log.replay()) == before
    log._check()
    assert log.ingest("k1", "after", 100) == 10  # writable, consistent
    assert log.ingest_many([("z", 1, 1)]) == range(11, 12)
    log._check()


# -- re-entrant writes -----------------------------------------------------------------------------


def _reentrant_cases(log: EventLog[Any, Any]) -> dict[str, Any]:
    class ReentrantHash:
        def __hash__(self) -> int:
            log.ingest("inner", 1, 1)
            return 1

    class ReentrantEq:
        def __init__(self, target: object) -> None:
            self.target = target

        def __hash__(self) -> int:
            return hash(self.target)

        def __eq__(self, other: object) -> bool:
            log.ingest("inner", 1, 1)
            return False

    class ReentrantIndex:
        def __index__(self) -> int:
            log.ingest("inner", 1, 1)
            return 1

    return {
        "hash": lambda: log.ingest(ReentrantHash(), 1, 1),
        "eq": lambda: log.ingest(ReentrantEq("k1"), 1, 1),
        "batch hash": lambda: log.ingest_many([("a", 1, 1), (ReentrantHash(), 1, 1)]),
        "batch index": lambda: log.ingest_many([("a", 1, ReentrantIndex())]),
    }


@pytest.mark.parametrize("case", ["hash", "eq", "batch hash", "batch index", "clock"])
def test_reentrant_write_raises_and_changes_nothing(case: str) -> None:
    """A write from inside a write to the same log: a clear RuntimeError, never a deadlock.

    Run in a thread with a timeout, so that a regression (a deadlock) fails instead of hanging.
    """
    if case == "clock":
        log: EventLog[Any, Any] = EventLog(clock=lambda: log.ingest("inner", 1, 1))
        call = lambda: log.ingest("a", 1)  # noqa: E731
    else:
        log = _log_of(10)
        call = _reentrant_cases(log)[case]
    before = list(log.replay())
    caught: list[BaseException] = []

    def attempt() -> None:
        try:
            call()
        except BaseException as exc:  # recorded and checked below
            caught.append(exc)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the re-entrant write deadlocked"
    assert len(caught) == 1 and isinstance(caught[0], RuntimeError), caught
    assert "re-entrant write" in str(caught[0])
    assert list(log.replay()) == before
    log._check()
    assert log.ingest("after", 1, 1) == len(before)  # writable afterwards


def test_a_clock_that_writes_to_another_log_is_fine() -> None:
    other: EventLog[str, int] = EventLog()
    ticks = itertools.count()

    def clock() -> int:
        other.ingest("tick", 0, 0)
        return next(ticks)

    log: EventLog[str, int] = EventLog(clock=clock)
    assert [log.ingest("a", 1), log.ingest("a", 2)] == [0, 1]
    assert len(other) == 2
