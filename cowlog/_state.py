"""The layout writers publish and readers read: one immutable version plus append-only history.

A published *version* is an exact tuple ``(size, sealed, tail)``:

* ``size``: the next offset (every event below it was ingested);
* ``sealed``: a `Sealed` tuple, replaced only when a chunk is sealed or the log is trimmed: the
  oldest retained offset ``first``, the ``PVector`` of sealed chunks (each an exact tuple of
  ``CHUNK`` records; chunk ``i`` holds the offsets from ``(base + i) * CHUNK``), and the shortlog
  index these versions read (``histories``, ``keys``, ``pinned``, ``kept``);
* ``tail``: the open chunk, a ``list`` that writers only ever append to; a version sees only the
  part below its size, so later appends are invisible to it.

The shortlog index is *partially persistent* (the fat-node method): each key has one *history*
that grows by one entry each time an event of that key becomes the key's survivor. A version of
size ``n`` finds its survivor for a key as the last offset below ``n`` (a binary search), so one
shared, append-only structure serves every version. A history is a plain ``list``::

    [survivor_timestamp, first_offset, ..., last_offset]

Item 0 is the timestamp of the current survivor (the writer's shortcut for the rule; readers never
read it); items 1 and on are ascending offsets. A list rather than an object with attributes
because a new key then costs one list display instead of a Python ``__init__`` (1.3 us instead of
2.0 us per ingest with 100,000 keys, measured), and ``list.append`` is CPython's fastest append.
The histories sit in a list in the order their keys first appeared, so the keys a version holds
are the prefix of that list whose first offset is below its size.

**Retention** drops whole chunks from the front and *compacts* the index: it builds a new
``histories``/``keys`` pair in which each key's history is ``[timestamp, survivor_offset]`` (the
first ``pinned`` keys: their item 1 is no longer their first offset, and every version that reads
this index holds them all), and copies the records of survivors that were dropped into ``kept``
(offset to record). Versions published before keep the old ``Sealed`` and with it the old index
and chunks, which nothing writes to any more; versions after read the new one. So a held snapshot
never changes, and a log's memory is its retained chunks plus O(keys).

Nothing here is ever changed below a published version's size: readers never lock, and never
mutate anything.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any, NamedTuple

from pyrsistent import PVector, pvector

from ._checks import AnyRecord as Record

__all__ = [
    "CHUNK",
    "CHUNK_BITS",
    "CHUNK_MASK",
    "History",
    "Sealed",
    "Version",
    "empty_sealed",
    "record_at",
    "survivor_offset",
]

#: Events per sealed chunk. Large enough that the ``PVector`` of chunks, which the garbage collector
#: walks whole whenever a new one is young, stays short; small enough that sealing is cheap.
CHUNK_BITS = 10
CHUNK = 1 << CHUNK_BITS
CHUNK_MASK = CHUNK - 1

#: ``[survivor_timestamp, offset, offset, ...]``: see the module docstring.
History = list[int]


class Sealed(NamedTuple):
    """What a version shares with the versions before it: see the module docstring."""

    first: int
    """The oldest retained offset: replay starts here."""
    base: int
    """The chunk number of ``chunks[0]``: it holds the offsets from ``base * CHUNK``."""
    chunks: PVector[tuple[Record, ...]]
    """The sealed chunks, oldest first."""
    histories: dict[Any, History]
    """Each key's history, by key, in first-seen order."""
    keys: list[History]
    """The same histories, in first-seen order."""
    pinned: int
    """How many leading ``keys`` were compacted: all of them are in every version reading this."""
    kept: dict[int, Record]
    """The records of dropped survivors, by offset."""


def empty_sealed() -> Sealed:
    """Return the `Sealed` part of an empty log's version."""
    return Sealed(0, 0, pvector(), {}, [], 0, {})


#: ``(size, sealed, tail)``: see the module docstring.
Version = tuple[int, Sealed, list[Record]]


def record_at(sealed: Sealed, tail: list[Record], offset: int) -> Record:
    """Return the record at *offset*, which must be below the version's size and be retained or a
    survivor. O(log n)."""
    index = (offset >> CHUNK_BITS) - sealed.base
    if index < 0:  # dropped: only survivors are kept
        return sealed.kept[offset]
    chunks = sealed.chunks
    if index < len(chunks):
        chunk: tuple[Record, ...] = chunks[index]
        return chunk[offset & CHUNK_MASK]
    return tail[offset - ((sealed.base + len(chunks)) << CHUNK_BITS)]


def survivor_offset(history: History, size: int) -> int:
    """Return the offset of the key's survivor in a version of *size* events, or -1. O(log n)."""
    if history[-1] < size:  # the common case: nothing of this key after the version
        return history[-1]
    i = bisect_left(history, size, 1)
    return history[i - 1] if i > 1 else -1
