"""Baselines for the benchmarks: what cowlog is measured against. Not part of the public API.

Three logs with the method names of :class:`~cowlog.EventLog` where they make sense:

* :class:`FloorLog`, *the floor*: one ``threading.Lock``, a ``list`` and a ``dict`` applying the
  shortlog rule, no snapshots, no input checks. The least a thread-safe Python log can do per
  event; no design that also offers snapshots can be cheaper.
* :class:`SeedLog`, *the seed's design*: the reference service (``0001-log-service.md``) rebuilt
  line for line, defects included, so that cowlog is measured against what it replaces.
* :class:`NaiveLog`, *the naive persistent design*: a new pyrsistent ``pvector`` and a new ``pmap``
  per ingest, the literal version of "publish an immutable version", which grows quadratically
  because the garbage collector walks every young vector whole (see docs/design.md).

Nothing here is used by cowlog itself; ``cowlog bench`` and ``benchmarks/`` import it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Hashable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Any

from pyrsistent import PMap, PVector, pmap, pvector

__all__ = ["FloorLog", "NaiveLog", "SeedLog", "SeedRWLock"]

Record = tuple[int, Any, Any]


class FloorLog:
    """The floor: one ``threading.Lock`` + ``list`` + ``dict`` applying the shortlog rule.

    Records are exact ``(timestamp, key, value)`` tuples in a list; a dict maps each key to the
    offset of its survivor (greatest timestamp, ties to the later arrival: cowlog's rule). There
    are no snapshots and no input checks; readers rely on the list being append-only and read
    below the length they saw. Returns offsets; yields the stored tuples.

    ``ingest`` is O(1), ``replay`` O(1) to start, ``shortlog`` O(k log k) for k keys, ``log[i]``
    O(1).

    >>> log = FloorLog()
    >>> _ = log.ingest("a", "old", 5); _ = log.ingest("a", "tie", 5); _ = log.ingest("b", 1, 1)
    >>> list(log.shortlog()), log.latest("a")
    ([(5, 'a', 'tie'), (1, 'b', 1)], (5, 'a', 'tie'))
    """

    __slots__ = ("_latest", "_lock", "_records")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[Record] = []
        self._latest: dict[Hashable, int] = {}

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, offset: int) -> Record:
        """Return the record at *offset*, read from the live list without the lock. O(1)."""
        return self._records[offset]

    def ingest(self, key: Hashable, value: Any, timestamp: int | None = None) -> int:
        """Append one event; return its offset. O(1)."""
        if timestamp is None:
            timestamp = time.time_ns()
        record = (timestamp, key, value)
        with self._lock:
            records = self._records
            offset = len(records)
            survivor = self._latest.get(key)
            if survivor is None or timestamp >= records[survivor][0]:
                self._latest[key] = offset
            records.append(record)
        return offset

    def ingest_many(self, items: Iterable[tuple[Hashable, Any, int]]) -> int:
        """Append a batch under one lock acquisition; return its count. O(m)."""
        batch = [(timestamp, key, value) for key, value, timestamp in items]
        with self._lock:
            records = self._records
            latest = self._latest
            offset = len(records)
            for record in batch:
                timestamp, key, _ = record
                survivor = latest.get(key)
                if survivor is None or timestamp >= records[survivor][0]:
                    latest[key] = offset
                records.append(record)
                offset += 1
        return len(batch)

    def replay(self, since: int = 0) -> Iterator[Record]:
        """Yield the records from offset *since* to the length at the call.

        O(1) to start from 0 (the list is only appended to, so iterating up to the length seen is
        safe); from *since* > 0, a slice copy of the rest: a list cannot seek an iterator.
        """
        records = self._records
        size = len(records)
        return iter(records[since:size]) if since else islice(records, size)

    def shortlog(self) -> Iterator[Record]:
        """Yield each key's survivor in log order. O(k log k); copies the offsets under the lock."""
        with self._lock:
            offsets = sorted(self._latest.values())
        records = self._records
        return (records[offset] for offset in offsets)

    def latest(self, key: Hashable) -> Record | None:
        """Return *key*'s survivor, or None. O(1)."""
        offset = self._latest.get(key)
        return None if offset is None else self._records[offset]


class SeedRWLock:
    """The seed's ``rw_lock``, unchanged: a ``threading.Condition``, a writer flag, a reader count.

    Its defect, kept on purpose: ``acquire_write`` waits only for readers, never for another
    writer, so two writers can hold it at once (and a reader may then enter while the second
    writer is still writing, as soon as the first one releases).
    """

    def __init__(self) -> None:
        self._ready = threading.Condition()
        self._writer = False
        self._readers = 0

    def acquire_read(self) -> None:
        with self._ready:
            while self._writer:
                self._ready.wait()
            self._readers += 1

    def release_read(self) -> None:
        with self._ready:
            self._readers -= 1
            if self._readers == 0:
                self._ready.notify_all()

    def acquire_write(self) -> None:
        with self._ready:
            while self._readers > 0:
                self._ready.wait()
            self._writer = True

    def release_write(self) -> None:
        with self._ready:
            self._writer = False
            self._ready.notify_all()

    @contextmanager
    def read(self) -> Iterator[None]:
        try:
            self.acquire_read()
            yield
        finally:
            self.release_read()

    @contextmanager
    def write(self) -> Iterator[None]:
        try:
            self.acquire_write()
            yield
        finally:
            self.release_write()


class SeedLog:
    """The seed's design: a faithful re-implementation of ``logger_service`` from the seed.

    It reproduces the seed's algorithm **including its defects**, so benchmarks compare cowlog
    with what it replaces, not with a repaired version:

    * two :class:`SeedRWLock` (one for the raw deque, one for the latest dict), so an ingest takes
      two write locks, and the read-write lock admits two writers at once;
    * ``replay()`` copies the whole deque under the read lock (O(n) per read, blocking writers),
      and ``shortlog()`` copies the whole dict;
    * copy counters: after 32 ``replay()`` generators started and not run to the end (and 64 for
      ``shortlog()``), every further call raises ``Exception("Too many raw copies")`` (``"Too many
      latest copies"``), forever;
    * the shortlog keeps the *first* of equal timestamps, a key whose first event had timestamp
      ``None`` never changes again, and survivors come in the order keys first appeared, not in
      log order.

    The records are stored as ``(timestamp, value, key)`` and yielded as ``(timestamp, key,
    value)`` tuples, as in the seed. Additions the seed does not have, each built only from what a
    seed user could do and marked as such: ``ingest_many`` (a loop of ``ingest``), ``snapshot()``
    (a consumed ``replay()``: the seed's only consistent view is a full copy), ``latest(key)``
    (one dict lookup under the read lock) and ``len()``.

    >>> log = SeedLog()
    >>> log.ingest("a", "first", 5); log.ingest("a", "tie", 5)
    >>> list(log.shortlog())
    [(5, 'a', 'first')]
    """

    def __init__(self) -> None:
        self._raw_lock = SeedRWLock()
        self._raw_copies = 32
        self._raw: deque[tuple[Any, Any, Any]] = deque()

        self._latest_lock = SeedRWLock()
        self._latest_copies = 64
        self._latest: dict[Any, tuple[Any, Any]] = {}

    def ingest(self, key: Any, value: Any, timestamp: Any) -> None:
        """The seed's ``ingest``: append under one write lock, update latest under another."""
        with self._raw_lock.write():
            self._raw.append((timestamp, value, key))

        with self._latest_lock.write():
            latest_event = self._latest.get(key, None)
            if latest_event is None:  # noqa: SIM114 (the seed's branches, kept as written)
                self._latest[key] = (value, timestamp)

            elif (
                latest_event is not None
                and latest_event[1] is not None
                and latest_event[1] < timestamp
            ):
                self._latest[key] = (value, timestamp)

    def replay(self) -> Iterator[tuple[Any, Any, Any]]:
        """The seed's ``replay``: copy the deque under the read lock, then yield from the copy."""
        with self._raw_lock.read():
            if self._raw_copies > 0:
                raw_snapshot = [e for e in self._raw]  # the seed's own copy, kept
                self._raw_copies -= 1
            else:
                raise Exception("Too many raw copies")

        for ts, value, key in raw_snapshot:
            record = (ts, key, value)
            yield record

        with self._raw_lock.read():
            self._raw_copies += 1

    def shortlog(self) -> Iterator[tuple[Any, Any, Any]]:
        """The seed's ``shortlog``: copy the dict under the read lock, then yield from the copy."""
        with self._latest_lock.read():
            if self._latest_copies > 0:
                latest_snapshot = self._latest.copy()
                self._latest_copies -= 1
            else:
                raise Exception("Too many latest copies")

        for k, v in latest_snapshot.items():
            record = (v[1], k, v[0])
            yield record

        with self._latest_lock.read():
            self._latest_copies += 1

    # -- not in the seed: what a seed user would write ------------------------------------------

    def __len__(self) -> int:
        """Not in the seed: the deque's length (no lock: ``len(deque)`` is atomic)."""
        return len(self._raw)

    def ingest_many(self, items: Iterable[tuple[Any, Any, Any]]) -> int:
        """Not in the seed: one ``ingest`` per item (not atomic, as the seed has no batch)."""
        count = 0
        for key, value, timestamp in items:
            self.ingest(key, value, timestamp)
            count += 1
        return count

    def snapshot(self) -> list[tuple[Any, Any, Any]]:
        """Not in the seed: a consumed ``replay()``, the seed's only consistent view. O(n)."""
        return list(self.replay())

    def latest(self, key: Any) -> tuple[Any, Any, Any] | None:
        """Not in the seed: *key*'s entry of the latest dict, read under its read lock."""
        with self._latest_lock.read():
            entry = self._latest.get(key)
        return None if entry is None else (entry[1], key, entry[0])


class NaiveLog:
    """The naive persistent design: a new ``pvector`` and a new ``pmap`` per ingest.

    Writers serialize on one lock and publish ``(events, latest)``, a pyrsistent ``PVector`` of
    exact ``(timestamp, key, value)`` records and a ``PMap`` from key to its survivor's offset,
    with one attribute store; readers load it and never lock, so ``snapshot()`` is O(1). The rule is
    cowlog's. It is the literal form of cowlog's design, and it is slow in a way that grows: every
    ingest makes a young ``PVector`` whose C ``tp_traverse`` visits every element, so each
    generation-0 collection walks the whole log (O(n) work every few hundred ingests), and
    ``pmap.set`` is pure Python.

    >>> log = NaiveLog()
    >>> _ = log.ingest("a", 1, 1); snap = log.snapshot(); _ = log.ingest("a", 2, 2)
    >>> len(snap[0]), list(log.shortlog())
    (1, [(2, 'a', 2)])
    """

    __slots__ = ("_lock", "_version")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: tuple[PVector[Record], PMap[Any, int]] = (pvector(), pmap())

    def __len__(self) -> int:
        return len(self._version[0])

    def ingest(self, key: Hashable, value: Any, timestamp: int | None = None) -> Record:
        """Append one event: a new vector and a new map. O(log n) plus the collector's walks."""
        if timestamp is None:
            timestamp = time.time_ns()
        record = (timestamp, key, value)
        with self._lock:
            events, latest = self._version
            offset = latest.get(key)
            if offset is None or timestamp >= events[offset][0]:
                latest = latest.set(key, len(events))
            self._version = (events.append(record), latest)
        return record

    def ingest_many(self, items: Iterable[tuple[Hashable, Any, int]]) -> int:
        """Append a batch with one ``extend`` and one map update. O(m + k log n)."""
        batch = [(timestamp, key, value) for key, value, timestamp in items]
        with self._lock:
            events, latest = self._version
            survivors: dict[Any, int] = {}
            offset = len(events)
            for timestamp, key, _ in batch:
                known = survivors.get(key)
                if known is None:
                    known = latest.get(key)
                if known is None or timestamp >= (
                    batch[known - len(events)][0] if known >= len(events) else events[known][0]
                ):
                    survivors[key] = offset
                offset += 1
            self._version = (events.extend(batch), latest.update(survivors))
        return len(batch)

    def snapshot(self) -> tuple[PVector[Record], PMap[Any, int]]:
        """Return the published ``(events, latest)`` pair. O(1), lock-free."""
        return self._version

    def replay(self, since: int = 0) -> Iterator[Record]:
        """Yield the records from offset *since* on. O(log n) to start."""
        events = self._version[0]
        return iter(events[since:]) if since else iter(events)

    def shortlog(self) -> Iterator[Record]:
        """Yield each key's survivor in log order. O(k log k)."""
        events, latest = self._version
        return (events[offset] for offset in sorted(latest.values()))

    def latest(self, key: Hashable) -> Record | None:
        """Return *key*'s survivor, or None. O(log n)."""
        events, latest = self._version
        offset = latest.get(key)
        return None if offset is None else events[offset]
