"""Real logs (the loghub samples in tests/data/loghub) against an obviously correct model."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from _model import shortlog_by_rule

from cowlog import EventLog

DATA = Path(__file__).parent / "data" / "loghub"
LOGS = sorted(DATA.glob("*.jsonl"))


def read(path: Path) -> list[tuple[int, Any, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [(row["ts"], row["key"], row["value"]) for row in map(json.loads, lines)]


def test_the_six_samples_are_here() -> None:
    assert len(LOGS) == 6


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.stem)
def test_real_log_ingested_one_by_one_matches_model(path: Path) -> None:
    events = read(path)
    log: EventLog[str, Any] = EventLog()
    for timestamp, key, value in events:
        log.ingest(key, value, timestamp)
    assert list(log.replay()) == events
    assert list(log.shortlog()) == shortlog_by_rule(events)
    for timestamp, key, value in shortlog_by_rule(events):
        assert log.latest(key) == (timestamp, key, value)
    log._check()


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.stem)
def test_real_log_ingested_in_batches_matches_model(path: Path) -> None:
    events = read(path)
    log: EventLog[str, Any] = EventLog()
    for start in range(0, len(events), 333):
        log.ingest_many([(k, v, t) for t, k, v in events[start : start + 333]])
    assert list(log.replay()) == events
    assert list(log.shortlog()) == shortlog_by_rule(events)
    log._check()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.stem)
def test_real_log_from_four_threads_matches_model_of_arrival_order(path: Path) -> None:
    """Four writers ingest interleaved slices; the model is the order the log says they arrived in.

    Forces concurrent ingests of the same event types; would catch a lost or duplicated event, or
    a shortlog that disagrees with the replay it comes from.
    """
    events = read(path)
    log: EventLog[str, Any] = EventLog()
    barrier = threading.Barrier(4)

    def write(part: list[tuple[int, Any, Any]]) -> None:
        barrier.wait()
        for timestamp, key, value in part:
            log.ingest(key, value, timestamp)

    threads = [threading.Thread(target=write, args=(events[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    arrived = list(log.replay())
    position = {id(value): offset for offset, (_, _, value) in enumerate(arrived)}
    assert len(arrived) == len(position) == len(events)  # nothing lost, nothing duplicated
    for i in range(4):  # each writer's events in its own order
        mine = [position[id(value)] for _, _, value in events[i::4]]
        assert mine == sorted(mine)
    assert list(log.shortlog()) == shortlog_by_rule(arrived)
    log._check()


def test_samples_have_equal_and_out_of_order_timestamps() -> None:
    """The samples exercise the rule: ties within a key and timestamps that go backwards."""
    ties = inversions = 0
    for path in LOGS:
        events = read(path)
        inversions += sum(a[0] > b[0] for a, b in itertools.pairwise(events))
        seen: set[tuple[str, int]] = set()
        for timestamp, key, _ in events:
            ties += (key, timestamp) in seen
            seen.add((key, timestamp))
    assert ties > 0 and inversions > 0
