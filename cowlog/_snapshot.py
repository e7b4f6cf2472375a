"""Snapshot: a read-only view of one published version of a log.

A snapshot holds one version tuple and references to the log's append-only key histories; it reads
only below its own size, so nothing ingested later can change what it shows. Readers never take a
lock and never mutate anything.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable, Iterable, Iterator, Sequence
from itertools import chain, islice
from typing import Any, TypeVar, overload

from ._checks import Event, Record, to_event, to_events
from ._state import CHUNK, CHUNK_BITS, CHUNK_MASK, History, Version, record_at, survivor_offset

__all__ = ["Snapshot"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _check_offset(since: object) -> int:
    if isinstance(since, bool) or not isinstance(since, int):
        raise TypeError(f"since must be an int, got {type(since).__name__}")
    if since < 0:
        raise ValueError(f"since must be >= 0, got {since}")
    return int(since)


class Snapshot(Sequence[Event[K, V]]):
    """A consistent, immutable view of an [`EventLog`][cowlog.EventLog] as of one instant.

    Take one with [`EventLog.snapshot()`][cowlog.EventLog.snapshot] (O(1), lock-free). It shows
    exactly the events ingested before that instant, and its replay, shortlog, ``latest`` and
    indexing all agree with each other, whatever is ingested afterwards. It behaves as a read-only
    `Sequence` of [`Event`][cowlog.Event]: ``len(snap)``, ``snap[i]``
    (negative ``i`` counts from the end), ``snap[i:j]`` (a list), ``iter(snap)``, ``reversed()``.
    Snapshots are made by [`EventLog.snapshot()`][cowlog.EventLog.snapshot], not directly.

    Snapshots are shallow: values are stored by reference, so a value mutated after it was ingested
    looks mutated in every snapshot. Holding a snapshot keeps its events alive; it holds no lock and
    no other resource.

    Examples:
        >>> from cowlog import EventLog
        >>> log = EventLog()
        >>> _ = log.ingest("disk", "full", 10)
        >>> snap = log.snapshot()
        >>> _ = log.ingest("disk", "ok", 20)
        >>> len(snap), snap[-1].value, log.latest("disk").value
        (1, 'full', 'ok')
    """

    __slots__ = ("_chunks", "_histories", "_keys", "_size", "_tail")

    def __init__(
        self, version: Version, histories: dict[Any, History], keys: list[History]
    ) -> None:
        # Private: made by EventLog.snapshot(). Everything read later comes from these references.
        self._size, self._chunks, self._tail = version
        self._histories = histories
        self._keys = keys

    def __len__(self) -> int:
        """Return the number of events. O(1)."""
        return self._size

    def __repr__(self) -> str:
        return f"<cowlog.Snapshot: {self._size} events>"

    def _record(self, offset: int) -> Record:
        return record_at(self._chunks, self._tail, offset)

    @overload
    def __getitem__(self, index: int) -> Event[K, V]: ...

    @overload
    def __getitem__(self, index: slice) -> list[Event[K, V]]: ...

    def __getitem__(self, index: int | slice) -> Event[K, V] | list[Event[K, V]]:
        """Return the event at offset *index*, or a list of events for a slice.

        O(log n) for an index; O(log n + k) for a slice of k events. Negative indexes count from
        the end, as on a list.

        Examples:
            >>> from cowlog import EventLog
            >>> log = EventLog()
            >>> log.ingest_many([("a", 1, 1), ("b", 2, 2), ("c", 3, 3)])
            3
            >>> snap = log.snapshot()
            >>> snap[0].key, snap[-1].key, [e.key for e in snap[1:]]
            ('a', 'c', ['b', 'c'])

        Raises:
            IndexError: *index* is out of range.
            TypeError: *index* is neither an int nor a slice.
        """
        size = self._size
        if isinstance(index, slice):
            start, stop, step = index.indices(size)
            if step == 1:
                return list(self._events(start, stop))
            return list(to_events(map(self._record, range(start, stop, step))))
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(
                f"snapshot indices must be integers or slices, not {type(index).__name__}"
            )
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError(f"snapshot index out of range: {index} (length {size})")
        event: Event[K, V] = to_event(self._record(index))
        return event

    def __iter__(self) -> Iterator[Event[K, V]]:
        """Iterate over all events in arrival order (the same as `replay`)."""
        return self._events(0, self._size)

    def _events(self, start: int, stop: int) -> Iterator[Event[K, V]]:
        # O(log n) to reach *start*; then each chunk is mapped to Events in C, lazily.
        return to_events(chain.from_iterable(self._runs(start, stop)))

    def _runs(self, start: int, stop: int) -> Iterator[Iterable[Record]]:
        chunks, tail = self._chunks, self._tail
        sealed = len(chunks) << CHUNK_BITS
        if start < sealed:
            for i in range(start >> CHUNK_BITS, ((min(stop, sealed) - 1) >> CHUNK_BITS) + 1):
                base = i << CHUNK_BITS
                chunk: tuple[Record, ...] = chunks[i]
                if start <= base and base + CHUNK <= stop:
                    yield chunk
                else:
                    yield chunk[max(start - base, 0) : stop - base]
        if stop > sealed:
            yield islice(tail, max(start - sealed, 0), stop - sealed)

    def replay(self, since: int = 0) -> Iterator[Event[K, V]]:
        """Yield the events from offset *since* on, in arrival order.

        O(log n) to find *since* (no event before it is visited), then O(1) per event. Lock-free:
        reads one published version. An offset past the end yields nothing.

        Examples:
            >>> from cowlog import EventLog
            >>> log = EventLog()
            >>> log.ingest_many([("a", 1, 1), ("b", 2, 2), ("c", 3, 3)])
            3
            >>> [e.key for e in log.snapshot().replay(since=1)]
            ['b', 'c']

        Raises:
            TypeError: *since* is not an int.
            ValueError: *since* is negative.
        """
        since = _check_offset(since)
        return self._events(min(since, self._size), self._size)

    def shortlog(self) -> Iterator[Event[K, V]]:
        """Yield the survivor of each key, in log order.

        A key's survivor is its event with the greatest timestamp; of events with equal timestamps
        the one ingested later wins. Equivalently, the shortlog is the replay with every superseded
        event removed. O(k log n) for k keys.

        Examples:
            >>> from cowlog import EventLog
            >>> log = EventLog()
            >>> log.ingest_many([("cpu", "hot", 5), ("disk", "full", 3), ("cpu", "old", 4),
            ...                  ("disk", "tie", 3)])
            4
            >>> [(e.key, e.value) for e in log.snapshot().shortlog()]
            [('cpu', 'hot'), ('disk', 'tie')]
        """
        size = self._size
        offsets: list[int] = []
        survivor = offsets.append
        for history in self._keys:  # in order of first appearance: stop at the first too new
            last = history[-1]
            if last < size:  # the common case: the key's newest survivor is in this version
                survivor(last)
            elif history[1] < size:
                survivor(history[bisect_left(history, size, 1) - 1])
            else:
                break
        offsets.sort()
        chunks, tail = self._chunks, self._tail
        sealed = len(chunks) << CHUNK_BITS
        return to_events(
            [
                chunks[offset >> CHUNK_BITS][offset & CHUNK_MASK]
                if offset < sealed
                else tail[offset - sealed]
                for offset in offsets
            ]
        )

    def latest(self, key: K) -> Event[K, V] | None:
        """Return the survivor of *key* (see `shortlog`), or ``None`` if it has no event.

        O(log n).

        Examples:
            >>> from cowlog import EventLog
            >>> log = EventLog()
            >>> log.ingest_many([("cpu", "hot", 5), ("cpu", "old", 4)])
            2
            >>> log.snapshot().latest("cpu").value, log.snapshot().latest("gpu")
            ('hot', None)

        Raises:
            TypeError: *key* is not hashable.
        """
        try:
            history = self._histories.get(key)
        except TypeError as exc:
            _raise_if_unhashable(key, "key", exc)
            raise
        if history is None:
            return None
        offset = survivor_offset(history, self._size)
        if offset < 0:
            return None
        event: Event[K, V] = to_event(self._record(offset))
        return event


def _raise_if_unhashable(key: object, name: str, exc: BaseException) -> None:
    """Turn a failed dict lookup into a clear TypeError when the key itself is unhashable."""
    try:
        hash(key)
    except TypeError:
        raise TypeError(f"{name} must be hashable, got {type(key).__name__}") from exc
