"""Reusable Hypothesis tests for anything that has :class:`~cowlog.EventLog`'s interface.

This module is for test suites: it imports ``hypothesis`` (install ``cowlog[test]``), and nothing
else in cowlog imports it. It holds three tools, each usable on your own wrapper or backend:

* :func:`log_state_machine` builds a Hypothesis ``RuleBasedStateMachine`` that drives a log with
  valid and invalid calls, keeps snapshots and iterators and re-checks them later, and compares
  everything with a plain list model after every step (optionally with a concurrency rule);
* :func:`stress` runs writer and reader threads against one log under a tiny switch interval and
  checks the recorded history with :func:`check_history` (nothing lost or duplicated, per-writer
  order, real-time order, atomic batches, every snapshot a prefix with its own shortlog);
* :func:`reference_shortlog` is the shortlog rule written as plainly as possible.

To test your own wrapper, give the machine a factory that returns a fresh one:

>>> from hypothesis import settings
>>> from hypothesis.stateful import run_state_machine_as_test
>>> from cowlog import EventLog
>>> class AuditedLog(EventLog[str, object]):
...     '''A wrapper that counts its writes (yours would add something useful).'''
...     writes = 0
...     def ingest(self, key, value, timestamp=None):
...         self.writes += 1
...         return super().ingest(key, value, timestamp)
>>> Machine = log_state_machine(AuditedLog, concurrency=False)
>>> run_state_machine_as_test(
...     Machine, settings=settings(max_examples=5, stateful_step_count=10, deadline=None)
... )

In a pytest file, ``TestAuditedLog = log_state_machine(AuditedLog).TestCase`` is collected as a
test. :func:`stress` is a plain function: ``stress(AuditedLog, events_per_writer=10_000)`` raises
``AssertionError`` naming the first broken promise, or returns a :class:`StressReport`.

The model is a list of ``(timestamp, key, value)`` tuples and never anything cleverer; the checks
compare values by identity as well as equality, because logs store values by reference.
"""

from __future__ import annotations

import math
import operator
import random
import sys
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import partial
from itertools import accumulate, islice, pairwise
from typing import Any, Literal, NoReturn, Protocol

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
)

__all__ = [
    "History",
    "LogLike",
    "SnapshotLike",
    "StressReport",
    "check_history",
    "equal_values",
    "log_state_machine",
    "reference_shortlog",
    "stress",
]

#: A ``(timestamp, key, value)`` triple, the shape of every record.
Triple = tuple[int, Any, Any]


class SnapshotLike(Protocol):
    """What the machine needs of a snapshot: a read-only sequence of events plus the log's reads."""

    def __len__(self) -> int: ...
    def __getitem__(self, index: Any, /) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...
    def replay(self, since: int = 0) -> Iterator[Any]: ...
    def shortlog(self) -> Iterator[Any]: ...
    def latest(self, key: Any) -> Any: ...


class LogLike(Protocol):
    """What the machine needs of a log: :class:`~cowlog.EventLog`'s public interface."""

    def __len__(self) -> int: ...
    def ingest(self, key: Any, value: Any, timestamp: Any = None) -> int: ...
    def ingest_many(self, items: Iterable[Any]) -> range: ...
    def snapshot(self) -> SnapshotLike: ...
    def replay(self, since: int = 0) -> Iterator[Any]: ...
    def shortlog(self) -> Iterator[Any]: ...
    def latest(self, key: Any) -> Any: ...


# -- the model ------------------------------------------------------------------------------------


def reference_shortlog(events: Iterable[Triple]) -> list[Triple]:
    """Return the shortlog of *events* by the rule, as plainly as it can be written.

    For each key the survivor is its event with the greatest timestamp; of equal timestamps the
    later one wins; survivors come in log order. O(n log n).

    >>> reference_shortlog([(5, "a", "first"), (1, "b", "x"), (5, "a", "tie"), (4, "a", "old")])
    [(1, 'b', 'x'), (5, 'a', 'tie')]
    """
    events = list(events)
    survivor: dict[Any, int] = {}
    for offset, (timestamp, key, _) in enumerate(events):
        current = survivor.get(key)
        if current is None or timestamp >= events[current][0]:
            survivor[key] = offset
    return [events[offset] for offset in sorted(survivor.values())]


def _fail(message: str) -> NoReturn:
    raise AssertionError(message)


#: How values are compared: ``"identity"`` (a log that stores values by reference hands back the
#: very object ingested) or ``"equal"`` (a backend that serializes: equal, type for type).
Values = Literal["identity", "equal"]
_VALUES: tuple[Values, ...] = ("identity", "equal")


def _check_values(values: object) -> Values:
    if values not in _VALUES:
        raise ValueError(f"values must be one of {_VALUES}, got {values!r}")
    return values


def equal_values(a: Any, b: Any) -> bool:
    """Type-strict deep equality: ``1 == True`` and ``[1] == (1,)`` are not equal here.

    >>> equal_values({"a": [1, 2.5]}, {"a": [1, 2.5]})
    True
    >>> equal_values([1], (1,)), equal_values(1, True)
    (False, False)
    """
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is list or kind is tuple:
        return len(a) == len(b) and all(map(equal_values, a, b))
    if kind is dict:
        return a.keys() == b.keys() and all(equal_values(v, b[k]) for k, v in a.items())
    return bool(a == b)


def _assert_events(
    actual: Iterable[Any], expected: Sequence[Triple], what: str, values: Values = "identity"
) -> None:
    """Assert *actual* yields exactly *expected*: equal triples, int timestamps, and values that
    are the same objects (``values="identity"``) or equal type for type (``"equal"``)."""
    got = list(actual)
    by_identity = values == "identity"
    for offset, (a, e) in enumerate(zip(got, expected, strict=False)):
        if not (isinstance(a, tuple) and len(a) == 3):
            _fail(f"{what}: item {offset} is {a!r}, not a (timestamp, key, value) tuple")
        if type(a[0]) is not int:
            _fail(f"{what}: item {offset} has timestamp {a[0]!r} of type {type(a[0]).__name__}")
        if tuple(a) != e or not (a[2] is e[2] if by_identity else equal_values(a[2], e[2])):
            _fail(f"{what}: item {offset} is {tuple(a)!r}, expected {e!r}")
    if len(got) != len(expected):
        _fail(
            f"{what}: {len(got)} items, expected {len(expected)}; first extra or missing: "
            f"{(got[len(expected) :] or expected[len(got) :])[:3]!r}"
        )


def _assert_event(
    actual: Any, expected: Triple | None, what: str, values: Values = "identity"
) -> None:
    if expected is None:
        if actual is not None:
            _fail(f"{what}: got {actual!r}, expected None")
        return
    _assert_events([actual], [expected], what, values)


def _survivors(events: Sequence[Triple]) -> dict[Any, Triple]:
    return {event[1]: event for event in reference_shortlog(events)}


class _IntSubclass(int):
    """An int subclass: accepted as a timestamp and stored as a plain int."""


class _IndexLike:
    """Not an int, but integer-like through ``__index__`` (as ``numpy.int64`` is): accepted."""

    def __init__(self, value: int) -> None:
        self._value = value

    def __index__(self) -> int:
        return self._value

    def __repr__(self) -> str:
        return f"_IndexLike({self._value})"


class _RaisingHash:
    """A key whose ``__hash__`` raises something other than TypeError."""

    def __hash__(self) -> int:
        raise RuntimeError("hash exploded")

    def __repr__(self) -> str:
        return "_RaisingHash()"


class _RaisingEq:
    """A key that collides with *target*'s hash and whose ``__eq__`` raises."""

    def __init__(self, target: Hashable) -> None:
        self._hash = hash(target)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq exploded")

    def __repr__(self) -> str:
        return f"_RaisingEq(hash={self._hash})"


class _NeverSeen:
    """A key no log has ever been given."""

    def __repr__(self) -> str:
        return "_NeverSeen()"


#: Timestamps that must be refused, one of each kind (bool is an int subclass and still refused).
BAD_TIMESTAMPS: tuple[object, ...] = (
    True, False, 1.0, 0.5, math.nan, math.inf, "1", b"1", Decimal(1), Fraction(1), 1j, [1], (1,),
    object(),
)  # fmt: skip
#: Keys that are not hashable.
UNHASHABLE_KEYS: tuple[Callable[[], object], ...] = (list, dict, set, bytearray, lambda: ([],))
#: Offsets ``replay(since)`` must refuse.
BAD_SINCE: tuple[object, ...] = (-1, -(2**70), 1.0, "1", True)

_keys = st.one_of(
    st.sampled_from(["a", "b", "c", "d"]),
    st.sampled_from(["a", "b"]),
    st.integers(0, 3),  # 0 and 1 are the same keys as False and True
    st.booleans(),
    st.tuples(st.integers(0, 1)),
    st.none(),
    st.frozensets(st.integers(0, 1), max_size=1),
)
_values = st.one_of(
    st.integers(-3, 3), st.text(max_size=2), st.lists(st.integers(0, 1), max_size=2), st.none()
)
_small_timestamps = st.integers(0, 5)
_timestamps = st.one_of(
    _small_timestamps,
    _small_timestamps,
    _small_timestamps,
    st.integers(-(2**70), 2**70),
    st.builds(_IntSubclass, _small_timestamps),
    st.builds(_IndexLike, _small_timestamps),
    st.none(),
)


def _size(snap: Any) -> int:
    """A snapshot's next offset: its length, unless retention dropped its oldest events."""
    size: int = getattr(snap, "next_offset", None) or len(snap)
    return size


# -- the concurrent history -----------------------------------------------------------------------

_TAG_BITS = 40  # a value tag is (writer + 1) << _TAG_BITS | the writer's event number


@dataclass
class _View:
    """What a reader saw: one snapshot, when it was taken, and what it showed at the time."""

    snapshot: SnapshotLike
    size: int
    start: int
    end: int
    shortlog: list[Any]
    tail: list[Any]


@dataclass
class _Writer:
    """One writer's plan (drawn before any thread starts) and what happened to it."""

    number: int
    keys: list[Any] = field(default_factory=list)  # per event
    timestamps: list[int] = field(default_factory=list)  # per event
    ops: list[tuple[int, int]] = field(
        default_factory=list
    )  # (first event, count); count 0: ingest
    spans: list[tuple[int, int]] = field(default_factory=list)  # (start, end) ns per op
    error: BaseException | None = None


@dataclass
class History:
    """Everything a concurrent run recorded, for :func:`check_history`.

    ``initial`` is the log's content before the threads started; each writer's events carry the
    value ``(writer + 1) << 40 | n`` (a unique tag), so the checker never searches for an order.
    """

    initial: list[Triple]
    writers: list[_Writer]
    readers: list[list[_View]]
    reader_errors: list[BaseException] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)  # found by readers as they went


@dataclass
class StressReport:
    """What :func:`stress` did: counts only (speed is the benchmarks' business)."""

    events: int
    batches: int
    snapshots: int
    seconds: float


def _plan(
    rng: random.Random,
    writers: int,
    events_per_writer: int,
    keys: int,
    batch_percent: int,
    max_batch: int,
) -> list[_Writer]:
    pool = [f"k{i}" for i in range(keys)]
    plans = []
    for number in range(writers):
        writer = _Writer(number)
        n = 0
        while n < events_per_writer:
            if rng.randrange(100) < batch_percent:
                count = min(rng.randint(1, max_batch), events_per_writer - n)
            else:
                count = 0
            for _ in range(max(count, 1)):
                writer.keys.append(rng.choice(pool))
                # rising, so survivors keep changing; ties and out-of-order arrivals are common
                writer.timestamps.append(len(writer.keys) // 4 + rng.randrange(4))
            writer.ops.append((n, count))
            n += max(count, 1)
        plans.append(writer)
    return plans


def _run(
    log: LogLike,
    writers: list[_Writer],
    readers: int,
    switch_interval: float,
    max_views: int,
    timeout: float,
) -> History:
    """Run the planned writers and *readers* reader threads at once; record what happened."""
    initial = [tuple(event) for event in log.replay()]
    barrier = threading.Barrier(len(writers) + readers)
    done = threading.Event()
    history = History(initial, writers, [[] for _ in range(readers)])
    clock = time.perf_counter_ns

    def write(writer: _Writer) -> None:
        # Build every argument first, so the timed loop does nothing but call the log.
        base = (writer.number + 1) << _TAG_BITS
        keys, stamps = writer.keys, writer.timestamps
        calls: list[Any] = []
        for first, count in writer.ops:
            if count:
                calls.append([(keys[i], base | i, stamps[i]) for i in range(first, first + count)])
            else:
                calls.append((keys[first], base | first, stamps[first]))
        ingest, ingest_many, spans = log.ingest, log.ingest_many, writer.spans
        try:
            barrier.wait(timeout)
            for call in calls:
                if type(call) is list:
                    start = clock()
                    ingest_many(call)
                    end = clock()
                else:
                    start = clock()
                    ingest(*call)
                    end = clock()
                spans.append((start, end))
        except BaseException as exc:  # reported by the main thread
            writer.error = exc
            barrier.abort()

    n_initial = len(initial)
    inside_batches = {
        (writer.number + 1) << _TAG_BITS | i
        for writer in writers
        for first, count in writer.ops
        for i in range(first, first + count - 1)
    }

    def read(number: int, views: list[_View]) -> None:
        # Snapshots are taken in tight bursts, so a reader is often inside snapshot() when a writer
        # is switched out mid-write; each is then probed (its last event against that key's
        # survivor), and one per burst is kept as a full view (shortlog and last events) for
        # check_history, reservoir-sampled down to max_views.
        snapshot, sample, bursts, previous = log.snapshot, random.Random(number), 0, 0
        inside = inside_batches  # tags of batch events that are not their batch's last
        burst = range(32)
        try:
            barrier.wait(timeout)
            while not done.is_set():
                start = clock()
                snaps = [snapshot() for _ in burst]
                end = clock()
                for snap in snaps:
                    size = _size(snap)
                    if size < previous:
                        history.violations.append(
                            f"reader {number}'s snapshots shrank from {previous} to {size} events"
                        )
                    previous = size
                    if not size:
                        continue
                    last = snap[-1]
                    if size > n_initial and last[2] in inside:
                        history.violations.append(
                            f"a snapshot of {size} events ends inside a batch, at {tuple(last)!r}"
                        )
                    survivor = snap.latest(last[1])
                    # The last event wins unless its key already has a strictly newer event.
                    if survivor is None or (
                        survivor[0] <= last[0] and tuple(survivor) != tuple(last)
                    ):
                        history.violations.append(
                            f"a snapshot of {size} events ends with {tuple(last)!r} but its "
                            f"latest() of that key is {survivor!r}: log and index disagree"
                        )
                snap = snaps[bursts % len(snaps)]
                size = _size(snap)
                view = _View(snap, size, start, end, list(snap.shortlog()), [])
                view.tail = list(snap.replay(max(size - 20, getattr(snap, "first_offset", 0))))
                bursts += 1
                if len(views) < max_views:
                    views.append(view)
                else:
                    slot = sample.randrange(bursts)
                    if slot < max_views:
                        views[slot] = view
        except BaseException as exc:
            history.reader_errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=write, args=(w,), daemon=True) for w in writers]
    threads += [
        threading.Thread(target=read, args=(i, views), daemon=True)
        for i, views in enumerate(history.readers)
    ]
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(switch_interval)
    try:
        for thread in threads:
            thread.start()
        for thread in threads[: len(writers)]:
            thread.join(timeout)
        done.set()
        for thread in threads:
            thread.join(timeout)
    finally:
        sys.setswitchinterval(old_interval)
        done.set()
    if any(thread.is_alive() for thread in threads):
        _fail(f"a thread is still running after {timeout} s: deadlock or lost wake-up?")
    for writer in writers:
        if writer.error is not None:
            raise AssertionError(
                f"writer {writer.number} raised {writer.error!r}"
            ) from writer.error
    if history.reader_errors:
        error = history.reader_errors[0]
        raise AssertionError(f"a reader raised {error!r}") from error
    return history


def check_history(history: History, final: Sequence[Any], *, values: Values = "identity") -> None:
    """Check a concurrent run's *history* against the log's *final* replay; raise AssertionError.

    O(n log n) for n events, plus O(k log k) per recorded snapshot for k keys. Checks that:

    * the events that were there before are untouched, and every planned event is in the log
      exactly once with its own key and timestamp (nothing lost, duplicated or invented);
    * each writer's events are in its own order, and each batch is contiguous;
    * real-time order holds: an ingest that returned before another began comes first in the log;
    * each reader's successive snapshots never shrink, never end inside a batch, and each one's
      last event is its key's ``latest()`` unless that key has a strictly newer event (checked by
      the readers as they go, on every snapshot they take);
    * each recorded snapshot is as long as when it was taken, never
      cuts a batch, ends with the final log's events at its length, and its shortlog (read when it
      was taken) is the rule applied to that prefix of the final log;
    * each snapshot contains every ingest that returned before ``snapshot()`` was called and none
      that began after it returned.
    """
    if history.violations:
        _fail(history.violations[0])
    initial = history.initial
    n_initial = len(initial)
    values = _check_values(values)
    _assert_events(final[:n_initial], initial, "events ingested before the threads started", values)
    positions = [[-1] * len(w.keys) for w in history.writers]
    for offset in range(n_initial, len(final)):
        timestamp, key, tag = final[offset]
        number, n = (
            ((tag >> _TAG_BITS) - 1, tag & ((1 << _TAG_BITS) - 1)) if type(tag) is int else (-1, -1)
        )
        if not (0 <= number < len(positions) and n < len(positions[number])):
            _fail(f"offset {offset} holds {final[offset]!r}, which no writer ingested")
        writer = history.writers[number]
        if positions[number][n] >= 0:
            _fail(
                f"writer {number}'s event {n} is in the log twice, at offsets "
                f"{positions[number][n]} and {offset}"
            )
        positions[number][n] = offset
        if timestamp != writer.timestamps[n] or key != writer.keys[n]:
            _fail(
                f"offset {offset} holds {final[offset]!r}, but writer {number}'s event {n} "
                f"was {(writer.timestamps[n], writer.keys[n], tag)!r}"
            )
    spans: list[tuple[int, int, int, int]] = []  # (first offset, last offset, start, end) per op
    inside_batch = bytearray(len(final) + 1)  # 1 where a cut would split a batch
    for number, writer in enumerate(history.writers):
        where = positions[number]
        if -1 in where:
            _fail(f"writer {number}'s event {where.index(-1)} was lost (not in the final log)")
        if any(a >= b for a, b in pairwise(where)):
            _fail(f"writer {number}'s events are out of its own order at {where[:20]!r}...")
        for (first, count), (start, end) in zip(writer.ops, writer.spans, strict=True):
            last = first + max(count, 1) - 1
            if where[last] - where[first] != last - first:
                _fail(
                    f"writer {number}'s batch of {count} at offsets {where[first : last + 1]} "
                    f"was interleaved with other events"
                )
            inside_batch[where[first] + 1 : where[last] + 1] = b"\1" * (last - first)
            spans.append((where[first], where[last], start, end))
    # Real-time order: sweep in log order; no op may have ended before an earlier op began.
    spans.sort()
    latest_start = -1
    for first, _, start, end in spans:
        if end < latest_start:
            _fail(
                f"the ingest at offset {first} returned before an ingest at a lower offset "
                f"began: not linearizable"
            )
        latest_start = max(latest_start, start)
    by_end = sorted((end, last) for _, last, _, end in spans)
    ends = [end for end, _ in by_end]
    last_before = list(accumulate((last for _, last in by_end), max))
    by_start = sorted((start, first) for first, _, start, _ in spans)
    starts = [start for start, _ in by_start]
    first_after = list(accumulate((first for _, first in reversed(by_start)), min))[::-1]
    views = [view for reader in history.readers for view in reader]
    for view in views:
        size = view.size
        if not n_initial <= size <= len(final):
            _fail(
                f"a snapshot of {size} events is not a prefix of the final {len(final)} events "
                f"(there were {n_initial} before)"
            )
        if _size(view.snapshot) != size:
            _fail(f"a snapshot taken with {size} events later had {_size(view.snapshot)}")
        if inside_batch[size]:
            _fail(f"a snapshot of {size} events shows part of a batch")
        _assert_events(
            view.tail, final[size - len(view.tail) : size], "a snapshot's last events", values
        )
        if size and tuple(view.snapshot[-1]) != tuple(final[size - 1]):
            _fail(f"a snapshot of {size} events later ended with {view.snapshot[-1]!r}")
        i = bisect_left(ends, view.start)  # ops that returned before snapshot() was called
        if i and last_before[i - 1] >= size:
            _fail(
                f"a snapshot of {size} events misses the event at offset {last_before[i - 1]}, "
                f"whose ingest returned before snapshot() was called"
            )
        j = bisect_right(starts, view.end)  # ops that began after snapshot() returned
        if j < len(starts) and first_after[j] < size:
            _fail(
                f"a snapshot of {size} events shows the event at offset {first_after[j]}, "
                f"whose ingest began after snapshot() returned"
            )
    # Every snapshot's shortlog is the rule on its prefix: one pass over the log, views by size.
    views.sort(key=lambda view: view.size)
    survivor: dict[Any, int] = {}
    offset = 0
    for view in views:
        while offset < view.size:
            timestamp, key, _ = final[offset]
            current = survivor.get(key)
            if current is None or timestamp >= final[current][0]:
                survivor[key] = offset
            offset += 1
        expected = [tuple(final[o]) for o in sorted(survivor.values())]
        _assert_events(
            view.shortlog, expected, f"the shortlog of a snapshot of {view.size} events", values
        )


def stress(
    factory: Callable[[], LogLike],
    *,
    writers: int = 8,
    events_per_writer: int = 100_000,
    readers: int = 2,
    keys: int = 64,
    batch_percent: int = 5,
    max_batch: int = 8,
    seed: int = 0,
    switch_interval: float = 1e-6,
    max_views: int = 20_000,
    timeout: float = 300.0,
    values: Values = "identity",
    teardown: Callable[[Any], None] | None = None,
    retain: int | None = None,
) -> StressReport:
    """Hammer a fresh log with writer and reader threads started together; check the history.

    Each writer ingests *events_per_writer* events (about *batch_percent* % of its calls are
    ``ingest_many`` batches of up to *max_batch*) while each reader takes snapshots and reads their
    shortlog and last events in a loop, all under ``sys.setswitchinterval(switch_interval)``
    (restored afterwards). The plans come from ``random.Random(seed)`` before any thread starts.
    *values* says how values are compared (``"equal"`` for a backend that serializes them);
    ``teardown(log)``, if given, runs at the end, pass or fail (a remote backend deletes its data).

    Retention: pass *retain* when the factory sets ``max_events``. The log's replay then holds only
    its newest events, so a follower (``log.follow(0)``, which the log must have, with ``close``)
    collects every event as it arrives, and the history is checked against that; the log must
    also keep at least *retain* events, replay exactly the collected events from its
    ``first_offset`` on, and give the shortlog of everything collected. If the follower falls
    behind retention (the log raises its ``TrimmedError``), the run fails saying so: give the
    log a larger ``max_events`` for this machine.

    >>> from cowlog import EventLog
    >>> stress(EventLog, writers=2, events_per_writer=500, readers=1).events
    1000

    Raises:
        AssertionError: a promise was broken (see :func:`check_history`), a thread raised, or a
            thread was still running after *timeout* seconds.
    """
    values = _check_values(values)
    plans = _plan(random.Random(seed), writers, events_per_writer, keys, batch_percent, max_batch)
    log = factory()
    try:
        collected: list[Any] = []
        problems: list[BaseException] = []
        collector = None
        if retain is not None:
            follower = log.follow(0)  # type: ignore[attr-defined]

            def collect() -> None:
                try:
                    collected.extend(follower)
                except BaseException as exc:  # recorded and reported below
                    problems.append(exc)

            collector = threading.Thread(target=collect, daemon=True)
            collector.start()
        began = time.perf_counter()
        history = _run(log, plans, readers, switch_interval, max_views, timeout)
        seconds = time.perf_counter() - began
        retained = list(log.replay())
        if len(log) != len(retained):
            _fail(f"len(log) is {len(log)} but its replay has {len(retained)} events")
        final = retained
        if collector is not None:
            log.close()  # type: ignore[attr-defined]
            collector.join(timeout)
            if problems:
                _fail(
                    f"the stress run's own follower failed (max_events too small?): {problems[0]!r}"
                )
            first = getattr(log, "first_offset", 0)
            if len(collected) - first < min(retain or 0, len(collected)):
                _fail(f"first_offset {first} keeps fewer than max_events={retain} events")
            _assert_events(retained, collected[first:], "the retained events", values)
            final = collected
        check_history(history, final, values=values)
        _assert_events(log.shortlog(), reference_shortlog(final), "the final shortlog", values)
    finally:
        if teardown is not None:
            teardown(log)
    return StressReport(
        events=len(final),
        batches=sum(1 for w in plans for _, count in w.ops if count),
        snapshots=sum(map(len, history.readers)),
        seconds=seconds,
    )


# -- the state machine ----------------------------------------------------------------------------


def log_state_machine(
    factory: Callable[[], LogLike],
    *,
    concurrency: bool = True,
    max_events: int = 3000,
    write_timeout: float = 10.0,
    retain: int | None = None,
    values: Values = "identity",
    keys: st.SearchStrategy[Any] | None = None,
    teardown: Callable[[Any], None] | None = None,
) -> type[RuleBasedStateMachine]:
    """Return a Hypothesis state machine that checks a log made by *factory* against a list model.

    ``factory()`` must return a fresh, empty object with :class:`~cowlog.EventLog`'s interface.
    Rules ingest single events, batches (as lists and as one-shot iterators) and bulk runs of up to
    1,500 events, with keys and timestamps drawn so that equal and out-of-order timestamps are
    common; make invalid calls of every kind (each bad timestamp kind, unhashable and hostile keys,
    a batch with one bad item, a bad ``since``) that must raise and change nothing; take snapshots
    and iterators and re-check them later (replay, ``replay(since)``, shortlog, ``latest``,
    ``len``, indexing and slicing); and, if *concurrency*, run writer and reader threads against
    the log (see :func:`check_history`). After every step the log's replay, shortlog, ``latest`` and
    ``len`` must equal the model's, and ``log._check()`` must pass when the log has one.

    A concurrency failure is timing-dependent: run that machine with ``phases`` that skip
    shrinking (see docs/testing.md). *max_events* caps the log's size so steps stay fast. After
    each refused write, the next write runs in a thread and must finish within *write_timeout*
    seconds (a lock left held fails the test instead of hanging it).

    Retention: if the log has ``first_offset`` (and ``trim``), the machine also trims at random
    offsets and checks that offsets stay stable, that replay, ``len``, indexing and slicing cover
    the retained events from ``first_offset`` on, that ``replay(since)`` below it raises a
    `LookupError` carrying ``first_offset`` (cowlog's `TrimmedError`), that shortlog and
    ``latest`` stay those of every event ever ingested, and that held snapshots never change.
    Pass *retain* when the factory sets ``max_events``: the machine then also checks that at least
    that many of the newest events are kept. (The concurrency rule runs only before a first trim:
    its checker needs the whole log.)

    For a backend that is not an in-process log: *values* ``"equal"`` compares values by
    type-strict deep equality instead of identity (a backend that serializes hands back copies);
    *keys* replaces the default key pool (strings, small ints, booleans, tuples of ints, ``None``,
    frozensets) with the keys the backend can store; ``teardown(log)`` runs after each example,
    pass or fail (delete what the example stored; every example gets a fresh ``factory()``).

    >>> from cowlog import EventLog
    >>> TestEventLog = log_state_machine(EventLog).TestCase
    """
    values = _check_values(values)
    key_pool: st.SearchStrategy[Any] = _keys if keys is None else keys
    check_events = partial(_assert_events, values=values)
    check_event = partial(_assert_event, values=values)

    class LogStateMachine(RuleBasedStateMachine):
        """Drive one log with random calls and compare it with a plain list after every step."""

        snapshots = Bundle("snapshots")
        iterators = Bundle("iterators")

        def __init__(self) -> None:
            super().__init__()
            self.log = factory()
            self.model: list[Triple] = []  # every event ever ingested, trimmed or not
            self.first = 0  # the log's first retained offset (0 for a log without retention)
            self.trimmed = 0  # the greatest offset the machine itself trimmed before

        def teardown(self) -> None:
            if teardown is not None:
                teardown(self.log)

        # -- helpers ------------------------------------------------------------------------------

        def _unchanged(
            self, call: Callable[[], object], what: str, *kinds: type[BaseException]
        ) -> BaseException:
            """Call *call*, which must raise one of *kinds*; the log must not change."""
            before = len(self.model) - self.first
            try:
                call()
            except kinds as exc:
                error: BaseException = exc
            else:
                _fail(
                    f"{what} was accepted; it must raise {' or '.join(k.__name__ for k in kinds)}"
                )
            if len(self.log) != before:
                _fail(f"{what} was refused but changed len(log) from {before} to {len(self.log)}")
            check_events(
                self.log.replay(), self.model[self.first :], f"replay after refusing {what}"
            )
            return error

        def _next_write_works(self, what: str) -> None:
            """After a refused write, the next write must work: from a thread, so a lock left
            held fails the test after *write_timeout* seconds instead of hanging it."""
            value = ["the write after a refused call"]
            done: list[Any] = []
            thread = threading.Thread(
                target=lambda: done.append(self.log.ingest("a", value, 0)), daemon=True
            )
            thread.start()
            thread.join(write_timeout)
            if thread.is_alive():
                _fail(f"the write after {what} blocked for {write_timeout} s: lock left held?")
            if not done:
                _fail(f"the write after {what} raised (see the thread's traceback)")
            self.model.append((0, "a", value))

        def _refuses_trimmed(self, reader: Any, since: int, first: int, what: str) -> None:
            """``replay(since)`` below the first retained offset raises an error carrying it."""
            try:
                list(reader.replay(since))
            except LookupError as exc:
                if getattr(exc, "first_offset", None) != first:
                    _fail(f"{what}: replay({since}) raised {exc!r} without first_offset={first}")
            else:
                _fail(f"{what}: replay({since}) below the first retained offset {first} passed")

        # -- writers ------------------------------------------------------------------------------

        @precondition(lambda self: len(self.model) < max_events)
        @rule(key=key_pool, value=_values, timestamp=_timestamps, by_keyword=st.booleans())
        def ingest(self, key: Any, value: Any, timestamp: int | None, by_keyword: bool) -> None:
            if timestamp is None and by_keyword:
                offset = self.log.ingest(key, value)
            else:
                offset = self.log.ingest(key, value, timestamp)
            if type(offset) is not int or offset != len(self.model):
                _fail(f"ingest returned {offset!r}, expected the offset {len(self.model)}")
            stored = next(iter(self.log.snapshot().replay(offset)), None)
            if stored is None:
                _fail(f"no record at the offset {offset} ingest returned")
            expected_ts = stored[0] if timestamp is None else operator.index(timestamp)
            if timestamp is None and type(expected_ts) is not int:
                _fail(f"ingest with timestamp=None stored {expected_ts!r}, not an int")
            self.model.append((expected_ts, key, value))
            check_event(stored, self.model[-1], "the record at the offset ingest returned")

        @precondition(lambda self: len(self.model) < max_events)
        @rule(
            items=st.lists(st.tuples(key_pool, _values, _timestamps), max_size=8),
            one_shot=st.booleans(),
        )
        def ingest_many(self, items: list[tuple[Any, Any, int | None]], one_shot: bool) -> None:
            before = len(self.model)
            offsets = self.log.ingest_many(iter(items) if one_shot else items)
            if offsets != range(before, before + len(items)):
                _fail(
                    f"ingest_many of {len(items)} items returned {offsets!r}, "
                    f"expected {range(before, before + len(items))!r}"
                )
            added = list(self.log.replay(before))
            for i, (key, value, timestamp) in enumerate(items):
                stamp = added[i][0] if timestamp is None and i < len(added) else timestamp
                self.model.append((operator.index(stamp) if stamp is not None else -1, key, value))
            check_events(added, self.model[before:], f"the {len(items)} events of a batch")

        @precondition(lambda self: len(self.model) < max_events)
        @rule(
            count=st.integers(1, 1500),
            seed=st.integers(0, 2**32 - 1),
            keys=st.sampled_from([1, 3, 50]),
            batches=st.booleans(),
        )
        def ingest_bulk(self, count: int, seed: int, keys: int, batches: bool) -> None:
            """Cross chunk boundaries: a long run of events drawn from one seed."""
            rng = random.Random(seed)
            items = [(f"k{rng.randrange(keys)}", i, rng.randrange(6)) for i in range(count)]
            if batches:
                for start in range(0, count, 100):
                    self.log.ingest_many(items[start : start + 100])
            else:
                for key, value, timestamp in items:
                    self.log.ingest(key, value, timestamp)
            self.model += [(timestamp, key, value) for key, value, timestamp in items]

        # -- invalid calls: each must raise and change nothing ------------------------------------

        @rule(key=key_pool, value=_values, timestamp=st.sampled_from(BAD_TIMESTAMPS))
        def refuse_bad_timestamp(self, key: Any, value: Any, timestamp: object) -> None:
            self._unchanged(
                lambda: self.log.ingest(key, value, timestamp),
                f"ingest(timestamp={timestamp!r})",
                TypeError,
                ValueError,
            )
            self._next_write_works(f"ingest(timestamp={timestamp!r})")

        @rule(make_key=st.sampled_from(UNHASHABLE_KEYS), value=_values, timestamp=_timestamps)
        def refuse_unhashable_key(
            self, make_key: Callable[[], object], value: Any, timestamp: int | None
        ) -> None:
            key = make_key()
            self._unchanged(
                lambda: self.log.ingest(key, value, timestamp), f"ingest(key={key!r})", TypeError
            )
            self._next_write_works(f"ingest(key={key!r})")

        @rule(data=st.data(), value=_values, timestamp=_timestamps)
        def refuse_hostile_key(
            self, data: st.DataObject, value: Any, timestamp: int | None
        ) -> None:
            """A key whose __hash__ raises, or whose __eq__ raises on a hash collision."""
            present = sorted({repr(k): k for _, k, _ in self.model}.items())
            collide: bool = data.draw(st.booleans(), label="collide")
            if present and collide:
                target = data.draw(st.sampled_from(present), label="target")[1]
                key: object = _RaisingEq(target)
            else:
                key = _RaisingHash()
            self._unchanged(
                lambda: self.log.ingest(key, value, timestamp), f"ingest(key={key!r})", Exception
            )
            self._next_write_works(f"ingest(key={key!r})")

        @rule(
            items=st.lists(st.tuples(key_pool, _values, _timestamps), min_size=1, max_size=8),
            data=st.data(),
            one_shot=st.booleans(),
        )
        def refuse_batch_with_one_bad_item(
            self, items: list[Any], data: st.DataObject, one_shot: bool
        ) -> None:
            bad_index = data.draw(st.integers(0, len(items)), label="bad_index")
            kind = data.draw(
                st.sampled_from(
                    ["timestamp", "unhashable", "not a tuple", "too short", "too long", "hash"]
                ),
                label="kind",
            )
            key, value, _ = data.draw(st.tuples(key_pool, _values, _timestamps), label="item")
            bad: object = {
                "timestamp": (key, value, data.draw(st.sampled_from(BAD_TIMESTAMPS))),
                "unhashable": ([key], value, 1),
                "not a tuple": data.draw(st.sampled_from([5, None, 1.5])),
                "too short": (key, value),
                "too long": (key, value, 1, 2),
                "hash": (_RaisingHash(), value, 1),
            }[kind]
            batch = [*items[:bad_index], bad, *items[bad_index:]]
            kinds: tuple[type[BaseException], ...] = (
                (Exception,) if kind == "hash" else (TypeError, ValueError)
            )
            error = self._unchanged(
                lambda: self.log.ingest_many(iter(batch) if one_shot else batch),
                f"ingest_many with a bad item ({kind}) at index {bad_index}",
                *kinds,
            )
            self._next_write_works(f"ingest_many with a bad item ({kind})")
            if kind != "hash" and str(bad_index) not in str(error):
                _fail(f"the error for a bad item at index {bad_index} does not name it: {error}")

        @rule(since=st.sampled_from(BAD_SINCE), on_snapshot=st.booleans())
        def refuse_bad_since(self, since: Any, on_snapshot: bool) -> None:
            reader = self.log.snapshot() if on_snapshot else self.log
            self._unchanged(
                lambda: list(reader.replay(since)),
                f"replay(since={since!r})",
                TypeError,
                ValueError,
            )

        @rule(make_key=st.sampled_from(UNHASHABLE_KEYS), on_snapshot=st.booleans())
        def refuse_unhashable_latest(
            self, make_key: Callable[[], object], on_snapshot: bool
        ) -> None:
            reader = self.log.snapshot() if on_snapshot else self.log
            key = make_key()
            self._unchanged(lambda: reader.latest(key), f"latest({key!r})", TypeError)

        # -- retention (logs that have trim) --------------------------------------------------

        @precondition(lambda self: hasattr(self.log, "trim"))
        @rule(data=st.data())
        def trim(self, data: st.DataObject) -> None:
            before = data.draw(st.integers(0, len(self.model)), label="before")
            dropped = self.log.trim(before)  # type: ignore[attr-defined]
            expected = max(0, before - self.first)
            if dropped != expected:
                _fail(f"trim(before={before}) returned {dropped}, expected {expected}")
            self.trimmed = max(self.trimmed, before)

        @precondition(lambda self: hasattr(self.log, "trim"))
        @rule(before=st.sampled_from([-1, 1.0, "1", None, True, "beyond"]))
        def refuse_bad_trim(self, before: Any) -> None:
            if before == "beyond":
                before = len(self.model) + 1
            self._unchanged(
                lambda: self.log.trim(before),  # type: ignore[attr-defined]
                f"trim(before={before!r})",
                TypeError,
                ValueError,
            )

        # -- snapshots and iterators, kept and re-checked later -----------------------------------

        @rule(target=snapshots)
        def take_snapshot(self) -> tuple[SnapshotLike, list[Triple], int]:
            return self.log.snapshot(), list(self.model), self.first

        @rule(kept=snapshots, data=st.data())
        def snapshot_is_unchanged(
            self, kept: tuple[SnapshotLike, list[Triple], int], data: st.DataObject
        ) -> None:
            snap, everything, first = kept
            expected = everything[first:]  # what it retained when it was taken, forever
            n = len(expected)
            if len(snap) != n:
                _fail(f"a snapshot taken with {n} events now has len {len(snap)}")
            check_events(iter(snap), expected, f"iter() of a snapshot of {n} events")
            check_events(snap.replay(), expected, f"replay() of a snapshot of {n} events")
            ends = {first, first + n, first + n + 1, first + n + 7}
            for since in sorted(ends | {data.draw(st.integers(first, first + n), label="since")}):
                check_events(snap.replay(since), everything[since:], f"replay({since}) of {n}")
            if first:
                self._refuses_trimmed(snap, first - 1, first, "a snapshot")
            check_events(snap.shortlog(), reference_shortlog(everything), f"shortlog of {n}")
            survivors = _survivors(everything)
            for key, event in survivors.items():
                check_event(snap.latest(key), event, f"latest({key!r}) of a snapshot of {n}")
            check_event(snap.latest(_NeverSeen()), None, "latest() of an absent key")
            for index in {0, -1, n - 1, -n, data.draw(st.integers(-n - 2, n + 1), label="i")}:
                if -n <= index < n:
                    check_event(snap[index], expected[index], f"snapshot[{index}] of {n}")
                else:
                    self._unchanged(
                        partial(snap.__getitem__, index), f"snapshot[{index}] of {n}", IndexError
                    )
            bounds = st.none() | st.integers(-n - 2, n + 2)
            start, stop = data.draw(bounds, label="start"), data.draw(bounds, label="stop")
            piece = snap[start:stop]
            if type(piece) is not list:
                _fail(f"snapshot[{start}:{stop}] is a {type(piece).__name__}, not a list")
            check_events(piece, expected[start:stop], f"snapshot[{start}:{stop}] of {n}")

        @rule(
            target=iterators,
            kind=st.sampled_from(
                ["replay", "replay(since)", "shortlog", "snapshot", "snap.shortlog"]
            ),
            data=st.data(),
        )
        def start_iterator(
            self, kind: str, data: st.DataObject
        ) -> tuple[str, Iterator[Any], list[Triple]]:
            """An iterator shows the log as of the call, however late it is read."""
            n = len(self.model)
            since = data.draw(st.integers(self.first, n + 1), label="since")
            made: dict[str, Callable[[], tuple[Iterator[Any], list[Triple]]]] = {
                "replay": lambda: (self.log.replay(), self.model[self.first :]),
                "replay(since)": lambda: (self.log.replay(since), self.model[since:]),
                "shortlog": lambda: (self.log.shortlog(), reference_shortlog(self.model)),
                "snapshot": lambda: (iter(self.log.snapshot()), self.model[self.first :]),
                "snap.shortlog": lambda: (
                    self.log.snapshot().shortlog(),
                    reference_shortlog(self.model),
                ),
            }
            iterator, expected = made[kind]()
            if data.draw(st.booleans(), label="ingest before reading"):
                value = ["ingested after the iterator was made"]
                self.log.ingest("a", value, 0)
                self.model.append((0, "a", value))
            read = data.draw(st.integers(0, len(expected)), label="read now")
            check_events(list(islice(iterator, read)), expected[:read], f"{kind} read at once")
            return f"{kind} of {n} events", iterator, expected[read:]

        @rule(kept=consumes(iterators))
        def finish_iterator(self, kept: tuple[str, Iterator[Any], list[Triple]]) -> None:
            what, iterator, rest = kept
            check_events(iterator, rest, f"the rest of {what}, read later")

        # -- threads ------------------------------------------------------------------------------

        if concurrency:
            # check_history needs the whole log: threads run only while nothing was trimmed
            @precondition(lambda self: len(self.model) < max_events and self.first == 0)
            @rule(
                writers=st.integers(2, 4),
                readers=st.integers(1, 2),
                events=st.sampled_from([50, 300, 1000]),
                batch_percent=st.sampled_from([0, 10, 50]),
                seed=st.integers(0, 2**32 - 1),
            )
            def ingest_from_threads(
                self, writers: int, readers: int, events: int, batch_percent: int, seed: int
            ) -> None:
                """Writers and readers started together (Barrier) at a 1 µs switch interval.

                The plan is drawn here, before any thread starts; threads only execute it.
                """
                plans = _plan(random.Random(seed), writers, events, 6, batch_percent, 8)
                history = _run(self.log, plans, readers, 1e-6, 2000, 60.0)
                final = [tuple(event) for event in self.log.replay()]
                check_history(history, final, values=values)
                self.model += final[len(self.model) :]

        # -- after every step ---------------------------------------------------------------------

        @invariant()
        def log_equals_model(self) -> None:
            first = getattr(self.log, "first_offset", 0)
            if not self.first <= first <= len(self.model):
                _fail(f"first_offset went from {self.first} to {first} ({len(self.model)} events)")
            if retain is not None and first > max(self.trimmed, len(self.model) - retain):
                _fail(f"first_offset {first} keeps fewer than max_events={retain} events")
            if first < self.trimmed:
                _fail(f"first_offset {first} is below the offset {self.trimmed} trimmed before")
            self.first = first
            n = len(self.model) - first
            if len(self.log) != n:
                _fail(f"len(log) is {len(self.log)}, expected {n}")
            check_events(self.log.replay(), self.model[first:], "replay()")
            if first:
                self._refuses_trimmed(self.log, first - 1, first, "the log")
            check_events(self.log.shortlog(), reference_shortlog(self.model), "shortlog()")
            for key, event in _survivors(self.model).items():
                check_event(self.log.latest(key), event, f"latest({key!r})")
            check_event(self.log.latest(_NeverSeen()), None, "latest() of an absent key")
            check = getattr(self.log, "_check", None)
            if callable(check):
                check()

    LogStateMachine.__name__ = LogStateMachine.__qualname__ = (
        f"LogStateMachine[{getattr(factory, '__name__', 'factory')}]"
    )
    return LogStateMachine
