"""Shared logs for the benchmarks: each design prefilled once per session, as fast as it allows.

Every benchmark runs one operation on every design, in one pytest-benchmark ``group``, so the
table shows cowlog beside the floor (a locked ``list`` + ``dict``), the seed's design and, where it
matters, the naive persistent design (cowlog/_baselines.py). ``pytest benchmarks
--benchmark-disable`` runs each once, untimed, so that they never rot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cowlog import EventLog
from cowlog._baselines import FloorLog, NaiveLog, SeedLog

Item = tuple[str, int, int]

MAKERS: dict[str, Callable[[], Any]] = {
    "floor": FloorLog,
    "cowlog": EventLog,
    "seed": SeedLog,
    "naive": NaiveLog,
}

BIG = 1_000_000


def items(n: int, keys: int = 100, start: int = 0) -> list[Item]:
    """*n* ``(key, value, timestamp)`` items over *keys* keys, timestamps growing from *start*."""
    names = [f"key{i}" for i in range(keys)]
    return [(names[i % keys], i, i) for i in range(start, start + n)]


def prefill(design: str, batch: list[Item]) -> Any:
    """A log of *design* holding *batch*: ``ingest_many``, or for the seed (which has no batch and
    would take seconds per million) its deque and dict filled directly with its own rule."""
    log = MAKERS[design]()
    if design == "seed":
        log._raw.extend((timestamp, value, key) for key, value, timestamp in batch)
        latest = log._latest
        for key, value, timestamp in batch:
            entry = latest.get(key)
            if entry is None or (entry[1] is not None and entry[1] < timestamp):
                latest[key] = (value, timestamp)
    else:
        for begin in range(0, len(batch), 100_000):
            log.ingest_many(batch[begin : begin + 100_000])
    return log


class Logs:
    """Prefilled logs by (design, events, keys), made on first use and kept for the session."""

    def __init__(self) -> None:
        self._made: dict[tuple[str, int, int, str], Any] = {}

    def get(self, design: str, n: int, keys: int = 100, purpose: str = "read") -> Any:
        """A log of *n* events; a different *purpose* gets its own copy (for benchmarks that
        ingest into it, so that readers elsewhere see the size they expect)."""
        slot = (design, n, keys, purpose)
        if slot not in self._made:
            self._made[slot] = prefill(design, items(n, keys))
        return self._made[slot]


@pytest.fixture(scope="session")
def logs() -> Logs:
    return Logs()
