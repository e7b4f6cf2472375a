"""Reads: snapshot, replay, shortlog, latest and snap[i], beside the floor, the seed and the naive
design, and (where a read returns every record) a plain list of the same tuples.

The seed's "snapshot" is a consumed ``replay()``: its only consistent view is a full copy. The
same reads, with the bars of issue 12, are in ``cowlog bench`` (cowlog/cli/bench.py, bench_reads).
"""

from __future__ import annotations

from collections import deque
from itertools import islice
from typing import Any

import pytest

from .conftest import BIG, Logs


@pytest.mark.benchmark(group="snapshot(): log of 1k events")
@pytest.mark.parametrize("design", ["cowlog", "seed", "naive"])
def test_snapshot_1k(benchmark: Any, logs: Logs, design: str) -> None:
    log = logs.get(design, 1_000)
    snap = benchmark(log.snapshot)
    assert len(snap) == 1_000 if design != "naive" else len(snap[0]) == 1_000


@pytest.mark.benchmark(group="snapshot(): log of 1M events")
@pytest.mark.parametrize("design", ["cowlog", "seed", "naive"])
def test_snapshot_1m(benchmark: Any, logs: Logs, design: str) -> None:
    log = logs.get(design, BIG)
    if design == "seed":
        snap = benchmark.pedantic(log.snapshot, rounds=3)
    else:
        snap = benchmark(log.snapshot)
    assert len(snap) == BIG if design != "naive" else len(snap[0]) == BIG


def consume(events: Any) -> None:
    deque(events, maxlen=0)  # iterate in C, keep nothing


def replay_of(log: Any) -> Any:
    """An iterator over every record: the log's ``replay()``, or for ``"list"`` (a plain list of
    the same tuples cowlog stores) the list's own iterator."""
    return iter(log) if isinstance(log, list) else log.replay()


@pytest.mark.benchmark(group="drain replay(): 100k events")
@pytest.mark.parametrize("design", ["list", "floor", "cowlog", "seed", "naive"])
def test_replay_drain_100k(benchmark: Any, logs: Logs, design: str) -> None:
    """``deque(replay(), maxlen=0)``; ``list``: the same tuples in a list, iterated in C."""
    log = logs.get(design, 100_000)
    benchmark(lambda: consume(replay_of(log)))


@pytest.mark.benchmark(group="drain replay(): 1M events")
@pytest.mark.parametrize("design", ["list", "floor", "cowlog", "seed"])
def test_replay_drain_1m(benchmark: Any, logs: Logs, design: str) -> None:
    log = logs.get(design, BIG)
    if design == "seed":
        benchmark.pedantic(lambda: consume(replay_of(log)), rounds=3)
    else:
        benchmark(lambda: consume(replay_of(log)))


@pytest.mark.benchmark(group="list(replay()): 100k events")
@pytest.mark.parametrize("design", ["list", "floor", "cowlog", "seed", "naive"])
def test_replay_list_100k(benchmark: Any, logs: Logs, design: str) -> None:
    log = logs.get(design, 100_000)
    result = benchmark(lambda: list(replay_of(log)))
    assert len(result) == 100_000 and result[-1] == (99_999, "key99", 99_999)


@pytest.mark.benchmark(group="replay(since=n-100): last 100 of 1M events")
@pytest.mark.parametrize("design", ["floor", "cowlog", "seed", "naive"])
def test_replay_since(benchmark: Any, logs: Logs, design: str) -> None:
    """cowlog seeks in O(log n); the seed can only copy everything and skip."""
    log = logs.get(design, BIG)
    since = BIG - 100
    if design == "seed":
        result = benchmark.pedantic(lambda: list(islice(log.replay(), since, None)), rounds=3)
    else:
        result = benchmark(lambda: list(log.replay(since)))
    assert len(result) == 100
    assert tuple(result[0]) == (since, f"key{since % 100}", since)


@pytest.mark.benchmark(group="list(shortlog()): 100 keys, 100k events")
@pytest.mark.parametrize("design", ["floor", "cowlog", "seed", "naive"])
def test_shortlog_100_keys(benchmark: Any, logs: Logs, design: str) -> None:
    log = logs.get(design, 100_000)
    result = benchmark(lambda: list(log.shortlog()))
    assert len(result) == 100


@pytest.mark.benchmark(group="list(shortlog()): 100k keys round-robin, 200k events")
@pytest.mark.parametrize("design", ["floor", "cowlog", "seed"])
def test_shortlog_100k_keys(benchmark: Any, logs: Logs, design: str) -> None:
    log = logs.get(design, 200_000, keys=100_000)
    result = benchmark.pedantic(lambda: list(log.shortlog()), rounds=5)
    assert len(result) == 100_000


@pytest.mark.benchmark(group="list(shortlog()): 100k keys drawn at random, 200k events")
@pytest.mark.parametrize("design", ["floor", "cowlog", "seed"])
def test_shortlog_100k_random_keys(benchmark: Any, logs: Logs, design: str) -> None:
    """Keys drawn with ``random.Random(1)``: survivors come out of first-seen order, so a
    shortlog in log order must sort them (the seed yields first-seen order, unsorted)."""
    log = logs.get(design, 200_000, keys=100_000, order="random")
    result = benchmark.pedantic(lambda: list(log.shortlog()), rounds=5)
    assert len(result) == 86_444  # the distinct keys among 200,000 draws of 100,000


@pytest.mark.benchmark(group="latest(key): 1M events, 100 keys")
@pytest.mark.parametrize("design", ["floor", "cowlog", "seed", "naive"])
def test_latest(benchmark: Any, logs: Logs, design: str) -> None:
    log = logs.get(design, BIG)
    event = benchmark(log.latest, "key7")
    assert tuple(event) == (BIG - 93, "key7", BIG - 93)


@pytest.mark.benchmark(group="snap[i]: 1M events, 100 keys")
@pytest.mark.parametrize("design", ["list", "floor", "cowlog", "seed"])
def test_snapshot_index(benchmark: Any, logs: Logs, design: str) -> None:
    """One record by offset from a view already held: cowlog's snapshot; the seed's copy (a list,
    which costs a full copy to take: see the snapshot groups); the floor's live list; a list."""
    log = logs.get(design, BIG)
    view = log.snapshot() if design in ("cowlog", "seed") else log
    i = BIG // 2
    record = benchmark(lambda: view[i])
    assert record == (i, f"key{i % 100}", i)


@pytest.mark.benchmark(group="snapshot + shortlog + last 50: 1M events, 100 keys")
@pytest.mark.parametrize("design", ["cowlog", "seed"])
def test_dashboard_read(benchmark: Any, logs: Logs, design: str) -> None:
    """One reader's request in the mixed load of ``cowlog bench``, here without writers."""
    log = logs.get(design, BIG)

    def read() -> int:
        snap = log.snapshot()
        short = list(snap.shortlog() if design == "cowlog" else log.shortlog())
        return len(short) + len(snap[-50:])

    if design == "seed":
        assert benchmark.pedantic(read, rounds=3) == 150
    else:
        assert benchmark(read) == 150
