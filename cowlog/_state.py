"""The layout writers publish and readers read: one immutable version plus append-only history.

A published *version* is an exact tuple ``(size, chunks, tail)``:

* ``chunks``: a pyrsistent ``PVector`` of sealed chunks, each an exact tuple of ``CHUNK`` records;
* ``tail``: the open chunk, a ``list`` that writers only ever append to; a version sees only
  ``tail[:size - len(chunks) * CHUNK]``, so later appends are invisible to it.

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

Nothing here is ever changed below a published version's size: readers never lock, and never
mutate anything.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from pyrsistent import PVector

from ._checks import AnyRecord as Record

__all__ = [
    "CHUNK",
    "CHUNK_BITS",
    "CHUNK_MASK",
    "History",
    "Version",
    "record_at",
    "survivor_offset",
]

#: Events per sealed chunk. Large enough that the ``PVector`` of chunks, which the garbage collector
#: walks whole whenever a new one is young, stays short; small enough that sealing is cheap.
CHUNK_BITS = 10
CHUNK = 1 << CHUNK_BITS
CHUNK_MASK = CHUNK - 1

#: ``(size, chunks, tail)``: see the module docstring.
Version = tuple[int, "PVector[tuple[Record, ...]]", list[Record]]


#: ``[survivor_timestamp, offset, offset, ...]``: see the module docstring.
History = list[int]


def record_at(chunks: PVector[Any], tail: list[Record], offset: int) -> Record:
    """Return the record at *offset* (which must be below the version's size). O(log n)."""
    sealed = len(chunks) << CHUNK_BITS
    if offset < sealed:
        chunk: tuple[Record, ...] = chunks[offset >> CHUNK_BITS]
        return chunk[offset & CHUNK_MASK]
    return tail[offset - sealed]


def survivor_offset(history: History, size: int) -> int:
    """Return the offset of the key's survivor in a version of *size* events, or -1. O(log n)."""
    if history[-1] < size:  # the common case: nothing of this key after the version
        return history[-1]
    i = bisect_left(history, size, 1)
    return history[i - 1] if i > 1 else -1
