"""The benchmark baselines do what their docstrings claim (cowlog/_baselines.py).

The floor and the naive design must apply cowlog's shortlog rule (or the benchmarks would compare
different work); the seed's re-implementation must keep the seed's defects (or the benchmarks would
compare cowlog with a repaired seed).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from cowlog import EventLog
from cowlog.cli.baselines import FloorLog, NaiveLog, SeedLog, SeedRWLock

# A history with ties, older timestamps after newer ones, and keys in mixed order.
ITEMS: list[tuple[Any, Any, int]] = [
    ("disk", "full", 10),
    ("cpu", "hot", 12),
    ("disk", "stale", 9),
    ("net", "up", 3),
    ("cpu", "tie", 12),
    ("disk", "ok", 15),
    ("net", "older", 2),
]


def _cowlog_answers(items: list[tuple[Any, Any, int]]) -> tuple[list[Any], list[Any]]:
    log: EventLog[Any, Any] = EventLog()
    log.ingest_many(items)
    return [tuple(e) for e in log.replay()], [tuple(e) for e in log.shortlog()]


@pytest.mark.parametrize("make", [FloorLog, NaiveLog], ids=["floor", "naive"])
@pytest.mark.parametrize("batched", [False, True], ids=["ingest", "ingest_many"])
def test_floor_and_naive_apply_cowlogs_shortlog_rule(make: Any, batched: bool) -> None:
    log = make()
    if batched:
        assert log.ingest_many(ITEMS) == len(ITEMS)
    else:
        for key, value, timestamp in ITEMS:
            log.ingest(key, value, timestamp)
    replay, shortlog = _cowlog_answers(ITEMS)
    assert list(log.replay()) == replay
    assert (
        list(log.shortlog())
        == shortlog
        == [(3, "net", "up"), (12, "cpu", "tie"), (15, "disk", "ok")]
    )
    assert log.latest("cpu") == (12, "cpu", "tie")
    assert log.latest("absent") is None
    assert len(log) == len(ITEMS)


@pytest.mark.parametrize("make", [FloorLog, NaiveLog], ids=["floor", "naive"])
def test_floor_and_naive_replay_since_starts_at_the_offset(make: Any) -> None:
    log = make()
    log.ingest_many(ITEMS)
    assert list(log.replay(5)) == [(15, "disk", "ok"), (2, "net", "older")]


def test_floor_and_naive_batch_rule_holds_across_batches() -> None:
    """A batch's survivors are compared with survivors already in the log, not only each other."""
    for make in (FloorLog, NaiveLog):
        log = make()
        log.ingest_many(ITEMS[:3])
        log.ingest_many(ITEMS[3:])
        assert list(log.shortlog()) == _cowlog_answers(ITEMS)[1]


def test_naive_snapshot_does_not_change_after_later_ingests() -> None:
    log = NaiveLog()
    log.ingest_many(ITEMS[:2])
    events, latest = log.snapshot()
    log.ingest_many(ITEMS[2:])
    assert list(events) == [(10, "disk", "full"), (12, "cpu", "hot")]
    assert dict(latest) == {"disk": 0, "cpu": 1}


def test_floor_replay_ignores_events_ingested_after_the_call() -> None:
    log = FloorLog()
    log.ingest_many(ITEMS[:2])
    replay = log.replay()
    log.ingest("late", 1, 1)
    assert len(list(replay)) == 2


def test_seed_raises_too_many_raw_copies_after_32_abandoned_replays() -> None:
    log = SeedLog()
    log.ingest("a", 1, 1)
    abandoned = [log.replay() for _ in range(32)]
    for replay in abandoned:
        assert next(replay) == (1, "a", 1)  # started (the copy is taken), never finished
    with pytest.raises(Exception, match="Too many raw copies"):
        next(log.replay())
    # the defect is permanent while the generators live: every later replay fails too
    with pytest.raises(Exception, match="Too many raw copies"):
        log.snapshot()


def test_seed_replays_run_to_the_end_give_their_copy_back() -> None:
    log = SeedLog()
    log.ingest("a", 1, 1)
    for _ in range(100):
        assert list(log.replay()) == [(1, "a", 1)]


def test_seed_raises_too_many_latest_copies_after_64_abandoned_shortlogs() -> None:
    log = SeedLog()
    log.ingest("a", 1, 1)
    abandoned = [log.shortlog() for _ in range(64)]
    for shortlog in abandoned:
        next(shortlog)
    with pytest.raises(Exception, match="Too many latest copies"):
        next(log.shortlog())


def test_seed_keeps_the_first_of_equal_timestamps_and_yields_keys_in_first_seen_order() -> None:
    log = SeedLog()
    for key, value, timestamp in ITEMS:
        log.ingest(key, value, timestamp)
    # cowlog's rule would give cpu "tie" and log order [net, cpu, disk]
    assert list(log.shortlog()) == [(15, "disk", "ok"), (12, "cpu", "hot"), (3, "net", "up")]
    assert log.latest("cpu") == (12, "cpu", "hot")
    assert list(log.replay()) == [(t, k, v) for k, v, t in ITEMS]


def test_seed_freezes_a_key_whose_first_timestamp_is_none() -> None:
    log = SeedLog()
    log.ingest("a", "frozen", None)
    log.ingest("a", "newer", 10)
    assert list(log.shortlog()) == [(None, "a", "frozen")]


def test_seed_stores_records_as_timestamp_value_key() -> None:
    log = SeedLog()
    log.ingest("k", "v", 1)
    assert list(log._raw) == [(1, "v", "k")]


@pytest.mark.timeout(10)
def test_seed_rw_lock_admits_a_second_writer_while_the_first_holds_it() -> None:
    """Writer A holds the write lock; writer B then asks for it and gets it at once.

    Forces: A inside ``write()`` (held open by an event) while B calls ``acquire_write``. A correct
    read-write lock would block B until A releases; the seed's only waits for readers, so B
    enters. This is the seed defect the re-implementation must keep.
    """
    lock = SeedRWLock()
    a_inside = threading.Event()
    a_may_leave = threading.Event()
    b_entered = threading.Event()

    def writer_a() -> None:
        with lock.write():
            a_inside.set()
            a_may_leave.wait(5)

    def writer_b() -> None:
        a_inside.wait(5)
        with lock.write():
            b_entered.set()

    threads = [threading.Thread(target=writer_a), threading.Thread(target=writer_b)]
    for thread in threads:
        thread.start()
    try:
        assert b_entered.wait(5), "the second writer was excluded: the seed's defect is gone"
    finally:
        a_may_leave.set()
        for thread in threads:
            thread.join(5)


@pytest.mark.timeout(10)
def test_seed_rw_lock_makes_a_writer_wait_for_a_reader() -> None:
    """A reader holds the read lock; a writer must wait until it releases.

    Forces: the reader inside ``read()`` while the writer calls ``acquire_write``; the writer must
    not enter before the reader leaves (the half of the seed's lock that works, which makes the
    seed's readers block its writers in the mixed-load benchmark).
    """
    lock = SeedRWLock()
    reader_inside = threading.Event()
    reader_may_leave = threading.Event()
    order: list[str] = []

    def reader() -> None:
        with lock.read():
            reader_inside.set()
            reader_may_leave.wait(5)
            order.append("reader leaves")

    def writer() -> None:
        reader_inside.wait(5)
        with lock.write():
            order.append("writer enters")

    threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    reader_inside.wait(5)
    threads[1].join(0.2)  # give the writer time to (wrongly) get in
    reader_may_leave.set()
    for thread in threads:
        thread.join(5)
    assert order == ["reader leaves", "writer enters"]


def test_seed_additions_behave_as_a_seed_user_would_write_them() -> None:
    log = SeedLog()
    assert log.ingest_many(ITEMS) == len(ITEMS)
    assert len(log) == len(ITEMS)
    assert log.snapshot() == [(t, k, v) for k, v, t in ITEMS]
    assert log.latest("disk") == (15, "disk", "ok")
    assert log.latest("absent") is None
    # snapshot() consumes its replay, so it gives its copy back: no counter leaks
    for _ in range(40):
        log.snapshot()
    assert log._raw_copies == 32
