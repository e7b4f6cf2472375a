"""Reads: snapshot, replay, shortlog and latest, beside the floor, the seed and the naive design.

The seed's "snapshot" is a consumed ``replay()``: its only consistent view is a full copy.
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


@pytest.mark.benchmark(group="replay(): iterate all of 100k events")
@pytest.mark.parametrize("design", ["floor", "cowlog", "seed", "naive"])
def test_replay_full(benchmark: Any, logs: Logs, design: str) -> None:
    log = logs.get(design, 100_000)
    benchmark(lambda: consume(log.replay()))


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


@pytest.mark.benchmark(group="shortlog(): 100 keys, 100k events")
@pytest.mark.parametrize("design", ["floor", "cowlog", "seed", "naive"])
def test_shortlog_100_keys(benchmark: Any, logs: Logs, design: str) -> None:
    log = logs.get(design, 100_000)
    result = benchmark(lambda: list(log.shortlog()))
    assert len(result) == 100


@pytest.mark.benchmark(group="shortlog(): 100k keys, 200k events")
@pytest.mark.parametrize("design", ["floor", "cowlog", "seed"])
def test_shortlog_100k_keys(benchmark: Any, logs: Logs, design: str) -> None:
    log = logs.get(design, 200_000, keys=100_000)
    result = benchmark.pedantic(lambda: list(log.shortlog()), rounds=5)
    assert len(result) == 100_000


@pytest.mark.benchmark(group="latest(key): 1M events, 100 keys")
@pytest.mark.parametrize("design", ["floor", "cowlog", "seed", "naive"])
def test_latest(benchmark: Any, logs: Logs, design: str) -> None:
    log = logs.get(design, BIG)
    event = benchmark(log.latest, "key7")
    assert tuple(event) == (BIG - 93, "key7", BIG - 93)


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
