"""Where a single `EventLog.ingest` spends its time beyond the floor's, and the least it could cost.

Run: ``python benchmarks/ingest_breakdown.py [--events N] [--rounds R]`` (defaults: 1,000,000
events over 100 keys, 5 rounds). Prints microseconds per ingest (minimum and median of the
rounds, the variants taking turns so that a noisy moment hits all of them alike) for:

* ``floor``: `cowlog.cli.baselines.FloorLog` (a locked list + dict applying the shortlog rule);
* ``floor returning an Event``: the floor's own ``ingest``, changed only to return an `Event`
  (made the way cowlog makes it) instead of its stored tuple: the least any log with cowlog's
  API can cost, snapshots or not;
* ``cowlog``: `cowlog.EventLog` as shipped;
* ``cowlog returning its record``: cowlog's own ``ingest``, changed only to return the stored
  tuple instead of an `Event`.

The two changed variants are made from the shipped source code by replacing one statement, so they
follow the code as it changes; the script stops if a statement it replaces is no longer there.
Not a test (pytest does not collect it): it only prints. docs/performance.md quotes its output.
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import cowlog._log
import cowlog.cli.baselines
from cowlog import EventLog
from cowlog.cli.baselines import FloorLog
from cowlog.cli.bench import _fresh, _items, _machine, _time_ingest


def _variant(cls: type, module: Any, old: str, new: str) -> type:
    """A subclass of *cls* whose ``ingest`` is *cls*'s source with *old* replaced by *new*."""
    source = textwrap.dedent(inspect.getsource(cls.ingest))
    if source.count(old) != 1:
        raise SystemExit(f"{cls.__name__}.ingest changed: {old!r} is not in it once; update me")
    namespace = dict(vars(module))
    namespace.update(_new_tuple=tuple.__new__, Event=cowlog.Event)
    exec("from __future__ import annotations\n" + source.replace(old, new), namespace)
    return type(f"{cls.__name__}Variant", (cls,), {"__slots__": (), "ingest": namespace["ingest"]})


def variants() -> dict[str, Callable[[], Any]]:
    """The logs to time, by label."""
    return {
        "floor": FloorLog,
        "floor returning an Event": _variant(
            FloorLog, cowlog.cli.baselines, "return record", "return _new_tuple(Event, record)"
        ),
        "cowlog": EventLog,
        "cowlog returning its record": _variant(
            EventLog,
            cowlog._log,
            "event: Event[K, V] = _new_tuple(Event, record)",
            "event = record",
        ),
    }


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
        event = probe.ingest("k", "v", 1)
        assert tuple(event) == (1, "k", "v") and len(probe) == 1
    times: dict[str, list[float]] = {label: [] for label in logs}
    for _ in range(args.rounds):
        for label, make in logs.items():
            _fresh()
            times[label].append(_time_ingest(make(), items) / len(items))
    floor = min(times["floor"])
    machine = _machine()
    print(
        f"{machine['cpu']}, {machine['cores']} cores, {machine['implementation']} "
        f"{machine['python']}, GC on; {args.events:,} events over {args.keys:,} keys, "
        f"{args.rounds} rounds"
    )
    print(f"{'variant':30s} {'min us':>8s} {'median us':>10s} {'min / floor':>12s}")
    for label, runs in times.items():
        best = min(runs)
        print(
            f"{label:30s} {best * 1e6:8.3f} {statistics.median(runs) * 1e6:10.3f} "
            f"{best / floor:11.2f}x"
        )


if __name__ == "__main__":
    sys.exit(main())
