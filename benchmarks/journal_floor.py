"""A journaled single `ingest` (``fsync="never"``) beside its floor: a plain ingest plus one write.

Run: ``python benchmarks/journal_floor.py [--events N] [--rounds R]`` (defaults: 200,000 events
over 100 keys, the items `cowlog bench` journals, 7 rounds; the files go to ``$TMPDIR``, so point
it at the disk to measure). Prints microseconds per ingest (the median of the rounds, the variants
taking turns so that a noisy moment hits all of them alike) and each one's ratio to ``plain``:

* ``plain``: `cowlog.EventLog.ingest`, no journal;
* ``plain + os.write``: the same ingest followed by one bare ``os.write`` of a ready buffer as
  long as the journal's frame for that event (no encoding, no CRC): the least that "every write
  reaches the OS before `ingest` returns" costs with one system call per write;
* ``journal``: `EventLog.open(path, fsync="never")`, as shipped.

The gap between the last two is what the journal itself adds (encoding, the check that the value
comes back equal, CRC-32, the frame); the gap between the first two is the system call's.

Not a test (pytest does not collect it): it only prints. docs/performance.md quotes its output.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

from cowlog import EventLog
from cowlog._codec import get_codec
from cowlog._frames import encode_frame
from cowlog.cli.bench import _fresh, _machine
from cowlog.cli.bench_journal import _items

Item = tuple[str, int, int]


def plain(items: list[Item], directory: str) -> float:
    """Seconds per `EventLog.ingest` of *items*."""
    ingest = EventLog[str, int]().ingest
    begin = time.perf_counter()
    for key, value, timestamp in items:
        ingest(key, value, timestamp)
    return (time.perf_counter() - begin) / len(items)


def plain_and_write(items: list[Item], directory: str) -> float:
    """Seconds per `EventLog.ingest` of *items*, each followed by one ``os.write`` of a frame."""
    key, value, timestamp = items[len(items) // 2]  # a frame as long as the journal's
    frame = encode_frame(get_codec("json").dumps((timestamp, key, value)))
    ingest, write = EventLog[str, int]().ingest, os.write
    path = os.path.join(directory, "floor")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        begin = time.perf_counter()
        for key, value, timestamp in items:
            ingest(key, value, timestamp)
            write(fd, frame)
        return (time.perf_counter() - begin) / len(items)
    finally:
        os.close(fd)
        os.unlink(path)


def journal(items: list[Item], directory: str) -> float:
    """Seconds per journaled `ingest` of *items*, ``fsync="never"``."""
    path = os.path.join(directory, "journal")
    log = EventLog[str, int].open(path, fsync="never")
    try:
        ingest = log.ingest
        begin = time.perf_counter()
        for key, value, timestamp in items:
            ingest(key, value, timestamp)
        elapsed = (time.perf_counter() - begin) / len(items)
        assert len(log) == len(items)
        return elapsed
    finally:
        log.close()
        os.unlink(path)


VARIANTS: dict[str, Callable[[list[Item], str], float]] = {
    "plain": plain,
    "plain + os.write": plain_and_write,
    "journal": journal,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    items = _items(args.events)
    times: dict[str, list[float]] = {label: [] for label in VARIANTS}
    with tempfile.TemporaryDirectory() as directory:
        for _ in range(args.rounds):
            for label, run in VARIANTS.items():
                _fresh()
                times[label].append(run(items, directory))
    machine = _machine()
    print(
        f"{machine['cpu']}, {machine['cores']} cores, {machine['implementation']} "
        f"{machine['python']}, GC on; {args.events:,} events over 100 keys, {args.rounds} rounds, "
        f"files in {os.path.dirname(directory)}; JSON by "
        f"{get_codec('json').library}"
    )
    print(f"{'variant':18s} {'median us':>10s} {'x plain':>8s}")
    base = statistics.median(times["plain"])
    for label, runs in times.items():
        median = statistics.median(runs)
        print(f"{label:18s} {median * 1e6:10.3f} {median / base:7.2f}x")


if __name__ == "__main__":
    sys.exit(main())
