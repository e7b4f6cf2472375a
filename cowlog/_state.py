"""The layout writers publish and readers read: one immutable version plus append-only history.

A published *version* is an exact tuple ``(size, chunks, tail)``:

* ``chunks``: a pyrsistent ``PVector`` of sealed chunks, each an exact tuple of ``CHUNK`` records;
* ``tail``: the open chunk, a ``list`` that writers only ever append to; a version sees only
  ``tail[:size - len(chunks) * CHUNK]``, so later appends are invisible to it.

The shortlog index is *partially persistent* (the fat-node method): each key has one
:class:`KeyHistory` whose ``offsets`` list grows by one entry each time an event of that key
becomes the key's survivor. A version of size ``n`` finds its survivor for a key as the last offset
below ``n`` (a binary search), so one shared, append-only structure serves every version. The
histories sit in a list in the order their keys first appeared, so the keys a version holds are
the prefix of that list whose first offset is below its size.

Nothing here is ever changed below a published version's size: readers never lock, and never
mutate anything.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable
from typing import Any

from pyrsistent import PVector

from ._event import Record

__all__ = ["CHUNK", "CHUNK_BITS", "KeyHistory", "Version", "record_at", "survivor_offset"]

#: Events per sealed chunk. Large enough that the ``PVector`` of chunks, which the garbage collector
#: walks whole whenever a new one is young, stays short; small enough that sealing is cheap.
CHUNK_BITS = 10
CHUNK = 1 << CHUNK_BITS
_MASK = CHUNK - 1

#: ``(size, chunks, tail)``: see the module docstring.
Version = tuple[int, "PVector[tuple[Record, ...]]", list[Record]]


class KeyHistory:
    """The survivors one key has had: the offsets of its events that became its survivor.

    ``offsets`` grows in ascending order and is never empty (a list rather than an ``array``: the
    ``int`` appended is the one the version already holds, and ``list.append`` is the fastest
    append CPython has). ``timestamp`` is the timestamp of the current survivor: the writer's
    shortcut, never read by readers.
    """

    __slots__ = ("key", "offsets", "timestamp")

    def __init__(self, key: Hashable, timestamp: int, offset: int) -> None:
        self.key = key
        self.timestamp = timestamp
        self.offsets = [offset]


def record_at(chunks: PVector[Any], tail: list[Record], offset: int) -> Record:
    """Return the record at *offset* (which must be below the version's size). O(log n)."""
    sealed = len(chunks) << CHUNK_BITS
    if offset < sealed:
        chunk: tuple[Record, ...] = chunks[offset >> CHUNK_BITS]
        return chunk[offset & _MASK]
    return tail[offset - sealed]


def survivor_offset(history: KeyHistory, size: int) -> int:
    """Return the offset of the key's survivor in a version of *size* events, or -1. O(log n)."""
    offsets = history.offsets
    if offsets[-1] < size:  # the common case: nothing of this key after the version
        return offsets[-1]
    i = bisect_left(offsets, size)
    return offsets[i - 1] if i else -1
