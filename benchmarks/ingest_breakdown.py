"""A single `EventLog.ingest` beside the floor, on its fast path and on its general path.

Run: ``python benchmarks/ingest_breakdown.py [--events N] [--rounds R] [--keys K]`` (defaults:
1,000,000 events over 100 keys, 5 rounds). Prints microseconds per ingest (minimum and median of
the rounds, the variants taking turns so that a noisy moment hits all of them alike, and the median
of the per-round ratios to the floor) for:

* ``floor``: `cowlog.cli.baselines.FloorLog` (a locked list + dict applying the shortlog rule,
  returning the offset, no checks, no snapshots);
* ``cowlog``: `cowlog.EventLog` as shipped (a ``str`` key and an ``int`` timestamp take the
  inlined fast path);
* ``cowlog, general path``: the same log with every single ingest sent through the path
  ``ingest_many``, non-``str`` keys, ``timestamp=None`` and a closed or followed log take.

Not a test (pytest does not collect it): it only prints. docs/performance.md quotes its output.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from typing import Any

from cowlog import EventLog
from cowlog.cli.baselines import FloorLog
from cowlog.cli.bench import _fresh, _items, _machine, _time_ingest


class GeneralPathLog(EventLog[Any, Any]):
    """Every single ingest through the general write path (`EventLog._write`)."""

    __slots__ = ()

    def ingest(self, key: Any, value: Any, timestamp: int | None = None) -> int:
        return self._write_one(key, value, timestamp)


def variants() -> dict[str, Callable[[], Any]]:
    """The logs to time, by label."""
    return {"floor": FloorLog, "cowlog": EventLog, "cowlog, general path": GeneralPathLog}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keys", type=int, default=100)
    args = parser.parse_args(argv)
    items = _items(args.events, args.keys)  # the items `cowlog bench` ingests
    logs = variants()
    for make in logs.values():  # each variant must still be a working log
        probe = make()
        assert probe.ingest("k", "v", 1) == 0 and len(probe) == 1
    times: dict[str, list[float]] = {label: [] for label in logs}
    for _ in range(args.rounds):
        for label, make in logs.items():
            _fresh()
            times[label].append(_time_ingest(make(), items) / len(items))
    machine = _machine()
    print(
        f"{machine['cpu']}, {machine['cores']} cores, {machine['implementation']} "
        f"{machine['python']}, GC on; {args.events:,} events over {args.keys:,} keys, "
        f"{args.rounds} rounds"
    )
    print(f"{'variant':24s} {'min us':>8s} {'median us':>10s} {'median of ratios':>17s}")
    for label, runs in times.items():
        ratios = [run / floor for run, floor in zip(runs, times["floor"], strict=True)]
        print(
            f"{label:24s} {min(runs) * 1e6:8.3f} {statistics.median(runs) * 1e6:10.3f} "
            f"{statistics.median(ratios):16.2f}x"
        )


if __name__ == "__main__":
    sys.exit(main())
