"""Snapshot: a read-only view of one published version of a log.

A snapshot holds one version tuple and references to the log's append-only key histories; it reads
only below its own size, so nothing ingested later can change what it shows. Readers never take a
lock and never mutate anything. Every read hands out the stored records themselves (exact tuples
``(timestamp, key, value)``): nothing is copied or wrapped on the way out.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, compress, islice
from operator import itemgetter
from typing import overload

from ._checks import (
    AnyRecord,
    K,
    Record,
    TrimmedError,
    V,
    check_index,
    check_offset,
    raise_if_unhashable,
)
from ._state import CHUNK, CHUNK_BITS, CHUNK_MASK, Version, record_at, survivor_offset

__all__ = ["Snapshot"]


_first_offset = itemgetter(1)
_last_offset = itemgetter(-1)
#: Marking survivors beats sorting their offsets once keys are at least 1/_DENSE of the events.
_DENSE = 8


class Snapshot(Sequence[Record[K, V]]):
    """A consistent, immutable view of an [`EventLog`][cowlog.EventLog] as of one instant.

    Take one with [`EventLog.snapshot()`][cowlog.EventLog.snapshot] (O(1), lock-free). It shows
    exactly the events ingested before that instant, and its replay, shortlog, ``latest`` and
    indexing all agree with each other, whatever is ingested afterwards. It behaves as a read-only
    `Sequence` of records, the stored ``(timestamp, key, value)`` tuples themselves: ``len(snap)``,
    ``snap[i]`` (negative ``i`` counts from the end), ``snap[i:j]`` (a list), ``iter(snap)``,
    ``reversed()``. As a sequence it holds the *retained* records: position ``i`` is offset
    ``snap.first_offset + i``, which is offset ``i`` itself on a log that was never trimmed.

    Snapshots are shallow: values are stored by reference, so a value mutated after it was ingested
    looks mutated in every snapshot. Holding a snapshot keeps its events alive; it holds no lock and
    no other resource.

    Examples:
        >>> from cowlog import EventLog
        >>> log = EventLog()
        >>> log.ingest("disk", "full", 10)
        0
        >>> snap = log.snapshot()
        >>> log.ingest("disk", "ok", 20)
        1
        >>> len(snap), snap[-1], log.latest("disk")
        (1, (10, 'disk', 'full'), (20, 'disk', 'ok'))
    """

    __slots__ = ("_first", "_sealed", "_size", "_tail")

    def __init__(self, version: Version) -> None:
        # Private: made by EventLog.snapshot(). Everything read later comes from this version.
        self._size, self._sealed, self._tail = version
        self._first = self._sealed.first

    def __len__(self) -> int:
        """Return the number of retained records. O(1)."""
        return self._size - self._first

    def __repr__(self) -> str:
        trimmed = f", from offset {self._first}" if self._first else ""
        return f"<cowlog.Snapshot: {self._size - self._first} events{trimmed}>"

    @property
    def first_offset(self) -> int:
        """The offset of the oldest retained record (0 unless the log was trimmed). O(1).

        Examples:
            >>> from cowlog import EventLog
            >>> log = EventLog()
            >>> log.ingest_many([("a", 1, 1), ("b", 2, 2)])
            range(0, 2)
            >>> log.trim(before=1), log.snapshot().first_offset
            (1, 1)
        """
        return self._first

    @property
    def next_offset(self) -> int:
        """The offset the next event ingested after this snapshot gets. O(1).

        Examples:
            >>> from cowlog import EventLog
            >>> log = EventLog()
            >>> log.ingest("a", 1, 1)
            0
            >>> log.snapshot().next_offset
            1
        """
        return self._size

    @overload
    def __getitem__(self, index: int) -> Record[K, V]: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record[K, V]]: ...

    def __getitem__(self, index: int | slice) -> Record[K, V] | list[Record[K, V]]:
        """Return the record at position *index*, or a list of records for a slice.

        O(log n) for an index; O(log n + k) for a slice of k records. Negative indexes count from
        the end, as on a list. Position ``i`` is offset ``first_offset + i`` (offset ``i`` on a
        log never trimmed). The record is the stored tuple itself:
        ``snap[i] is next(snap.replay(snap.first_offset + i))``.

        Examples:
            >>> from cowlog import EventLog
            >>> log = EventLog()
            >>> log.ingest_many([("a", 1, 1), ("b", 2, 2), ("c", 3, 3)])
            range(0, 3)
            >>> snap = log.snapshot()
            >>> snap[0], snap[-1][1], [key for _, key, _ in snap[1:]]
            ((1, 'a', 1), 'c', ['b', 'c'])

        Raises:
            IndexError: *index* is out of range.
            TypeError: *index* is neither an integer (anything `operator.index` accepts) nor a
                slice.
        """
        first, size = self._first, self._size
        if type(index) is int and -(size - first) <= index < size - first:  # the common case
            offset = (size if index < 0 else first) + index
            sealed = self._sealed
            chunks = sealed.chunks
            chunk = (offset >> CHUNK_BITS) - sealed.base
            if chunk < len(chunks):
                record: Record[K, V] = chunks[chunk][offset & CHUNK_MASK]
                return record
            return self._tail[offset - ((sealed.base + len(chunks)) << CHUNK_BITS)]
        if isinstance(index, slice):
            start, stop, step = index.indices(size - first)
            if step == 1:
                return list(self._records(first + start, first + stop))
            sealed, tail = self._sealed, self._tail
            return [record_at(sealed, tail, first + i) for i in range(start, stop, step)]
        if type(index) is not int:
            index = check_index(index)
        length = size - first
        if index < 0:
            index += length
        if not 0 <= index < length:
            raise IndexError(f"snapshot index out of range: {index} (length {length})")
        found: Record[K, V] = record_at(self._sealed, self._tail, first + index)
        return found

    def __iter__(self) -> Iterator[Record[K, V]]:
        """Iterate over the retained records in arrival order (the same as `replay`)."""
        return self._records(self._first, self._size)

    def _records(self, start: int, stop: int) -> Iterator[Record[K, V]]:
        """The records at offsets ``start <= offset < stop``: O(log n) to start, then in C."""
        return chain.from_iterable(self._runs(start, stop))

    def _runs(self, start: int, stop: int) -> Iterator[Iterable[AnyRecord]]:
        # One Python step per chunk of 1,024 records; the records themselves are chained in C.
        # *start* is at or past the first retained offset, so never in a dropped chunk.
        sealed, tail = self._sealed, self._tail
        chunks, first_chunk = sealed.chunks, sealed.base
        end = (first_chunk + len(chunks)) << CHUNK_BITS  # where the tail begins
        if start < end:
            for i in range(start >> CHUNK_BITS, ((min(stop, end) - 1) >> CHUNK_BITS) + 1):
                base = i << CHUNK_BITS
                chunk: tuple[AnyRecord, ...] = chunks[i - first_chunk]
                if start <= base and base + CHUNK <= stop:
                    yield chunk
                else:
                    yield chunk[max(start - base, 0) : stop - base]
        if stop > end:
            yield islice(tail, max(start - end, 0), stop - end)

    def replay(self, since: int | None = None) -> Iterator[Record[K, V]]:
        """Yield the records from offset *since* on, in arrival order.

        O(log n) to find *since* (no record before it is visited), then O(1) per record, in C (no
        Python code runs per record). Lock-free: reads one published version. An offset past the
        end yields nothing; ``None`` (the default) starts at the oldest retained record.

        Examples:
            >>> from cowlog import EventLog
            >>> log = EventLog()
            >>> log.ingest_many([("a", 1, 1), ("b", 2, 2), ("c", 3, 3)])
            range(0, 3)
            >>> [key for _, key, _ in log.snapshot().replay(since=1)]
            ['b', 'c']

        Raises:
            TypeError: *since* is not an integer.
            ValueError: *since* is negative.
            TrimmedError: *since* is below `first_offset` (retention dropped it); the error
                carries the oldest retained offset, to resume there deliberately.
        """
        first = self._first
        if since is None:
            since = first
        elif type(since) is not int or since < first:
            since = check_offset(since)
            if since < first:
                raise TrimmedError(since, first)
        return self._records(min(since, self._size), self._size)

    def shortlog(self) -> Iterator[Record[K, V]]:
        """Yield the survivor of each key, in log order.

        A key's survivor is its event with the greatest timestamp; of events with equal timestamps
        the one ingested later wins. Equivalently, the shortlog is the replay with every superseded
        event removed; on a trimmed log it is the same as if nothing had been dropped. O(k log k)
        for k keys.

        Examples:
            >>> from cowlog import EventLog
            >>> log = EventLog()
            >>> log.ingest_many([("cpu", "hot", 5), ("disk", "full", 3), ("cpu", "old", 4),
            ...                  ("disk", "tie", 3)])
            range(0, 4)
            >>> list(log.snapshot().shortlog())
            [(5, 'cpu', 'hot'), (3, 'disk', 'tie')]
        """
        size, sealed, tail = self._size, self._sealed, self._tail
        keys = sealed.keys
        # The keys of this version are the prefix of first-seen order whose first offset is below
        # its size (later keys may be appended concurrently: the bisect only reads the prefix);
        # the first `pinned` keys (compacted by a trim) are in every version reading this index.
        while True:
            try:
                visible = bisect_left(keys, size, sealed.pinned, len(keys), key=_first_offset)
                break
            except IndexError:  # a refused write's repair popped its new keys under the search
                continue
        if visible * _DENSE >= size and not sealed.base:
            # Many keys for the events held (and nothing dropped): mark each key's survivor, then
            # let C pick the marked records out of the replay: no sort, no fetch per key.
            marks = bytearray(size)
            try:
                for history in islice(keys, visible):
                    marks[history[-1]] = 1
            except IndexError:  # a key changed after this version: search back
                marks = bytearray(size)
                for history in islice(keys, visible):
                    marks[survivor_offset(history, size)] = 1
            return compress(self._records(0, size), marks)
        offsets = list(map(_last_offset, islice(keys, visible)))  # each key's newest, in C
        offsets.sort()
        if offsets and offsets[-1] >= size:  # a key changed after this version: search back
            offsets = sorted(survivor_offset(history, size) for history in islice(keys, visible))
        chunks, first_chunk = sealed.chunks, sealed.base
        if not offsets or offsets[0] >> CHUNK_BITS < first_chunk:  # some survivor was dropped
            return iter([record_at(sealed, tail, offset) for offset in offsets])
        end = (first_chunk + len(chunks)) << CHUNK_BITS  # where the tail begins
        return iter(
            [
                chunks[(offset >> CHUNK_BITS) - first_chunk][offset & CHUNK_MASK]
                if offset < end
                else tail[offset - end]
                for offset in offsets
            ]
        )

    def _dropped_survivors(self) -> list[tuple[int, Record[K, V]]]:
        """``(offset, record)`` of each survivor below `first_offset`, by offset. O(k log k).

        With the records from `first_offset` on, what rebuilds this snapshot's log elsewhere
        (``EventLog._start_at``): the journal's compaction and `cowlog.journal.dump`.
        """
        size, sealed, tail, first = self._size, self._sealed, self._tail, self._first
        keys = sealed.keys
        while True:  # as in shortlog: a refused write's repair may pop keys under the search
            try:
                visible = bisect_left(keys, size, sealed.pinned, len(keys), key=_first_offset)
                break
            except IndexError:
                continue
        offsets = sorted(survivor_offset(history, size) for history in islice(keys, visible))
        return [(offset, record_at(sealed, tail, offset)) for offset in offsets if offset < first]

    def latest(self, key: K) -> Record[K, V] | None:
        """Return the survivor of *key* (see `shortlog`), or ``None`` if it has no event.

        O(log n).

        Examples:
            >>> from cowlog import EventLog
            >>> log = EventLog()
            >>> log.ingest_many([("cpu", "hot", 5), ("cpu", "old", 4)])
            range(0, 2)
            >>> log.snapshot().latest("cpu"), log.snapshot().latest("gpu")
            ((5, 'cpu', 'hot'), None)

        Raises:
            TypeError: *key* is not hashable.
        """
        try:
            history = self._sealed.histories.get(key)
        except TypeError as exc:
            raise_if_unhashable(key, "key", exc)
            raise
        if history is None:
            return None
        offset = survivor_offset(history, self._size)
        if offset < 0:
            return None
        record: Record[K, V] = record_at(self._sealed, self._tail, offset)
        return record
