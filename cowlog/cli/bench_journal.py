"""`cowlog bench`'s journal rows: each fsync policy beside a plain log, group commit, recovery.

Every ratio is taken in one run, against a plain `EventLog` (or this disk's own fsync latency)
measured in the same run, so the rows compare like with like on whatever machine runs them. The
journals are written under a temporary directory on the same file system as ``TMPDIR`` (set it to
measure another disk).
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

from .._log import EventLog

__all__ = ["bench_journal", "journal_rows", "print_journal"]

Item = tuple[str, int, int]


def _items(n: int, keys: int = 100) -> list[Item]:
    names = [f"key{i}" for i in range(keys)]
    return [(names[i % keys], i, i) for i in range(n)]


def _fsync_p50(directory: str, count: int) -> float:
    """The median latency of fdatasync after a small append, on this directory's disk."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        latencies = []
        for _ in range(count):
            os.write(fd, b"x" * 40)
            begin = time.perf_counter()
            os.fdatasync(fd)
            latencies.append(time.perf_counter() - begin)
    finally:
        os.close(fd)
        os.unlink(path)
    latencies.sort()
    return latencies[len(latencies) // 2]


def bench_journal(quick: bool = False, step: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Measure the journal; return seconds per event (and the ratios) by row name."""
    from .. import journal

    note = step or (lambda _: None)
    n = 20_000 if quick else 200_000
    runs = 3 if quick else 5
    results: dict[str, Any] = {}
    directory = tempfile.mkdtemp(prefix="cowlog-bench-")
    counter = [0]

    def fresh_path() -> str:
        counter[0] += 1
        return os.path.join(directory, f"j{counter[0]}")

    def single(make: Callable[[], Any], items: list[Item]) -> float:
        log = make()
        ingest = log.ingest
        gc.collect()
        begin = time.perf_counter()
        for key, value, timestamp in items:
            ingest(key, value, timestamp)
        elapsed = time.perf_counter() - begin
        close = getattr(log, "close", None)
        if close is not None:
            close()
        return elapsed / len(items)

    def batched(make: Callable[[], Any], items: list[Item], size: int = 100) -> float:
        log = make()
        ingest_many = log.ingest_many
        batches = [items[i : i + size] for i in range(0, len(items), size)]
        gc.collect()
        begin = time.perf_counter()
        for batch in batches:
            ingest_many(batch)
        elapsed = time.perf_counter() - begin
        close = getattr(log, "close", None)
        if close is not None:
            close()
        return elapsed / len(items)

    def journaled(policy: str) -> Callable[[], Any]:
        return lambda: journal.open(fresh_path(), fsync=policy)

    try:
        items = _items(n)
        from .._codec import get_codec

        results["json_library"] = get_codec("json").library
        note("journal: single ingest per policy")
        for _ in range(runs):  # interleaved, so a slow moment of the machine bills every row
            for name, make in (
                ("plain", EventLog),
                ("never", journaled("never")),
                ("interval", journaled("interval")),
            ):
                row = f"single {name}"
                results[row] = min(results.get(row, 1.0), single(make, items))
                row = f"batch100 {name}"
                results[row] = min(results.get(row, 1.0), batched(make, items))
        note("journal: fsync latency and fsync='always'")
        always_n = 200 if quick else 1000
        p50s = []
        for _ in range(runs):  # the disk's latency drifts: measure it beside each run
            p50s.append(_fsync_p50(directory, 50 if quick else 200))
            one = single(journaled("always"), items[:always_n])
            four = _threads(journaled("always"), items[: always_n * 2], 4)
            results["single always 1 writer"] = min(results.get("single always 1 writer", 1), one)
            results["single always 4 writers"] = min(
                results.get("single always 4 writers", 1), four
            )
        p50s.sort()
        results["fsync p50"] = p50s[len(p50s) // 2]
        note("journal: recovery")
        recover_n = 100_000 if quick else 1_000_000
        recovery_items = _items(recover_n)
        singles = fresh_path()
        with journal.open(singles, fsync="never") as log:
            for key, value, timestamp in recovery_items:
                log.ingest(key, value, timestamp)
        batches = fresh_path()
        with journal.open(batches, fsync="never") as log:
            for i in range(0, recover_n, 1000):
                log.ingest_many(recovery_items[i : i + 1000])

        def reopen(path: str) -> float:
            gc.collect()
            begin = time.perf_counter()
            log = journal.open(path, fsync="never")
            elapsed = time.perf_counter() - begin
            log.close()
            return elapsed

        def plain_many() -> float:
            log: EventLog[str, int] = EventLog()
            gc.collect()
            begin = time.perf_counter()
            log.ingest_many(recovery_items)
            return time.perf_counter() - begin

        results["recover events"] = recover_n
        for _ in range(2 if quick else 3):
            for row, measure in (
                ("recover ingest_many", plain_many),
                ("recover single frames", lambda: reopen(singles)),
                ("recover batch frames", lambda: reopen(batches)),
            ):
                results[row] = min(results.get(row, 1e9), measure())
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return results


def _threads(make: Callable[[], Any], items: list[Item], writers: int) -> float:
    """Seconds per event with *writers* threads ingesting *items* between them."""
    log = make()
    share = len(items) // writers
    barrier = threading.Barrier(writers + 1)

    def write(part: list[Item]) -> None:
        ingest = log.ingest
        barrier.wait()
        for key, value, timestamp in part:
            ingest(key, value, timestamp)

    threads = [
        threading.Thread(target=write, args=(items[i * share : (i + 1) * share],))
        for i in range(writers)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    begin = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - begin
    log.close()
    return elapsed / (share * writers)


def journal_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Rows ``(measure, value, bar, met)`` for the tables ``cowlog bench`` prints."""
    us = 1e6
    rows = []
    plain, never = results["single plain"], results["single never"]
    rows.append(
        (
            f"single ingest, fsync='never' ({results['json_library']})",
            f"{never * us:.2f} us = {never / plain:.2f}x plain ({plain * us:.2f} us)",
            "<= 3.5x",
            str(never / plain <= 3.5),
        )
    )
    plain_b, never_b = results["batch100 plain"], results["batch100 never"]
    rows.append(
        (
            "ingest_many of 100, fsync='never'",
            f"{never_b * us:.3f} us/event = {never_b / plain_b:.2f}x plain",
            "<= 2x",
            str(never_b / plain_b <= 2),
        )
    )
    interval = results["single interval"]
    rows.append(
        (
            "single ingest, fsync='interval'",
            f"{never / interval:.2f}x the rate of 'never'",
            ">= 0.9x",
            str(never / interval >= 0.9),
        )
    )
    p50 = results["fsync p50"]
    one = results["single always 1 writer"]
    rows.append(
        (
            "fsync='always', 1 writer",
            f"{1 / one:,.0f}/s; 1 / fsync p50 = {1 / p50:,.0f}/s ({p50 * 1e3:.2f} ms)",
            ">= 0.7x",
            str(1 / one >= 0.7 / p50),
        )
    )
    four = results["single always 4 writers"]
    rows.append(
        (
            "fsync='always', 4 writers",
            f"{1 / four:,.0f}/s = {one / four:.2f}x 1 writer",
            ">= 1.7x",
            str(one / four >= 1.7),
        )
    )
    base = results["recover ingest_many"]
    for row, bar in (("recover single frames", 5.0), ("recover batch frames", 2.0)):
        seconds = results[row]
        rows.append(
            (
                f"{row[8:]}: recovery of {results['recover events']:,} events",
                f"{seconds:.2f} s = {seconds / base:.2f}x ingest_many ({base:.2f} s)",
                f"<= {bar:g}x",
                str(seconds / base <= bar),
            )
        )
    return rows


def print_journal(console: Any, results: dict[str, Any]) -> None:
    """Print the journal table (rich) of `bench_journal`'s results."""
    from rich.table import Table

    table = Table(
        title="Journal (issue 16): each policy beside a plain log and this disk's fsync, one run"
    )
    for column in ("measure", "value", "bar", ""):
        table.add_column(column)
    for measure, value, bar, met in journal_rows(results):
        verdict = "[green]met[/green]" if met == "True" else "[red]MISSED[/red]"
        table.add_row(measure, value, bar, verdict)
    console.print(table)
