"""Event: the record a reader gets back from a log.

The log stores exact tuples ``(timestamp, key, value)`` (the garbage collector untracks those, see
docs/design.md) and turns each into an `Event` only on the way out, with the C-level
``tuple.__new__`` so that no Python code runs per event.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from itertools import repeat
from typing import Any, Generic, NamedTuple, TypeVar

__all__ = ["Event", "Record", "to_event", "to_events"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: What the log keeps for each event: an exact tuple, never a tuple subclass.
Record = tuple[int, Any, Any]


class Event(NamedTuple, Generic[K, V]):
    """One event of a log: a ``(timestamp, key, value)`` tuple with names.

    The field order is the one the seed service yields, so ``for ts, key, value in log.replay()``
    works and an event compares equal to the plain tuple with the same items.

    Examples:
        >>> e = Event(5, "boot", "ok")
        >>> e.timestamp, e.key, e.value
        (5, 'boot', 'ok')
        >>> e == (5, "boot", "ok")
        True
    """

    timestamp: int
    """When the event happened: an ``int`` in the caller's unit (the default clock: nanoseconds)."""
    key: K
    """The event type: the shortlog keeps the most recent event of each key."""
    value: V
    """The payload, stored by reference (snapshots are shallow)."""


def to_event(record: Record) -> Event[Any, Any]:
    """Make an `Event` of a stored record (in C: no Python ``__new__`` runs)."""
    event: Event[Any, Any] = _new_tuple(Event, record)
    return event


def to_events(records: Iterable[Record]) -> Iterator[Event[Any, Any]]:
    """Lazily make `Event` objects of stored records (a C-level ``map``: no bytecode)."""
    return map(_new_tuple, repeat(Event), records)


#: ``tuple.__new__``: ``_new_tuple(Event, record)`` is the cheapest way to make an Event.
_new_tuple = tuple.__new__
