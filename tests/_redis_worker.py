"""One process of the multi-process Redis test: writer threads and a reader thread on one log.

Run as ``python tests/_redis_worker.py URL NAME PROCESS WRITERS EVENTS SEED``. The process makes its
own client and log (after it started: never inherited), waits for the parent's go (a BLPOP, so
all processes start together), runs WRITERS writer threads of EVENTS events each (about a tenth
of the calls are batches of up to 8) and one reader thread taking snapshots until the writers are
done, and prints what happened as one JSON object on stdout, times from ``time.monotonic_ns()``
(CLOCK_MONOTONIC: one clock for every process on the machine, so the parent can check real-time
order across processes).
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from typing import Any

import redis

from cowlog.redis import RedisEventLog

TAG_BITS = 40  # a value is (writer + 1) << TAG_BITS | n, as in cowlog.testing


def plan(rng: random.Random, events: int) -> tuple[list[str], list[int], list[list[int]]]:
    keys: list[str] = []
    stamps: list[int] = []
    ops: list[list[int]] = []  # [first event, count]; count 0: a single ingest
    while len(keys) < events:
        count = min(rng.randint(1, 8), events - len(keys)) if rng.randrange(10) == 0 else 0
        ops.append([len(keys), count])
        for _ in range(max(count, 1)):
            keys.append(f"k{rng.randrange(16)}")
            stamps.append(len(keys) // 4 + rng.randrange(4))  # ties and late arrivals are common
    return keys, stamps, ops


def main() -> None:
    url, name, process, writers, events, seed = sys.argv[1:7]
    client = redis.Redis.from_url(url)
    log: RedisEventLog[str, int] = RedisEventLog(client, name)
    numbers = [int(process) * int(writers) + w for w in range(int(writers))]
    plans = {n: plan(random.Random(int(seed) * 1000 + n), int(events)) for n in numbers}
    results: dict[int, dict[str, Any]] = {}
    views: list[dict[str, Any]] = []
    violations: list[str] = []
    done = threading.Event()
    errors: list[str] = []

    def write(number: int) -> None:
        keys, stamps, ops = plans[number]
        base = (number + 1) << TAG_BITS
        spans, offsets = [], []
        try:
            for first, count in ops:
                if count:
                    items = [(keys[i], base | i, stamps[i]) for i in range(first, first + count)]
                    start = time.monotonic_ns()
                    got = log.ingest_many(items)
                    end = time.monotonic_ns()
                    offsets.append(got.start)
                    if len(got) != count:
                        violations.append(f"a batch of {count} returned {got}")
                else:
                    start = time.monotonic_ns()
                    offsets.append(log.ingest(keys[first], base | first, stamps[first]))
                    end = time.monotonic_ns()
                spans.append([start, end])
        except BaseException as exc:
            errors.append(f"writer {number}: {exc!r}")
        results[number] = {
            "number": number,
            "keys": keys,
            "timestamps": stamps,
            "ops": ops,
            "spans": spans,
            "offsets": offsets,
        }

    def read() -> None:
        kept = []
        try:
            while not done.is_set():
                start = time.monotonic_ns()
                snap = log.snapshot()
                end = time.monotonic_ns()
                size = len(snap)
                tail = [list(e) for e in snap.replay(max(size - 5, 0))]
                shortlog = [list(e) for e in snap.shortlog()]
                views.append(
                    {"size": size, "start": start, "end": end, "shortlog": shortlog, "tail": tail}
                )
                kept.append((snap, size, tail))
            for snap, size, tail in kept[::10]:  # later, after this process's writers: unchanged?
                if len(snap) != size:
                    violations.append(f"a snapshot of {size} events later had {len(snap)}")
                if tail and list(snap[-1]) != tail[-1]:
                    violations.append(f"a snapshot of {len(snap)} events later ended elsewhere")
        except BaseException as exc:
            errors.append(f"reader: {exc!r}")

    client.blpop([f"{name}:go"], timeout=60)
    threads = [threading.Thread(target=write, args=(n,)) for n in numbers]
    reader = threading.Thread(target=read)
    for thread in [*threads, reader]:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join()
    json.dump(
        {
            "writers": [results[n] for n in numbers],
            "views": views,
            "violations": violations,
            "errors": errors,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
