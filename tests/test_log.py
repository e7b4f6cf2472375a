"""EventLog: ingest, ingest_many, the shortlog rule, bad input, repair after interrupted writes."""

from __future__ import annotations

import gc
import itertools
from typing import Any

import pytest
from _model import shortlog_by_rule

from cowlog import EventLog
from cowlog._state import CHUNK


def test_replay_returns_events_in_arrival_order() -> None:
    log: EventLog[str, int] = EventLog()
    for i, key in enumerate("abcab"):
        log.ingest(key, i, 100 - i)
    assert list(log.replay()) == [
        (100, "a", 0),
        (99, "b", 1),
        (98, "c", 2),
        (97, "a", 3),
        (96, "b", 4),
    ]
    assert all(type(record) is tuple for record in log.replay())
    assert len(log) == 5


def test_shortlog_keeps_greatest_timestamp_not_last_arrival() -> None:
    log: EventLog[str, str] = EventLog()
    log.ingest("cpu", "new", 10)
    log.ingest("cpu", "late but old", 5)
    assert list(log.shortlog()) == [(10, "cpu", "new")]
    assert log.latest("cpu") == (10, "cpu", "new")


def test_shortlog_ties_go_to_the_later_arrival() -> None:
    log: EventLog[str, str] = EventLog()
    log.ingest("cpu", "first", 10)
    log.ingest("cpu", "second", 10)
    assert log.latest("cpu") == (10, "cpu", "second")


def test_shortlog_yields_survivors_in_log_order() -> None:
    log: EventLog[str, int] = EventLog()
    log.ingest("b", 0, 1)
    log.ingest("a", 1, 1)
    log.ingest("b", 2, 2)  # b's survivor moves after a's
    assert [key for _, key, _ in log.shortlog()] == ["a", "b"]


def test_latest_of_absent_key_is_none() -> None:
    log: EventLog[str, int] = EventLog()
    assert log.latest("nothing") is None
    log.ingest("a", 1, 1)
    assert log.latest("nothing") is None


def test_none_timestamp_takes_the_clock_value() -> None:
    ticks = itertools.count(1000)
    log: EventLog[str, int] = EventLog(clock=lambda: next(ticks))
    assert log.ingest("a", 1) == 0
    assert log.ingest("a", 2, None) == 1
    assert [ts for ts, _, _ in log.replay()] == [1000, 1001]
    assert log.latest("a") == (1001, "a", 2)


def test_int_subclass_timestamp_is_stored_as_plain_int() -> None:
    class Stamp(int):
        pass

    log: EventLog[str, int] = EventLog()
    log.ingest("a", 1, Stamp(5))
    (timestamp, _, _) = log.snapshot()[0]
    assert type(timestamp) is int and timestamp == 5


def test_unhashable_keys_and_big_int_timestamps() -> None:
    log: EventLog[Any, int] = EventLog()
    log.ingest(("tuple", "key"), 1, 2**80)
    log.ingest(frozenset({1}), 2, -(2**70))
    assert log.latest(("tuple", "key")) == (2**80, ("tuple", "key"), 1)
    assert len(log) == 2


@pytest.mark.parametrize(
    "timestamp", [True, False, 1.0, float("nan"), "5", b"5", [5], object()], ids=repr
)
def test_bad_timestamp_raises_type_error_and_changes_nothing(timestamp: object) -> None:
    log: EventLog[str, int] = EventLog()
    log.ingest("a", 1, 1)
    with pytest.raises(TypeError, match="timestamp must be an int"):
        log.ingest("a", 2, timestamp)  # type: ignore[arg-type]
    assert list(log.replay()) == [(1, "a", 1)]
    log._check()
    log.ingest("a", 3, 3)
    assert log.latest("a") == (3, "a", 3)


@pytest.mark.parametrize("key", [[1], {"a": 1}, {1}, bytearray(b"x")], ids=repr)
def test_unhashable_key_raises_type_error_naming_key(key: object) -> None:
    log: EventLog[Any, int] = EventLog()
    with pytest.raises(TypeError, match="key must be hashable"):
        log.ingest(key, 1, 1)
    with pytest.raises(TypeError, match="key must be hashable"):
        log.latest(key)
    assert len(log) == 0
    log._check()


def test_bad_clock_value_raises_and_changes_nothing() -> None:
    log: EventLog[str, int] = EventLog(clock=lambda: 1.5)  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match=r"clock\(\) must be an int"):
        log.ingest("a", 1)
    assert len(log) == 0
    assert log.ingest("a", 1, 7) == 0 and log.latest("a") == (7, "a", 1)


def test_clock_must_be_callable() -> None:
    with pytest.raises(TypeError, match="clock must be callable"):
        EventLog(clock=5)  # type: ignore[arg-type]


class CollidingKey:
    """Every instance hashes alike; comparing two different instances can be made to raise."""

    explode = False

    def __init__(self, name: str) -> None:
        self.name = name

    def __hash__(self) -> int:
        return 42

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if CollidingKey.explode:
            raise RuntimeError("__eq__ exploded")
        return isinstance(other, CollidingKey) and other.name == self.name


def test_key_whose_eq_raises_leaves_log_unchanged() -> None:
    log: EventLog[Any, int] = EventLog()
    first = CollidingKey("first")
    log.ingest(first, 1, 1)
    CollidingKey.explode = True
    try:
        with pytest.raises(RuntimeError, match="exploded"):
            log.ingest(CollidingKey("second"), 2, 2)
        with pytest.raises(RuntimeError, match="exploded"):
            log.ingest_many([("ok", 1, 1), (CollidingKey("third"), 3, 3)])
    finally:
        CollidingKey.explode = False
    assert list(log.replay()) == [(1, first, 1)]
    log._check()
    log.ingest("after", 4, 4)
    assert len(log) == 2


def test_ingest_many_returns_its_offsets_and_appends_in_order() -> None:
    log: EventLog[str, int] = EventLog()
    assert log.ingest_many([("a", 1, 3), ["b", 2, 2], ("a", 3, 3)]) == range(3)
    assert list(log.replay()) == [(3, "a", 1), (2, "b", 2), (3, "a", 3)]
    assert log.latest("a") == (3, "a", 3)
    assert log.ingest_many([]) == range(3, 3)
    assert log.ingest_many(iter([("c", 4, 4)])) == range(3, 4)
    log._check()


def test_ingest_many_none_timestamps_share_one_clock_reading() -> None:
    ticks = itertools.count(50)
    log: EventLog[str, int] = EventLog(clock=lambda: next(ticks))
    log.ingest_many([("a", 1, None), ("b", 2, 9), ("a", 3, None)])
    assert [ts for ts, _, _ in log.replay()] == [50, 9, 50]
    assert log.latest("a") == (50, "a", 3)


@pytest.mark.parametrize(
    ("bad_item", "error", "match"),
    [
        (("k", 1, 1.5), TypeError, r"items\[4\] timestamp must be an int"),
        (("k", 1, True), TypeError, r"items\[4\] timestamp must be an int"),
        ("abc", TypeError, r"items\[4\] must be a \(key, value, timestamp\) tuple"),
        (("k", 1), ValueError, r"items\[4\] must have 3 fields"),
        (("k", 1, 1, 1), ValueError, r"items\[4\] must have 3 fields"),
        (([1], 1, 1), TypeError, r"items\[4\] key must be hashable"),
    ],
)
def test_ingest_many_with_one_bad_item_ingests_nothing(
    bad_item: Any, error: type[Exception], match: str
) -> None:
    log: EventLog[Any, int] = EventLog()
    log.ingest("before", 0, 0)
    items = [("a", i, i) for i in range(4)] + [bad_item] + [("b", 5, 5)]
    with pytest.raises(error, match=match):
        log.ingest_many(items)
    assert list(log.replay()) == [(0, "before", 0)]
    assert log.latest("a") is None
    log._check()
    assert log.ingest_many([("a", 1, 1)]) == range(1, 2)


def test_ingest_many_spanning_several_chunks_matches_model() -> None:
    log: EventLog[int, int] = EventLog()
    items = [(i % 7, i, (i * 7919) % 13) for i in range(3 * CHUNK + 5)]
    log.ingest("x", -1, 0)  # type: ignore[arg-type]
    assert len(log.ingest_many(items)) == len(items)
    expected = [(0, "x", -1)] + [(ts, key, value) for key, value, ts in items]
    assert list(log.replay()) == expected
    assert list(log.shortlog()) == shortlog_by_rule(expected)
    log._check()


def test_chunk_boundaries_replay_since_every_offset() -> None:
    log: EventLog[int, int] = EventLog()
    n = 2 * CHUNK + 3
    for i in range(n):
        log.ingest(i % 5, i, i // 3)
    expected = list(log.replay())
    assert [value for _, _, value in expected] == list(range(n))
    for since in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, n - 1, n, n + 100]:
        assert list(log.replay(since)) == expected[since:]
    log._check()


@pytest.mark.parametrize(
    ("since", "error"), [(-1, ValueError), (1.0, TypeError), ("1", TypeError), (True, TypeError)]
)
def test_replay_bad_since_raises_at_call_time(since: Any, error: type[Exception]) -> None:
    log: EventLog[str, int] = EventLog()
    with pytest.raises(error, match="since"):
        log.replay(since)


def test_interrupted_write_is_undone_before_it_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that raises after it started changing the shared structures is undone.

    Forces an exception between the history update and the publication (by making the tail's
    sealing step raise) and checks that the published version is untouched and that the key
    histories are repaired before the exception propagates, so no reader ever sees the
    half-written event and the next write starts clean.
    """
    log: EventLog[str, int] = EventLog()
    for i in range(CHUNK):
        log.ingest("a", i, i)
    before = log.snapshot()

    import cowlog._log as module

    class Boom(Exception):
        pass

    calls = {"n": 0}

    class ExplodingMask(int):
        """Raises when the writer checks whether the tail is full: after the history update."""

        def __rand__(self, other: object) -> int:
            calls["n"] += 1
            raise Boom

    real = module.CHUNK_MASK
    monkeypatch.setattr(module, "CHUNK_MASK", ExplodingMask(real))
    with pytest.raises(Boom):
        log.ingest("a", 999, 10**6)  # new survivor for "a": offsets appended, then boom
    with pytest.raises(Boom):
        log.ingest("new", 1, 1)  # new key: history inserted, then boom
    monkeypatch.setattr(module, "CHUNK_MASK", real)
    assert calls["n"] == 2
    assert len(log) == CHUNK
    assert log.latest("a") == (CHUNK - 1, "a", CHUNK - 1)
    assert log.latest("new") is None
    assert list(log.snapshot().shortlog()) == list(before.shortlog())
    log._check()  # already repaired: nothing dirty, every history back to the published version
    log.ingest("b", 1, 1)
    log._check()
    assert log.latest("a") == (CHUNK - 1, "a", CHUNK - 1)
    assert [key for _, key, _ in log.shortlog()] == ["a", "b"]


def test_records_are_exact_tuples_the_gc_can_untrack() -> None:
    """Stored records are exact tuples (tuple subclasses are never untracked by the GC)."""
    log: EventLog[str, int] = EventLog()
    for i in range(CHUNK + 1):
        log.ingest("a", i, i)
    gc.collect()  # untracks the records...
    gc.collect()  # ...then the chunk made of them
    _, sealed, tail = log._version
    chunks = sealed.chunks
    assert type(chunks[0][0]) is tuple and not gc.is_tracked(chunks[0][0])
    assert not gc.is_tracked(chunks[0])
    assert type(tail[0]) is tuple


def test_repr_mentions_size() -> None:
    log: EventLog[str, int] = EventLog()
    log.ingest("a", 1, 1)
    assert repr(log) == "<cowlog.EventLog: 1 events>"
    assert repr(log.snapshot()) == "<cowlog.Snapshot: 1 events>"


def test_extend_stores_records_as_they_are_and_refuses_what_is_not_one() -> None:
    """`_extend` (recovery's and load's bulk append) keeps ingest_many's checks and atomicity."""
    log: EventLog[Any, Any] = EventLog()
    records = [(3, "a", 1), (2, "a", 2), (5, "b", [3])]
    assert log._extend(records) == range(0, 3)
    assert all(got is stored for got, stored in zip(log.replay(), records, strict=True))
    assert list(log.shortlog()) == [(3, "a", 1), (5, "b", [3])]
    for bad, message in [
        ([(1, "c", 1), (1.5, "c", 2)], r"records\[1\] must be a \(timestamp, key, value\) tuple"),
        ([(1, "c", 1), [1, "c", 2]], r"records\[1\] must be"),
        ([(1, "c")], r"records\[0\] must be"),
        ([(True, "c", 1)], r"records\[0\] must be"),
        ([(1, "c", 1), (1, ["unhashable"], 1)], r"records\[1\] key must be hashable"),
    ]:
        with pytest.raises(TypeError, match=message):
            log._extend(bad)
        assert list(log.replay()) == records and log.next_offset == 3
        log._check()
    log.close()
    with pytest.raises(ValueError, match="closed"):
        log._extend([(1, "c", 1)])
