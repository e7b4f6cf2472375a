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


def _fsync_latencies(directory: str, count: int) -> list[float]:
    """Latencies of fdatasync after a small append, on this directory's disk."""
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
    return latencies


class _Writers:
    """*count* threads that each ingest *n* events into *log* whenever `run` asks them to."""

    def __init__(self, log: Any, count: int) -> None:
        self.log = log
        self.count = count
        self.n = 0
        self.start = threading.Barrier(count + 1)
        self.finish = threading.Barrier(count + 1)
        self.stopping = False
        self.threads = [
            threading.Thread(target=self._work, args=(w,), daemon=True) for w in range(count)
        ]
        for thread in self.threads:
            thread.start()

    def _work(self, w: int) -> None:
        ingest = self.log.ingest
        while True:
            self.start.wait()
            if self.stopping:
                return
            for i in range(self.n):
                ingest(f"w{w}", i, i)
            self.finish.wait()

    def run(self, n: int) -> float:
        """Let every thread ingest *n* events; return the seconds they took together."""
        self.n = n
        self.start.wait()
        begin = time.perf_counter()
        self.finish.wait()
        return time.perf_counter() - begin

    def stop(self) -> None:
        self.stopping = True
        self.start.wait()
        for thread in self.threads:
            thread.join()


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
        # The disk's fsync latency drifts by several times within seconds (other tenants, the
        # host's cache): short blocks of each measure alternate, and each is summed over them all.
        blocks = 10 if quick else 40
        probes: list[float] = []
        latencies: list[float] = []  # of each single ingest with one writer
        one_writer = journal.open(fresh_path(), fsync="always")
        four_writers = journal.open(fresh_path(), fsync="always")
        team = _Writers(four_writers, 4)
        spent = {"one": 0.0, "four": 0.0}
        done = {"one": 0, "four": 0}
        try:
            for block in range(blocks):
                probes += _fsync_latencies(directory, 10)
                for i in range(10):
                    begin = time.perf_counter()
                    one_writer.ingest("key", i, block)
                    latencies.append(time.perf_counter() - begin)
                spent["one"] += sum(latencies[-10:])
                done["one"] += 10
                spent["four"] += team.run(10)
                done["four"] += 40
        finally:
            team.stop()
            one_writer.close()
            four_writers.close()
        results["fsync mean"] = sum(probes) / len(probes)
        probes.sort()
        latencies.sort()
        results["fsync p50"] = probes[len(probes) // 2]
        results["fsync p99"] = probes[len(probes) * 99 // 100]
        results["always 1 writer p50"] = latencies[len(latencies) // 2]
        results["single always 1 writer"] = spent["one"] / done["one"]
        results["single always 4 writers"] = spent["four"] / done["four"]
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
    one_p50 = results["always 1 writer p50"]
    rows.append(
        (
            "fsync='always', 1 writer (medians)",
            f"ingest p50 {one_p50 * 1e3:.3f} ms, fsync p50 {p50 * 1e3:.3f} ms "
            f"(p99 {results['fsync p99'] * 1e3:.2f}): {p50 / one_p50:.2f}x",
            ">= 0.7x",
            str(p50 / one_p50 >= 0.7),
        )
    )
    mean = results["fsync mean"]
    rows.append(
        (
            "fsync='always', 1 writer (rates)",
            f"{1 / one:,.0f}/s; 1 / mean fsync = {1 / mean:,.0f}/s: {mean / one:.2f}x",
            ">= 0.7x",
            str(mean / one >= 0.7),
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
