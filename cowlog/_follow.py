"""Followers: iterate a log as it grows, blocking (``follow``) or under asyncio (``afollow``).

The log itself is the buffer: a follower keeps only its position and reads published versions, as
any reader does, so a slow follower never slows a writer or loses an event. Waiting is the only
thing a follower shares with writers, and it costs a writer O(1) per write whatever the number of
followers:

* A blocking follower that has caught up takes the writer lock for a moment, re-checks the
  published size, and waits on the log's *gate*, a plain lock held locked while anyone waits. The
  next write releases the gate once; each waiter that gets it releases it again for the next
  (a baton), so the writer wakes one thread and the followers wake each other.
* An asyncio follower registers a future with its loop's *waker*. The next write schedules one
  callback per loop that has waiters (``call_soon_threadsafe``); that callback, on the loop's own
  thread, resolves the loop's futures. A cancelled follower removes its future at once.

Registering is done under the writer lock, after re-checking the published size, so a wake can
never fall between a follower's last look and its wait. Nothing here mutates a published version.
"""

from __future__ import annotations

import math
from _thread import allocate_lock
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import suppress
from itertools import chain
from typing import TYPE_CHECKING, Any

from ._checks import AnyRecord, TrimmedError, check_offset

if TYPE_CHECKING:
    import asyncio

    from ._log import EventLog

__all__ = ["LoopWaker", "afollow", "check_timeout", "follow"]


def check_timeout(timeout: object) -> float | None:
    """Return *timeout* as seconds (``None``: wait forever), or raise TypeError / ValueError."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(
            f"timeout must be a number of seconds or None, got {type(timeout).__name__}"
        )
    if math.isnan(timeout) or timeout < 0:
        raise ValueError(f"timeout must be >= 0 seconds, got {timeout}")
    return float(timeout)


class LoopWaker:
    """The futures of one event loop's waiting followers, resolved together on that loop."""

    __slots__ = ("futures", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.futures: set[asyncio.Future[None]] = set()

    def fire(self) -> None:
        """Resolve every waiting future. Runs on the waker's loop."""
        for future in self.futures:
            if not future.done():
                future.set_result(None)
        self.futures.clear()

    def wake(self) -> None:
        """Schedule `fire` on the loop, from any thread (a writer's). A closed loop is skipped."""
        with suppress(RuntimeError):  # the loop is closed: nobody is left to wake
            self.loop.call_soon_threadsafe(self.fire)


def follow(
    log: EventLog[Any, Any], since: int | None, timeout: float | None
) -> Iterator[AnyRecord]:
    """See `EventLog.follow`: check the arguments now, then iterate lazily."""
    since = log.first_offset if since is None else check_offset(since)
    seconds = check_timeout(timeout)
    # Records pass from the log's chunks to the caller in C; Python runs once per chunk or wait.
    return chain.from_iterable(_runs(log, since, seconds))


def _runs(log: EventLog[Any, Any], position: int, timeout: float | None) -> Iterator[Iterable[Any]]:
    """Yield runs of records from *position* on, waiting for more, until the log closes."""
    while True:
        snap = log.snapshot()
        size = snap.next_offset
        if size > position:
            if position < snap.first_offset:  # retention dropped it: never a silent gap
                raise TrimmedError(position, snap.first_offset)
            yield from snap._runs(position, size)
            position = size
            continue
        gate = _gate(log, position)
        if gate is None:  # more arrived, or the log is closed
            if log._closed and log.next_offset <= position:
                return
            continue
        if gate.acquire(timeout=-1 if timeout is None else timeout):
            gate.release()  # pass the baton to the next waiter
        elif log.next_offset <= position:  # no new event for *timeout* seconds
            return


def _gate(log: EventLog[Any, Any], position: int) -> Any:
    """Return the gate to wait on, or None if there is no need to wait. Takes the writer lock."""
    with log._lock:
        if log._version[0] > position or log._closed:
            return None
        gate = log._gate
        if gate is None:
            gate = allocate_lock()
            gate.acquire()  # held until the next write releases it
            log._gate = gate
            log._slow = True  # the next write takes the path that wakes followers
        return gate


def afollow(
    log: EventLog[Any, Any], since: int | None, timeout: float | None
) -> AsyncIterator[AnyRecord]:
    """See `EventLog.afollow`: check the arguments now, then iterate lazily."""
    since = log.first_offset if since is None else check_offset(since)
    seconds = check_timeout(timeout)
    return _afollow(log, since, seconds)


async def _afollow(
    log: EventLog[Any, Any], position: int, timeout: float | None
) -> AsyncIterator[AnyRecord]:
    import asyncio  # here, not at the top: `import cowlog` stays free of asyncio

    loop = asyncio.get_running_loop()
    while True:
        snap = log.snapshot()
        size = snap.next_offset
        if size > position:
            if position < snap.first_offset:
                raise TrimmedError(position, snap.first_offset)
            for record in snap._records(position, size):
                yield record
            position = size
            continue
        future: asyncio.Future[None] = loop.create_future()
        waker = _register(log, position, loop, future)
        if waker is None:
            if log._closed and log.next_offset <= position:
                return
            continue
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            if log.next_offset <= position:
                return
        finally:
            waker.futures.discard(future)  # cancelled or timed out: leave nothing behind


def _register(
    log: EventLog[Any, Any],
    position: int,
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[None],
) -> LoopWaker | None:
    """Add *future* to *loop*'s waker, or return None if there is no need to wait.

    When the loop already has a waker, no lock is needed: a writer detaches a waker before it
    schedules its ``fire`` on this loop, and ``fire`` runs on this thread, so it cannot run
    between the look-up and the ``add`` below; whichever waker this finds fires after the add.
    So with a thousand followers on one loop, one of them takes the writer lock per write.
    """
    waker = log._wakers.get(loop)  # the dict is replaced whole by writers: a safe read
    if waker is not None:
        waker.futures.add(future)
        if log._version[0] > position:  # published meanwhile: read it now
            waker.futures.discard(future)
            return None
        return waker
    with log._lock:
        if log._version[0] > position or log._closed:
            return None
        waker = log._wakers.get(loop)
        if waker is None:
            waker = log._wakers[loop] = LoopWaker(loop)
            log._slow = True
        waker.futures.add(future)
        return waker
