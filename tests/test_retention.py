"""Issue 15: retention. Stable offsets, a complete shortlog, snapshots that never change."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest

from cowlog import EventLog, TrimmedError
from cowlog._state import CHUNK
from cowlog.testing import reference_shortlog


def _items(n: int, keys: int, seed: int = 0, start: int = 0) -> list[tuple[str, int, int]]:
    rng = random.Random(seed)
    return [(f"k{rng.randrange(keys)}", i, rng.randrange(n)) for i in range(start, start + n)]


def test_max_events_keeps_the_newest_and_a_complete_shortlog() -> None:
    log: EventLog[str, int] = EventLog(max_events=3000)
    everything: list[tuple[int, str, int]] = []
    for key, value, timestamp in _items(20_000, keys=50):
        log.ingest(key, value, timestamp)
        everything.append((timestamp, key, value))
    first = log.first_offset
    assert first > 0 and first % CHUNK == 0  # whole chunks only
    assert log.next_offset == 20_000 and len(log) == 20_000 - first >= 3000
    assert list(log.replay()) == everything[first:]
    assert list(log.shortlog()) == reference_shortlog(everything)
    for record in reference_shortlog(everything):
        assert log.latest(record[1]) == record
    log._check()


def test_batches_with_max_events_also_trim() -> None:
    log: EventLog[str, int] = EventLog(max_events=100)
    items = _items(10_000, keys=7, seed=3)
    for start in range(0, len(items), 333):
        log.ingest_many(items[start : start + 333])
    everything = [(t, k, v) for k, v, t in items]
    assert len(log) >= 100 and log.first_offset > 0
    assert list(log.replay()) == everything[log.first_offset :]
    assert list(log.shortlog()) == reference_shortlog(everything)
    log._check()


def test_offsets_are_stable_and_indexes_are_positions_from_first_offset() -> None:
    log: EventLog[str, int] = EventLog()
    log.ingest_many([("k", i, i) for i in range(5000)])
    assert log.trim(before=2100) == 2100
    assert log.ingest("k", 5000, 5000) == 5000  # never reused
    snap = log.snapshot()
    assert (snap.first_offset, snap.next_offset, len(snap)) == (2100, 5001, 2901)
    assert snap[0] == (2100, "k", 2100) and snap[-1] == (5000, "k", 5000)
    assert snap[0] is next(snap.replay(snap.first_offset))
    assert [v for _, _, v in snap[1:3]] == [2101, 2102]
    assert list(log.replay(4999)) == [(4999, "k", 4999), (5000, "k", 5000)]
    with pytest.raises(IndexError):
        snap[2901]
    log._check()


def test_replay_below_the_first_offset_raises_an_error_carrying_it() -> None:
    log: EventLog[str, int] = EventLog()
    log.ingest_many([("k", i, i) for i in range(10)])
    log.trim(before=4)
    with pytest.raises(TrimmedError) as caught:
        log.replay(3)
    assert caught.value.first_offset == 4 and caught.value.since == 3
    assert isinstance(caught.value, LookupError) and "trimmed" in str(caught.value)
    assert [v for _, _, v in log.replay(caught.value.first_offset)] == list(range(4, 10))
    assert [v for _, _, v in log.replay()] == list(range(4, 10))  # no argument: the oldest kept


def test_trim_returns_what_it_dropped_and_refuses_bad_input() -> None:
    log: EventLog[str, int] = EventLog()
    log.ingest_many([("k", i, i) for i in range(10)])
    assert log.trim(before=3) == 3
    assert log.trim(before=2) == 0  # already gone: nothing more
    assert log.trim(before=10) == 7 and len(log) == 0 and log.latest("k") == (9, "k", 9)
    for bad, error in ((-1, ValueError), (11, ValueError), (1.5, TypeError), ("3", TypeError)):
        with pytest.raises(error, match="before"):
            log.trim(before=bad)  # type: ignore[arg-type]
    assert log.first_offset == 10 and log.next_offset == 10
    log._check()


@pytest.mark.parametrize(
    ("bad", "error"), [(0, ValueError), (-5, ValueError), ("10", TypeError), (1.5, TypeError),
                       (True, TypeError)]
)  # fmt: skip
def test_bad_max_events_is_refused(bad: Any, error: type) -> None:
    with pytest.raises(error, match="max_events"):
        EventLog(max_events=bad)


def test_held_snapshots_are_unchanged_across_trims() -> None:
    log: EventLog[str, int] = EventLog(max_events=10)
    items = _items(3 * CHUNK, keys=20, seed=5)  # trimmed below by hand: max_events drops later
    log.ingest_many(items[: 2 * CHUNK])
    held = log.snapshot()
    before = (list(held), list(held.shortlog()), held.first_offset, len(held))
    log.ingest_many(items[2 * CHUNK :])
    for i in range(3 * CHUNK):
        log.ingest("x", i, i)
    log.trim(before=log.next_offset - 1)
    assert log.first_offset > 2 * CHUNK
    assert (list(held), list(held.shortlog()), held.first_offset, len(held)) == before
    for record in held.shortlog():
        assert held.latest(record[1]) == record
    log._check()


def test_the_index_is_compacted_to_one_entry_per_key() -> None:
    """Per-key bookkeeping for trimmed offsets is released: memory is O(keys), not O(events)."""
    log: EventLog[str, int] = EventLog(max_events=CHUNK)
    for i in range(50 * CHUNK):
        log.ingest(f"k{i % 10}", i, i)  # every event becomes its key's survivor
    entries = sum(len(history) for history in log._keys)
    assert entries <= 2 * 10 + len(log)  # one timestamp and the retained survivors per key
    assert len(log) <= CHUNK + 8 * CHUNK + CHUNK  # max_events + the documented slack + a chunk
    assert len(log._version[1].kept) <= 10
    log._check()


def test_a_key_whose_hash_breaks_after_insertion_never_blocks_retention() -> None:
    class Fickle:
        broken = False

        def __hash__(self) -> int:
            if Fickle.broken:
                raise RuntimeError("hash exploded")
            return 7

    log: EventLog[Any, int] = EventLog(max_events=10)
    fickle = Fickle()
    log.ingest(fickle, 0, 0)
    Fickle.broken = True
    for i in range(12 * CHUNK):
        log.ingest("k", i, i)
    assert log.first_offset > 0  # chunks were dropped all the same
    assert next(iter(log.shortlog())) == (0, fickle, 0)  # and the fickle key's survivor kept
    Fickle.broken = False
    log._check()


def test_a_follower_that_falls_behind_retention_gets_the_error() -> None:
    log: EventLog[str, int] = EventLog()
    log.ingest_many([("k", i, i) for i in range(10)])
    follower = log.follow(since=2)
    assert next(follower) == (2, "k", 2)
    late = log.follow(since=1)
    log.trim(before=5)
    with pytest.raises(TrimmedError) as caught:
        next(late)
    assert caught.value.first_offset == 5
    assert list(log.follow(timeout=0)) == [(i, "k", i) for i in range(5, 10)]


def test_retention_under_concurrent_writers_and_readers() -> None:
    """Writers and trimming readers at once: every snapshot's shortlog equals the reference over
    everything a full log would hold, checked at the end; replay equals the retained suffix."""
    log: EventLog[str, int] = EventLog(max_events=500)
    done = threading.Event()
    problems: list[str] = []

    def read() -> None:
        while not done.is_set():
            snap = log.snapshot()
            records = list(snap)
            if len(records) != len(snap) or (records and records[-1] != snap[-1]):
                problems.append("a snapshot's iteration disagrees with its length")

    def write(w: int) -> None:
        for i in range(6000):
            log.ingest(f"w{w}k{i % 13}", (w, i), i)

    readers = [threading.Thread(target=read) for _ in range(2)]
    writers = [threading.Thread(target=write, args=(w,)) for w in range(3)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    for thread in readers:
        thread.join()
    assert not problems
    assert log.next_offset == 18_000 and log.first_offset > 0
    by_key = {record[1]: record for record in log.shortlog()}
    assert len(by_key) == 39
    for w, key in ((w, f"w{w}k{j}") for w in range(3) for j in range(13)):
        last = max(i for i in range(6000) if i % 13 == int(key.split("k")[1]))
        assert by_key[key] == (last, key, (w, last))
    log._check()


def test_stress_with_retention() -> None:
    """The reusable stress checker on a retained log: every event collected by a follower is the
    history the checker verifies; the log keeps at least max_events and replays exactly the
    collected events from its first offset; every reader's snapshot and shortlog check out."""
    from cowlog.testing import stress

    logs: list[EventLog[Any, Any]] = []

    def make() -> EventLog[Any, Any]:
        # the follower may lag up to 20,000 events behind the writers: on a loaded machine a
        # woken thread can wait milliseconds for a CPU (with 3,000, 5 runs in 10 failed under
        # three CPU hogs; with 20,000, none)
        logs.append(EventLog(max_events=20_000))
        return logs[-1]

    report = stress(
        make,
        writers=4,
        events_per_writer=15_000,
        readers=2,
        keys=16,
        retain=20_000,
    )
    assert report.events == 60_000 and report.snapshots > 0
    assert logs[0].first_offset >= 3 * 8192  # retention dropped chunks three times in the run


@pytest.mark.mutation
def test_stress_catches_a_retained_log_that_forgets_dropped_survivors() -> None:
    """A broken retention (the survivors of dropped chunks not kept) must fail the stress run."""
    from cowlog.testing import stress

    class ForgetsSurvivors(EventLog[Any, Any]):
        __slots__ = ()

        def _trim_to(self, before: int) -> int:
            dropped = super()._trim_to(before)
            size, sealed, tail = self._version
            self._version = (size, sealed._replace(kept={}), tail)
            return dropped

    with pytest.raises(AssertionError):
        stress(
            lambda: ForgetsSurvivors(max_events=3000),
            writers=4,
            events_per_writer=6000,
            readers=2,
            keys=2000,  # many keys: some survivor is always in a dropped chunk
            retain=3000,
        )


def _survivors_below_first(log: EventLog[Any, Any]) -> list[tuple[int, Any]]:
    from cowlog._state import record_at

    _, sealed, tail = log._version
    first = log.first_offset
    return [(h[-1], record_at(sealed, tail, h[-1])) for h in log._keys if h[-1] < first]


@pytest.mark.parametrize("seed", range(40))
def test_a_log_restored_at_an_offset_behaves_as_the_trimmed_one(seed: int) -> None:
    """`_start_at` (what a compacted journal or a dump is loaded with) rebuilds a trimmed log."""
    rng = random.Random(seed)
    n = rng.choice([rng.randrange(5000), CHUNK * rng.randrange(5)])
    log: EventLog[int, int] = EventLog()
    log.ingest_many([(rng.randrange(20), i, rng.randrange(100)) for i in range(n)])
    log.trim(rng.choice([rng.randrange(n + 1), n, CHUNK * rng.randrange(n // CHUNK + 1)]))
    restored: EventLog[int, int] = EventLog()
    restored._start_at(log.first_offset, _survivors_below_first(log))
    restored._check()
    restored.ingest_many([(key, value, ts) for ts, key, value in log.replay()])
    for _ in range(3):  # the same writes and trims keep them equal, invariants and all
        restored._check()
        assert (restored.first_offset, restored.next_offset) == (log.first_offset, log.next_offset)
        assert list(restored.replay()) == list(log.replay())
        assert list(restored.shortlog()) == list(log.shortlog())
        assert all(restored.latest(key) == log.latest(key) for key in range(25))
        a, b = log.snapshot(), restored.snapshot()
        assert len(a) == len(b) and all(a[i] == b[i] for i in range(0, len(a), 61))
        more = [(rng.randrange(25), -i, rng.randrange(100)) for i in range(rng.randrange(3000))]
        assert log.ingest_many(more) == restored.ingest_many(more)
        cut = rng.randrange(log.first_offset, log.next_offset + 1)
        assert log.trim(cut) == restored.trim(cut)


def test_restoring_refuses_bad_survivors_and_a_non_empty_log() -> None:
    log: EventLog[str, int] = EventLog()
    with pytest.raises(ValueError, match="offset must be an int in"):
        log._start_at(10, [(10, (1, "a", 1))])
    with pytest.raises(ValueError, match="two survivors of key 'a'"):
        log._start_at(10, [(1, (1, "a", 1)), (2, (1, "a", 2))])
    with pytest.raises(ValueError, match="two survivors at offset 1"):
        log._start_at(10, [(1, (1, "a", 1)), (1, (1, "b", 2))])
    with pytest.raises(TypeError, match="timestamp, key, value"):
        log._start_at(10, [(1, (1.5, "a", 1))])
    with pytest.raises(TypeError, match="key must be hashable, got list"):
        log._start_at(10, [(1, (1, ["a"], 1))])
    assert log.next_offset == 0 and not log._keys
    log.ingest("a", 1, 1)
    with pytest.raises(ValueError, match="only an empty log"):
        log._start_at(10, [])
