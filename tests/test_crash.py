"""Crashes: child processes killed with SIGKILL mid-write, and a model of power loss.

What these prove (docs/journal.md states the promises):

* **Process death** (SIGKILL at a random moment, every policy, 1 or 4 writer threads, singles and
  batches, with and without compactions running): reopening recovers every acknowledged event at
  the offset it was acknowledged with, never an event twice, each writer's events in the order it
  wrote them, and each batch whole or not at all. With ``max_events`` (the log drops old chunks
  and the file compacts itself in the background while it is killed), the same for every event at
  or past the file's first offset, and each writer's survivor is its newest acknowledged event or
  a later one.
* **Power loss** with ``fsync="always"``: the disk keeps only what a completed fsync covered (a spy
  around the real ``os.fdatasync`` records the file's size when each call began) and the rest is
  cut, zeroed or garbled; every acknowledged event is still recovered. A deliberately broken log
  that acknowledges before the fsync fails the same check (``mutation``).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import cowlog.journal as journal

RUNS = 4 if os.environ.get("CI") else 2

_CHILD = r"""
import os, sys, threading, time
import cowlog.journal as j

path, policy, writers, batches, compacting, run = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    sys.argv[4] == "1", sys.argv[5] == "1", sys.argv[6]
retain = int(sys.argv[7]) or None  # max_events: the file then also compacts itself
log = j.open(path, fsync=policy, interval=0.005, max_events=retain)
report = threading.Lock()

def say(lines):
    data = "".join(lines).encode()
    with report:  # one write per acknowledged call: the parent never sees half a report
        os.write(1, data)

def writer(w):
    w = f"r{run}w{w}"  # a writer of this run: tags are unique across runs on one file
    n = 0
    while True:
        if batches and n % 3 == 0:
            size = 1 + n % 5
            got = log.ingest_many([(f"w{w}", f"{w}:{n}:{i}:{size}", n) for i in range(size)])
            say([f"{offset} {w}:{n}:{i}:{size}\n" for i, offset in enumerate(got)])
        else:
            offset = log.ingest(f"w{w}", f"{w}:{n}:0:1", n)
            say([f"{offset} {w}:{n}:0:1\n"])
        n += 1

def compactor():
    while True:
        time.sleep(0.01)
        log.compact()

threads = [threading.Thread(target=writer, args=(w,), daemon=True) for w in range(writers)]
if compacting:
    threads.append(threading.Thread(target=compactor, daemon=True))
for t in threads:
    t.start()
time.sleep(60)
"""


def _run_and_kill(
    path: Path,
    policy: str,
    writers: int,
    batches: bool,
    compacting: bool,
    rng: random.Random,
    run: int,
    retain: int = 0,
) -> dict[int, str]:
    """Run the child, SIGKILL it after a random number of acknowledgements; return them all."""
    flags = ["1" if batches else "0", "1" if compacting else "0"]
    args = [str(path), policy, str(writers), *flags, str(run), str(retain)]
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert child.stdout is not None
    wanted = rng.randrange(5, 300 if policy == "always" else 3000)
    if retain:  # enough for retention to drop chunks and the file to compact itself
        wanted = rng.randrange(30_000, 60_000)
    received = b""
    while received.count(b"\n") < wanted:
        chunk = os.read(child.stdout.fileno(), 1 << 16)
        if not chunk:
            break
        received += chunk
    threading.Event().wait(rng.random() * 0.02)  # land anywhere in a write
    child.send_signal(signal.SIGKILL)
    rest, errors = child.communicate()  # every report written before the kill is acknowledged
    assert child.returncode == -signal.SIGKILL, errors.decode()
    acknowledged: dict[int, str] = {}
    for line in (received + rest).decode().splitlines(keepends=True):
        if line.endswith("\n"):  # a report cut by the kill is not counted
            offset, tag = line.split()
            acknowledged[int(offset)] = tag
    assert acknowledged, errors.decode()
    return acknowledged


def _check_recovered(path: Path, acknowledged: dict[int, str]) -> list[Any]:
    """Open the journal after a crash; assert the promises; return its records.

    Events below the file's first offset were dropped by retention (a compaction wrote the file
    without them): each writer's key then still has its survivor, as in memory.
    """
    with journal.open(path, fsync="never") as log:
        assert log.recovery.damage in (None, "torn tail"), log.recovery
        first = log.first_offset
        records = list(log.replay())
        latest = {key: value for _, key, value in log.shortlog()}
        log._check()
    values = [value for _, _, value in records]
    newest: dict[str, int] = {}
    for offset, tag in acknowledged.items():  # nothing acknowledged is lost, or moved
        writer, n = tag.split(":")[:2]
        newest[writer] = max(newest.get(writer, -1), int(n))
        if offset >= first:
            assert offset - first < len(values) and values[offset - first] == tag, (offset, tag)
    for writer, n in newest.items():  # a writer's survivor is its newest write, or later
        assert int(latest[f"w{writer}"].split(":")[1]) >= n, writer
    assert len(set(values)) == len(values), "an event recovered twice"
    last: dict[str, int] = {}
    offset = 0
    while offset < len(values) and values[offset].split(":")[2] != "0":  # a batch cut by a trim
        offset += 1
    while offset < len(values):  # each writer's calls in its order, each batch whole
        writer, n, index, size = values[offset].split(":")
        assert index == "0", f"a batch cut at offset {first + offset}"
        assert int(n) > last.get(writer, -1), f"writer {writer} reordered at offset {offset}"
        last[writer] = int(n)
        expected = [f"{writer}:{n}:{i}:{size}" for i in range(int(size))]
        assert values[offset : offset + int(size)] == expected, f"a torn batch at {offset}"
        offset += int(size)
    return records


@pytest.mark.parametrize(
    ("policy", "writers", "batches", "compacting"),
    [
        ("always", 1, False, False),
        ("always", 4, True, False),
        ("interval", 4, True, False),
        ("never", 1, False, False),
        ("never", 4, True, False),
        ("always", 2, True, True),
        ("never", 3, True, True),
    ],
)
def test_sigkill_loses_no_acknowledged_event(
    tmp_path: Path, policy: str, writers: int, batches: bool, compacting: bool
) -> None:
    """The child is killed at a random moment; reopening finds every acknowledged event.

    Each run goes on in the same file (a second crash on top of a recovered one), so recovery
    after recovery is checked too; the offsets the second child reports follow the first's.
    """
    rng = random.Random(f"{policy}{writers}{batches}{compacting}")
    path = tmp_path / "crash.journal"
    acknowledged: dict[int, str] = {}
    for run in range(RUNS):
        acknowledged.update(_run_and_kill(path, policy, writers, batches, compacting, rng, run))
        _check_recovered(path, acknowledged)


@pytest.mark.parametrize("policy", ["interval", "never"])
def test_sigkill_with_retention_and_background_compactions(tmp_path: Path, policy: str) -> None:
    """max_events=2,000: the log drops chunks and the file compacts itself in the background,
    while three writers write and the child is killed; reopening finds every acknowledged event
    at or past the file's first offset, and each writer's survivor."""
    rng = random.Random(f"retain{policy}")
    path = tmp_path / "crash.journal"
    acknowledged: dict[int, str] = {}
    for run in range(RUNS):
        acknowledged.update(_run_and_kill(path, policy, 3, True, False, rng, run, retain=2000))
        records = _check_recovered(path, acknowledged)
        assert len(records) < max(acknowledged) / 2  # compacted: not every event is in the file


# -- power loss -----------------------------------------------------------------------------------


class _FsyncSpy:
    """Wraps the real ``os.fdatasync``: records how many bytes each completed call covered."""

    def __init__(self, real: Callable[[int], None]) -> None:
        self.real = real
        self.covered: dict[int, int] = {}  # inode -> bytes covered by a completed fsync
        self.lock = threading.Lock()

    def __call__(self, fd: int) -> None:
        info = os.fstat(fd)
        self.real(fd)  # the real fsync: only after it returns is anything covered
        with self.lock:
            if info.st_size > self.covered.get(info.st_ino, 0):
                self.covered[info.st_ino] = info.st_size


def _power_cuts(make_log: Callable[[Path], Any], tmp_path: Path, cuts: int, seed: int) -> list[str]:
    """Write with 4 threads; at *cuts* random moments build the disk a power loss could leave.

    Returns the problems found: acknowledged events that the image does not recover.
    """
    rng = random.Random(seed)
    spy = _FsyncSpy(os.fdatasync)
    problems: list[str] = []
    path = tmp_path / "power.journal"
    acknowledged: list[tuple[int, str]] = []
    stop = threading.Event()
    running = threading.Event()  # cleared while an image is recovered: the GIL is the main's
    running.set()
    real = os.fdatasync
    os.fdatasync = spy
    try:
        log = make_log(path)

        def writer(w: int) -> None:
            n = 0
            while not stop.is_set():
                running.wait()
                if n % 4 == 0:
                    got = log.ingest_many([("w", f"{w}:{n}:{i}", n) for i in range(3)])
                    acknowledged.extend((offset, f"{w}:{n}:{i}") for i, offset in enumerate(got))
                else:
                    acknowledged.append((log.ingest("w", f"{w}:{n}:0", n), f"{w}:{n}:0"))
                n += 1

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        try:
            for cut in range(cuts):
                threading.Event().wait(rng.random() * 0.01)
                acked = list(acknowledged)  # first: each was covered before it was appended
                inode = os.stat(path).st_ino
                with spy.lock:
                    covered = spy.covered.get(inode, 0)
                data = path.read_bytes()
                running.clear()  # the moment is taken: let the check run without the writers
                image = tmp_path / f"image{cut}"
                image.write_bytes(_lose_power(data, max(covered, len(_header())), rng))
                with journal.open(image, on_corruption="truncate") as recovered:
                    values = [value for _, _, value in recovered.replay()]
                for offset, tag in acked:
                    if offset >= len(values) or values[offset] != tag:
                        problems.append(f"cut {cut}: acknowledged {tag} at {offset} lost")
                        break
                for name in os.listdir(tmp_path):
                    if name.startswith(f"image{cut}"):
                        os.unlink(tmp_path / name)
                running.set()
        finally:
            stop.set()
            running.set()
            for thread in threads:
                thread.join()
            log.close()
    finally:
        os.fdatasync = real
    return problems


def _header() -> bytes:
    from cowlog._frames import encode_header

    return encode_header("json")


def _lose_power(data: bytes, covered: int, rng: random.Random) -> bytes:
    """Keep the covered bytes; cut, zero or garble the rest, as a power loss may."""
    kept, rest = data[:covered], bytearray(data[covered:])
    how = rng.randrange(4)
    if how == 0:  # cut anywhere
        return kept + bytes(rest[: rng.randrange(len(rest) + 1)])
    if how == 1:  # the unwritten blocks read as zeros
        start = rng.randrange(len(rest) + 1)
        return kept + bytes(rest[:start]) + bytes(len(rest) - start)
    if how == 2 and rest:  # garbled from some point on
        start = rng.randrange(len(rest))
        return kept + bytes(rest[:start]) + rng.randbytes(len(rest) - start)
    for _ in range(rng.randrange(1, 4)):  # a few bytes flipped, anywhere past the covered part
        if rest:
            rest[rng.randrange(len(rest))] ^= 1 << rng.randrange(8)
    return kept + bytes(rest)


def test_power_loss_keeps_every_acknowledged_event_with_always(tmp_path: Path) -> None:
    problems = _power_cuts(lambda path: journal.open(path, fsync="always"), tmp_path, 25, 1)
    assert problems == []


class _AcknowledgesBeforeFsync(journal.JournaledLog[Any, Any]):
    """Broken on purpose: stands for ``always`` but returns before the fsync (a 1 ms flusher)."""


@pytest.mark.mutation
def test_power_loss_model_catches_a_log_that_acknowledges_before_fsync(tmp_path: Path) -> None:
    def broken(path: Path) -> Any:
        return _AcknowledgesBeforeFsync(path, fsync="interval", interval=0.001)

    problems = _power_cuts(broken, tmp_path, 25, 2)
    assert problems, "the power-loss model did not catch a log that acknowledges before fsync"
