"""EventLog: many writers through one lock, readers through one published reference.

Writers serialize on one ``threading.Lock``; each write ends by publishing a new version tuple with
a single attribute store (``self._version = ...``). Readers load that attribute and never lock, so
a reader never waits for a writer and a writer never waits for a reader.

Everything a write appends to the shared structures lands at offsets at or beyond the published
size, invisible to every reader, until the version that includes it is published: publish last.
If a write is interrupted before it publishes (an exception, or an asynchronous one such as
``KeyboardInterrupt``), it marks the log dirty and repairs the shared structures back to the
published version before the exception leaves it; if the repair is itself interrupted, the next
write repairs first.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from pyrsistent import pvector

from ._checks import Event, _new_tuple
from ._snapshot import Snapshot, _raise_if_unhashable
from ._state import CHUNK, CHUNK_BITS, CHUNK_MASK, History, Version, record_at, survivor_offset

__all__ = ["EventLog"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _check_item(item: object, index: int) -> None:
    """Raise TypeError unless the batch item at *index* is a tuple or a list."""
    if not isinstance(item, (tuple, list)):
        raise TypeError(
            f"items[{index}] must be a (key, value, timestamp) tuple, got {type(item).__name__}"
        )


def _checked_timestamp(timestamp: object, name: str) -> int:
    """Return *timestamp* as an exact int, or raise TypeError naming *name*."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise TypeError(
            f"{name} must be an int (or None for the clock's value), got {type(timestamp).__name__}"
        )
    return int.__index__(timestamp)  # an int subclass is stored as a plain int


class EventLog(Generic[K, V]):
    """A thread-safe, in-memory, append-only log of ``(timestamp, key, value)`` events.

    Any number of threads may call any method at any time. Writes (`ingest`,
    `ingest_many`) are linearizable: each takes effect at one instant between its call and its
    return. Reads (`snapshot` and everything built on it) are lock-free and O(1) to start,
    and see exactly the writes that took effect before one instant inside the call.

    Args:
        clock: called (under the writer lock, so its values follow arrival order if it is
            monotonic) for the timestamp of an event ingested with ``timestamp=None``; must return
            an ``int``. Default: `time.time_ns`.

    Examples:
        >>> log = EventLog()
        >>> log.ingest("disk", "full", 10)
        Event(timestamp=10, key='disk', value='full')
        >>> _ = log.ingest("cpu", "hot", 12)
        >>> _ = log.ingest("disk", "ok", 15)
        >>> [(e.key, e.value) for e in log.shortlog()]
        [('cpu', 'hot'), ('disk', 'ok')]
        >>> len(log)
        3

    Raises:
        TypeError: *clock* is not callable.
    """

    __slots__ = ("__weakref__", "_clock", "_dirty", "_histories", "_keys", "_lock", "_version")

    def __init__(self, *, clock: Callable[[], int] = time.time_ns) -> None:
        if not callable(clock):
            raise TypeError(f"clock must be callable, got {type(clock).__name__}")
        self._clock = clock
        self._lock = threading.Lock()
        # Shared with every snapshot; append-only below the published size.
        self._histories: dict[Any, History] = {}
        self._keys: list[History] = []
        # The one published reference readers load.
        self._version: Version = (0, pvector(), [])
        # Writer-private: set when a write raised before publishing; the next write repairs.
        self._dirty = False

    def __repr__(self) -> str:
        return f"<cowlog.EventLog: {len(self)} events>"

    def __len__(self) -> int:
        """Return the number of events ingested so far. O(1), lock-free."""
        return self._version[0]

    # -- writers ---------------------------------------------------------------------------------

    def ingest(self, key: K, value: V, timestamp: int | None = None) -> Event[K, V]:
        """Append one event and return it.

        Amortized O(1) (O(log n) once per 1,024 events, to seal a chunk). Thread-safe: writers
        serialize on one lock held for a few dictionary and list operations; readers are never
        blocked. The event is visible to every snapshot taken after this call returns.

        Args:
            key: the event type; any hashable object.
            value: the payload, stored by reference.
            timestamp: an ``int``; ``None`` (the default) takes the clock's value.

        Examples:
            >>> log = EventLog(clock=lambda: 42)
            >>> log.ingest("boot", {"ok": True})
            Event(timestamp=42, key='boot', value={'ok': True})

        Raises:
            TypeError: *timestamp* is not an int or None (``bool`` is refused), the clock returned
                something else, or *key* is not hashable. The log is left unchanged.
        """
        if type(timestamp) is not int and timestamp is not None:
            timestamp = _checked_timestamp(timestamp, "timestamp")
        with self._lock:
            if self._dirty:
                self._repair()
            size, chunks, tail = self._version
            if timestamp is None:
                timestamp = _checked_timestamp(self._clock(), "clock()")
            try:
                history = self._histories.get(key)
            except TypeError as exc:
                _raise_if_unhashable(key, "key", exc)
                raise
            try:
                # Everything written here lies past the published size, invisible to readers.
                if history is None:
                    history = [timestamp, size]
                    self._histories[key] = history
                    self._keys.append(history)
                elif timestamp >= history[0]:  # ties go to the later arrival
                    history.append(size)  # first: the repair finds a history by its last offset
                    history[0] = timestamp
                if not size & CHUNK_MASK and size:  # the tail is full: seal it
                    chunks = chunks.append(tuple(tail))
                    tail = []
                record = (timestamp, key, value)
                tail.append(record)
                # publish last: a reader must never see a half-built version
                self._version = (size + 1, chunks, tail)
            except BaseException:
                self._dirty = True  # a plain store: nothing can interrupt it
                self._repair()  # if this is interrupted in turn, the next write repairs
                raise
        event: Event[K, V] = _new_tuple(Event, record)
        return event

    def ingest_many(self, items: Iterable[tuple[K, V, int | None]]) -> int:
        """Append a batch of ``(key, value, timestamp)`` items, all at once, and return their count.

        All or nothing: the whole batch becomes visible at one instant (no snapshot shows part of
        it), or, if any item is refused, none of it ever does. O(m) for m items; a refused batch
        costs O(k) more for k keys, to undo what it wrote past the published version. Items whose
        timestamp is ``None`` share one clock reading.

        Note the item order is the one `ingest` takes, *not* the ``(timestamp, key, value)``
        order of an `Event`.

        Examples:
            >>> log = EventLog()
            >>> log.ingest_many([("a", 1, 10), ("b", 2, 11), ("a", 3, 9)])
            3
            >>> log.latest("a").value
            1

        Raises:
            TypeError: an item is not a ``(key, value, timestamp)`` tuple or list, its timestamp is
                not an int or None, or its key is not hashable. The message names the item's index.
                The log is left unchanged.
            ValueError: an item has the wrong length.
        """
        # Materialized first: a generator must not run (or call back into the log) under the lock.
        batch = items if type(items) is list else list(items)
        with self._lock:
            if self._dirty:
                self._repair()
            size, chunks, tail = self._version
            histories, keys = self._histories, self._keys
            now = None
            offset = size
            try:
                # Checked and written in one pass: all of it lies past the published size, so an
                # item that fails leaves nothing visible, and the repair below undoes the rest.
                for item in batch:
                    if type(item) is not tuple:
                        _check_item(item, offset - size)
                    try:
                        key, value, timestamp = item
                    except ValueError:
                        raise ValueError(
                            f"items[{offset - size}] must have 3 fields (key, value, timestamp), "
                            f"got {len(item)}"
                        ) from None
                    if type(timestamp) is not int:
                        if timestamp is not None:
                            name = f"items[{offset - size}] timestamp"
                            timestamp = _checked_timestamp(timestamp, name)
                        else:
                            if now is None:  # one clock reading for the whole batch
                                now = _checked_timestamp(self._clock(), "clock()")
                            timestamp = now
                    try:
                        history = histories.get(key)
                    except TypeError as exc:
                        _raise_if_unhashable(key, f"items[{offset - size}] key", exc)
                        raise
                    if history is None:
                        history = [timestamp, offset]
                        histories[key] = history
                        keys.append(history)
                    elif timestamp >= history[0]:  # ties go to the later arrival
                        history.append(offset)  # first: see ingest
                        history[0] = timestamp
                    if not offset & CHUNK_MASK and offset:  # the tail is full: seal it
                        chunks = chunks.append(tuple(tail))
                        tail = []
                    tail.append((timestamp, key, value))
                    offset += 1
                # publish last: the whole batch appears at once
                self._version = (offset, chunks, tail)
            except BaseException:
                self._dirty = True
                self._repair()
                raise
        return offset - size

    def _repair(self) -> None:
        """Drop whatever an interrupted write left past the published version. Lock held.

        O(k) for k keys, plus O(log n) for each key the write touched. Runs in the except clause of
        a write that raised before publishing, and again on the next write if that was interrupted.
        """
        size, chunks, tail = self._version
        del tail[size - (len(chunks) << CHUNK_BITS) :]
        keys = self._keys
        while keys and keys[-1][1] >= size:
            keys.pop()
        for key, history in list(self._histories.items()):
            if history[1] >= size:
                del self._histories[key]
        for history in keys:
            if history[-1] >= size:  # touched: writers append the offset before the timestamp
                del history[bisect_left(history, size, 1) :]
                history[0] = record_at(chunks, tail, history[-1])[0]
        self._dirty = False

    # -- readers ---------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot[K, V]:
        """Return a consistent, immutable view of the log as it is now.

        O(1) whatever the log's size; lock-free: never blocks and is never blocked. The snapshot
        shows exactly the writes that returned before this call, possibly some that were under way
        during it (each whole or not at all), and nothing later.

        Examples:
            >>> log = EventLog()
            >>> _ = log.ingest("a", 1, 1)
            >>> snap = log.snapshot()
            >>> _ = log.ingest("b", 2, 2)
            >>> len(snap), len(log)
            (1, 2)
        """
        return Snapshot(self._version, self._histories, self._keys)

    def replay(self, since: int = 0) -> Iterator[Event[K, V]]:
        """Yield the events from offset *since* on, in arrival order, as of now.

        The same as ``log.snapshot().replay(since)``: O(log n) to find *since*, then O(1) per event;
        lock-free; events ingested after the call are not yielded.

        Examples:
            >>> log = EventLog()
            >>> log.ingest_many([("a", 1, 1), ("b", 2, 2)])
            2
            >>> list(log.replay(since=1))
            [Event(timestamp=2, key='b', value=2)]

        Raises:
            TypeError: *since* is not an int.
            ValueError: *since* is negative.
        """
        return self.snapshot().replay(since)

    def shortlog(self) -> Iterator[Event[K, V]]:
        """Yield the most recent event of each key, in log order, as of now.

        The same as ``log.snapshot().shortlog()``: for each key, the event with the greatest
        timestamp, ties going to the later arrival. O(k log n) for k keys; lock-free.

        Examples:
            >>> log = EventLog()
            >>> log.ingest_many([("a", "first", 5), ("b", "x", 1), ("a", "tie", 5)])
            3
            >>> list(log.shortlog())
            [Event(timestamp=1, key='b', value='x'), Event(timestamp=5, key='a', value='tie')]
        """
        return self.snapshot().shortlog()

    def latest(self, key: K) -> Event[K, V] | None:
        """Return the most recent event of *key* (see `shortlog`), or ``None``.

        O(log n); lock-free.

        Examples:
            >>> log = EventLog()
            >>> _ = log.ingest("a", "new", 5); _ = log.ingest("a", "old", 4)
            >>> log.latest("a").value, log.latest("b")
            ('new', None)

        Raises:
            TypeError: *key* is not hashable.
        """
        return self.snapshot().latest(key)

    # -- invariants ------------------------------------------------------------------------------

    def _check(self) -> None:
        """Assert every internal invariant, by brute force. O(n); for tests."""
        with self._lock:
            assert not self._dirty, "an interrupted write was not repaired"
            size, chunks, tail = self._version
            assert type(self._version) is tuple and type(tail) is list
            assert all(type(c) is tuple and len(c) == CHUNK for c in chunks)
            assert len(tail) == size - (len(chunks) << CHUNK_BITS) <= CHUNK
            assert len(self._keys) == len(self._histories)
            records = [r for c in chunks for r in c] + tail
            assert all(type(r) is tuple and len(r) == 3 and type(r[0]) is int for r in records)
            survivors: dict[Any, int] = {}
            first: dict[Any, int] = {}
            for offset, (timestamp, key, _) in enumerate(records):
                first.setdefault(key, offset)
                if key not in survivors or timestamp >= records[survivors[key]][0]:
                    survivors[key] = offset
            assert sorted(first.values()) == [history[1] for history in self._keys]
            assert {id(h) for h in self._keys} == {id(h) for h in self._histories.values()}
            for key, history in self._histories.items():
                offsets = history[1:]
                assert offsets[0] == first[key] and offsets == sorted(set(offsets))
                assert offsets[-1] == survivors[key] == survivor_offset(history, size)
                assert history[0] == records[offsets[-1]][0]
