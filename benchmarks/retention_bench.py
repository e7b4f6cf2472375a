"""The retention bars of issue 15, measured in one run (not a test: it only prints).

Run: ``python benchmarks/retention_bench.py [--events N] [--rounds R]``. Prints:

* single ``ingest`` into ``EventLog(max_events=100_000)`` beside ``EventLog()``, 1M events over
  100 keys, the two taking turns (R rounds; median of per-round ratios);
* N events (default 10M) over 1,000 keys through ``EventLog(max_events=100_000)``: resident
  memory after 1M and after N, the worst single ``ingest`` (every call timed), and whether
  ``shortlog()`` and ``latest()`` equal the reference over all N events.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time

from cowlog import EventLog
from cowlog.cli.bench import _items, _machine, _time_ingest


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def ingest_ratio(rounds: int) -> list[float]:
    items = _items(1_000_000)
    ratios = []
    for _ in range(rounds):
        times = {}
        for label, make in (
            ("plain", EventLog),
            ("retained", lambda: EventLog(max_events=100_000)),
        ):
            gc.collect()
            times[label] = _time_ingest(make(), items)
        ratios.append(times["retained"] / times["plain"])
    return ratios


def timed_run(
    n: int, max_events: int | None
) -> tuple[EventLog[str, int], dict[str, tuple[int, str, int]], float, float]:
    """Ingest *n* events over 1,000 keys, timing every call; return the log, the reference
    survivors, the worst single ingest and the RSS after 1M events."""
    log: EventLog[str, int] = EventLog(max_events=max_events)
    survivors: dict[str, tuple[int, str, int]] = {}
    names = [f"key{i}" for i in range(1000)]
    ingest, clock = log.ingest, time.perf_counter
    worst = 0.0
    rss_1m = 0.0
    for i in range(n):
        key = names[(i * 7919) % 1000]
        timestamp = i - (i % 3) * 5  # out of order and equal timestamps
        begin = clock()
        ingest(key, i, timestamp)
        worst = max(worst, clock() - begin)
        best = survivors.get(key)
        if best is None or timestamp >= best[0]:
            survivors[key] = (timestamp, key, i)
        if i == 1_000_000 - 1:
            gc.collect()
            rss_1m = rss_mb()
    return log, survivors, worst, rss_1m


def long_run(n: int) -> None:
    drops: list[float] = []
    retain = EventLog._retain

    def timed_retain(self: EventLog[str, int]) -> None:  # how long each drop holds the lock
        begin = time.perf_counter()
        retain(self)
        drops.append(time.perf_counter() - begin)

    EventLog._retain = timed_retain  # type: ignore[method-assign]
    try:
        log, survivors, worst, rss_1m = timed_run(n, 100_000)
    finally:
        EventLog._retain = retain  # type: ignore[method-assign]
    gc.collect()
    rss_n = rss_mb()
    expected = sorted(survivors.values(), key=lambda record: record[2])
    print(f"{n:,} events, 1,000 keys, max_events=100,000: first_offset {log.first_offset:,}")
    print(f"  RSS after 1M {rss_1m:.1f} MB, after {n:,} {rss_n:.1f} MB: {rss_n / rss_1m:.2f}x")
    print(
        f"  worst single ingest {worst * 1e3:.2f} ms; {len(drops):,} drops, the longest "
        f"{max(drops) * 1e3:.2f} ms, median {statistics.median(drops) * 1e3:.2f} ms"
    )
    print(f"  shortlog equals the reference: {list(log.shortlog()) == expected}")
    print(f"  latest equals the reference: {all(log.latest(k) == r for k, r in survivors.items())}")
    del log
    gc.collect()
    _, _, plain_worst, _ = timed_run(min(n, 3_000_000), None)
    print(
        f"  the same without retention ({min(n, 3_000_000):,} events): worst single ingest "
        f"{plain_worst * 1e3:.2f} ms (the machine's own pauses)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    m = _machine()
    print(f"{m['cpu']}, {m['cores']} cores, {m['implementation']} {m['python']}, GC on")
    ratios = ingest_ratio(args.rounds)
    shown = ", ".join(f"{r:.2f}" for r in ratios)
    print(
        f"ingest with max_events=100,000 / without, 1M events: median "
        f"{statistics.median(ratios):.2f}x ({shown})"
    )
    long_run(args.events)


if __name__ == "__main__":
    sys.exit(main())
