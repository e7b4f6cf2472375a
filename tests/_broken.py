"""Deliberately broken logs, for MUTATION CHECKS ONLY: each breaks exactly one promise.

Nothing here is part of cowlog. ``ListLog`` is a small, obviously correct log with EventLog's
interface (a shared append-only list plus one published ``(size, index)`` tuple, under one lock);
every other class changes one method of it so that it breaks one promise of the contract (issue 2),
and the mutation-check tests assert that our machine, stress run or fault tests catch it. If a
mutation check ever passes, the suite has gone blind to that bug.

``ListLog`` itself must pass everything: the checks run it too, so a suite that fails on every log
cannot pass for a suite that catches bugs.
"""

from __future__ import annotations

import operator
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

Record = tuple[int, Any, Any]


def _timestamp(timestamp: object) -> int | None:
    if timestamp is None:
        return None
    if isinstance(timestamp, bool) or not hasattr(type(timestamp), "__index__"):
        raise TypeError(f"timestamp must be an int, got {type(timestamp).__name__}")
    return operator.index(timestamp)


def _since(since: object) -> int:
    if isinstance(since, bool) or not isinstance(since, int):
        raise TypeError(f"since must be an int, got {type(since).__name__}")
    if since < 0:
        raise ValueError(f"since must be >= 0, got {since}")
    return since


def _hashable(key: object, name: str = "key") -> None:
    try:
        hash(key)
    except TypeError as exc:
        raise TypeError(f"{name} must be hashable, got {type(key).__name__}") from exc


class ListSnapshot:
    """One published version: the shared list (read below *size* only) and an immutable index."""

    def __init__(self, events: list[Record], size: int, index: dict[Any, int]) -> None:
        self._events, self._size, self._index = events, size, index

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return self._events[: self._size][index]
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError("snapshot indices must be integers or slices")
        if index < 0:
            index += self._size
        if not 0 <= index < self._size:
            raise IndexError("snapshot index out of range")
        return self._events[index]

    def __iter__(self) -> Iterator[Record]:
        return iter(self._events[: self._size])

    def replay(self, since: int = 0) -> Iterator[Record]:
        return iter(self._events[_since(since) : self._size])

    def shortlog(self) -> Iterator[Record]:
        return iter([self._events[offset] for offset in sorted(self._index.values())])

    def latest(self, key: Any) -> Record | None:
        _hashable(key)
        offset = self._index.get(key)
        return None if offset is None else self._events[offset]


class ListLog:
    """Correct: writers lock, append past the published size, and publish one tuple last."""

    snapshot_class: type[ListSnapshot] = ListSnapshot

    def __init__(self, *, clock: Callable[[], int] = time.time_ns) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._events: list[Record] = []
        self._state: tuple[int, dict[Any, int]] = (0, {})

    def __len__(self) -> int:
        return self._load()[0]

    def _load(self) -> tuple[int, dict[Any, int]]:
        return self._state

    def _publish(self, size: int, index: dict[Any, int]) -> None:
        self._state = (size, index)  # one store: readers see the old version or the new one

    def _fold(self, index: dict[Any, int], offset: int, record: Record) -> None:
        current = index.get(record[1])
        if current is None or self._wins(record[0], self._events[current][0]):
            index[record[1]] = offset

    @staticmethod
    def _wins(new: int, old: int) -> bool:
        return new >= old  # ties go to the later arrival

    def _append(self, size: int, records: list[Record]) -> dict[Any, int]:
        """Lock held: append *records* past *size* (repairing first); return the new index."""
        del self._events[size:]  # repair whatever an interrupted write left
        index = dict(self._load()[1])
        for offset, record in enumerate(records, size):
            self._events.append(record)
            self._fold(index, offset, record)
        return index

    def ingest(self, key: Any, value: Any, timestamp: Any = None) -> int:
        stamp = _timestamp(timestamp)
        _hashable(key)
        with self._lock:
            size = self._load()[0]
            record = (self._clock() if stamp is None else stamp, key, value)
            index = self._append(size, [record])
            self._publish(size + 1, index)  # publish last
        return size

    def _validate(self, items: Iterable[Any]) -> list[tuple[Any, Any, int | None]]:
        batch = []
        for i, item in enumerate(items):
            if not isinstance(item, (tuple, list)):
                raise TypeError(f"items[{i}] must be a tuple")
            if len(item) != 3:
                raise ValueError(f"items[{i}] must have 3 fields")
            key, value, timestamp = item
            try:
                stamp = _timestamp(timestamp)
            except TypeError as exc:
                raise TypeError(f"items[{i}]: {exc}") from None
            _hashable(key, f"items[{i}] key")
            batch.append((key, value, stamp))
        return batch

    def ingest_many(self, items: Iterable[Any]) -> range:
        batch = self._validate(items)
        with self._lock:
            size = self._load()[0]
            now = self._clock()
            records = [(now if t is None else t, k, v) for k, v, t in batch]
            index = self._append(size, records)
            self._publish(size + len(records), index)
        return range(size, size + len(records))

    def snapshot(self) -> ListSnapshot:
        size, index = self._load()
        return self.snapshot_class(self._events, size, index)

    def replay(self, since: int = 0) -> Iterator[Record]:
        return self.snapshot().replay(since)

    def shortlog(self) -> Iterator[Record]:
        return self.snapshot().shortlog()

    def latest(self, key: Any) -> Record | None:
        return self.snapshot().latest(key)


# -- one broken promise each ---------------------------------------------------------------------


class TiesKeptFirst(ListLog):
    """Shortlog rule: of equal timestamps the FIRST arrival survives (the seed's rule)."""

    @staticmethod
    def _wins(new: int, old: int) -> bool:
        return new > old


class _KeyOrderSnapshot(ListSnapshot):
    def shortlog(self) -> Iterator[Record]:
        return iter([self._events[offset] for offset in self._index.values()])


class ShortlogInKeyOrder(ListLog):
    """Shortlog in key order (when each key was first seen) instead of the survivors' log order."""

    snapshot_class = _KeyOrderSnapshot


class TornPublication(ListLog):
    """Log and index published as two attributes: the log first, the index once it is rebuilt.

    A reader between the two stores sees the new log with the old index. (Two plain stores in a row
    would rarely tear under CPython's GIL, which switches threads only at calls and backward jumps;
    here, as in real code, the index is computed between them.)
    """

    def __init__(self, *, clock: Callable[[], int] = time.time_ns) -> None:
        super().__init__(clock=clock)
        self._size, self._index = 0, {}

    def _load(self) -> tuple[int, dict[Any, int]]:
        return self._size, self._index

    def _append(self, size: int, records: list[Record]) -> dict[Any, int]:
        del self._events[size:]
        self._events.extend(records)
        self._size = size + len(records)  # the log is published here...
        try:
            index = dict(self._index)
            for offset, record in enumerate(records, size):
                self._fold(index, offset, record)
        except BaseException:
            self._size = size  # (a refused key still changes nothing)
            raise
        return index

    def _publish(self, size: int, index: dict[Any, int]) -> None:
        self._index = index  # ...and the index only now


class UnlockedWriter(ListLog):
    """Writers without the lock: two can append at the same offset and publish the same size."""

    def ingest(self, key: Any, value: Any, timestamp: Any = None) -> int:
        stamp = _timestamp(timestamp)
        _hashable(key)
        size = self._load()[0]
        record = (self._clock() if stamp is None else stamp, key, value)
        index = self._append(size, [record])
        self._publish(size + 1, index)
        return size


class BatchVisibleInPart(ListLog):
    """ingest_many checks every item first, then publishes them one by one."""

    def ingest_many(self, items: Iterable[Any]) -> range:
        batch = self._validate(items)
        offsets = [self.ingest(key, value, timestamp) for key, value, timestamp in batch]
        return range(offsets[0], offsets[-1] + 1) if offsets else range(len(self), len(self))


class RejectedBatchLeavesPartialWrite(ListLog):
    """No repair: a batch refused halfway (a hostile key) leaves its first items in the list."""

    def _append(self, size: int, records: list[Record]) -> dict[Any, int]:
        index = dict(self._state[1])
        for offset, record in enumerate(records, len(self._events)):
            self._events.append(record)
            self._fold(index, offset, record)
        return index


class _LiveSnapshot(ListSnapshot):
    def __init__(self, log: ListLog) -> None:
        self._log = log

    @property  # type: ignore[override]
    def _size(self) -> int:
        return self._log._state[0]

    @property  # type: ignore[override]
    def _index(self) -> dict[Any, int]:
        return self._log._state[1]

    @property  # type: ignore[override]
    def _events(self) -> list[Record]:
        return self._log._events


class SnapshotAliasesLiveLog(ListLog):
    """snapshot() returns a view of the live log, not of one version."""

    def snapshot(self) -> ListSnapshot:
        return _LiveSnapshot(self)


class _OffByOneSnapshot(ListSnapshot):
    def replay(self, since: int = 0) -> Iterator[Record]:
        since = _since(since)
        return iter(self._events[since + 1 if since else 0 : self._size])


class ReplaySinceOffByOne(ListLog):
    """replay(since) starts one event late when since > 0."""

    snapshot_class = _OffByOneSnapshot


class _NegativeIndexSnapshot(ListSnapshot):
    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, int) and -self._size <= index < 0:
            return self._events[index]  # the shared list: counts from ITS end, not the snapshot's
        return super().__getitem__(index)


class NegativeIndexWrong(ListLog):
    """snap[-i] counts from the end of the shared list, which grows after the snapshot."""

    snapshot_class = _NegativeIndexSnapshot


class AcceptsBoolTimestamp(ListLog):
    """A bool passes as a timestamp (``isinstance(True, int)``)."""

    def ingest(self, key: Any, value: Any, timestamp: Any = None) -> int:
        if isinstance(timestamp, bool):
            timestamp = int(timestamp)
        return super().ingest(key, value, timestamp)


class AcceptsFloatTimestamp(ListLog):
    """A float timestamp is accepted (truncated to an int)."""

    def ingest(self, key: Any, value: Any, timestamp: Any = None) -> int:
        if isinstance(timestamp, float) and timestamp.is_integer():
            timestamp = int(timestamp)
        return super().ingest(key, value, timestamp)


class _LastSnapshot(ListSnapshot):
    def latest(self, key: Any) -> Record | None:
        _hashable(key)
        for record in reversed(self._events[: self._size]):
            if record[1] == key:
                return record
        return None


class LatestIsLastIngested(ListLog):
    """latest(key) returns the key's last-ingested event, not its greatest timestamp."""

    snapshot_class = _LastSnapshot


class LenCountsCalls(ListLog):
    """len(log) counts ingest calls: a batch counts as one."""

    def __init__(self, *, clock: Callable[[], int] = time.time_ns) -> None:
        super().__init__(clock=clock)
        self._calls = 0

    def __len__(self) -> int:
        return self._calls

    def ingest(self, key: Any, value: Any, timestamp: Any = None) -> int:
        offset = super().ingest(key, value, timestamp)
        self._calls += 1
        return offset

    def ingest_many(self, items: Iterable[Any]) -> range:
        offsets = super().ingest_many(items)
        self._calls += 1 if offsets else 0
        return offsets


class LateBindingReplay(ListLog):
    """replay() is a generator that loads the published version at its first next()."""

    def replay(self, since: int = 0) -> Iterator[Record]:
        _since(since)

        def generate() -> Iterator[Record]:
            yield from self.snapshot().replay(since)

        return generate()


class StoresIntSubclass(ListLog):
    """An int-subclass timestamp is stored as given instead of as a plain int."""

    def ingest(self, key: Any, value: Any, timestamp: Any = None) -> int:
        offset = super().ingest(key, value, timestamp)
        if type(timestamp) is not int and timestamp is not None:
            with self._lock:
                self._events[offset] = (timestamp, key, value)
        return offset


class LockHeldAfterError(ListLog):
    """acquire()/release() without try/finally: an exception inside keeps the lock held."""

    def ingest(self, key: Any, value: Any, timestamp: Any = None) -> int:
        stamp = _timestamp(timestamp)
        self._lock.acquire()
        size = self._state[0]
        record = (self._clock() if stamp is None else stamp, key, value)
        index = self._append(size, [record])  # a key whose __eq__ raises escapes here
        self._state = (size + 1, index)
        self._lock.release()
        return size


class PublishesBeforeWriting(ListLog):
    """Publishes the new version, then writes the record: an interrupt in between leaves a hole."""

    def ingest(self, key: Any, value: Any, timestamp: Any = None) -> int:
        stamp = _timestamp(timestamp)
        _hashable(key)
        with self._lock:
            size, index = self._load()
            del self._events[size:]
            record = (self._clock() if stamp is None else stamp, key, value)
            index = dict(index)
            current = index.get(key)
            if current is None or record[0] >= self._events[current][0]:
                index[key] = size
            self._publish(size + 1, index)
            self._write(record)
        return size

    def _write(self, record: Record) -> None:
        self._events.append(record)


#: Every mutant, with the promise it breaks.
MUTANTS: dict[str, type[ListLog]] = {
    cls.__name__: cls
    for cls in (
        TiesKeptFirst,
        ShortlogInKeyOrder,
        TornPublication,
        UnlockedWriter,
        BatchVisibleInPart,
        RejectedBatchLeavesPartialWrite,
        SnapshotAliasesLiveLog,
        ReplaySinceOffByOne,
        NegativeIndexWrong,
        AcceptsBoolTimestamp,
        AcceptsFloatTimestamp,
        LatestIsLastIngested,
        LenCountsCalls,
        LateBindingReplay,
        StoresIntSubclass,
        LockHeldAfterError,
        PublishesBeforeWriting,
    )
}
