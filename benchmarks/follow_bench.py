"""The follow bars of issue 14, measured in one run (not a test: it only prints).

Run: ``python benchmarks/follow_bench.py [--rounds R]``. Prints, with medians over R rounds:

* the writer's rate with 0 and with 4 caught-up thread followers (200k single ingests), and the
  ratio (every follower must receive all 200k in order: checked);
* latency from ``ingest`` to a waiting follower, a writer at ~1k events/s, beside a
  ``queue.Queue`` hand-off measured the same way (p50 and p99);
* the writer's rate with 0 and with 1,000 asyncio followers in one loop (10k events);
* draining a backlog of 1M records through ``follow()`` beside draining ``replay()``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import queue
import statistics
import sys
import threading
import time
from collections import deque
from typing import Any

from cowlog import EventLog
from cowlog.cli.bench import _machine


def writer_rate(followers: int, n: int = 200_000) -> float:
    log: EventLog[str, int] = EventLog()
    counts: list[int] = []

    def consume() -> None:
        last = -1
        for ts, _, _ in log.follow():
            assert ts == last + 1
            last = ts
        counts.append(last + 1)

    threads = [threading.Thread(target=consume) for _ in range(followers)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    ingest = log.ingest
    begin = time.perf_counter()
    for i in range(n):
        ingest("k", i, i)
    elapsed = time.perf_counter() - begin
    log.close()
    for t in threads:
        t.join()
    assert counts == [n] * followers
    return n / elapsed


def latency(kind: str, n: int = 500) -> tuple[float, float]:
    delays: list[float] = []
    if kind == "cowlog":
        log: EventLog[str, float] = EventLog()

        def receive() -> None:
            for _, _, sent in log.follow():
                delays.append(time.perf_counter() - sent)

        send = lambda: log.ingest("k", time.perf_counter(), 0)  # noqa: E731
        stop = log.close
    else:
        q: queue.Queue[Any] = queue.Queue()

        def receive() -> None:
            while (sent := q.get()) is not None:
                delays.append(time.perf_counter() - sent)

        send = lambda: q.put(time.perf_counter())  # noqa: E731
        stop = lambda: q.put(None)  # noqa: E731
    thread = threading.Thread(target=receive)
    thread.start()
    for _ in range(n):
        time.sleep(0.001)  # ~1k events/s: the follower is always waiting when one arrives
        send()
    stop()
    thread.join()
    delays.sort()
    return delays[len(delays) // 2], delays[int(len(delays) * 0.99)]


def async_writer_rate(followers: int, n: int = 10_000) -> float:
    log: EventLog[str, int] = EventLog()
    result: dict[str, Any] = {}

    async def one() -> int:
        count = 0
        async for _ in log.afollow():
            count += 1
        return count

    async def main() -> None:
        tasks = [asyncio.create_task(one()) for _ in range(followers)]
        await asyncio.sleep(0.05)

        def write() -> None:
            begin = time.perf_counter()
            for i in range(n):
                log.ingest("k", i, i)
            result["elapsed"] = time.perf_counter() - begin
            log.close()

        await asyncio.to_thread(write)
        counts = await asyncio.gather(*tasks)
        assert counts == [n] * followers

    asyncio.run(main())
    return n / result["elapsed"]


def drain(n: int = 1_000_000) -> tuple[float, float]:
    log: EventLog[str, int] = EventLog()
    log.ingest_many([(f"k{i % 100}", i, i) for i in range(n)])
    log.close()
    times: dict[str, float] = {}
    for name, make in (("replay", log.replay), ("follow", log.follow)):
        gc.collect()
        begin = time.perf_counter()
        deque(make(), maxlen=0)
        times[name] = time.perf_counter() - begin
    return times["replay"], times["follow"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    m = _machine()
    print(f"{m['cpu']}, {m['cores']} cores, {m['implementation']} {m['python']}, GC on")
    rows: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        alone, four = writer_rate(0), writer_rate(4)
        rows.setdefault("4 thread followers: writer rate / alone", []).append(four / alone)
        p50, p99 = latency("cowlog")
        q50, q99 = latency("queue")
        rows.setdefault("latency p50 / queue.Queue p50", []).append(p50 / q50)
        rows.setdefault("latency p99 / queue.Queue p99", []).append(p99 / q99)
        rows.setdefault("cowlog latency p50 us", []).append(p50 * 1e6)
        rows.setdefault("queue latency p50 us", []).append(q50 * 1e6)
        rows.setdefault("cowlog latency p99 us", []).append(p99 * 1e6)
        rows.setdefault("queue latency p99 us", []).append(q99 * 1e6)
        base, many = async_writer_rate(0), async_writer_rate(1000)
        rows.setdefault("1,000 asyncio followers: writer rate / alone", []).append(many / base)
        replay, follow = drain()
        rows.setdefault("drain 1M: follow / replay", []).append(follow / replay)
    for label, values in rows.items():
        shown = ", ".join(f"{v:.2f}" for v in values)
        print(f"{label:46s} median {statistics.median(values):8.2f}   ({shown})")


if __name__ == "__main__":
    sys.exit(main())
