"""The seed service's API, ``logger_service``, on top of [`EventLog`][cowlog.EventLog].

Switch by changing one import: ``from cowlog.compat import logger_service``.

The class keeps the seed's name, constructor and methods; every call is delegated to one
[`EventLog`][cowlog.EventLog], so the shim has the log's guarantees and none of the seed's defects
(no copy limits, no data races, no O(n) copies under a lock). Where cowlog's rules differ from what
the seed did, the rules win; docs/compat.md lists each difference. Nothing here keeps state of its
own: the shim is a name for a log.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterator
from typing import Any

from ._checks import Record
from ._log import EventLog

__all__ = ["logger_service"]


class logger_service:  # the seed's name, kept so that switching is a one-line import change
    """A drop-in for the seed's ``logger_service``, built on one [`EventLog`][cowlog.EventLog].

    Any number of threads may call any method at any time. ``ingest`` is linearizable;
    ``replay`` and ``shortlog`` each read one O(1), lock-free snapshot taken when they are called,
    and never raise for lack of copies, however many iterators are abandoned.

    Args:
        clock: the timestamp of an event ingested with ``timestamp=None`` (the seed stored
            ``None``); must return an ``int``. Default: `time.time_ns()`.

    Examples:
        >>> service = logger_service()
        >>> service.ingest("disk", "full", 10)
        >>> service.ingest("disk", "ok", 15)
        >>> list(service.replay())
        [(10, 'disk', 'full'), (15, 'disk', 'ok')]
        >>> [(ts, key, value) for ts, key, value in service.shortlog()]
        [(15, 'disk', 'ok')]
    """

    __slots__ = ("_log",)

    def __init__(self, *, clock: Callable[[], int] = time.time_ns) -> None:
        self._log: EventLog[Hashable, Any] = EventLog(clock=clock)

    def __repr__(self) -> str:
        return f"<cowlog.compat.logger_service: {len(self._log)} events>"

    @property
    def log(self) -> EventLog[Hashable, Any]:
        """The [`EventLog`][cowlog.EventLog] behind the shim, for code that migrates step by step.

        O(1). Use it to read a replay and a shortlog from one instant
        (``service.log.snapshot()``), to replay from an offset, or to look up one key with
        ``latest``.

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
        [`EventLog.ingest`][cowlog.EventLog.ingest]). Unlike the seed, ``timestamp=None`` takes the
        clock's value, and bad input changes nothing.

        Examples:
            >>> service = logger_service(clock=lambda: 7)
            >>> service.ingest("boot", "ok", None)
            >>> list(service.replay())
            [(7, 'boot', 'ok')]

        Raises:
            TypeError: *timestamp* is not an int or None (a float or ``bool`` is refused), or *key*
                is not hashable. The log is left unchanged.
        """
        self._log.ingest(key, value, timestamp)

    def replay(self) -> Iterator[Record[Hashable, Any]]:
        """Return an iterator over every event, in arrival order, as ``(timestamp, key, value)``.

        O(1) to start, then O(1) per event; lock-free. The snapshot is taken when ``replay()`` is
        called (the seed copied the log when the iterator was first advanced): events ingested later
        are not yielded. Abandoning the iterator costs nothing.

        Examples:
            >>> service = logger_service()
            >>> service.ingest("a", 1, 1)
            >>> events = service.replay()
            >>> service.ingest("b", 2, 2)
            >>> [key for _, key, _ in events]
            ['a']
        """
        return self._log.replay()

    def shortlog(self) -> Iterator[Record[Hashable, Any]]:
        """Return an iterator over the latest event of each key, as ``(timestamp, key, value)``.

        A key's survivor has the greatest timestamp; of equal timestamps the one ingested later
        wins (the seed kept the first). Survivors come in log order, the order the seed's replay
        would show them (the seed listed keys in order of first appearance). O(k log n) for k keys;
        lock-free.

        Examples:
            >>> service = logger_service()
            >>> service.ingest("cpu", "hot", 5)
            >>> service.ingest("disk", "full", 3)
            >>> service.ingest("cpu", "tie", 5)
            >>> [(key, value) for _, key, value in service.shortlog()]
            [('disk', 'full'), ('cpu', 'tie')]
        """
        return self._log.shortlog()
