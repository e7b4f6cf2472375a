"""Redis rows for ``cowlog bench``: `cowlog.redis.RedisEventLog` beside raw redis-py and EventLog.

Run only when ``COWLOG_REDIS_URL`` names a server (``cowlog bench`` calls `run_redis`), or alone:
``COWLOG_REDIS_URL=redis://127.0.0.1:6390/0 python -m cowlog.cli.bench_redis``. The floor is
redis-py doing the same work without cowlog: the same JSON encoding and decoding, a raw ``XADD``
per event, a pipelined ``XADD`` per batch (no transaction), ``XRANGE`` paged by the same page size
(through redis-py's reply callback, as a user would call it). Each pair is timed alternately, and
the median of the rounds is reported. Keys made here are deleted afterwards.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

__all__ = ["run_redis"]

Results = dict[str, Any]


def _median_seconds(call: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _alternate(
    pairs: dict[str, Callable[[], Any]], rounds: int, prepare: Callable[[], None] | None = None
) -> dict[str, float]:
    """Time each call once per round, alternating; return the median seconds of each."""
    times: dict[str, list[float]] = {name: [] for name in pairs}
    for _ in range(rounds):
        for name, call in pairs.items():
            if prepare is not None:
                prepare()
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def run_redis(url: str, *, quick: bool = False) -> Results:
    """Measure RedisEventLog against the raw client on the server at *url*; return the figures."""
    import redis

    from .. import EventLog
    from ..redis import PAGE, RedisEventLog

    client = redis.Redis.from_url(url)
    info = client.info("server")
    prefix = f"cowlog-bench:{uuid.uuid4().hex[:8]}"
    singles, batch, replay_n, rounds = (
        (300, 2_000, 20_000, 5) if quick else (3_000, 10_000, 100_000, 9)
    )
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    results: Results = {
        "server": f"redis {info.get('redis_version')} at {url}",
        "page": PAGE,
        "sizes": {"single_ingests": singles, "batch": batch, "replay": replay_n},
    }
    names: list[str] = []

    def fresh(kind: str) -> str:
        names.append(f"{prefix}:{kind}:{len(names)}")
        return names[-1]

    def value(i: int) -> dict[str, Any]:
        return {"n": i, "host": "web-1", "ok": True}

    try:
        # -- single ingest: one round trip each --------------------------------------------------
        log: RedisEventLog[str, Any] = RedisEventLog(client, fresh("single"))
        raw_stream = fresh("raw-single")
        counter = iter(range(10**9))

        def cowlog_single() -> None:
            for _ in range(singles):
                i = next(counter)
                log.ingest(f"k{i % 100}", value(i), i)

        def raw_single() -> None:
            for _ in range(singles):
                i = next(counter)
                client.xadd(raw_stream, {"t": i, "k": dumps(f"k{i % 100}"), "v": dumps(value(i))})

        local: EventLog[str, Any] = EventLog()

        def in_process_single() -> None:
            for _ in range(singles):
                i = next(counter)
                local.ingest(f"k{i % 100}", value(i), i)

        single = _alternate(
            {"cowlog": cowlog_single, "raw": raw_single, "in_process": in_process_single}, rounds
        )
        results["ingest_us"] = {k: v / singles * 1e6 for k, v in single.items()}

        # -- ingest_many of `batch` events: one script vs one pipeline ---------------------------
        items = [(f"k{i % 100}", value(i), i) for i in range(batch)]
        batch_log: RedisEventLog[str, Any] = RedisEventLog(client, fresh("batch"))
        raw_batch_stream = fresh("raw-batch")

        def cowlog_batch() -> None:
            batch_log.ingest_many(items)

        def raw_batch() -> None:
            pipe = client.pipeline(transaction=False)
            for key, payload, ts in items:
                pipe.xadd(raw_batch_stream, {"t": ts, "k": dumps(key), "v": dumps(payload)})
            pipe.execute()

        def in_process_batch() -> None:
            EventLog[str, Any]().ingest_many(items)

        many = _alternate(
            {"cowlog": cowlog_batch, "raw": raw_batch, "in_process": in_process_batch},
            max(3, rounds // 2),
        )
        results["ingest_many_events_per_s"] = {k: batch / v for k, v in many.items()}

        # -- replay of `replay_n` events, paged ---------------------------------------------------
        read_log: RedisEventLog[str, Any] = RedisEventLog(client, fresh("replay"))
        for start in range(0, replay_n, 10_000):
            read_log.ingest_many(
                [(f"k{i % 100}", value(i), i) for i in range(start, min(start + 10_000, replay_n))]
            )
        raw_read_stream = fresh("raw-replay")
        pipe = client.pipeline(transaction=False)
        for i in range(replay_n):
            pipe.xadd(raw_read_stream, {"t": i, "k": dumps(f"k{i % 100}"), "v": dumps(value(i))})
        pipe.execute()
        loads = json.loads
        local_read: EventLog[str, Any] = EventLog()
        local_read.ingest_many([(f"k{i % 100}", value(i), i) for i in range(replay_n)])

        def cowlog_replay() -> None:
            for _ in read_log.replay():
                pass

        def raw_replay() -> None:
            start: bytes | str = "-"
            while True:
                page: Any = client.xrange(raw_read_stream, start, "+", count=PAGE)
                for _, fields in page:
                    (int(fields[b"t"]), loads(fields[b"k"]), loads(fields[b"v"]))
                if len(page) < PAGE:
                    break
                start = b"(" + page[-1][0]

        def in_process_replay() -> None:
            for _ in local_read.replay():
                pass

        replay = _alternate(
            {"cowlog": cowlog_replay, "raw": raw_replay, "in_process": in_process_replay},
            max(3, rounds // 2),
        )
        results["replay_ms"] = {k: v * 1e3 for k, v in replay.items()}

        # -- reads of one instant: snapshot (size + shortlog of 100 keys), latest, len -----------
        results["read_us"] = {
            "snapshot (100 keys)": _median_seconds(read_log.snapshot, 200) * 1e6,
            "list(shortlog()) (100 keys)": _median_seconds(lambda: list(read_log.shortlog()), 200)
            * 1e6,
            "latest(key)": _median_seconds(lambda: read_log.latest("k7"), 200) * 1e6,
            "len(log)": _median_seconds(lambda: len(read_log), 200) * 1e6,
            "snapshot()[5]": _median_seconds(lambda: read_log.snapshot()[5], 200) * 1e6,
        }
    finally:
        for name in names:
            for key in client.scan_iter(match=f"{{{name}}}:*", count=1000):
                client.delete(key)
            client.delete(name)
    ingest, many, replay = (
        results["ingest_us"],
        results["ingest_many_events_per_s"],
        results["replay_ms"],
    )
    results["targets"] = [
        {
            "target": "single ingest <= 2x a raw XADD round trip",
            "measured": f"{ingest['cowlog'] / ingest['raw']:.2f}x",
            "met": ingest["cowlog"] <= 2 * ingest["raw"],
        },
        {
            "target": f"ingest_many of {batch:,} >= 50% of a pipelined raw XADD",
            "measured": f"{many['cowlog'] / many['raw']:.0%}",
            "met": many["cowlog"] >= 0.5 * many["raw"],
        },
        {
            "target": f"replay of {replay_n:,} <= 1.5x raw XRANGE paging with decoding",
            "measured": f"{replay['cowlog'] / replay['raw']:.2f}x",
            "met": replay["cowlog"] <= 1.5 * replay["raw"],
        },
    ]
    return results


def print_redis(results: Results, console: Any) -> None:
    """Print the figures `run_redis` returned as rich tables on *console*."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Redis ({results['server']}; pages of {results['page']:,})")
    for column in ("operation", "cowlog.redis", "raw redis-py", "ratio", "in-process EventLog"):
        table.add_column(column, justify="right")
    ingest = results["ingest_us"]
    table.add_row(
        "ingest, µs per call",
        f"{ingest['cowlog']:.1f}",
        f"{ingest['raw']:.1f} (XADD)",
        f"{ingest['cowlog'] / ingest['raw']:.2f}x",
        f"{ingest['in_process']:.2f}",
    )
    many = results["ingest_many_events_per_s"]
    table.add_row(
        f"ingest_many of {results['sizes']['batch']:,}, events/s",
        f"{many['cowlog']:,.0f}",
        f"{many['raw']:,.0f} (pipelined XADD)",
        f"{many['cowlog'] / many['raw']:.0%}",
        f"{many['in_process']:,.0f}",
    )
    replay = results["replay_ms"]
    table.add_row(
        f"replay of {results['sizes']['replay']:,}, ms",
        f"{replay['cowlog']:.1f}",
        f"{replay['raw']:.1f} (XRANGE + json)",
        f"{replay['cowlog'] / replay['raw']:.2f}x",
        f"{replay['in_process']:.2f}",
    )
    for name, micros in results["read_us"].items():
        table.add_row(escape(f"{name}, µs"), f"{micros:.1f}", "", "", "")
    console.print(table)
    targets = Table(title="Targets (issue 17: Redis)")
    for column in ("target", "measured", ""):
        targets.add_column(column)
    for row in results["targets"]:
        targets.add_row(
            row["target"],
            row["measured"],
            "[green]met[/green]" if row["met"] else "[red]MISSED[/red]",
        )
    console.print(targets)


def _main() -> int:
    from rich.console import Console

    url = os.environ.get("COWLOG_REDIS_URL")
    if not url:
        print("set COWLOG_REDIS_URL, e.g. redis://127.0.0.1:6390/0", file=sys.stderr)
        return 2
    results = run_redis(url, quick="--quick" in sys.argv)
    print_redis(results, Console())
    if "--json" in sys.argv:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
