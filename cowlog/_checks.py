"""Argument checks and their messages, shared by the log and its snapshots; the `Record` alias.

Every refusal in cowlog is raised here, so the log, the snapshot and the backends word them alike:
a builtin exception (`TypeError`, `ValueError`) whose message names the argument and what was
wrong with it. Nothing here touches a log.
"""

from __future__ import annotations

from collections.abc import Hashable
from operator import index as _index
from typing import TYPE_CHECKING, Any, TypeVar

__all__ = [
    "LogClosedError",
    "Record",
    "TrimmedError",
    "check_index",
    "check_max_events",
    "check_offset",
    "check_timestamp",
    "raise_if_unhashable",
]

if TYPE_CHECKING:  # defaults (PEP 696): a bare ``EventLog()`` is ``EventLog[Hashable, Any]``
    from typing_extensions import TypeVar as _TypeVarWithDefault

    K = _TypeVarWithDefault("K", bound=Hashable, default=Hashable)
    V = _TypeVarWithDefault("V", default=Any)
else:  # at run time, no dependency: defaults matter only to type checkers
    K = TypeVar("K", bound=Hashable)
    V = TypeVar("V")

Record = tuple[int, K, V]
"""What the log stores and every read hands out: the exact tuple ``(timestamp, key, value)``.

A generic alias for annotations: ``Record[str, dict]`` means ``tuple[int, str, dict]``, so
``for ts, key, value in log.replay()`` type-checks. At run time a record is a plain tuple (no
per-event object is made on the way out); unpack it, or index it (``record[2]`` is the value).
"""

#: A record of unknown key and value types, for the log's internals.
AnyRecord = tuple[int, Any, Any]


class LogClosedError(ValueError):
    """A write to a log that was closed (`EventLog.close`): nothing was written.

    A `ValueError`, as writing to a closed file is, so existing handlers keep working. Reads of a
    closed log and of its snapshots keep working.
    """


class TrimmedError(LookupError):
    """A read from an offset that retention has dropped (`EventLog.trim`, ``max_events``).

    Never a silent jump: the caller decides where to resume. `first_offset` is the oldest offset
    still held, so ``log.replay(err.first_offset)`` resumes there deliberately.
    """

    def __init__(self, since: int, first_offset: int) -> None:
        super().__init__(
            f"offset {since} was trimmed: the oldest retained offset is {first_offset}"
        )
        self.since = since
        """The offset that was asked for."""
        self.first_offset = first_offset
        """The oldest offset still held when the read was refused."""


def check_timestamp(timestamp: object, name: str) -> int:
    """Return *timestamp* as an exact ``int``, or raise TypeError naming *name*.

    Accepts what `operator.index` accepts (``int``, its subclasses, ``numpy.int64``...), except
    ``bool``; an ``int`` subclass is stored by its integer value, whatever its ``__int__`` or
    ``__index__`` say, so the stored value is the one every comparison used.
    """
    if not isinstance(timestamp, bool):
        try:
            return _index(timestamp)  # type: ignore[arg-type]
        except TypeError:
            pass
    raise TypeError(
        f"{name} must be an int (or None for the clock's value), got {type(timestamp).__name__}"
    )


def check_offset(offset: object, name: str = "since") -> int:
    """Return *offset* as an exact non-negative ``int``, or raise TypeError / ValueError."""
    if isinstance(offset, bool):
        raise TypeError(f"{name} must be an int, got bool")
    try:
        value = _index(offset)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be an int, got {type(offset).__name__}") from None
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def check_index(index: object) -> int:
    """Return a sequence index as an exact ``int`` (what `operator.index` takes, but ``bool``)."""
    if not isinstance(index, bool):
        try:
            return _index(index)  # type: ignore[arg-type]
        except TypeError:
            pass
    raise TypeError(f"snapshot indices must be integers or slices, not {type(index).__name__}")


def check_max_events(max_events: object) -> int | None:
    """Return *max_events* as an exact ``int`` >= 1, or None; else raise TypeError / ValueError."""
    if max_events is None:
        return None
    if isinstance(max_events, bool):
        raise TypeError("max_events must be an int or None, got bool")
    try:
        value = _index(max_events)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"max_events must be an int or None, got {type(max_events).__name__}"
        ) from None
    if value < 1:
        raise ValueError(f"max_events must be >= 1, got {value}")
    return value


def raise_if_unhashable(key: object, name: str, exc: BaseException) -> None:
    """Turn a failed dict lookup into a clear TypeError when the key itself is unhashable."""
    try:
        hash(key)
    except TypeError:
        raise TypeError(f"{name} must be hashable, got {type(key).__name__}") from exc
