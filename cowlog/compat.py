"""The seed service's API, ``logger_service``, on top of [`EventLog`][cowlog.EventLog].

Switch by changing one import: ``from cowlog.compat import logger_service``.

The class keeps the seed's name, constructor and methods; every event goes to one
[`EventLog`][cowlog.EventLog], so the shim has the log's guarantees and none of the seed's defects
(no copy limits, no data races, no O(n) copies under a lock). Where cowlog's rules differ from what
the seed did, the rules win; docs/compat.md lists each difference. The only state the shim keeps
itself is the greatest timestamp it has been given, which an event without a timestamp takes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Hashable, Iterable
from operator import index
from typing import Any

from ._log import EventLog

__all__ = ["logger_service"]

#: What the shim's replay() and shortlog() yield: the seed's ``(timestamp, key, value)`` tuple.
Triple = tuple[int, Hashable, Any]


class logger_service:  # the seed's name, kept so that switching is a one-line import change
    """A drop-in for the seed's ``logger_service``, built on one [`EventLog`][cowlog.EventLog].

    Any number of threads may call any method at any time. ``ingest`` is linearizable;
    ``replay`` and ``shortlog`` each read one O(1), lock-free snapshot taken when they are called,
    and never raise for lack of copies, however many generators are abandoned. The object is an
    ordinary one: it can be weakly referenced, given attributes, and patched in tests
    (``unittest.mock.patch.object(service, "ingest")``).

    Args:
        clock: optional; an event ingested with ``timestamp=None`` takes the greater of the
            clock's value and the greatest timestamp seen so far. Pass one only if it counts in
            the unit your own timestamps use (say ``lambda: time.time_ns() // 1_000_000`` for
            milliseconds). Without it, such an event takes the greatest timestamp seen so far
            (0 before any): see docs/compat.md.

    Examples:
        >>> service = logger_service()
        >>> service.ingest("disk", "full", 10)
        >>> service.ingest("disk", "ok", 15)
        >>> list(service.replay())
        [(10, 'disk', 'full'), (15, 'disk', 'ok')]
        >>> list(service.shortlog())
        [(15, 'disk', 'ok')]
        >>> service
        <cowlog.compat.logger_service: 2 events, greatest timestamp 15>
    """

    def __init__(self, *, clock: Callable[[], int] | None = None) -> None:
        if clock is not None and not callable(clock):
            raise TypeError(f"clock must be callable or None, got {type(clock).__name__}")
        self._log: EventLog[Hashable, Any] = EventLog()
        self._clock = clock
        self._greatest: int | None = None  # the greatest timestamp ingested through the shim
        # Serializes the shim's ingests so that "the greatest seen so far" is read and updated
        # in arrival order. Writers serialize on the log's own lock anyway, so this costs no
        # concurrency. Re-entrant: a key whose __hash__ writes to the service reaches the log,
        # which refuses the nested write, instead of deadlocking here.
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        greatest = "none yet" if self._greatest is None else str(self._greatest)
        return (
            f"<cowlog.compat.logger_service: {len(self._log)} events, greatest timestamp "
            f"{greatest}>"
        )

    @property
    def log(self) -> EventLog[Hashable, Any]:
        """The [`EventLog`][cowlog.EventLog] behind the shim, for code that migrates step by step.

        O(1). Use it to read a replay and a shortlog from one instant
        (``service.log.snapshot()``), to replay from an offset, or to look up one key with
        ``latest``. Events ingested through ``service.log`` directly bypass the shim: the
        ``timestamp=None`` rule does not see their timestamps.

        Examples:
            >>> service = logger_service()
            >>> service.ingest("a", 1, 5)
            >>> service.log.latest("a")
            (5, 'a', 1)
        """
        return self._log

    def ingest(self, key: Hashable, value: Any, timestamp: int | None) -> None:
        """Append one event, with the seed's positional order ``(key, value, timestamp)``.

        Amortized O(1); thread-safe and linearizable (see
        [`EventLog.ingest`][cowlog.EventLog.ingest]). Returns nothing, as the seed's did. Unlike
        the seed, ``timestamp=None`` takes the greatest timestamp ingested so far (or the clock's
        value, if a clock was given and it is greater; 0 before anything), so such an event never
        outranks later events whatever unit their timestamps use; and bad input changes nothing.

        Examples:
            >>> service = logger_service()
            >>> service.ingest("boot", "ok", 1_700_000_000)  # seconds
            >>> service.ingest("boot", "again", None)  # takes 1_700_000_000, the latest so far
            >>> service.ingest("boot", "newer", 1_700_000_001)
            >>> [(ts, value) for ts, _, value in service.replay()]
            [(1700000000, 'ok'), (1700000000, 'again'), (1700000001, 'newer')]

        Raises:
            TypeError: *timestamp* is not an int or None (a float or ``bool`` is refused), or *key*
                is not hashable. The log is left unchanged.
        """
        with self._lock:
            greatest = self._greatest
            if timestamp is None:
                timestamp = 0 if greatest is None else greatest
                if self._clock is not None:
                    timestamp = max(timestamp, index(self._clock()))
            self._log.ingest(key, value, timestamp)
            # only now, the log having accepted it, is the timestamp an integer
            stored = index(timestamp)
            if greatest is None or stored > greatest:
                self._greatest = stored

    def replay(self) -> Generator[Triple, None, None]:
        """Return a generator of every event, in arrival order, as ``(timestamp, key, value)``.

        O(1) to start, then O(1) per event; lock-free. The snapshot is taken when ``replay()`` is
        called (the seed copied the log when the generator was first advanced): events ingested
        later are not yielded. Abandoning or closing the generator costs nothing.

        Examples:
            >>> service = logger_service()
            >>> service.ingest("a", 1, 1)
            >>> events = service.replay()
            >>> service.ingest("b", 2, 2)
            >>> [key for _, key, _ in events]
            ['a']
        """
        return _plain(self._log.snapshot().replay())

    def shortlog(self) -> Generator[Triple, None, None]:
        """Return a generator of the latest event of each key, as ``(timestamp, key, value)``.

        A key's survivor has the greatest timestamp; of equal timestamps the one ingested later
        wins (the seed kept the first). Survivors come in log order, the order the seed's replay
        would show them (the seed listed keys in order of first appearance). O(k log n) for k keys;
        lock-free; the snapshot is taken when ``shortlog()`` is called.

        Examples:
            >>> service = logger_service()
            >>> service.ingest("cpu", "hot", 5)
            >>> service.ingest("disk", "full", 3)
            >>> service.ingest("cpu", "tie", 5)
            >>> [(key, value) for _, key, value in service.shortlog()]
            [('disk', 'full'), ('cpu', 'tie')]
        """
        return _plain(self._log.snapshot().shortlog())


def _plain(records: Iterable[Any]) -> Generator[Triple, None, None]:
    """Yield each record as a plain tuple: a generator, as the seed's were (``send`` and
    ``close`` work; a value sent is ignored)."""
    for record in records:
        yield record if record.__class__ is tuple else tuple(record)
