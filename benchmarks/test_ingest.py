"""Ingest: one thread, per call, beside the floor, the seed's design and the naive design."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import BIG, MAKERS, Logs, items

WINDOW = 10_000


def ingest_all(log: Any, batch: list[tuple[str, int, int]]) -> None:
    ingest = log.ingest
    for key, value, timestamp in batch:
        ingest(key, value, timestamp)


@pytest.mark.benchmark(group="ingest: 10k events into an empty log, 100 keys")
@pytest.mark.parametrize("design", ["floor", "cowlog", "seed"])
def test_ingest_10k_events(benchmark: Any, design: str) -> None:
    batch = items(10_000)

    def setup() -> tuple[tuple[Any, list[tuple[str, int, int]]], dict[str, Any]]:
        return (MAKERS[design](), batch), {}

    benchmark.pedantic(ingest_all, setup=setup, rounds=20)


@pytest.mark.benchmark(group="ingest: 10k events into a log of 1M, 100 keys")
@pytest.mark.parametrize("design", ["floor", "cowlog", "seed", "naive"])
def test_ingest_at_1m_events(benchmark: Any, logs: Logs, design: str) -> None:
    """The naive design pays the collector's walk of its young 1M-element vector here."""
    log = logs.get(design, BIG, purpose="ingest")
    rounds = 3 if design == "naive" else 10
    batches = iter([items(WINDOW, start=BIG + r * WINDOW) for r in range(rounds + 1)])

    def setup() -> tuple[tuple[Any, list[tuple[str, int, int]]], dict[str, Any]]:
        return (log, next(batches)), {}

    benchmark.pedantic(ingest_all, setup=setup, rounds=rounds)
    assert len(log) >= BIG + WINDOW


@pytest.mark.benchmark(group="ingest: 100k events, 100k distinct keys")
@pytest.mark.parametrize("design", ["floor", "cowlog", "seed"])
def test_ingest_100k_distinct_keys(benchmark: Any, design: str) -> None:
    batch = items(100_000, keys=100_000)

    def setup() -> tuple[tuple[Any, list[tuple[str, int, int]]], dict[str, Any]]:
        return (MAKERS[design](), batch), {}

    benchmark.pedantic(ingest_all, setup=setup, rounds=3)


@pytest.mark.benchmark(group="ingest_many: a batch of 1,000")
@pytest.mark.parametrize("design", ["floor", "cowlog", "seed", "naive"])
def test_ingest_many_1000(benchmark: Any, design: str) -> None:
    """The seed has no batch: its ``ingest_many`` is a loop of ``ingest``, as a user would write."""
    batch = items(1_000)

    def setup() -> tuple[tuple[list[tuple[str, int, int]]], dict[str, Any]]:
        setup.log = MAKERS[design]()  # type: ignore[attr-defined]
        return (batch,), {}

    def run(batch: list[tuple[str, int, int]]) -> int:
        result = setup.log.ingest_many(batch)  # type: ignore[attr-defined]
        return len(result) if isinstance(result, range) else int(result)

    assert benchmark.pedantic(run, setup=setup, rounds=50) == 1_000


def test_ingest_breakdown_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The breakdown script (docs/performance.md) still runs."""
    from .ingest_breakdown import main

    main(["--events", "2000", "--rounds", "1"])
    printed = capsys.readouterr().out
    assert "floor" in printed and "cowlog, general path" in printed
