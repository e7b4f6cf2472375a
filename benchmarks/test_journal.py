"""The journal: a single ingest and batches under each fsync policy, beside a plain log; recovery.

Every group holds the plain `EventLog` (what a log without a journal costs) beside the journaled
ones, so the table shows each policy's price as a ratio. docs/performance.md#the-journal has the
bars and the figures of `cowlog bench`.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from cowlog import EventLog, journal

from .conftest import items

_names = itertools.count()


def _make(design: str, directory: Path) -> Any:
    if design == "plain":
        return EventLog()
    return journal.open(directory / f"j{next(_names)}", fsync=design)


def _ingest_all(log: Any, batch: list[tuple[str, int, int]]) -> None:
    ingest = log.ingest
    for key, value, timestamp in batch:
        ingest(key, value, timestamp)
    close = getattr(log, "close", None)
    if close is not None:
        close()


@pytest.mark.benchmark(group="journal: 10k single ingests, 100 keys")
@pytest.mark.parametrize("design", ["plain", "never", "interval"])
def test_journal_single_ingest(benchmark: Any, tmp_path: Path, design: str) -> None:
    batch = items(10_000)

    def setup() -> tuple[tuple[Any, list[tuple[str, int, int]]], dict[str, Any]]:
        return (_make(design, tmp_path), batch), {}

    benchmark.pedantic(_ingest_all, setup=setup, rounds=10)


@pytest.mark.benchmark(group="journal: 100 single ingests with fsync='always'")
def test_journal_always(benchmark: Any, tmp_path: Path) -> None:
    batch = items(100)

    def setup() -> tuple[tuple[Any, list[tuple[str, int, int]]], dict[str, Any]]:
        return (_make("always", tmp_path), batch), {}

    benchmark.pedantic(_ingest_all, setup=setup, rounds=5)


def _ingest_batches(log: Any, batches: list[list[tuple[str, int, int]]]) -> None:
    for batch in batches:
        log.ingest_many(batch)
    close = getattr(log, "close", None)
    if close is not None:
        close()


@pytest.mark.benchmark(group="journal: 10k events in batches of 100")
@pytest.mark.parametrize("design", ["plain", "never", "interval"])
def test_journal_batches(benchmark: Any, tmp_path: Path, design: str) -> None:
    events = items(10_000)
    batches = [events[i : i + 100] for i in range(0, len(events), 100)]

    def setup() -> tuple[tuple[Any, list[list[tuple[str, int, int]]]], dict[str, Any]]:
        return (_make(design, tmp_path), batches), {}

    benchmark.pedantic(_ingest_batches, setup=setup, rounds=10)


@pytest.mark.benchmark(group="journal: recovery of 100k events")
@pytest.mark.parametrize("frames", ["ingest_many (no journal)", "single", "batches of 1,000"])
def test_journal_recovery(benchmark: Any, tmp_path: Path, frames: str) -> None:
    events = items(100_000)
    path = tmp_path / "recover.journal"
    if frames != "ingest_many (no journal)":
        with journal.open(path, fsync="never") as log:
            if frames == "single":
                for key, value, timestamp in events:
                    log.ingest(key, value, timestamp)
            else:
                for i in range(0, len(events), 1000):
                    log.ingest_many(events[i : i + 1000])

    def recover() -> None:
        if frames == "ingest_many (no journal)":
            EventLog().ingest_many(events)
        else:
            journal.open(path, fsync="never").close()

    benchmark.pedantic(recover, rounds=5)
