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
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pyrsistent import pvector

from ._checks import AnyRecord, Record, check_timestamp, raise_if_unhashable
from ._snapshot import Snapshot
from ._state import CHUNK, CHUNK_BITS, CHUNK_MASK, History, Version, record_at, survivor_offset

if TYPE_CHECKING:
    from .journal import JournaledLog

__all__ = ["EventLog"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_get_ident = threading.get_ident
_time_ns = time.time_ns


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
        TypeError: *clock* is not callable.
    """

    __slots__ = (
        "__weakref__",
        "_clock",
        "_dirty",
        "_head",
        "_histories",
        "_keys",
        "_lock",
        "_owner",
        "_slow",
        "_version",
    )

    def __init__(self, *, clock: Callable[[], int] = _time_ns) -> None:
        if not callable(clock):
            raise TypeError(f"clock must be callable, got {type(clock).__name__}")
        self._clock = clock
        self._lock = threading.Lock()
        # Shared with every snapshot; append-only below the published size.
        self._histories: dict[Any, History] = {}
        self._keys: list[History] = []
        # The one published reference readers load.
        self._version: Version = (0, pvector(), [])
        # Writer-private state, read and written under the lock only (but _owner, see _wait_turn).
        self._dirty = False  # a write raised before publishing; the next write repairs first
        self._slow = False  # the fast path must not run: see _update_slow
        self._head: Version | None = None  # a written but unpublished version, if any (journal)
        self._owner = 0  # the thread running user code under the lock, else 0

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
    ) -> JournaledLog[Any, Any]:
        """Open (or create) a log journaled to the file at *path*, recovering what it holds.

        O(n) to recover a journal of n events (offsets unchanged); then every accepted write
        appends one frame to the file before it is published. *fsync*: ``"always"`` (a write
        returns, and is seen, once on stable storage; concurrent writers share fsyncs),
        ``"interval"`` (an fsync at least every *interval* seconds) or ``"never"``. *codec*:
        ``"json"``, ``"msgpack"`` or ``"pickle"``. *on_corruption*: ``"raise"`` or ``"truncate"``
        (keep the frames before damage in the middle). The returned
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
        )

    def __repr__(self) -> str:
        return f"<cowlog.EventLog: {len(self)} events>"

    def __len__(self) -> int:
        """Return the number of events ingested so far. O(1), lock-free."""
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
            size, chunks, tail = self._version
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
                    chunks = chunks.append(tuple(tail))
                    tail = []
                tail.append((timestamp, key, value))
                # publish last: a reader must never see a half-built version
                self._version = (size + 1, chunks, tail)
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
            size, chunks, tail = self._version if self._head is None else self._head
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
                        chunks = chunks.append(tuple(tail))
                        tail = []
                    tail.append((timestamp, key, value))
                    offset += 1
                # publish last: the whole batch appears at once
                self._commit(size, (offset, chunks, tail))
            except BaseException:
                self._dirty = self._slow = True
                self._repair()
                raise
        finally:
            self._owner = 0
        return range(size, offset)

    def _commit(self, size: int, version: Version) -> None:
        """Make *version*, written past *size*, the published one. Lock held.

        The one place a written version becomes visible; a subclass that must do something first
        (write a journal frame) overrides it, and may raise to refuse the write: the caller then
        repairs the log back to *size*.
        """
        self._version = version

    def _update_slow(self) -> None:
        """Decide whether writes must take the general path. Lock held."""
        self._slow = self._dirty or self._head is not None

    def _repair(self) -> None:
        """Drop whatever an interrupted write left past the base version. Lock held.

        O(k) for k keys, plus O(log n) for each key the write touched. Runs in the except clause of
        a write that raised before publishing, and again on the next write if that was interrupted.
        No key is hashed or compared: the keys a write added are the dictionary's last-inserted
        entries and are removed with ``popitem``, so no key's behaviour can make the repair fail.
        """
        size, chunks, tail = self._version if self._head is None else self._head
        del tail[size - (len(chunks) << CHUNK_BITS) :]
        keys, histories = self._keys, self._histories
        while keys and keys[-1][1] >= size:
            keys.pop()
        while len(histories) > len(keys):  # new keys are the last inserted: no hashing needed
            histories.popitem()
        for history in keys:
            if history[-1] >= size:  # touched: writers append the offset before the timestamp
                del history[bisect_left(history, size, 1) :]
                history[0] = record_at(chunks, tail, history[-1])[0]
        self._dirty = False
        self._update_slow()

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
        return Snapshot(self._version, self._histories, self._keys)

    def replay(self, since: int = 0) -> Iterator[Record[K, V]]:
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
            size, chunks, tail = self._version
            assert type(self._version) is tuple and type(tail) is list
            assert all(type(c) is tuple and len(c) == CHUNK for c in chunks)
            assert len(tail) == size - (len(chunks) << CHUNK_BITS) <= CHUNK
            assert len(self._keys) == len(self._histories)
            records: list[AnyRecord] = [r for c in chunks for r in c] + tail
            assert all(type(r) is tuple and len(r) == 3 and type(r[0]) is int for r in records)
            survivors: dict[Any, int] = {}
            first: dict[Any, int] = {}
            for offset, (timestamp, key, _) in enumerate(records):
                first.setdefault(key, offset)
                if key not in survivors or timestamp >= records[survivors[key]][0]:
                    survivors[key] = offset
            assert sorted(first.values()) == [history[1] for history in self._keys]
            assert [id(h) for h in self._keys] == [id(h) for h in self._histories.values()]
            for key, history in self._histories.items():
                offsets = history[1:]
                assert offsets[0] == first[key] and offsets == sorted(set(offsets))
                assert offsets[-1] == survivors[key] == survivor_offset(history, size)
                assert history[0] == records[offsets[-1]][0]
