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

Two write paths, one rule. ``ingest`` has an inlined fast path for the common case (a ``str`` or
``int`` key, an ``int`` timestamp, nothing unusual about the log) that runs no code but CPython's
own under the lock. Everything else goes through ``_write``, the path ``ingest_many`` always takes:
it records the writing thread (so that user code it runs under the lock, a key's ``__hash__`` or
``__eq__``, the clock, a timestamp's ``__index__``, cannot re-enter the log and deadlock), and it
is where a dirty log is repaired and where future features (closing, followers, a journal) hook in
through the ``_slow`` flag, so that the fast path pays one attribute check for all of them.
"""

from __future__ import annotations

import os
import threading
import time
from bisect import bisect_left
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic

from . import _follow
from ._checks import (
    AnyRecord,
    K,
    LogClosedError,
    Record,
    V,
    check_max_events,
    check_offset,
    check_timestamp,
    raise_if_unhashable,
)
from ._snapshot import Snapshot
from ._state import (
    CHUNK,
    CHUNK_BITS,
    CHUNK_MASK,
    History,
    Sealed,
    Version,
    empty_sealed,
    record_at,
    survivor_offset,
)

if TYPE_CHECKING:
    from .journal import JournaledLog

__all__ = ["EventLog"]


_get_ident = threading.get_ident
_SLACK = 8 * CHUNK  # retention drops old events by at least this many at a time
_time_ns = time.time_ns
#: What fills the offsets of a restored log's first chunk below its first offset (`_start_at`).
_HIDDEN: AnyRecord = (0, object(), None)


def _offset_of(survivor: tuple[int, Any]) -> Any:
    return survivor[0] if type(survivor[0]) is int else -1  # a bad one is refused in order


class EventLog(Generic[K, V]):
    """A thread-safe, in-memory, append-only log of ``(timestamp, key, value)`` events.

    Any number of threads may call any method at any time. Writes (`ingest`,
    `ingest_many`) are linearizable: each takes effect at one instant between its call and its
    return, and returns the offsets it was given (0, 1, 2, ... in arrival order, like a Kafka
    offset or a Redis stream ID). Reads (`snapshot` and everything built on it) are lock-free and
    O(1) to start, see exactly the writes that took effect before one instant inside the call, and
    hand out the stored records themselves: exact tuples ``(timestamp, key, value)``
    (annotate them as `cowlog.Record`).

    Args:
        clock: called (under the writer lock, so its values follow arrival order if it is
            monotonic) for the timestamp of an event ingested with ``timestamp=None``; must return
            an integer. Default: `time.time_ns`.
        max_events: keep at least the newest *max_events* events for replay and drop older ones
            in whole chunks of 1,024 as the log grows (see `trim`), at most
            ``max(8,192, 4 x keys) + 1,024`` events beyond *max_events* at a time; offsets never
            change, and the shortlog and `latest` stay complete. Default: ``None``, keep
            everything.

    Examples:
        >>> log = EventLog()
        >>> log.ingest("disk", "full", 10)
        0
        >>> log.ingest("cpu", "hot", 12)
        1
        >>> log.ingest("disk", "ok", 15)
        2
        >>> list(log.shortlog())
        [(12, 'cpu', 'hot'), (15, 'disk', 'ok')]
        >>> len(log)
        3

    Raises:
        TypeError: *clock* is not callable, or *max_events* not an integer.
        ValueError: *max_events* is below 1.
    """

    __slots__ = (
        "__weakref__",
        "_clock",
        "_closed",
        "_dirty",
        "_gate",
        "_head",
        "_histories",
        "_keys",
        "_lock",
        "_max_events",
        "_owner",
        "_slow",
        "_trim_due",
        "_version",
        "_wakers",
    )

    def __init__(
        self, *, clock: Callable[[], int] = _time_ns, max_events: int | None = None
    ) -> None:
        if not callable(clock):
            raise TypeError(f"clock must be callable, got {type(clock).__name__}")
        max_events = check_max_events(max_events)
        self._clock = clock
        self._max_events = max_events
        self._trim_due = False  # retention wants the next write to drop old chunks first
        self._lock = threading.Lock()
        # The one published reference readers load.
        self._version: Version = (0, empty_sealed(), [])
        # The writers' shortlog index: the published version's (see _state); append-only below
        # the published size.
        self._histories: dict[Any, History] = self._version[1].histories
        self._keys: list[History] = self._version[1].keys
        # Writer-private state, read and written under the lock only (but _owner, see _wait_turn).
        self._dirty = False  # a write raised before publishing; the next write repairs first
        self._slow = False  # the fast path must not run: see _update_slow
        self._head: Version | None = None  # a written but unpublished version, if any (journal)
        self._owner = 0  # the thread running user code under the lock, else 0
        self._closed = False
        # Followers waiting for the next write (see _follow): a held lock, and one waker per loop.
        self._gate: Any = None
        self._wakers: dict[Any, _follow.LoopWaker] = {}

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        fsync: str = "interval",
        interval: float = 1.0,
        codec: str = "json",
        on_corruption: str = "raise",
        clock: Callable[[], int] = _time_ns,
        max_events: int | None = None,
    ) -> JournaledLog[Any, Any]:
        """Open (or create) a log journaled to the file at *path*, recovering what it holds.

        O(n) to recover a journal of n events (offsets unchanged); then every accepted write
        appends one frame to the file before it is published. *fsync*: ``"always"`` (a write
        returns, and is seen, once on stable storage; concurrent writers share fsyncs),
        ``"interval"`` (an fsync at least every *interval* seconds) or ``"never"``. *codec*:
        ``"json"``, ``"msgpack"`` or ``"pickle"``. *on_corruption*: ``"raise"`` or ``"truncate"``
        (keep the frames before damage in the middle). *max_events*: retention, as for
        ``EventLog(max_events=...)``; the file then compacts itself in the background once it
        holds more than twice what the log retains (`compact` does it at will). The returned
        [`JournaledLog`][cowlog.journal.JournaledLog] is an `EventLog` with ``sync()``,
        ``compact()``, ``close()`` and ``recovery``; docs/journal.md has the promises. The journal
        module is imported by this call, not by ``import cowlog``.

        Examples:
            >>> import os, tempfile
            >>> path = os.path.join(tempfile.mkdtemp(), "events.journal")
            >>> with EventLog.open(path, fsync="always") as log:
            ...     log.ingest("boot", "ok", 1)
            0
            >>> with EventLog.open(path) as log:
            ...     list(log.replay()), log.recovery.events
            ([(1, 'boot', 'ok')], 1)

        Raises:
            ValueError: an unknown *fsync*, *codec* or *on_corruption* (the message lists the
                choices), *interval* not a positive number, or a journal of another codec.
            JournalFormatError: the file is not a journal (a ``ValueError``); nothing changed.
            JournalCorruptError: damage in the middle (a ``ValueError``); nothing changed.
            JournalLockedError: the journal is open already (a ``BlockingIOError``).
            IsADirectoryError: *path* is a directory.
        """
        from .journal import JournaledLog

        return JournaledLog(
            path,
            fsync=fsync,
            interval=interval,
            codec=codec,
            on_corruption=on_corruption,
            clock=clock,
            max_events=max_events,
        )

    def __repr__(self) -> str:
        first = self.first_offset
        trimmed = f", from offset {first}" if first else ""
        closed = ", closed" if self._closed else ""
        return f"<cowlog.EventLog: {len(self)} events{trimmed}{closed}>"

    def __len__(self) -> int:
        """Return the number of retained events (all ingested ones, unless trimmed). O(1).

        Lock-free. The same as ``len(log.snapshot())``: ``next_offset - first_offset``.
        """
        size, sealed, _ = self._version
        return size - sealed.first

    @property
    def first_offset(self) -> int:
        """The offset of the oldest retained event: how many events were dropped so far. O(1).

        Examples:
            >>> log = EventLog(max_events=2000)
            >>> log.ingest_many([("k", i, i) for i in range(12_000)])
            range(0, 12000)
            >>> log.ingest("k", 0, 0)  # dropped in whole chunks, a few thousand at a time
            12000
            >>> log.first_offset, len(log)
            (9216, 2785)
        """
        return self._version[1].first

    @property
    def next_offset(self) -> int:
        """The offset the next event will get: how many events were ever ingested. O(1).

        Examples:
            >>> log = EventLog()
            >>> log.next_offset, log.ingest("a", 1, 1), log.next_offset
            (0, 0, 1)
        """
        return self._version[0]

    # -- writers ---------------------------------------------------------------------------------

    def ingest(self, key: K, value: V, timestamp: int | None = None) -> int:
        """Append one event and return its offset.

        Amortized O(1) (O(log n) once per 1,024 events, to seal a chunk). Thread-safe: writers
        serialize on one lock held for a few dictionary and list operations; readers are never
        blocked. The event is visible to every snapshot taken after this call returns, at the
        returned offset: ``log.snapshot()[offset]``.

        Args:
            key: the event type; any hashable object.
            value: the payload, stored by reference.
            timestamp: an integer (anything `operator.index` accepts but ``bool``, stored as an
                exact ``int``); ``None`` (the default) takes the clock's value.

        Examples:
            >>> log = EventLog(clock=lambda: 42)
            >>> log.ingest("boot", {"ok": True})
            0
            >>> log.latest("boot")
            (42, 'boot', {'ok': True})

        Raises:
            TypeError: *timestamp* is not an integer or None (``bool`` and ``float`` are refused),
                the clock returned something else, or *key* is not hashable.
            RuntimeError: the call was made from inside a write to the same log (a key's
                ``__hash__`` or ``__eq__``, or the clock, writing to the log it is used by). Every
                refused call leaves the log unchanged.
        """
        if type(timestamp) is not int:
            if timestamp is not None:
                timestamp = check_timestamp(timestamp, "timestamp")
            elif self._clock is not _time_ns:
                return self._write_one(key, value, None)  # the clock may run Python code
        if type(key) is not str and type(key) is not int:
            return self._write_one(key, value, timestamp)  # its hash may run Python code
        if self._owner:  # some thread runs user code under the lock: is it this one?
            self._refuse_reentry()
        with self._lock:
            if self._slow:
                return self._write([(key, value, timestamp)], True).start
            size, sealed, tail = self._version
            if timestamp is None:
                timestamp = _time_ns()  # under the lock: timestamps follow arrival order
            history = self._histories.get(key)
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
                    sealed = self._seal(size, sealed, tail)
                    tail = []
                tail.append((timestamp, key, value))
                # publish last: a reader must never see a half-built version
                self._version = (size + 1, sealed, tail)
            except BaseException:
                self._dirty = self._slow = True  # plain stores: nothing can interrupt them
                self._repair()  # if this is interrupted in turn, the next write repairs
                raise
        return size

    def ingest_many(self, items: Iterable[tuple[K, V, int | None]]) -> range:
        """Append a batch of ``(key, value, timestamp)`` items, all at once; return their offsets.

        All or nothing: the whole batch becomes visible at one instant (no snapshot shows part of
        it), or, if any item is refused, none of it ever does. O(m) for m items; a refused batch
        costs O(k) more for k keys, to undo what it wrote past the published version. Items whose
        timestamp is ``None`` share one clock reading. The returned range holds the batch's
        offsets (``len()`` of it is the count); an empty batch returns an empty range at the
        log's length.

        Note the item order is the one `ingest` takes, *not* the ``(timestamp, key, value)``
        order of a record.

        Examples:
            >>> log = EventLog()
            >>> log.ingest_many([("a", 1, 10), ("b", 2, 11), ("a", 3, 9)])
            range(0, 3)
            >>> log.latest("a")
            (10, 'a', 1)

        Raises:
            TypeError: *items* is not iterable; an item is not a ``(key, value, timestamp)`` tuple
                or list, its timestamp is not an integer or None, or its key is not hashable. The
                message names the item's index.
            ValueError: an item has the wrong length.
            RuntimeError: the call was made from inside a write to the same log. Every refused
                call leaves the log unchanged.
        """
        # Materialized first: a generator must not run (or call back into the log) under the lock.
        if type(items) is list:
            batch = items
        else:
            try:
                batch = list(items)
            except TypeError:
                if not isinstance(items, Iterable):
                    raise TypeError(
                        f"items must be an iterable of (key, value, timestamp) tuples, "
                        f"got {type(items).__name__}"
                    ) from None
                raise
        if self._owner:
            self._refuse_reentry()
        with self._lock:
            return self._write(batch, False)

    def _write_one(self, key: K, value: V, timestamp: int | None) -> int:
        """`ingest` through the general path: a key whose hash may run Python code, the clock."""
        if self._owner:
            self._refuse_reentry()
        with self._lock:
            return self._write([(key, value, timestamp)], True).start

    def _refuse_reentry(self) -> None:
        """Raise RuntimeError if this thread is inside a write to this log; else return.

        ``_owner`` is set only by ``_write``, while it may run user code under the lock, and only
        ever to the ident of the thread holding the lock; so the current thread finds its own
        ident there exactly when it is re-entering a write it is already in (and would otherwise
        deadlock on the lock it holds). Another thread's ident means: wait your turn.
        """
        if self._owner == _get_ident():
            raise RuntimeError(
                f"re-entrant write to {self!r}: a key's __hash__/__eq__, the clock or a "
                "timestamp's __index__ wrote to the log it is being written to; "
                "the log is unchanged"
            )

    def _write(self, batch: list[Any], single: bool) -> range:
        """Check and append *batch* in one pass, then publish it at once. Lock held.

        The general write path: `ingest_many`, and `ingest` when the fast path does not apply.
        *single*: the batch is one `ingest` call's event (errors name its arguments, not items).
        """
        try:
            self._owner = _get_ident()  # in the try: the finally always clears it
            if self._dirty:
                self._repair()
            if self._closed:
                raise LogClosedError(f"{self!r}: the log is closed, nothing was written")
            if self._trim_due:
                self._retain()
            size, sealed, tail = self._version if self._head is None else self._head
            histories, keys = self._histories, self._keys
            now = None
            offset = size
            try:
                # Checked and written in one pass: all of it lies past the published size, so an
                # item that fails leaves nothing visible, and the repair below undoes the rest.
                for item in batch:
                    if type(item) is not tuple and not isinstance(item, (tuple, list)):
                        raise TypeError(
                            f"items[{offset - size}] must be a (key, value, timestamp) "
                            f"tuple, got {type(item).__name__}"
                        )
                    try:
                        key, value, timestamp = item
                    except ValueError:
                        raise ValueError(
                            f"items[{offset - size}] must have 3 fields (key, value, timestamp), "
                            f"got {len(item)}"
                        ) from None
                    if type(timestamp) is not int:
                        if timestamp is not None:
                            name = "timestamp" if single else f"items[{offset - size}] timestamp"
                            timestamp = check_timestamp(timestamp, name)
                        else:
                            if now is None:  # one clock reading for the whole batch
                                now = check_timestamp(self._clock(), "clock()")
                            timestamp = now
                    try:
                        history = histories.get(key)
                    except TypeError as exc:
                        raise_if_unhashable(
                            key, "key" if single else f"items[{offset - size}] key", exc
                        )
                        raise
                    if history is None:
                        history = [timestamp, offset]
                        histories[key] = history
                        keys.append(history)
                    elif timestamp >= history[0]:  # ties go to the later arrival
                        history.append(offset)  # first: see ingest
                        history[0] = timestamp
                    if not offset & CHUNK_MASK and offset:  # the tail is full: seal it
                        sealed = self._seal(offset, sealed, tail)
                        tail = []
                    tail.append((timestamp, key, value))
                    offset += 1
                # publish last: the whole batch appears at once
                self._commit(size, (offset, sealed, tail))
            except BaseException:
                self._dirty = self._slow = True
                self._repair()
                raise
        finally:
            self._owner = 0
        return range(size, offset)

    def _extend(self, records: list[Any]) -> range:
        """Append *records*, ``(timestamp, key, value)`` tuples, as one batch, storing them as is.

        `ingest_many` for records already in a record's shape: what recovering a journal or
        loading a dump reads (`cowlog.journal`), at about two thirds of `ingest_many`'s cost, as no
        tuple is made per event. The same checks on what it stores (an exact ``tuple`` of three,
        an ``int`` timestamp, a hashable key), all or nothing, the same offsets.

        Raises:
            TypeError: a record is not such a tuple, or its key is not hashable (the message names
                its index). Nothing is appended.
            LogClosedError: the log is closed.
        """
        if self._owner:
            self._refuse_reentry()
        with self._lock:
            try:
                self._owner = _get_ident()
                if self._dirty:
                    self._repair()
                if self._closed:
                    raise LogClosedError(f"{self!r}: the log is closed, nothing was written")
                if self._trim_due:
                    self._retain()
                size, sealed, tail = self._version if self._head is None else self._head
                histories, keys = self._histories, self._keys
                offset = size
                try:
                    for record in records:  # the loop of _write, less the reshaping
                        if (
                            type(record) is not tuple
                            or len(record) != 3
                            or type(record[0]) is not int
                        ):
                            raise TypeError(
                                f"records[{offset - size}] must be a (timestamp, key, value) tuple "
                                f"with an int timestamp, got {record!r:.80}"
                            )
                        timestamp, key, _ = record
                        try:
                            history = histories.get(key)
                        except TypeError as exc:
                            raise_if_unhashable(key, f"records[{offset - size}] key", exc)
                            raise
                        if history is None:
                            history = [timestamp, offset]
                            histories[key] = history
                            keys.append(history)
                        elif timestamp >= history[0]:  # ties go to the later arrival
                            history.append(offset)  # first: see ingest
                            history[0] = timestamp
                        if not offset & CHUNK_MASK and offset:  # the tail is full: seal it
                            sealed = self._seal(offset, sealed, tail)
                            tail = []
                        tail.append(record)
                        offset += 1
                    self._commit(size, (offset, sealed, tail))
                except BaseException:
                    self._dirty = self._slow = True
                    self._repair()
                    raise
            finally:
                self._owner = 0
        return range(size, offset)

    def _seal(self, size: int, sealed: Sealed, tail: list[AnyRecord]) -> Sealed:
        """Return *sealed* with the full *tail* appended as a chunk. Lock held; once per 1,024.

        With ``max_events``, also notes when enough old events can go: the next write then drops
        them first (`_retain`), so that this write stays O(log n).
        """
        sealed = sealed._replace(chunks=sealed.chunks.append(tuple(tail)))
        limit = self._max_events
        if limit is not None and size - sealed.first - limit >= max(_SLACK, 4 * len(self._keys)):
            # Wait until 8 chunks, and at least four events per key, can go: the index compaction
            # that dropping needs costs O(keys), so this keeps retention amortized O(1) per event
            # (a few hundredths of a microsecond) at the price of that much extra memory.
            self._trim_due = self._slow = True
        return sealed

    def _retain(self) -> None:
        """Drop the whole chunks ``max_events`` no longer needs. Lock held, before a write."""
        self._trim_due = False
        limit = self._max_events
        if limit is not None and self._head is None:
            self._trim_to((self._version[0] - limit) >> CHUNK_BITS << CHUNK_BITS)
        self._update_slow()

    def _trim_to(self, before: int) -> int:
        """Drop every event below offset *before* and publish; return how many. Lock held.

        Whole chunks below *before* are released; the survivors among their records move to
        ``kept``, and the shortlog index is compacted (one history entry per key) so that its
        memory is O(keys). Published versions keep their own chunks and index, untouched.
        """
        size, sealed, tail = self._version
        if before <= sealed.first:
            return 0
        drop = min((before >> CHUNK_BITS) - sealed.base, len(sealed.chunks))
        if drop <= 0:  # nothing to release: only the first offset moves
            self._version = (size, sealed._replace(first=before), tail)
            return before - sealed.first
        end = (sealed.base + drop) << CHUNK_BITS  # offsets below this are released
        kept = {}
        for history in sealed.keys:  # no key is hashed: this cannot fail on a hostile key
            last = history[-1]
            if last < end:
                kept[last] = record_at(sealed, tail, last)
        histories, keys, pinned = sealed.histories, sealed.keys, sealed.pinned
        try:
            # A new index, one entry per key; the old one stays with the versions that read it.
            histories = {key: [history[0], history[-1]] for key, history in histories.items()}
            keys, pinned = list(histories.values()), len(histories)
        except Exception:  # a key whose hash changed or raises: keep the index as it is
            histories, keys, pinned = sealed.histories, sealed.keys, sealed.pinned
        self._histories, self._keys = histories, keys
        chunks = sealed.chunks[drop:]
        self._version = (
            size,
            Sealed(before, sealed.base + drop, chunks, histories, keys, pinned, kept),
            tail,
        )
        return before - sealed.first

    def _start_at(self, first: int, survivors: Iterable[tuple[int, AnyRecord]]) -> None:
        """Make this new, empty log one that was trimmed below *first*; O(k + CHUNK) for k keys.

        What `trim` leaves, rebuilt without the dropped events: the next event gets offset
        *first*, and each ``(offset, record)`` of *survivors* (offsets below *first*, one per key)
        is its key's survivor, as `trim` keeps them. For a journal that was compacted or a
        snapshot that was dumped (`cowlog.journal`); the log must not be shared yet.

        Raises:
            ValueError: the log is not empty, or a survivor's offset is not below *first* or is
                repeated, or its key repeats a key.
            TypeError: an offset or timestamp is not an ``int``, or a record not a 3-tuple.
        """
        size, sealed, _ = self._version
        if size or self._keys:
            raise ValueError(f"{self!r}: only an empty log can start at an offset")
        first = check_offset(first, "first")
        # The open chunk is the one holding offset first - 1, so that the write at a chunk's
        # boundary seals a full one. Its offsets below first are hidden (below first_offset):
        # nothing reads them but a survivor's record, which goes in its place.
        base = (first - 1) >> CHUNK_BITS if first else 0
        start = base << CHUNK_BITS
        tail: list[AnyRecord] = [_HIDDEN] * (first - start)
        histories: dict[Any, History] = {}
        kept: dict[int, AnyRecord] = {}
        for offset, record in sorted(survivors, key=_offset_of):
            if type(offset) is not int or not 0 <= offset < first:
                raise ValueError(f"a survivor's offset must be an int in [0, {first}): {offset!r}")
            if type(record) is not tuple or len(record) != 3 or type(record[0]) is not int:
                raise TypeError(f"a survivor must be a (timestamp, key, value) tuple: {record!r}")
            if offset in kept or (offset >= start and tail[offset - start] is not _HIDDEN):
                raise ValueError(f"two survivors at offset {offset}")
            key = record[1]
            try:
                repeated = key in histories
            except TypeError as exc:
                raise_if_unhashable(key, "a survivor's key", exc)
                raise
            if repeated:
                raise ValueError(f"two survivors of key {key!r}")
            histories[key] = [record[0], offset]
            if offset >= start:
                tail[offset - start] = record
            else:
                kept[offset] = record
        keys = list(histories.values())
        self._histories, self._keys = histories, keys
        self._version = (
            first,
            Sealed(first, base, sealed.chunks, histories, keys, len(keys), kept),
            tail,
        )

    def trim(self, before: int) -> int:
        """Drop every event with an offset below *before* now; return how many were dropped.

        Like Redis' ``XTRIM MINID``. Offsets never change; `replay` and indexing start at the new
        `first_offset`; `shortlog` and `latest` stay exactly what they were (each key's survivor
        is kept, as Kafka's compaction keeps the last record per key). Snapshots taken before
        keep showing everything they showed. O(k + n/1,024) for k keys and n retained events.

        Examples:
            >>> log = EventLog()
            >>> log.ingest_many([("a", "old", 1), ("b", "x", 2), ("a", "new", 3)])
            range(0, 3)
            >>> log.trim(before=2), log.first_offset, list(log.replay())
            (2, 2, [(3, 'a', 'new')])
            >>> list(log.shortlog())
            [(2, 'b', 'x'), (3, 'a', 'new')]

        Raises:
            TypeError: *before* is not an integer.
            ValueError: *before* is negative or beyond `next_offset`. Nothing is dropped.
        """
        before = check_offset(before, "before")
        if self._owner:
            self._refuse_reentry()
        with self._lock:
            try:
                self._owner = _get_ident()  # compacting the index hashes keys
                if self._dirty:
                    self._repair()
                size = self._version[0]
                if before > size:
                    raise ValueError(f"before must be <= next_offset ({size}), got {before}")
                if self._head is not None:
                    raise RuntimeError("cannot trim while journal writes are being made durable")
                return self._trim_to(before)
            finally:
                self._owner = 0

    def _commit(self, size: int, version: Version) -> None:
        """Make *version*, written past *size*, the published one. Lock held.

        The one place a written version becomes visible; a subclass that must do something first
        (write a journal frame) overrides it, and may raise to refuse the write: the caller then
        repairs the log back to *size*.
        """
        self._publish(version)

    def _publish(self, version: Version) -> None:
        """Store *version* for readers (one reference store), then wake waiting followers."""
        self._version = version
        if self._gate is not None or self._wakers:
            self._wake()

    def _wake(self) -> None:
        """Wake every waiting follower: O(1) for threads, one callback per asyncio loop."""
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.release()  # the first waiter to get it passes it on: see _follow
        wakers, self._wakers = self._wakers, {}
        for waker in wakers.values():
            waker.wake()
        self._update_slow()

    def _update_slow(self) -> None:
        """Decide whether writes must take the general path. Lock held."""
        self._slow = (
            self._dirty
            or self._trim_due
            or self._closed
            or self._head is not None
            or self._gate is not None
            or bool(self._wakers)
        )

    def _repair(self) -> None:
        """Drop whatever an interrupted write left past the base version. Lock held.

        O(k) for k keys, plus O(log n) for each key the write touched. Runs in the except clause of
        a write that raised before publishing, and again on the next write if that was interrupted.
        No key is hashed or compared: the keys a write added are the dictionary's last-inserted
        entries and are removed with ``popitem``, so no key's behaviour can make the repair fail.
        """
        size, sealed, tail = self._version if self._head is None else self._head
        del tail[size - ((sealed.base + len(sealed.chunks)) << CHUNK_BITS) :]
        self._histories, self._keys = histories, keys = sealed.histories, sealed.keys
        while len(keys) > sealed.pinned and keys[-1][1] >= size:
            keys.pop()
        while len(histories) > len(keys):  # new keys are the last inserted: no hashing needed
            histories.popitem()
        for history in keys:
            if history[-1] >= size:  # touched: writers append the offset before the timestamp
                del history[bisect_left(history, size, 1) :]
                history[0] = record_at(sealed, tail, history[-1])[0]
        self._dirty = False
        self._update_slow()

    # -- closing ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Refuse further writes and end every follower once it has read everything.

        Writes after this raise `LogClosedError` and change nothing; reads, snapshots and held
        iterators keep working; each follower yields what was ingested before the close, then
        ends. Closing twice is harmless. O(1) plus one wake-up per waiting loop.

        Examples:
            >>> with EventLog() as log:
            ...     log.ingest("a", 1, 1)
            0
            >>> log.closed, list(log.replay())
            (True, [(1, 'a', 1)])
        """
        if self._owner:
            self._refuse_reentry()
        with self._lock:
            self._closed = True
            self._wake()  # also sets _slow: a write now takes the path that refuses it

    @property
    def closed(self) -> bool:
        """Whether `close` was called. O(1), lock-free.

        Examples:
            >>> log = EventLog()
            >>> log.closed, log.close(), log.closed
            (False, None, True)
        """
        return self._closed

    def __enter__(self) -> EventLog[K, V]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- followers -------------------------------------------------------------------------------

    def follow(
        self, since: int | None = None, *, timeout: float | None = None
    ) -> Iterator[Record[K, V]]:
        """Yield the records from offset *since* on, then wait for more, until the log closes.

        Every record exactly once, in offset order, with no gap, whatever the writers do; a batch
        is never seen in part. A backlog is read at replay speed (records pass in C, a chunk at a
        time); then the iterator blocks until the next write. It ends after the last record
        ingested before `close`, or when no new record arrived for *timeout* seconds. A follower
        keeps only its position: it never slows a writer, and a waiting follower costs a write
        O(1). Safe from any thread; each iterator is for one thread.

        Examples:
            >>> log = EventLog()
            >>> log.ingest_many([("a", 1, 1), ("b", 2, 2)])
            range(0, 2)
            >>> follower = log.follow(since=1)
            >>> next(follower)
            (2, 'b', 2)
            >>> log.close()
            >>> list(follower)
            []

        Raises:
            TypeError: *since* is not an integer or *timeout* not a number (raised at the call).
            ValueError: *since* is negative, or *timeout* negative or NaN. An offset past the end
                is allowed: the follower waits for it.
            TrimmedError: the follower's next offset was dropped by retention (raised by
                ``next()``; the error carries the oldest retained offset). ``None`` (the default)
                starts at the oldest retained event.
        """
        return _follow.follow(self, since, timeout)

    def afollow(
        self, since: int | None = None, *, timeout: float | None = None
    ) -> AsyncIterator[Record[K, V]]:
        """The same as `follow`, for ``async for`` under asyncio, never blocking the event loop.

        O(1) to start; records then come one ``await`` at a time (a backlog is read from
        snapshots, never one wake-up per record). Works from any number of event loops in any
        threads. A write wakes each loop with waiting
        followers once (``call_soon_threadsafe``), never once per follower; cancelling the task
        that iterates removes its waiter.

        Examples:
            >>> import asyncio
            >>> log = EventLog()
            >>> log.ingest("a", 1, 1)
            0
            >>> async def consume():
            ...     return [record async for record in log.afollow(timeout=0.01)]
            >>> asyncio.run(consume())
            [(1, 'a', 1)]

        Raises:
            TypeError: *since* is not an integer or *timeout* not a number (raised at the call).
            ValueError: *since* is negative, or *timeout* negative or NaN.
            TrimmedError: as for `follow`.
        """
        return _follow.afollow(self, since, timeout)

    # -- readers ---------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot[K, V]:
        """Return a consistent, immutable view of the log as it is now.

        O(1) whatever the log's size; lock-free: never blocks and is never blocked. The snapshot
        shows exactly the writes that returned before this call, possibly some that were under way
        during it (each whole or not at all), and nothing later.

        Examples:
            >>> log = EventLog()
            >>> log.ingest("a", 1, 1)
            0
            >>> snap = log.snapshot()
            >>> log.ingest("b", 2, 2)
            1
            >>> len(snap), len(log)
            (1, 2)
        """
        return Snapshot(self._version)

    def replay(self, since: int | None = None) -> Iterator[Record[K, V]]:
        """Yield the records from offset *since* on, in arrival order, as of now.

        The same as ``log.snapshot().replay(since)``: O(log n) to find *since*, then O(1) per
        record, in C; lock-free; events ingested after the call are not yielded.

        Examples:
            >>> log = EventLog()
            >>> log.ingest_many([("a", 1, 1), ("b", 2, 2)])
            range(0, 2)
            >>> for ts, key, value in log.replay(since=1):
            ...     print(ts, key, value)
            2 b 2

        Raises:
            TypeError: *since* is not an integer.
            ValueError: *since* is negative.
            TrimmedError: *since* is below `first_offset`: see `Snapshot.replay`.
        """
        return self.snapshot().replay(since)

    def shortlog(self) -> Iterator[Record[K, V]]:
        """Yield the most recent record of each key, in log order, as of now.

        The same as ``log.snapshot().shortlog()``: for each key, the event with the greatest
        timestamp, ties going to the later arrival. O(k log k) for k keys; lock-free.

        Examples:
            >>> log = EventLog()
            >>> log.ingest_many([("a", "first", 5), ("b", "x", 1), ("a", "tie", 5)])
            range(0, 3)
            >>> list(log.shortlog())
            [(1, 'b', 'x'), (5, 'a', 'tie')]
        """
        return self.snapshot().shortlog()

    def latest(self, key: K) -> Record[K, V] | None:
        """Return the most recent record of *key* (see `shortlog`), or ``None``.

        O(log n); lock-free.

        Examples:
            >>> log = EventLog()
            >>> log.ingest("a", "new", 5); log.ingest("a", "old", 4)
            0
            1
            >>> log.latest("a"), log.latest("b")
            ((5, 'a', 'new'), None)

        Raises:
            TypeError: *key* is not hashable.
        """
        return self.snapshot().latest(key)

    # -- invariants ------------------------------------------------------------------------------

    def _check(self) -> None:
        """Assert every internal invariant, by brute force. O(n); for tests."""
        with self._lock:
            assert not self._dirty, "an interrupted write was not repaired"
            assert self._owner == 0, "a write left its owner mark"
            size, sealed, tail = self._version
            assert type(self._version) is tuple and type(tail) is list
            assert type(sealed) is Sealed and 0 <= sealed.base << CHUNK_BITS <= sealed.first <= size
            assert all(type(c) is tuple and len(c) == CHUNK for c in sealed.chunks)
            tail_start = (sealed.base + len(sealed.chunks)) << CHUNK_BITS
            assert len(tail) == size - tail_start <= CHUNK
            assert sealed.histories is self._histories and sealed.keys is self._keys
            assert len(self._keys) == len(self._histories) >= sealed.pinned
            assert [id(h) for h in self._keys] == [id(h) for h in self._histories.values()]
            assert all(offset < sealed.base << CHUNK_BITS for offset in sealed.kept)
            start = sealed.base << CHUNK_BITS
            records: list[AnyRecord] = [r for c in sealed.chunks for r in c] + tail
            assert all(type(r) is tuple and len(r) == 3 and type(r[0]) is int for r in records)
            first_seen: dict[Any, int] = {}
            for offset, (_, key, _) in enumerate(records, start):
                first_seen.setdefault(key, offset)
            hidden = {o for o, r in enumerate(records, start) if r is _HIDDEN}
            assert all(o < sealed.first for o in hidden)  # only a restored log has them
            firsts = [history[1] for history in self._keys[sealed.pinned :]]
            assert firsts == sorted(firsts)  # keys not compacted: in first-seen order
            for key, history in self._histories.items():
                offsets = history[1:]
                assert offsets == sorted(set(offsets)) and offsets[-1] < size
                survivor = survivor_offset(history, size)
                assert survivor == offsets[-1]
                record = record_at(sealed, tail, survivor)
                assert record[1] == key and record[0] == history[0]
            for history in self._keys[sealed.pinned :]:  # not compacted: item 1 is the first
                if history[1] >= start:
                    assert history[1] == first_seen[record_at(sealed, tail, history[1])[1]]
            for offset, (timestamp, key, _) in enumerate(records, start):
                if offset in hidden:
                    continue
                survivor = self._histories[key][-1]
                survivor_timestamp = self._histories[key][0]
                # the rule, over every retained event: nothing later ties or beats the survivor
                assert timestamp <= survivor_timestamp if offset < survivor else True
                assert timestamp < survivor_timestamp if offset > survivor else True
