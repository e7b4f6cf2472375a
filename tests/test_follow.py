"""Issue 14: follow / afollow / close: every record exactly once, in order, whatever writers do."""

from __future__ import annotations

import asyncio
import random
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from cowlog import EventLog, LogClosedError, _follow


def _in_thread(target: Any) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_follow_yields_the_backlog_then_new_records_then_ends_on_close() -> None:
    log: EventLog[str, int] = EventLog()
    log.ingest_many([("a", i, i) for i in range(5)])
    got: list[Any] = []
    reader = _in_thread(lambda: got.extend(log.follow(since=2)))
    log.ingest("b", 5, 5)
    log.ingest_many([("c", 6, 6), ("c", 7, 7)])
    log.close()
    reader.join(10)
    assert not reader.is_alive()
    assert got == list(log.replay(2))


def test_follow_since_past_the_end_waits_for_that_offset() -> None:
    log: EventLog[str, int] = EventLog()
    got: list[Any] = []
    reader = _in_thread(lambda: got.extend(log.follow(since=3)))
    for i in range(5):
        log.ingest("k", i, i)
    log.close()
    reader.join(10)
    assert got == [(3, "k", 3), (4, "k", 4)]


def test_follow_ends_after_timeout_with_no_new_record() -> None:
    log: EventLog[str, int] = EventLog()
    log.ingest("a", 1, 1)
    assert list(log.follow(timeout=0.05)) == [(1, "a", 1)]
    assert list(log.follow(since=1, timeout=0)) == []
    log.ingest("b", 2, 2)  # a timed-out waiter's gate costs the next write one wake-up, no more
    assert not log._slow and log._gate is None


@pytest.mark.parametrize(
    ("since", "timeout", "error"),
    [
        (-1, None, ValueError),
        (1.5, None, TypeError),
        (True, None, TypeError),
        ("0", None, TypeError),
        (0, -1, ValueError),
        (0, float("nan"), ValueError),
        (0, "1", TypeError),
        (0, True, TypeError),
    ],
)
def test_bad_follow_arguments_raise_at_the_call(since: Any, timeout: Any, error: type) -> None:
    log: EventLog[str, int] = EventLog()
    with pytest.raises(error):
        log.follow(since, timeout=timeout)
    with pytest.raises(error):
        log.afollow(since, timeout=timeout)


def test_close_refuses_writes_keeps_reads_and_is_idempotent() -> None:
    log: EventLog[Any, int] = EventLog()
    log.ingest("a", 1, 1)
    snap = log.snapshot()
    log.close()
    log.close()
    for write in (
        lambda: log.ingest("a", 2, 2),
        lambda: log.ingest(("tuple",), 2),
        lambda: log.ingest_many([("b", 3, 3)]),
        lambda: log.ingest_many([]),
    ):
        with pytest.raises(LogClosedError, match="closed"):
            write()
    assert isinstance(LogClosedError("x"), ValueError)
    assert list(log.replay()) == list(snap) == [(1, "a", 1)]
    assert log.latest("a") == (1, "a", 1) and log.closed and "closed" in repr(log)
    log._check()


def test_context_manager_closes() -> None:
    with EventLog() as log:
        log.ingest("a", 1, 1)
    assert log.closed
    with pytest.raises(LogClosedError):
        log.ingest("a", 1, 1)


def test_follow_backlog_passes_records_through_in_c() -> None:
    """The follower is a C-level chain over chunks: the stored records themselves, no copies."""
    log: EventLog[str, int] = EventLog()
    log.ingest_many([("k", i, i) for i in range(5000)])
    log.close()
    follower = log.follow()
    assert type(follower).__name__ == "chain"
    records = list(follower)
    assert all(a is b for a, b in zip(records, log.replay(), strict=True))


def test_a_waiting_follower_makes_one_write_take_the_general_path_then_fast_again() -> None:
    log: EventLog[str, int] = EventLog()
    got: list[Any] = []
    follower = log.follow()
    reader = _in_thread(lambda: got.extend(follower))
    while log._gate is None:  # wait until the follower waits
        threading.Event().wait(0.001)
    assert log._slow
    log.ingest("a", 1, 1)
    assert log._gate is None  # the write released and dropped the gate
    log.close()
    reader.join(10)
    assert got == [(1, "a", 1)]


# -- asyncio --------------------------------------------------------------------------------------


def test_afollow_receives_writes_from_another_thread_and_ends_on_close() -> None:
    log: EventLog[str, int] = EventLog()

    async def consume() -> list[Any]:
        return [record async for record in log.afollow()]

    async def main() -> list[Any]:
        task = asyncio.create_task(consume())
        await asyncio.sleep(0.01)
        writer = threading.Thread(
            target=lambda: [log.ingest("k", i, i) for i in range(100)] and log.close()
        )
        writer.start()
        result = await task
        writer.join()
        return result

    assert asyncio.run(main()) == [(i, "k", i) for i in range(100)]


def test_a_write_wakes_each_loop_once_not_each_follower(monkeypatch: pytest.MonkeyPatch) -> None:
    log: EventLog[str, int] = EventLog()
    wakes: list[Any] = []
    original = _follow.LoopWaker.wake
    monkeypatch.setattr(
        _follow.LoopWaker, "wake", lambda self: (wakes.append(self), original(self))
    )

    async def first(follower: Any) -> Any:
        return await anext(follower)

    async def main() -> list[Any]:
        tasks = [asyncio.create_task(first(log.afollow())) for _ in range(1000)]
        await asyncio.sleep(0.05)
        assert len(log._wakers) == 1 and len(next(iter(log._wakers.values())).futures) == 1000
        await asyncio.to_thread(log.ingest, "k", 1, 1)
        return await asyncio.gather(*tasks)

    assert asyncio.run(main()) == [(1, "k", 1)] * 1000
    assert len(wakes) == 1


def test_cancelled_async_followers_leave_nothing_behind() -> None:
    log: EventLog[str, int] = EventLog()

    async def wait_forever() -> None:
        async for _ in log.afollow():
            pass

    async def main() -> None:
        tasks = [asyncio.create_task(wait_forever()) for _ in range(10_000)]
        await asyncio.sleep(0.1)
        waker = next(iter(log._wakers.values()))
        assert len(waker.futures) == 10_000
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert len(waker.futures) == 0

    asyncio.run(main())


def test_afollow_timeout_ends_the_iteration() -> None:
    log: EventLog[str, int] = EventLog()
    log.ingest("a", 1, 1)

    async def main() -> list[Any]:
        return [record async for record in log.afollow(timeout=0.02)]

    assert asyncio.run(main()) == [(1, "a", 1)]


# -- the delivery promise under contention ---------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_every_follower_sees_exactly_replay_since_under_contention(seed: int) -> None:
    """Several writers (single and batch), sync and async followers at random offsets, a close in
    the middle of the writes, a 1 us switch interval and a Barrier start: each follower's sequence
    must equal ``replay(since)`` of the closed log: nothing lost, duplicated or reordered, and the
    writes refused after the close are in nobody's sequence."""
    rng = random.Random(seed)
    log: EventLog[str, int] = EventLog()
    writers, per_writer = 3, 600
    sync_starts = [rng.randrange(0, 200) for _ in range(3)]
    async_starts = [rng.randrange(0, 200) for _ in range(3)]
    barrier = threading.Barrier(writers + len(sync_starts) + 2)
    results: dict[str, list[Any]] = {}
    refused: list[int] = []

    def write(w: int) -> None:
        barrier.wait()
        i = 0
        while i < 100 * per_writer:  # until the close refuses a write (bounded all the same)
            try:
                if rng.random() < 0.3:
                    n = rng.randrange(1, 8)
                    log.ingest_many([(f"w{w}", (w, i + j), i + j) for j in range(n)])
                    i += n
                else:
                    log.ingest(f"w{w}", (w, i), i)
                    i += 1
            except LogClosedError:
                refused.append(w)
                return

    def follow(name: str, since: int) -> None:
        iterator: Iterator[Any] = log.follow(since)
        barrier.wait()
        results[name] = list(iterator)

    def follow_async() -> None:
        async def one(since: int) -> list[Any]:
            return [record async for record in log.afollow(since)]

        async def main() -> None:
            barrier.wait()
            got = await asyncio.gather(*(one(s) for s in async_starts))
            for since, records in zip(async_starts, got, strict=True):
                results[f"async@{since}"] = records

        asyncio.run(main())

    def closer() -> None:
        barrier.wait()
        while len(log) < writers * per_writer // 2:
            threading.Event().wait(0.0005)
        log.close()

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
        threads += [
            threading.Thread(target=follow, args=(f"sync@{s}#{n}", s))
            for n, s in enumerate(sync_starts)
        ]
        threads += [threading.Thread(target=follow_async), threading.Thread(target=closer)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        sys.setswitchinterval(old)
    assert not any(thread.is_alive() for thread in threads)
    assert log.closed and refused  # the close came in the middle
    final = list(log.replay())
    for name, records in results.items():
        since = int(name.split("@")[1].split("#")[0])
        assert records == final[since:], name
    assert len(results) == len(sync_starts) + len(async_starts)
    log._check()
