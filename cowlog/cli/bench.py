"""``cowlog bench``: cowlog beside the floor, the seed's design and the naive design, in one run.

:func:`run` measures, in this process, one section after another (each design on the same inputs,
in the same run, so the ratios are fair even when the machine is noisy):

1. **ingest**: one thread ingests n events (100 keys, growing int timestamps) into an empty log;
   the mean cost per event, the minimum over a few repeats, and the median over the repeats of
   cowlog's ratio to the floor within each (the bar's figure); n = 100k / 1M / 3M.
2. **distinct keys**: the same with 100,000 distinct keys.
3. **growth**: the cost per ingest of a window of ingests into a log already holding n events,
   relative to the floor's at the same n: flat for cowlog, growing for the naive design.
4. **snapshot**: the cost of taking one snapshot of a log of n events.
5. **reads** (:func:`bench_reads`): drain ``replay()``, ``list(replay())``, ``list(shortlog())``,
   ``latest(key)`` and ``snap[i]`` on logs of 100k and 1M events over 100 keys, and the shortlog
   with 100,000 keys (round-robin, and drawn at random), beside a plain list of the same tuples,
   the floor and the seed; medians of interleaved rounds.
6. **mixed load**: 4 writer threads at full speed and 4 reader threads, each reading a snapshot,
   its shortlog and its last 50 events every 2 ms, on a log prefilled with 200,000 events, for 3 s
   (the full run: 3 rounds, each figure's median).
7. **memory**: bytes per event for 1M events (tracemalloc), and what 1,000 held snapshots add.

Timings are wall-clock (``time.perf_counter``) with the garbage collector on, as in production.
Nothing here is part of the public API; ``cowlog bench`` calls :func:`run`. ``rich`` (the ``cli``
extra) is imported inside :func:`run` so that importing this module never needs it.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import random
import statistics
import sys
import threading
import time
import tracemalloc
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import cycle
from typing import Any

from .._log import EventLog
from .baselines import FloorLog, NaiveLog, SeedLog

__all__ = ["Config", "run"]

Item = tuple[str, int, int]
Results = dict[str, Any]


@dataclass(frozen=True)
class Config:
    """What one run measures; :func:`run` picks the quick or the full one."""

    ingest_sizes: tuple[int, ...]
    ingest_repeats: tuple[int, ...]
    keyed_events: int
    keyed_repeats: tuple[int, ...]
    growth_sizes: tuple[int, ...]
    growth_window: int
    naive_window: int
    growth_repeats: int
    mixed_seconds: float = 3.0
    mixed_rounds: int = 1
    mixed_prefill: int = 200_000
    memory_events: int = 1_000_000
    held_snapshots: int = 1_000
    designs: tuple[str, ...] = field(default=("floor", "cowlog", "seed"))
    # The read side (bench_reads): sizes of the 100-key logs, events of the 100k-key logs, rounds.
    read_sizes: tuple[int, ...] = (100_000, 1_000_000)
    read_keyed_events: int = 200_000
    read_rounds: int = 9
    read_budget: float = 0.4


QUICK = Config(
    ingest_sizes=(100_000, 1_000_000),
    ingest_repeats=(3, 1),
    keyed_events=200_000,
    keyed_repeats=(1,),
    growth_sizes=(100_000, 1_000_000),
    growth_window=50_000,
    naive_window=5_000,
    growth_repeats=3,
    memory_events=200_000,
    read_rounds=3,
    read_budget=0.15,
)
FULL = Config(
    ingest_sizes=(100_000, 1_000_000, 3_000_000),
    ingest_repeats=(7, 5, 2),
    keyed_events=500_000,
    keyed_repeats=(3,),
    growth_sizes=(100_000, 1_000_000, 3_000_000),
    growth_window=100_000,
    naive_window=10_000,
    growth_repeats=7,
    mixed_rounds=3,
)

KEYS = 100
MAKERS: dict[str, Callable[[], Any]] = {
    "floor": FloorLog,
    "cowlog": EventLog,
    "seed": SeedLog,
    "naive": NaiveLog,
}


def _items(n: int, keys: int = KEYS, start: int = 0) -> list[Item]:
    """*n* ``(key, value, timestamp)`` items over *keys* keys, timestamps growing from *start*."""
    names = [f"key{i}" for i in range(keys)]
    return [(names[i % keys], i, i) for i in range(start, start + n)]


def _fresh() -> None:
    """Collect garbage between measurements so one design's leftovers never bill the next."""
    gc.collect()


def _time_ingest(log: Any, items: list[Item]) -> float:
    """Ingest *items* one call each; return seconds."""
    ingest = log.ingest
    begin = time.perf_counter()
    for key, value, timestamp in items:
        ingest(key, value, timestamp)
    return time.perf_counter() - begin


def _prefill(design: str, items: list[Item]) -> Any:
    """Return a log of *design* holding *items*, made the fastest way its API allows.

    The seed has no batch, and ingesting millions of events one by one at its speed would take
    most of the run, so its deque and dict are filled directly, with the seed's own rule: the
    state is the one its ``ingest`` would leave.
    """
    log = MAKERS[design]()
    if design == "seed":
        log._raw.extend((timestamp, value, key) for key, value, timestamp in items)
        latest = log._latest
        for key, value, timestamp in items:
            entry = latest.get(key)
            if entry is None or (entry[1] is not None and entry[1] < timestamp):
                latest[key] = (value, timestamp)
    else:
        for begin in range(0, len(items), 100_000):
            log.ingest_many(items[begin : begin + 100_000])
    return log


# -- sections ------------------------------------------------------------------------------------


def bench_ingest(
    sizes: tuple[int, ...], repeats: tuple[int, ...], keys: int, step: Callable[[str], None]
) -> Results:
    """Mean seconds per ingest from empty to n events, per design and n: the minimum over
    ``repeats[i]`` runs at ``sizes[i]``, the designs taking turns (floor, cowlog, seed, floor, ...)
    so that a noisy moment on a shared machine hits all of them alike.

    Each row also keeps every round (``"rounds"``: design -> seconds per event, in order) and the
    median over the rounds of cowlog's ratio to the floor in the same round
    (``"cowlog_floor_median"``), which the ingest bar is judged on.
    """
    out: Results = {}
    designs = ("floor", "cowlog", "seed")
    for n, rounds in zip(sizes, repeats, strict=True):
        items = _items(n, keys)
        runs: dict[str, list[float]] = {design: [] for design in designs}
        for r in range(rounds):
            for design in designs:
                _fresh()
                log = MAKERS[design]()
                runs[design].append(_time_ingest(log, items) / n)
                del log
            step(f"ingest {n:,} events ({keys:,} keys): round {r + 1} of {rounds}")
        row: Results = {design: min(runs[design]) for design in designs}
        row["rounds"] = runs
        row["cowlog_floor_median"] = statistics.median(
            cow / floor for cow, floor in zip(runs["cowlog"], runs["floor"], strict=True)
        )
        out[str(n)] = row
        del items
    _fresh()
    return out


def _time_call(call: Callable[[], Any], budget: float = 0.4, at_most: int = 100_000) -> float:
    """Seconds per call of *call*: the best of 9 batches sized to take about *budget* / 9 s."""
    return _time_calls({"call": call}, budget, at_most)["call"]


def _time_calls(
    calls: dict[str, Callable[[], Any]], budget: float = 0.4, at_most: int = 100_000
) -> dict[str, float]:
    """Seconds per call of each of *calls*: the best of 9 batches each sized to take about
    *budget* / 9 s, the calls' batches taking turns so that a slow moment hits all of them."""
    per_batch: dict[str, int] = {}
    for name, call in calls.items():
        begin = time.perf_counter()
        call()
        once = max(time.perf_counter() - begin, 1e-7)
        per_batch[name] = max(1, min(at_most, int(budget / 9 / once)))
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(9):
        for name, call in calls.items():
            count = per_batch[name]
            begin = time.perf_counter()
            for _ in range(count):
                call()
            best[name] = min(best[name], (time.perf_counter() - begin) / count)
    return best


def bench_growth(config: Config, step: Callable[[str], None]) -> tuple[Results, Results]:
    """Per-ingest cost of a window of ingests into a log already holding n events, per design;
    and the cost of one ``snapshot()`` of such a log.

    The designs' windows are interleaved (floor, cowlog, naive, floor, ...) so that a noisy moment
    on the machine hits all of them alike; each figure is the minimum over the repeats. Snapshots
    of the n-event logs are timed side by side with snapshots of a 1,000-event cowlog log
    (``cowlog_at_1k``), their batches taking turns, so that the O(1) verdict compares two
    figures taken in the same moments rather than minutes apart.
    """
    growth: Results = {}
    snapshot: Results = {}
    small = _items(1_000)
    small_logs = {design: _prefill(design, small) for design in ("cowlog", "naive", "seed")}
    row = {design: _time_call(log.snapshot) for design, log in small_logs.items()}
    row["cowlog_at_1k"] = row["cowlog"]
    snapshot["1000"] = row
    small_log = small_logs["cowlog"]
    del small_logs
    for n in config.growth_sizes:
        items = _items(n)
        _fresh()
        logs = {design: _prefill(design, items) for design in ("floor", "cowlog", "naive")}
        best = dict.fromkeys(logs, float("inf"))
        for r in range(config.growth_repeats):
            for design, log in logs.items():
                window = config.naive_window if design == "naive" else config.growth_window
                more = _items(window, start=n + r * window)
                gc.collect()  # a long-lived log: its events have reached the oldest generation
                best[design] = min(best[design], _time_ingest(log, more) / window)
                del more
            step(f"growth at {n:,} events: round {r + 1} of {config.growth_repeats}")
        growth[str(n)] = best
        row = _time_calls(
            {
                "cowlog": logs["cowlog"].snapshot,
                "naive": logs["naive"].snapshot,
                "cowlog_at_1k": small_log.snapshot,
            }
        )
        del logs
        _fresh()
        seed = _prefill("seed", items)
        row["seed"] = _time_call(seed.snapshot, budget=0.5)
        snapshot[str(n)] = row
        del seed, items
        _fresh()
        step(f"snapshot at {n:,} events")
    return growth, snapshot


PERIOD = 0.002
WRITERS = 4
READERS = 4


def _reader_for(design: str, log: Any) -> Callable[[], None]:
    """One read of the mixed load: a snapshot, its shortlog and its last 50 events."""
    if design == "seed":

        def read() -> None:
            events = log.snapshot()  # the seed's only consistent view: a full copy
            list(log.shortlog())
            events[-50:]

    else:

        def read() -> None:
            snap = log.snapshot()
            list(snap.shortlog())
            snap[-50:]

    return read


#: The mixed-load runs: name -> (design, writer threads, GIL switch interval or None for default).
MIXED_RUNS: dict[str, tuple[str, int, float | None]] = {
    "cowlog": ("cowlog", WRITERS, None),
    "seed": ("seed", WRITERS, None),
    "cowlog, no writers": ("cowlog", 0, None),
    "cowlog, switch 1 ms": ("cowlog", WRITERS, 0.001),
}


def bench_mixed(
    design: str,
    seconds: float,
    prefill: int,
    writers: int = WRITERS,
    switch_interval: float | None = None,
) -> Results:
    """Run the mixed load on *design*; return writes/s, reads served and read latencies.

    Each reader has a tick every 2 ms from a common start. At a tick it starts one read (sleeping
    until the tick if it is early). A read is **served** when it returns before the reader's next
    tick, that is within 2 ms of the moment it was due; this counts the time the reader waited for
    the interpreter to run it (the GIL) as well as the read itself. A tick that passes while the
    reader is still busy with an earlier read is a read **not served** (it is skipped, not queued).
    Share served = reads served / ticks, over all readers. Latency = the read's own duration, from
    the call to its return. A read that raises (the seed's defects) counts as an error, not served.

    *switch_interval*, if given, is set with :func:`sys.setswitchinterval` for the run and restored
    afterwards: how long a thread that wants the GIL waits before it asks the running one to drop it
    (5 ms by default, more than a read's 2 ms period).
    """
    log = _prefill(design, _items(prefill))
    gc.collect()
    read = _reader_for(design, log)
    ticks = round(seconds / PERIOD)
    barrier = threading.Barrier(writers + READERS + 1)
    stop = threading.Event()
    start_box = [0.0]
    writes = [0] * writers
    latencies: list[list[float]] = [[] for _ in range(READERS)]
    late_starts = [0] * READERS
    served = [0] * READERS
    errors = [0] * READERS
    names = [f"key{i}" for i in range(KEYS)]

    def writer(index: int) -> None:
        ingest = log.ingest
        base = prefill + index * 10**12
        count = 0
        barrier.wait()
        for key in cycle(names):
            if stop.is_set():
                break
            ingest(key, count, base + count)
            count += 1
        writes[index] = count

    def reader(index: int) -> None:
        mine = latencies[index]
        barrier.wait()
        start = start_box[0]
        tick = 0
        while tick < ticks:
            due = start + tick * PERIOD
            now = time.perf_counter()
            if now < due:
                time.sleep(due - now)
            begin = time.perf_counter()
            if begin >= due + PERIOD:
                late_starts[index] += 1
            try:
                read()
            except Exception:
                errors[index] += 1
                end = time.perf_counter()
            else:
                end = time.perf_counter()
                mine.append(end - begin)
                if end < due + PERIOD:
                    served[index] += 1
            # the next tick this reader can honour: ticks passed meanwhile are not served
            tick = max(tick + 1, int((end - start) / PERIOD) + 1)

    threads = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(writers)]
    threads += [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(READERS)]
    previous_interval = sys.getswitchinterval()
    if switch_interval is not None:
        sys.setswitchinterval(switch_interval)
    try:
        for thread in threads:
            thread.start()
        start_box[0] = time.perf_counter() + 0.005
        barrier.wait()
        time.sleep(max(0.0, start_box[0] + seconds - time.perf_counter()))
        stop.set()
        elapsed = time.perf_counter() - start_box[0]
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(previous_interval)
    all_latencies = sorted(x for mine in latencies for x in mine)
    return {
        "writers": writers,
        "writes_per_s": sum(writes) / elapsed,
        "ticks": ticks * READERS,
        "reads": len(all_latencies) + sum(errors),
        "served": sum(served),
        "served_share": sum(served) / (ticks * READERS),
        "late_starts": sum(late_starts),
        "errors": sum(errors),
        "fast_share": sum(x < PERIOD for x in all_latencies)
        / max(1, len(all_latencies) + sum(errors)),
        "p50_s": _quantile(all_latencies, 0.50),
        "p99_s": _quantile(all_latencies, 0.99),
        "max_s": all_latencies[-1] if all_latencies else float("nan"),
    }


def _median_run(rounds: list[Results]) -> Results:
    """Each figure's median over *rounds* (the figures may come from different rounds)."""
    median: Results = {}
    for name in rounds[0]:
        values = sorted(run[name] for run in rounds)
        median[name] = values[len(values) // 2]
    median["rounds"] = rounds
    return median


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


def _traced(make: Callable[[], Any]) -> tuple[Any, int]:
    """Return what *make* returns and the bytes it left allocated (tracemalloc)."""
    _fresh()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        made = make()
        gc.collect()
        return made, tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def bench_memory(n: int, held: int, step: Callable[[str], None]) -> Results:
    """Bytes per event of n events, and the bytes that *held* snapshots add (tracemalloc)."""
    out: Results = {"events": n, "held": held}
    names = [f"key{i}" for i in range(KEYS)]
    # Every design allocates its own records and ints the same way: keys are shared strings.

    def tuples() -> list[tuple[int, str, int]]:
        return [(i, names[i % KEYS], i) for i in range(n)]

    def fill(log: Any) -> Any:
        ingest = log.ingest
        for i in range(n):
            ingest(names[i % KEYS], i, i)
        return log

    _, size = _traced(tuples)
    out["list_of_tuples"] = size / n
    step("memory: a list of tuples")
    for design in ("floor", "cowlog"):
        make = MAKERS[design]
        log, size = _traced(lambda: fill(make()))  # noqa: B023 (called before the next turn)
        out[design] = size / n
        del log
        step(f"memory: {design}")

    def seed() -> Any:
        log = SeedLog()
        for i in range(n):
            log._raw.append((i, i, names[i % KEYS]))
            log._latest[names[i % KEYS]] = (i, i)
        return log

    log, size = _traced(seed)
    out["seed"] = size / n
    del log
    step("memory: seed")

    # Snapshots spread over the log's history: one every n / held ingests.
    every = max(1, n // held)

    def with_snapshots() -> tuple[EventLog[str, int], list[Any]]:
        log: EventLog[str, int] = EventLog()
        snaps = []
        ingest = log.ingest
        for i in range(n):
            ingest(names[i % KEYS], i, i)
            if i % every == every - 1:
                snaps.append(log.snapshot())
        return log, snaps

    _fresh()
    tracemalloc.start()
    try:
        log, snaps = with_snapshots()
        gc.collect()
        holding = tracemalloc.get_traced_memory()[0]
        count = len(snaps)
        del snaps
        gc.collect()
        out["cowlog_held_bytes"] = holding - tracemalloc.get_traced_memory()[0]
        out["cowlog_held_count"] = count
    finally:
        tracemalloc.stop()
    del log
    step("memory: cowlog with held snapshots")

    # The seed's snapshot is a full copy: 1,000 of them would not fit comfortably in memory, so
    # measure 10 copies taken at the same spread of sizes and scale up (stated in the table).
    sample = 10

    def seed_copies() -> tuple[SeedLog, list[Any]]:
        log = SeedLog()
        copies = []
        for i in range(n):
            log._raw.append((i, i, names[i % KEYS]))
            if i % (n // sample) == n // sample - 1:
                copies.append(log.snapshot())
        return log, copies

    _fresh()
    tracemalloc.start()
    try:
        seed_log, copies = seed_copies()
        holding = tracemalloc.get_traced_memory()[0]
        del copies
        gc.collect()
        out["seed_held_bytes"] = (holding - tracemalloc.get_traced_memory()[0]) * held / sample
        out["seed_held_sampled"] = sample
    finally:
        tracemalloc.stop()
    del seed_log
    step("memory: seed with held copies")
    _fresh()
    return out


# -- the read side (issue 12, item 4) ----------------------------------------------------------

#: The designs of the read rows, in the order they take turns. ``list`` is no log: a plain list of
#: the very tuples cowlog stores, iterated or copied in C; the bound a log's replay can approach.
READ_DESIGNS = ("list", "floor", "cowlog", "seed")


def _random_items(n: int, keys: int, seed: int = 1) -> list[Item]:
    """*n* items whose keys are drawn at random (``random.Random(seed)``) from *keys* names.

    Unlike :func:`_items` (round-robin), the keys' survivors then come out of the order in which
    the keys first appeared, so a shortlog in log order must really sort them.
    """
    names = [f"key{i}" for i in range(keys)]
    draw = random.Random(seed).randrange
    return [(names[draw(keys)], i, i) for i in range(n)]


def _drain(events: Any) -> None:
    """Iterate *events* in C, keeping nothing: the cheapest full read of an iterator."""
    deque(events, maxlen=0)


def _time_rounds(
    calls: dict[str, Callable[[], Any]], rounds: int, budget: float
) -> dict[str, list[float]]:
    """Seconds per call of each of *calls*, one figure per round: each round times one batch of
    each call in turn (so a slow moment of the machine hits all of them), batches sized to take
    about *budget* / *rounds* seconds. The garbage collector stays on."""
    per_batch: dict[str, int] = {}
    for name, call in calls.items():
        begin = time.perf_counter()
        call()
        once = max(time.perf_counter() - begin, 1e-7)
        per_batch[name] = max(1, min(100_000, int(budget / rounds / once)))
    out: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            count = per_batch[name]
            begin = time.perf_counter()
            for _ in range(count):
                call()
            out[name].append((time.perf_counter() - begin) / count)
    return out


def _read_row(
    op: str, workload: str, calls: dict[str, Callable[[], Any]], rounds: int, budget: float
) -> Results:
    """Time *calls* (design -> one read) side by side; the row keeps medians, minimums, rounds,
    and the ratios the bars use: each the median over the rounds of the ratio within a round
    (``"cowlog / list"``, ``"seed / cowlog"``), so a slow moment that hits one round counts once."""
    runs = _time_rounds(calls, rounds, budget)
    ratios = {"seed / cowlog": _median_ratio(runs["seed"], runs["cowlog"])}
    if "list" in runs:
        ratios["cowlog / list"] = _median_ratio(runs["cowlog"], runs["list"])
    return {
        "op": op,
        "workload": workload,
        "median": {name: statistics.median(times) for name, times in runs.items()},
        "min": {name: min(times) for name, times in runs.items()},
        "ratios": ratios,
        "rounds": runs,
    }


def _median_ratio(numerators: list[float], denominators: list[float]) -> float:
    return statistics.median(a / b for a, b in zip(numerators, denominators, strict=True))


def _ratio(row: Results, name: str) -> float:
    """The row's ratio *name* (``"seed / cowlog"`` or ``"cowlog / list"``): the median of the
    per-round ratios when the row has them, else the ratio of its medians."""
    if name in row.get("ratios", {}):
        ratio: float = row["ratios"][name]
        return ratio
    top, bottom = name.split(" / ")
    return float(row["median"][top] / row["median"][bottom])


def _read_calls_100_keys(logs: dict[str, Any], records: list[Any]) -> dict[str, dict[str, Any]]:
    """The reads of a 100-key log, by operation, each as design -> a call doing one read."""
    floor, cowlog, seed = logs["floor"], logs["cowlog"], logs["seed"]
    snap = cowlog.snapshot()
    copy = seed.snapshot()  # the seed's only consistent view: a full copy (a list)
    middle = len(records) // 2
    return {
        "drain replay()": {
            "list": lambda: _drain(iter(records)),
            "floor": lambda: _drain(floor.replay()),
            "cowlog": lambda: _drain(cowlog.replay()),
            "seed": lambda: _drain(seed.replay()),
        },
        "list(replay())": {
            "list": lambda: list(iter(records)),
            "floor": lambda: list(floor.replay()),
            "cowlog": lambda: list(cowlog.replay()),
            "seed": lambda: list(seed.replay()),
        },
        "list(shortlog())": {
            "floor": lambda: list(floor.shortlog()),
            "cowlog": lambda: list(cowlog.shortlog()),
            "seed": lambda: list(seed.shortlog()),
        },
        "latest(key)": {
            "floor": lambda: floor.latest("key7"),
            "cowlog": lambda: cowlog.latest("key7"),
            "seed": lambda: seed.latest("key7"),
        },
        "snap[i]": {
            "list": lambda: records[middle],
            "floor": lambda: floor[middle],
            "cowlog": lambda: snap[middle],
            "seed": lambda: copy[middle],
        },
    }


def bench_reads(config: Config, step: Callable[[str], None]) -> Results:
    """The read side, side by side: every read of every design timed in one run.

    On logs of n events over 100 keys (n in ``config.read_sizes``): drain ``replay()``
    (``deque(it, maxlen=0)``), ``list(replay())``, ``list(shortlog())``, ``latest(key)`` and
    ``snap[i]`` (cowlog: a held snapshot; the seed: its held copy, a list; the floor: its list
    under its lock-free read). Then ``list(shortlog())`` with 100,000 keys, round-robin and drawn
    at random. ``list`` is a plain list of the same tuples cowlog stores. Each row: the median
    and minimum over ``config.read_rounds`` rounds, the designs taking turns in each round.

    Returns rows by id, ``"<op>@<workload>"``, e.g. ``"drain replay()@100000"`` or
    ``"list(shortlog())@100000 keys, random"``.
    """
    out: Results = {}
    rounds, budget = config.read_rounds, config.read_budget
    for n in config.read_sizes:
        items = _items(n)
        _fresh()
        logs = {design: _prefill(design, items) for design in ("floor", "cowlog", "seed")}
        del items
        records = list(logs["cowlog"].replay())  # the very tuples cowlog stores
        for op, calls in _read_calls_100_keys(logs, records).items():
            _fresh()
            workload = f"{n:,} events, 100 keys"
            out[f"{op}@{n}"] = _read_row(op, workload, calls, rounds, budget)
            step(f"reads on {n:,} events: {op}")
        del logs, records
        _fresh()
    keys = 100_000
    events = config.read_keyed_events
    for order, make_items in (("round-robin", _items), ("random", _random_items)):
        items = make_items(events, keys)
        _fresh()
        logs = {design: _prefill(design, items) for design in ("floor", "cowlog", "seed")}
        del items
        distinct = len(list(logs["cowlog"].shortlog()))
        calls = {design: (lambda log=log: list(log.shortlog())) for design, log in logs.items()}
        _fresh()
        label = f"{events:,} events, {distinct:,} keys, " + (
            "round-robin" if order == "round-robin" else f"drawn at random from {keys:,}"
        )
        row = _read_row("list(shortlog())", label, calls, rounds, budget)
        row["keys"] = distinct
        out[f"list(shortlog())@{keys} keys, {order}"] = row
        del logs, calls
        _fresh()
        step(f"reads: shortlog with {keys:,} keys ({order})")
    return out


def _read_steps(config: Config) -> int:
    return 5 * len(config.read_sizes) + 2


def _read_targets(results: Results) -> list[tuple[str, str, bool]]:
    """The read bars of issue 12, each decided by its row's median of per-round ratios."""
    rows: list[tuple[str, str, bool]] = []
    reads = results.get("reads", {})
    drain = reads.get("drain replay()@100000")
    if drain is not None:
        ratio = _ratio(drain, "cowlog / list")
        rows.append(("drain replay() 100k <= 2x a list of the tuples", f"{ratio:.2f}x", ratio <= 2))
        rows.append(
            ("stretch: drain replay() 100k <= 1.25x a list", f"{ratio:.2f}x", ratio <= 1.25)
        )
        speedup = _ratio(drain, "seed / cowlog")
        rows.append(("drain replay() 100k >= 3x the seed", f"{speedup:.1f}x", speedup >= 3))
    listed = reads.get("list(replay())@100000")
    if listed is not None:
        speedup = _ratio(listed, "seed / cowlog")
        rows.append(("list(replay()) 100k >= 5x the seed", f"{speedup:.1f}x", speedup >= 5))
    shortlogs = (
        ("list(shortlog())@100000", "100 keys"),
        ("list(shortlog())@100000 keys, round-robin", "100k keys"),
        ("list(shortlog())@100000 keys, random", "100k random keys"),
    )
    for row_id, label in shortlogs:
        row = reads.get(row_id)
        if row is None:
            continue
        speedup = _ratio(row, "seed / cowlog")
        figure = f"{speedup:.2f}x"
        rows.append((f"list(shortlog()) {label}: no slower than the seed", figure, speedup >= 1))
        rows.append((f"stretch: list(shortlog()) {label}: 2x the seed", figure, speedup >= 2))
    return rows


def _us_short(seconds: float) -> str:
    us = seconds * 1e6
    return f"{us:,.0f}" if us >= 100 else f"{us:.2f}"


def _print_reads(console: Any, table_type: Any, reads: Results, rounds: int) -> None:
    """The read tables, one per log: median us per call, the designs side by side, the ratios."""
    from rich.markup import escape  # "[i]" would otherwise be read as markup

    workloads: dict[str, list[Results]] = {}
    for row in reads.values():
        workloads.setdefault(row["workload"], []).append(row)
    for workload, rows in workloads.items():
        table = table_type(
            title=f"Reads, {workload}: us per call, median of {rounds} interleaved rounds; "
            "ratios: median of the per-round ratios"
        )
        table.add_column("read", justify="right", no_wrap=True)
        for column in ("list", "floor", "cowlog", "seed", "cowlog / list", "seed / cowlog"):
            table.add_column(column, justify="right")
        for row in rows:
            med = row["median"]

            def cell(design: str, med: dict[str, float] = med) -> str:
                return _us_short(med[design]) if design in med else "-"

            table.add_row(
                escape(row["op"]),
                cell("list"),
                cell("floor"),
                cell("cowlog"),
                cell("seed"),
                f"{_ratio(row, 'cowlog / list'):.2f}x" if "list" in med else "-",
                f"{_ratio(row, 'seed / cowlog'):.1f}x",
            )
        console.print(table)
    console.print(
        "list: a plain list of the same tuples cowlog stores. drain: deque(it, maxlen=0). "
        "snap\\[i]: cowlog indexes a held snapshot, the seed its held copy (a list; taking it "
        "costs what the snapshot() table shows), the floor its live list."
    )


# -- the run -------------------------------------------------------------------------------------


def _machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "gil_switch_interval_s": sys.getswitchinterval(),
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


#: cowlog 0.1's bytes per event, 1M events over 100 keys (docs/performance.md before 0.2).
MEMORY_0_1 = 144.5


def _targets(results: Results) -> list[tuple[str, str, bool]]:
    """The speed targets of the core issue, each with the figure that decides it."""
    rows: list[tuple[str, str, bool]] = []
    ingest = results["ingest"]
    if "1000000" in ingest:
        row = ingest["1000000"]
        speedup = row["seed"] / row["cowlog"]
        rows.append(("ingest >= 5x the seed at 1M", f"{speedup:.1f}x", speedup >= 5))
        # the median over the rounds of the ratio within each round, when the rounds are kept
        ratio = row.get("cowlog_floor_median", row["cowlog"] / row["floor"])
        rows.append(("ingest <= 1.5x the floor at 1M", f"{ratio:.2f}x", ratio <= 1.5))
        rows.append(("stretch: ingest <= 1.25x the floor at 1M", f"{ratio:.2f}x", ratio <= 1.25))
    growth = results["growth"]
    sizes = sorted(growth, key=int)
    if len(sizes) >= 2:
        first, last = growth[sizes[0]], growth[sizes[-1]]
        flat = (last["cowlog"] / last["floor"]) / (first["cowlog"] / first["floor"])
        label = f"growth: {int(sizes[-1]):,} within 1.25x of {int(sizes[0]):,} (vs floor)"
        rows.append((label, f"{flat:.2f}x", flat <= 1.25))
    snapshot = results["snapshot"]
    sizes = sorted(snapshot, key=int)
    if len(sizes) >= 2:
        last = snapshot[sizes[-1]]
        grow = last["cowlog"] / last["cowlog_at_1k"]
        label = f"snapshot O(1): {int(sizes[-1]):,} vs 1,000 events, side by side"
        rows.append((label, f"{grow:.2f}x", grow <= 1.5))
    keyed = results["distinct_keys"]
    for row in keyed.values():
        speedup = row["seed"] / row["cowlog"]
        rows.append(("ingest >= 1.5x the seed, 100k keys", f"{speedup:.1f}x", speedup >= 1.5))
    mixed = results["mixed"]
    if "cowlog" in mixed and "seed" in mixed:
        cow, seed = mixed["cowlog"], mixed["seed"]
        writes = cow["writes_per_s"] / max(seed["writes_per_s"], 1e-9)
        rows.append(("mixed: writes >= 10x the seed", f"{writes:.1f}x", writes >= 10))
        share = cow["served_share"]
        rows.append(("mixed: >= 95% of reads served", f"{share:.1%}", share >= 0.95))
        p99 = seed["p99_s"] / cow["p99_s"]
        rows.append(("mixed: p99 read latency >= 100x lower", f"{p99:,.0f}x", p99 >= 100))
    memory = results.get("memory")
    if memory is not None:
        per_event = memory["cowlog"]
        label = f"memory <= 0.1's {MEMORY_0_1:g} B / event (100 keys)"
        # 0.1's figure is known to 0.1 B: the same layout measures the same to that digit
        rows.append((label, f"{per_event:.1f} B", round(per_event, 1) <= MEMORY_0_1))
    rows += _read_targets(results)
    return rows


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.2f}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.3f}"


def _steps(config: Config) -> int:
    return (
        sum(config.ingest_repeats)
        + sum(config.keyed_repeats)
        + (config.growth_repeats + 1) * len(config.growth_sizes)
        + len(MIXED_RUNS) * config.mixed_rounds
        + 6
        + _read_steps(config)
    )


def run(*, quick: bool = False, json_path: str | None = None) -> int:
    """Run the comparison, print its tables, optionally write the raw figures; return 0.

    Returns 2 (after a message on stderr) when ``rich`` is missing. A missed target is reported in
    the last table, not by the exit status: the benchmark measures, it does not judge the machine.
    """
    try:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.table import Table
    except ImportError:
        print("cowlog bench needs rich: pip install 'cowlog[cli]'", file=sys.stderr)
        return 2

    from .render import whole_tables_console

    config = QUICK if quick else FULL
    console = whole_tables_console()  # tables never cut: wrapped on a terminal, whole in a file
    results: Results = {"mode": "quick" if quick else "full", "machine": _machine()}
    began = time.perf_counter()
    # No auto-refresh: a refresh thread would take the GIL in the middle of the measurements.
    progress = Progress(
        TextColumn("[bold]cowlog bench[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        auto_refresh=False,
        transient=True,
    )
    with progress:
        task = progress.add_task("starting", total=_steps(config))

        def step(done: str) -> None:
            progress.update(task, advance=1, description=done)
            progress.refresh()

        def note(doing: str) -> None:
            progress.update(task, description=doing)
            progress.refresh()

        clock = [time.perf_counter()]
        sections: dict[str, float] = {}
        results["section_seconds"] = sections

        def lap(name: str) -> None:
            now = time.perf_counter()
            sections[name] = now - clock[0]
            clock[0] = now

        note("ingest")
        results["ingest"] = bench_ingest(config.ingest_sizes, config.ingest_repeats, KEYS, step)
        lap("ingest")
        note("ingest with 100,000 distinct keys")
        results["distinct_keys"] = bench_ingest(
            (config.keyed_events,), config.keyed_repeats, 100_000, step
        )
        lap("distinct_keys")
        note("growth and snapshot")
        results["growth"], results["snapshot"] = bench_growth(config, step)
        lap("growth_and_snapshot")
        note("reads")
        results["reads"] = bench_reads(config, step)
        lap("reads")
        # Each round runs cowlog, the seed, the control (the same readers with no writer, to
        # show how punctually this machine wakes threads on its own) and cowlog with a 1 ms GIL
        # switch interval; the table shows each figure's median over the rounds, the JSON every
        # round.
        runs: dict[str, list[Results]] = {name: [] for name in MIXED_RUNS}
        for r in range(config.mixed_rounds):
            for name, (design, writers, interval) in MIXED_RUNS.items():
                note(f"mixed load ({config.mixed_seconds:g} s): {name}, round {r + 1}")
                runs[name].append(
                    bench_mixed(
                        design, config.mixed_seconds, config.mixed_prefill, writers, interval
                    )
                )
                _fresh()
                step(f"mixed load: {name}, round {r + 1} of {config.mixed_rounds}")
        results["mixed"] = {name: _median_run(rounds) for name, rounds in runs.items()}
        lap("mixed")
        note("memory")
        results["memory"] = bench_memory(config.memory_events, config.held_snapshots, step)
        lap("memory")
        from .bench_journal import bench_journal, print_journal

        results["journal"] = bench_journal(quick, note)
        lap("journal")
    results["seconds"] = time.perf_counter() - began
    results["targets"] = [
        {"target": name, "measured": figure, "met": met} for name, figure, met in _targets(results)
    ]

    machine = results["machine"]
    console.print(
        f"[bold]cowlog bench[/bold] ({results['mode']}): {machine['cpu']}, {machine['cores']} "
        f"cores, {machine['implementation']} {machine['python']}, GC on; "
        f"{results['seconds']:.0f} s; load average at start "
        f"{', '.join(f'{x:.2f}' for x in machine['load_average_at_start'] or ())}"
    )

    table = Table(
        title="Single-thread ingest, 100 keys: us per event (min of runs; median: the median "
        "over the rounds of cowlog / floor within a round)"
    )
    columns = ("events", "floor", "cowlog", "seed", "cowlog / floor", "median", "seed / cowlog")
    for column in columns:
        table.add_column(column, justify="right")
    for n, row in list(results["ingest"].items()) + list(results["distinct_keys"].items()):
        label = f"{int(n):,}" if n in results["ingest"] else f"{int(n):,} (100k keys)"
        table.add_row(
            label,
            _us(row["floor"]),
            _us(row["cowlog"]),
            _us(row["seed"]),
            f"{row['cowlog'] / row['floor']:.2f}x",
            f"{row['cowlog_floor_median']:.2f}x",
            f"{row['seed'] / row['cowlog']:.1f}x",
        )
    console.print(table)

    table = Table(title="Growth: us per ingest into a log already holding n events")
    for column in ("n", "floor", "cowlog", "cowlog / floor", "naive", "naive / floor"):
        table.add_column(column, justify="right")
    for n, row in results["growth"].items():
        table.add_row(
            f"{int(n):,}",
            _us(row["floor"]),
            _us(row["cowlog"]),
            f"{row['cowlog'] / row['floor']:.2f}x",
            _us(row["naive"]),
            f"{row['naive'] / row['floor']:.1f}x",
        )
    console.print(table)

    table = Table(title="snapshot(): us per call (seed: a full copy, as its replay() makes)")
    columns = (
        "events",
        "cowlog",
        "cowlog at 1k, beside",
        "ratio",
        "naive",
        "seed",
        "seed / cowlog",
    )
    for column in columns:
        table.add_column(column, justify="right")
    for n, row in results["snapshot"].items():
        table.add_row(
            f"{int(n):,}",
            _us(row["cowlog"]),
            _us(row["cowlog_at_1k"]),
            f"{row['cowlog'] / row['cowlog_at_1k']:.2f}x",
            _us(row["naive"]),
            _us(row["seed"]),
            f"{row['seed'] / row['cowlog']:,.0f}x",
        )
    console.print(table)

    _print_reads(console, Table, results["reads"], config.read_rounds)

    table = Table(
        title=f"Mixed load: {WRITERS} writers + {READERS} readers (snapshot + shortlog + last 50 "
        f"every {PERIOD * 1e3:g} ms), {config.mixed_prefill:,} prefill, "
        f"{config.mixed_seconds:g} s; latencies in ms; median of {config.mixed_rounds} round(s)"
    )
    for column in ("", "writes/s", "reads/ticks", "served", "<2ms", "p50", "p99", "max", "err"):
        table.add_column(column, justify="right")
    for design, row in results["mixed"].items():
        table.add_row(
            design,
            f"{row['writes_per_s']:,.0f}" if row["writers"] else "-",
            f"{row['reads']:,}/{row['ticks']:,}",
            f"{row['served_share']:.1%}",
            f"{row['fast_share']:.1%}",
            _ms(row["p50_s"]),
            _ms(row["p99_s"]),
            _ms(row["max_s"]),
            f"{row['errors']:,}",
        )
    console.print(table)
    console.print(
        "served: reads that returned within 2 ms of their tick (waiting for the GIL included) / "
        "ticks; a tick missed while busy is not served. < 2 ms: reads whose call alone took under "
        '2 ms / reads. Latencies: the call alone. "cowlog, no writers": the same readers alone, '
        'a control for how punctually this machine wakes threads. "switch 1 ms": '
        "sys.setswitchinterval(0.001) during the run (default 5 ms), an application's setting."
    )

    memory = results["memory"]
    table = Table(title=f"Memory for {memory['events']:,} events (tracemalloc)")
    for column in ("", "bytes / event", "vs list of tuples"):
        table.add_column(column, justify="right")
    base = memory["list_of_tuples"]
    for name in ("list_of_tuples", "floor", "cowlog", "seed"):
        table.add_row(name.replace("_", " "), f"{memory[name]:.1f}", f"{memory[name] / base:.2f}x")
    table.add_row(
        f"+ {memory['held']:,} cowlog snapshots held",
        f"{memory['cowlog_held_bytes'] / memory['events']:.2f}",
        f"{memory['cowlog_held_bytes'] / 1e6:,.1f} MB in all",
    )
    table.add_row(
        f"+ {memory['held']:,} seed copies held (from {memory['seed_held_sampled']})",
        f"{memory['seed_held_bytes'] / memory['events']:,.0f}",
        f"{memory['seed_held_bytes'] / 1e6:,.0f} MB in all",
    )
    console.print(table)

    print_journal(console, results["journal"])

    table = Table(title="Targets (issue: core)")
    for column in ("target", "measured", ""):
        table.add_column(column)
    for row in results["targets"]:
        verdict = "[green]met[/green]" if row["met"] else "[red]MISSED[/red]"
        table.add_row(row["target"], row["measured"], verdict)
    console.print(table)

    redis_url = os.environ.get("COWLOG_REDIS_URL")
    if redis_url:  # Redis rows beside raw redis-py, only when a server is named (bench_redis.py)
        from .bench_redis import print_redis, run_redis

        results["redis"] = run_redis(redis_url, quick=quick)
        print_redis(results["redis"], console)

    if json_path is not None:
        with open(json_path, "w", encoding="utf-8") as out:
            json.dump(results, out, indent=2)
            out.write("\n")
        console.print(f"raw figures written to {json_path}")
    return 0


def _main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m cowlog.cli.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a shorter run (under a minute)")
    parser.add_argument("--json", metavar="FILE", help="write the raw figures to FILE")
    args = parser.parse_args(argv)
    return run(quick=args.quick, json_path=args.json)


if __name__ == "__main__":
    sys.exit(_main())
