"""The journal: format, codecs, recovery, locks, fsync policies, I/O errors, compaction, dump/load.

Real files, real fsync, real processes; nothing here mocks the file system (one test injects
a failing directory fsync, which no file system makes on demand). The crash tests (child
processes killed with SIGKILL) live in test_crash.py.
"""

from __future__ import annotations

import errno
import gc
import json
import math
import os
import random
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from bisect import bisect_right
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import cowlog.journal as journal
from cowlog import EventLog
from cowlog._codec import CODECS, get_codec
from cowlog._frames import FRAME_HEADER, MAGIC, encode_header, scan
from cowlog.journal import (
    JournalCorruptError,
    JournalFormatError,
    JournalLockedError,
    JournalWriteError,
)

POLICIES = ("always", "interval", "never")


def records(log: Any) -> list[tuple[int, Any, Any]]:
    return [tuple(record) for record in log.replay()]  # type: ignore[misc]


def frames_of(path: Path) -> list[int]:
    """The start offset of every intact frame in the journal at *path*."""
    data = path.read_bytes()
    header = encode_header(journal.read(path).codec)
    return scan(data, len(header), starts=True).starts


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "events.journal"


# -- opening, writing, recovering ------------------------------------------------------------------


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("codec", ["json", "msgpack", "pickle"])
def test_reopening_recovers_every_event_at_its_offset(path: Path, policy: str, codec: str) -> None:
    pytest.importorskip("msgspec") if codec == "msgpack" else None
    with pytest.warns(UserWarning) if codec == "pickle" else _nothing():
        log = EventLog.open(path, fsync=policy, codec=codec)
    assert log.recovery.created and log.recovery.events == 0
    assert log.ingest("disk", {"free": 0}, 10) == 0
    assert list(log.ingest_many([("cpu", [1, 2], 11), ("disk", {"free": 5}, 12)])) == [1, 2]
    assert log.ingest("net", None, 9) == 3
    expected = records(log)
    log.close()
    with pytest.warns(UserWarning) if codec == "pickle" else _nothing():
        again = EventLog.open(path, fsync=policy, codec=codec)
    assert records(again) == expected
    assert again.recovery.events == 4 and again.recovery.frames == 3
    assert not again.recovery.created and again.recovery.damage is None
    assert again.latest("disk") == (12, "disk", {"free": 5})
    assert again.ingest("x", 1, 1) == 4  # offsets go on where they were
    again.close()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_a_batch_is_one_frame_and_a_single_ingest_one_frame(path: Path) -> None:
    with journal.open(path, fsync="never") as log:
        log.ingest("a", 1, 1)
        log.ingest_many([("b", 2, 2), ("c", 3, 3), ("d", 4, 4)])
        log.ingest_many([])  # an empty batch writes nothing
        log.ingest("e", 5, 5)
    assert len(frames_of(path)) == 3
    assert journal.read(path).records == [
        (1, "a", 1),
        (2, "b", 2),
        (3, "c", 3),
        (4, "d", 4),
        (5, "e", 5),
    ]


def test_timestamps_from_the_clock_are_journaled(path: Path) -> None:
    with journal.open(path, clock=lambda: 77) as log:
        log.ingest("a", 1)
    with journal.open(path) as log:
        assert records(log) == [(77, "a", 1)]


def test_the_header_names_magic_version_and_codec(path: Path) -> None:
    journal.open(path, codec="json").close()
    data = path.read_bytes()
    assert data.startswith(MAGIC) and data[8] == 1 and data[10:14] == b"json"
    assert journal.is_journal(path)
    assert not journal.is_journal(path.parent / "missing")


# -- codecs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "hint"),
    [
        (("a", 1), 1, "tuple"),
        ("a", (1, 2), "tuple"),
        ("a", {"x": (1,)}, "tuple"),
        ("a", math.nan, "NaN"),
        ("a", {1: "x"}, "dict key of type int"),
        ("a", 1 << 70, "64 bits"),
        ("a", datetime(2020, 1, 1), "datetime"),
        ("a", {1, 2}, "json"),
        ("a", b"bytes", "json"),
        ("a", "\ud800", "json"),
    ],
)
def test_what_json_would_not_bring_back_equal_is_refused(
    path: Path, key: Any, value: Any, hint: str
) -> None:
    with journal.open(path, fsync="always") as log:
        log.ingest("before", 0, 0)
        size = path.stat().st_size
        with pytest.raises(TypeError, match="'json' codec") as info:
            log.ingest(key, value, 1)
        assert hint in str(info.value)
        with pytest.raises(TypeError, match=r"items\[1\] (key|value)"):
            log.ingest_many([("ok", 1, 2), (key, value, 3)])
        assert path.stat().st_size == size  # nothing written
        assert records(log) == [(0, "before", 0)]  # nothing ingested
        assert log.ingest("after", 1, 2) == 1  # still writable
    with journal.open(path) as log:
        assert [key for _, key, _ in log.replay()] == ["before", "after"]


def test_msgpack_keeps_bytes_and_int_keys_and_refuses_tuples(path: Path) -> None:
    pytest.importorskip("msgspec")
    with journal.open(path, codec="msgpack") as log:
        log.ingest(b"k", {1: b"\x00", "s": [1.5, None]}, 3)
        with pytest.raises(TypeError, match="'msgpack' codec"):
            log.ingest("t", (1, 2), 4)
    with journal.open(path, codec="msgpack") as log:
        assert records(log) == [(3, b"k", {1: b"\x00", "s": [1.5, None]})]


def test_pickle_warns_and_keeps_tuples(path: Path) -> None:
    with pytest.warns(UserWarning, match="runs code"):
        log = journal.open(path, codec="pickle")
    log.ingest(("a", 1), (1, 2), 3)
    log.close()
    with pytest.warns(UserWarning):
        again = journal.open(path, codec="pickle")
    assert records(again) == [(3, ("a", 1), (1, 2))]
    again.close()


def test_a_journal_written_without_orjson_is_read_with_it(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("orjson")
    monkeypatch.setitem(sys.modules, "orjson", None)  # import orjson now raises ImportError
    assert get_codec("json").library == "json"
    with journal.open(path) as log:
        log.ingest("a", {"x": [1, 2.5, "é"]}, 1)
        with pytest.raises(TypeError, match="'json' codec"):
            log.ingest("big", 1 << 70, 2)  # the stdlib could, orjson could not: refused
    monkeypatch.delitem(sys.modules, "orjson")
    assert get_codec("json").library == "orjson"
    with journal.open(path) as log:
        assert records(log) == [(1, "a", {"x": [1, 2.5, "é"]})]


# -- torn tails and damage -------------------------------------------------------------------------


def _journal_with_frames(path: Path) -> tuple[bytes, list[int]]:
    with journal.open(path, fsync="never") as log:
        log.ingest("a", "first", 1)
        log.ingest_many([("b", {"n": 1}, 2), ("c", [3], 3)])
        log.ingest("d", "last of all", 4)
    return path.read_bytes(), frames_of(path)


def test_a_cut_at_every_byte_of_the_last_frame_recovers_every_whole_frame(path: Path) -> None:
    data, starts = _journal_with_frames(path)
    last = starts[-1]
    for cut in range(last, len(data)):
        path.write_bytes(data[:cut])
        with journal.open(path, fsync="never") as log:
            assert [key for _, key, _ in log.replay()] == ["a", "b", "c"]
            found = log.recovery
        assert path.stat().st_size == last
        if cut == last:
            assert found.damage is None and found.saved_to is None
        else:
            assert found.damage == "torn tail"
            assert (found.dropped_at, found.dropped_bytes) == (last, cut - last)
            assert found.saved_to is not None
            assert Path(found.saved_to).read_bytes() == data[last:cut]
            os.unlink(found.saved_to)


@pytest.mark.parametrize("tail", [b"\x00" * 4096, b"\x00", b"garbage after the end", b"\xff" * 9])
def test_zeros_or_garbage_after_the_last_frame_are_dropped(path: Path, tail: bytes) -> None:
    data, _ = _journal_with_frames(path)
    path.write_bytes(data + tail)
    with journal.open(path) as log:
        assert len(log) == 4
        assert log.recovery.dropped_bytes == len(tail) and log.recovery.dropped_at == len(data)
        assert log.recovery.damage == "torn tail"
        log.ingest("e", 5, 5)  # a frame after the cut: the file is whole again
    assert len(journal.read(path).records) == 5


def test_a_flipped_byte_in_the_middle_is_reported_and_the_file_untouched(path: Path) -> None:
    data, starts = _journal_with_frames(path)
    for position in range(starts[1], starts[2]):  # every byte of the batch frame
        damaged = bytearray(data)
        damaged[position] ^= 0x40
        path.write_bytes(bytes(damaged))
        with pytest.raises(JournalCorruptError, match=f"offset {starts[1]}") as info:
            journal.open(path)
        assert info.value.offset == starts[1]
        assert path.read_bytes() == bytes(damaged)  # untouched
        assert sorted(os.listdir(path.parent)) == [path.name, path.name + ".lock"]
        with pytest.raises(JournalCorruptError):
            journal.read(path)


def test_on_corruption_truncate_keeps_the_good_prefix(path: Path) -> None:
    data, starts = _journal_with_frames(path)
    damaged = bytearray(data)
    damaged[starts[1] + FRAME_HEADER] ^= 1
    path.write_bytes(bytes(damaged))
    with journal.open(path, on_corruption="truncate") as log:
        assert records(log) == [(1, "a", "first")]
        found = log.recovery
        assert found.damage == "damaged in the middle" and found.dropped_at == starts[1]
        assert found.saved_to is not None
        assert Path(found.saved_to).read_bytes() == bytes(damaged[starts[1] :])
    assert path.stat().st_size == starts[1]


def test_an_intact_frame_that_does_not_decode_is_reported(path: Path) -> None:
    from cowlog._frames import encode_frame

    journal.open(path).close()
    with path.open("ab") as f:
        f.write(encode_frame(b'[1, "a", 1]'))
        f.write(encode_frame(b"[1, 2]"))  # two fields: not a record
    before = path.read_bytes()
    with pytest.raises(JournalCorruptError, match="does not decode"):
        journal.open(path)
    assert path.read_bytes() == before
    with journal.open(path, on_corruption="truncate") as log:
        assert records(log) == [(1, "a", 1)]
    with path.open("ab") as f:
        f.write(encode_frame(b'{"a": 1, "b": 2, "c": 3}'))  # three fields, but not an event
    with pytest.raises(JournalCorruptError, match="does not decode"):
        journal.open(path)


# -- bad input -------------------------------------------------------------------------------------


def test_bad_arguments_are_refused_and_nothing_is_created(path: Path) -> None:
    with pytest.raises(ValueError, match="'always', 'interval', 'never'"):
        journal.open(path, fsync="sometimes")
    with pytest.raises(ValueError, match="'json', 'msgpack', 'pickle'"):
        journal.open(path, codec="yaml")
    for interval in (0, -1.0, math.nan, math.inf, "1", True, None):
        with pytest.raises(ValueError, match="interval"):
            journal.open(path, interval=interval)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="on_corruption"):
        journal.open(path, on_corruption="ignore")
    with pytest.raises(TypeError, match="path"):
        journal.open(3)  # type: ignore[arg-type]
    assert os.listdir(path.parent) == []
    assert CODECS == ("json", "msgpack", "pickle")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match="is a directory"):
        EventLog.open(tmp_path)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "content", [b"hello, world\n", b'{"key": "a"}\n', b"\x89cow", b"\x89PNG\r\n"]
)
def test_a_file_that_is_not_a_journal_is_refused_untouched(path: Path, content: bytes) -> None:
    path.write_bytes(content)
    with pytest.raises(JournalFormatError):
        journal.open(path)
    assert path.read_bytes() == content
    assert os.listdir(path.parent) == [path.name]  # no lock file either


def test_a_journal_of_another_codec_is_refused(path: Path) -> None:
    journal.open(path, codec="json").close()
    with pytest.raises(ValueError, match="codec='json'"):
        journal.open(path, codec="msgpack")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_is_refused(path: Path) -> None:
    journal.open(path).close()
    path.chmod(0)
    with pytest.raises(PermissionError):
        journal.open(path)


def test_a_damaged_header_is_refused(path: Path) -> None:
    journal.open(path).close()
    data = bytearray(path.read_bytes())
    data[11] ^= 1  # inside the codec name
    path.write_bytes(bytes(data))
    with pytest.raises(JournalFormatError, match="header is damaged"):
        journal.open(path)


# -- one writer per file ---------------------------------------------------------------------------


def test_a_second_open_in_this_process_is_refused(path: Path) -> None:
    log = journal.open(path)
    with pytest.raises(JournalLockedError, match="open already"):
        journal.open(path)
    log.ingest("a", 1, 1)  # the first is unharmed
    log.close()
    journal.open(path).close()  # closing released the lock


def test_another_process_cannot_open_it(path: Path) -> None:
    log = journal.open(path)
    code = f"""
        import cowlog.journal as j
        try:
            j.open({str(path)!r})
        except j.JournalLockedError:
            raise SystemExit(3)
    """
    child = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=False)
    assert child.returncode == 3
    log.close()
    child = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=False)
    assert child.returncode == 0


@pytest.mark.parametrize("policy", POLICIES)
def test_a_forked_child_cannot_write_through_its_parents_journal(path: Path, policy: str) -> None:
    log = journal.open(path, fsync=policy)
    log.ingest("before", 0, 0)
    pid = os.fork()
    if pid == 0:  # the child: every write is refused, reads work, closing leaves the lock
        status = 1
        try:
            try:
                log.ingest("child", 1, 1)
            except RuntimeError as exc:
                if "fork" in str(exc) and len(log) == 1:
                    status = 0
            log.close()
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with pytest.raises(JournalLockedError):  # the child's exit did not release the parent's lock
        journal.open(path)
    log.ingest("after", 2, 2)
    log.close()
    assert [record[1] for record in journal.read(path).records] == ["before", "after"]


# -- policies, close, sync -------------------------------------------------------------------------


@pytest.mark.parametrize("policy", POLICIES)
def test_close_refuses_later_writes_and_keeps_reads(path: Path, policy: str) -> None:
    log = journal.open(path, fsync=policy, interval=0.01)
    log.ingest("a", 1, 1)
    log.close()
    log.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        log.ingest("b", 2, 2)
    with pytest.raises(ValueError, match="closed"):
        log.ingest_many([("b", 2, 2)])
    assert records(log) == [(1, "a", 1)]
    assert not [t for t in threading.enumerate() if t.name.startswith("cowlog journal")]


def test_the_interval_flusher_fsyncs_without_being_asked(path: Path) -> None:
    with journal.open(path, fsync="interval", interval=0.01) as log:
        log.ingest("a", 1, 1)
        state = log._journal
        assert state is not None
        for _ in range(1000):  # the thread's fsync is the only one that can move synced
            if state.synced == state.written:
                break
            threading.Event().wait(0.01)
        assert state.synced == state.written == path.stat().st_size


def test_sync_covers_everything_written(path: Path) -> None:
    with journal.open(path, fsync="never") as log:
        log.ingest("a", 1, 1)
        state = log._journal
        assert state is not None and state.synced < state.written
        log.sync()
        assert state.synced == state.written


def test_always_publishes_only_what_an_fsync_covered(path: Path) -> None:
    """Readers check, while 4 writers ingest, that every event they see lies in fsynced bytes."""
    log = journal.open(path, fsync="always")
    state = log._journal
    assert state is not None
    seen: list[tuple[int, int]] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set() and len(seen) < 20_000:
            size = len(log)  # published first, then what the fsyncs covered: never less
            seen.append((size, state.synced))
            time.sleep(0)

    def writer(index: int) -> None:
        for i in range(60):
            if i % 10:
                log.ingest(f"w{index}", i, i)
            else:
                log.ingest_many([(f"w{index}", i, i), (f"w{index}", -i, i)])

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    watcher.join()
    log.close()
    data = path.read_bytes()
    codec = get_codec("json")
    header = len(encode_header("json"))
    ends = [header]  # ends[i]: where the frames holding counts[i] events end
    counts = [0]
    found = scan(data, header, starts=True)
    for start, payload in zip(found.starts, found.payloads, strict=True):
        counts.append(counts[-1] + len(codec.decode(bytes(payload))) // 3)
        ends.append(start + FRAME_HEADER + len(payload))
    assert seen
    for size, synced in seen:
        assert size <= counts[bisect_right(ends, synced) - 1]
    assert counts[-1] == 4 * (60 + 6)


# -- I/O errors ------------------------------------------------------------------------------------

_FSIZE_CHILD = """
import os, resource, signal, sys
import cowlog.journal as j
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills us at the limit
path, policy = sys.argv[1], sys.argv[2]
log = j.open(path, fsync=policy)
limit = os.path.getsize(path) + 200
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
acked = []
for i in range(100):
    try:
        if i % 3:
            acked.append(log.ingest("k", "x" * 17, i))
        else:
            acked.extend(log.ingest_many([("b", i, i), ("b", -i, i)]))
    except j.JournalWriteError as exc:
        assert exc.errno == 27, exc  # EFBIG
        assert len(log) == len(acked) and [r[2] for r in log.replay()][-1:] != ["x"] * 0
        break
else:
    raise SystemExit("no error")
assert os.path.getsize(path) <= limit
log.ingest_many([])  # an empty batch writes nothing: fine
print(len(acked))
log.close()
"""


@pytest.mark.parametrize("policy", ["always", "never"])
def test_a_write_past_rlimit_fsize_is_refused_and_nothing_ingested(path: Path, policy: str) -> None:
    child = subprocess.run(
        [sys.executable, "-c", _FSIZE_CHILD, str(path), policy],
        capture_output=True,
        text=True,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    acked = int(child.stdout)
    assert acked > 0
    with journal.open(path) as log:  # the partial frame was cut back off: nothing torn
        assert len(log) == acked and log.recovery.damage is None


@pytest.fixture
def tiny_filesystem(tmp_path: Path) -> Any:
    mount = tmp_path / "tiny"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if made.returncode:
        pytest.skip(f"cannot mount a tiny tmpfs here: {made.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


@pytest.mark.parametrize("policy", POLICIES)
def test_a_full_disk_refuses_the_write_and_the_log_stays_consistent(
    tiny_filesystem: Path, policy: str
) -> None:
    path = tiny_filesystem / "events.journal"
    acked: list[int] = []
    log = journal.open(path, fsync=policy)
    with pytest.raises(JournalWriteError) as info:
        for i in range(100_000):
            acked.append(log.ingest(f"k{i % 7}", "v" * 50, i))
    assert info.value.errno == errno.ENOSPC
    assert len(log) == len(acked) == acked[-1] + 1
    assert log.latest("k0") is not None
    log.close()
    with journal.open(path) as again:
        assert again.recovery.damage is None
        assert [r[0] for r in again.replay()] == list(range(len(acked)))


def test_a_failed_fsync_refuses_every_later_write_until_reopened(path: Path) -> None:
    """A real fsync that fails: the journal's descriptor is pointed at a pipe (EINVAL on fsync).

    With ``always``, the write whose fsync failed is not acknowledged and never published, and
    every later write is refused; the log stays readable and consistent.
    """
    log = journal.open(path, fsync="always")
    log.ingest("a", 1, 1)
    state = log._journal
    assert state is not None
    read_end, write_end = os.pipe()
    saved = os.dup(state.fd)
    os.dup2(write_end, state.fd)
    try:
        with pytest.raises(JournalWriteError) as info:
            log.ingest("b", 2, 2)
        assert info.value.errno == errno.EINVAL
        assert records(log) == [(1, "a", 1)]
        log._check()
        with pytest.raises(JournalWriteError, match="fsync failed"):
            log.ingest("c", 3, 3)
        with pytest.raises(JournalWriteError, match="fsync failed"):
            log.ingest_many([("c", 3, 3)])
        assert records(log) == [(1, "a", 1)]
    finally:
        os.dup2(saved, state.fd)
        for fd in (saved, read_end, write_end):
            os.close(fd)
    log.close()
    with journal.open(path) as again:
        assert records(again) == [(1, "a", 1)]


# -- compaction, dump, load ------------------------------------------------------------------------


@pytest.mark.parametrize("policy", POLICIES)
def test_compact_rewrites_the_journal_in_batch_frames(path: Path, policy: str) -> None:
    log = journal.open(path, fsync=policy)
    for i in range(0, 3000, 100):
        log.ingest(f"k{i % 10}", i, i)
        log.ingest_many([(f"k{j % 10}", j, j) for j in range(i + 1, i + 100)])
    expected = records(log)
    before = path.stat().st_size
    size = log.compact()
    assert size == path.stat().st_size < before
    assert len(frames_of(path)) == 3  # 1,024 events a frame
    log.ingest("after", -1, 1)  # written to the new file
    log.close()
    assert not (path.parent / (path.name + ".new")).exists()
    with journal.open(path) as again:
        assert records(again) == [*expected, (1, "after", -1)]


@pytest.mark.parametrize("policy", POLICIES)
def test_writers_go_on_while_compact_runs_and_nothing_is_lost(path: Path, policy: str) -> None:
    """compact() writes from a snapshot while writers write; their writes reach the new file."""
    log = journal.open(path, fsync=policy)
    log.ingest_many([(f"k{i % 10}", i, i) for i in range(5000)])
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            i = 0
            while not stop.is_set() or i < 50:
                if i % 3:
                    log.ingest(f"w{w}", i, i)
                else:
                    log.ingest_many([(f"w{w}", i, i), (f"k{i % 10}", -i, i)])
                if i % 97 == 0:
                    log.trim(before=max(log.first_offset, log.next_offset - 3000))
                i += 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    for _ in range(5):
        log.compact()
    stop.set()
    for thread in threads:
        thread.join()
    assert not errors
    log._check()
    expected = (log.first_offset, log.next_offset, records(log), list(log.shortlog()))
    log.close()
    with journal.open(path) as again:
        again._check()
        assert (again.first_offset, again.next_offset, records(again), list(again.shortlog())) == (
            expected
        )


@pytest.mark.parametrize("past", [False, True])
def test_compact_takes_in_writes_and_trims_made_while_it_wrote(
    path: Path, monkeypatch: pytest.MonkeyPatch, past: bool
) -> None:
    """Both ends of the race, made to happen: writes and a trim land while the new file is
    written from the snapshot; a trim *past* the snapshot makes compact() write it again."""
    log = journal.open(path, fsync="never")
    log.ingest("dropped", "survivor", 1)
    log.ingest_many([(f"k{i % 4}", i, i) for i in range(1, 3000)])
    frames_of_snapshot = journal._frames_of
    calls = []

    def meanwhile(snap: Any, codec: Any) -> Any:
        calls.append(snap.next_offset)
        if len(calls) == 1:  # while compact() writes from its snapshot, unlocked
            log.ingest_many([("late", i, i) for i in range(2000)])
            log.trim(before=4000 if past else 2000)
            log.ingest("later", 1, 10**6)
        return frames_of_snapshot(snap, codec)

    monkeypatch.setattr(journal, "_frames_of", meanwhile)
    log.compact()
    assert calls == ([3000, 5001] if past else [3000])
    expected = (log.first_offset, log.next_offset, records(log), list(log.shortlog()))
    assert log.latest("dropped") == (1, "dropped", "survivor")
    log.close()
    with journal.open(path) as again:
        again._check()
        assert (again.first_offset, again.next_offset, records(again), list(again.shortlog())) == (
            expected
        )


def test_max_events_bounds_the_log_and_the_file_compacts_itself(path: Path) -> None:
    log = journal.open(path, fsync="never", max_events=1000)
    everything = []
    for i in range(60_000):
        key = f"k{i % 50}" if i % 1000 else f"rare{i}"  # rare keys: survivors that get dropped
        log.ingest(key, i, i)
        everything.append((i, key, i))
        if i % 5000 == 0:
            assert len(log) < 1000 + 8192 + 1024  # retention: whole chunks, in steps
    compactor = log._compactor
    assert compactor is not None  # the file was compacted in the background
    compactor.join()
    size_compacted = path.stat().st_size
    full = EventLog()
    full.ingest_many([(k, v, t) for t, k, v in everything])
    assert list(log.shortlog()) == list(full.shortlog())  # survivors of dropped events stay
    expected = (log.first_offset, log.next_offset, records(log), list(log.shortlog()))
    log.close()
    plain_size = path.parent / "plain"
    with journal.open(plain_size, fsync="never") as plain:
        plain.ingest_many([(k, v, t) for t, k, v in everything])
    assert path.stat().st_size < plain_size.stat().st_size / 2  # bounded, not every event
    assert size_compacted <= path.stat().st_size
    with journal.open(path, max_events=1000) as again:  # retention applies at open: it may
        assert again.next_offset == expected[1]  # drop more than the log had got round to
        assert again.first_offset >= expected[0] and len(again) >= 1000
        assert records(again) == expected[2][again.first_offset - expected[0] :]
        assert list(again.shortlog()) == expected[3]
    with journal.open(path) as unbounded:  # what the file holds, without retention
        assert list(unbounded.shortlog()) == expected[3]
        assert unbounded.next_offset == 60_000
    with journal.open(plain_size, max_events=1000) as bounded:  # retention applied at open
        assert len(bounded) < 1000 + 8192 + 1024 and bounded.first_offset > 0
        assert list(bounded.shortlog()) == expected[3]


def test_bad_max_events_is_refused_before_anything_is_created(path: Path) -> None:
    for bad, error in [(0, ValueError), (-1, ValueError), ("10", TypeError), (1.5, TypeError)]:
        with pytest.raises(error, match="max_events"):
            journal.open(path, max_events=bad)  # type: ignore[arg-type]
        with pytest.raises(error, match="max_events"):
            EventLog.open(path, max_events=bad)  # type: ignore[arg-type]
    assert not path.exists() and not (path.parent / (path.name + ".lock")).exists()


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("when", ["from the snapshot", "appending what came meanwhile"])
def test_a_compaction_that_fills_the_disk_leaves_the_journal_in_use(
    tiny_filesystem: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    """A real ENOSPC while the new file is written (from the snapshot, or while the writes made
    meanwhile are appended): `JournalWriteError`, no ``PATH.new`` left, no descriptor leaked or
    closed twice, and the old journal goes on taking writes that recovery finds."""
    path = tiny_filesystem / "events.journal"
    log = journal.open(path, fsync="never")
    if when == "from the snapshot":
        log.ingest_many([(f"k{i % 3}", "v" * 400, i) for i in range(80)])  # ~33 KB of 64
    else:
        log.ingest_many([(f"k{i % 3}", "v" * 400, i) for i in range(40)])
        frames_of_snapshot = journal._frames_of

        def meanwhile(snap: Any, codec: Any) -> Any:  # the new file fits; then this lands
            if snap.next_offset == 40:
                log.ingest_many([("late", "w" * 400, i) for i in range(40)])
            return frames_of_snapshot(snap, codec)

        monkeypatch.setattr(journal, "_frames_of", meanwhile)
    expected = records(log)
    descriptors = _open_descriptors()
    with pytest.raises(JournalWriteError, match="compaction failed") as info:
        log.compact()
    assert info.value.errno == errno.ENOSPC
    assert _open_descriptors() == descriptors
    assert not (tiny_filesystem / "events.journal.new").exists()
    expected = records(log)
    assert len(expected) == 80
    log.ingest("after", 1, 10**6)  # the journal in use takes writes, in the room left
    log.close()
    with journal.open(path) as again:
        assert again.recovery.damage is None
        assert records(again) == [*expected, (10**6, "after", 1)]


def test_a_failed_directory_fsync_after_the_rename_refuses_later_writes(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one injected fault here (no file system makes a directory's fsync fail on demand):
    the rename happened, so the new file is the journal and nothing is lost; but the rename may
    not survive a power loss, so, as after a failed fsync, every later write is refused."""
    log = journal.open(path, fsync="always")
    log.ingest_many([(f"k{i % 3}", i, i) for i in range(3000)])
    descriptors = _open_descriptors()

    def fails(_: str) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(journal, "_fsync_directory", fails)
    with pytest.raises(JournalWriteError, match="directory's fsync failed") as info:
        log.compact()
    monkeypatch.undo()
    assert info.value.errno == errno.EIO
    assert _open_descriptors() == descriptors  # the old descriptor closed, the new one in use
    with pytest.raises(JournalWriteError, match="refuses every write"):
        log.ingest("refused", 1, 1)
    assert len(log) == 3000
    log._check()
    log.close()
    with journal.open(path) as again:
        assert records(again) == [(i, f"k{i % 3}", i) for i in range(3000)]
        assert len(frames_of(path)) == 3  # the compacted file: frames of 1,024


def test_close_stops_a_compaction_under_way(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """close() during the unlocked part of a compaction: it stops at its next frame, leaves no
    ``PATH.new``, and the journal closes whole."""
    log = journal.open(path, fsync="never")
    log.ingest_many([(f"k{i % 3}", i, i) for i in range(5000)])
    frames_of_snapshot = journal._frames_of

    def closing(snap: Any, codec: Any) -> Any:
        for n, frame in enumerate(frames_of_snapshot(snap, codec)):
            if n == 1:
                threading.Thread(target=log.close).start()
                time.sleep(0.2)  # close() waits for the writer lock: it gets it now
            yield frame

    monkeypatch.setattr(journal, "_frames_of", closing)
    with pytest.raises(ValueError, match="closed"):
        log.compact()
    while not log.closed or (log._journal is not None and not log._journal.fds_closed):
        time.sleep(0.01)
    assert not (path.parent / (path.name + ".new")).exists()
    with journal.open(path) as again:
        assert records(again) == [(i, f"k{i % 3}", i) for i in range(5000)]
        assert len(frames_of(path)) == 1  # not compacted


def test_a_crash_before_the_rename_leaves_the_old_journal(path: Path) -> None:
    with journal.open(path) as log:
        log.ingest("a", 1, 1)
    (path.parent / (path.name + ".new")).write_bytes(b"half a compaction")
    with journal.open(path) as log:
        assert records(log) == [(1, "a", 1)]


@pytest.mark.parametrize("codec", ["json", "msgpack"])
def test_dump_and_load_round_trip_a_snapshot(tmp_path: Path, codec: str) -> None:
    pytest.importorskip("msgspec") if codec == "msgpack" else None
    log: EventLog[str, int] = EventLog()
    log.ingest_many([(f"k{i % 5}", i, i) for i in range(2500)])
    snap = log.snapshot()
    log.ingest("later", 0, 0)
    target = tmp_path / "snap.cowlog"
    assert journal.dump(snap, target, codec=codec) == 2500
    loaded = journal.load(target)
    assert records(loaded) == records(snap)
    assert list(loaded.shortlog()) == list(snap.shortlog())
    assert journal.dump(log, target, codec=codec) == 2501  # a log: its snapshot now


def test_dump_refuses_what_the_codec_cannot_bring_back_and_writes_nothing(tmp_path: Path) -> None:
    log: EventLog[Any, Any] = EventLog()
    log.ingest("a", (1, 2), 1)
    with pytest.raises(TypeError, match="'json' codec"):
        journal.dump(log, tmp_path / "snap")
    assert os.listdir(tmp_path) == []


def test_load_refuses_a_damaged_dump(tmp_path: Path) -> None:
    log: EventLog[Any, Any] = EventLog()
    log.ingest_many([("a", i, i) for i in range(10)])
    target = tmp_path / "snap"
    journal.dump(log, target)
    data = target.read_bytes()
    target.write_bytes(data[:-3])
    with pytest.raises(JournalCorruptError):
        journal.load(target)


# -- many writers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", POLICIES)
def test_concurrent_writers_journal_the_log_in_its_order(path: Path, policy: str) -> None:
    log = journal.open(path, fsync=policy)
    rng = random.Random(7)
    sizes = [rng.randrange(1, 5) for _ in range(200)]

    def writer(index: int) -> None:
        for n, size in enumerate(sizes):
            if size == 1:
                log.ingest(f"w{index}", n, n)
            else:
                log.ingest_many([(f"w{index}", (n, j), n) for j in range(size)] and [])
                log.ingest_many([(f"w{index}", [n, j], n) for j in range(size)])

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = records(log)
    log.close()
    with journal.open(path) as again:
        assert records(again) == expected
        again._check()


# -- the command line reads journals ---------------------------------------------------------------


def test_the_cli_reads_a_journal_its_owner_is_writing_without_touching_it(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cowlog.cli.main import main

    log = journal.open(path, fsync="never")  # the owner holds the lock throughout
    log.ingest("disk", {"free": 0}, 10)
    log.ingest_many([("cpu", 0.5, 11), ("disk", {"free": 9}, 12)])
    state = log._journal
    assert state is not None
    os.write(state.fd, b"\x07\x00\x00")  # a frame half written, as the owner may be doing now
    before = path.read_bytes()
    assert main(["replay", "--since", "1", "--format", "jsonl", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == [
        {"offset": 1, "timestamp": 11, "key": "cpu", "value": 0.5},
        {"offset": 2, "timestamp": 12, "key": "disk", "value": {"free": 9}},
    ]
    assert main(["shortlog", "--format", "jsonl", str(path)]) == 0
    keys = [json.loads(line)["offset"] for line in capsys.readouterr().out.splitlines()]
    assert keys == [1, 2]
    assert main(["shortlog", "--format", "table", str(path)]) == 0
    assert "3 events in journal" in capsys.readouterr().err
    assert path.read_bytes() == before  # never truncated, never repaired
    log.close()


def test_the_cli_reports_a_damaged_journal_and_changes_nothing(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cowlog.cli.main import main

    data, starts = _journal_with_frames(path)
    damaged = bytearray(data)
    damaged[starts[1] + FRAME_HEADER] ^= 1
    path.write_bytes(bytes(damaged))
    assert main(["replay", str(path)]) == 2
    assert f"damaged at offset {starts[1]}" in capsys.readouterr().err
    assert path.read_bytes() == bytes(damaged)


def test_a_log_dropped_without_close_frees_its_file_and_lock(path: Path) -> None:
    log = journal.open(path, fsync="interval", interval=0.01)
    log.ingest("a", 1, 1)
    del log
    gc.collect()
    with journal.open(path) as again:  # the lock was released
        assert records(again) == [(1, "a", 1)]
    for thread in threading.enumerate():  # told to stop: it ends within its interval
        if thread.name.startswith("cowlog journal"):
            thread.join(10)
    assert not [t for t in threading.enumerate() if t.name.startswith("cowlog journal")]


# -- retention ------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", POLICIES)
def test_a_trim_is_journaled_and_recovered_where_it_was_made(path: Path, policy: str) -> None:
    log = journal.open(path, fsync=policy)
    log.ingest_many([(f"k{i % 3}", i, i) for i in range(3000)])
    log.ingest("lone", "survivor", 5)
    assert log.trim(before=2500) == 2500
    assert log.trim(before=10) == 0  # already gone: nothing written
    log.ingest_many([("k0", "after", 9000)])
    expected = (list(log.replay()), list(log.shortlog()), log.first_offset, len(log))
    with pytest.raises(ValueError, match="next_offset"):
        log.trim(before=10**6)
    log.close()
    with journal.open(path) as again:
        assert (list(again.replay()), list(again.shortlog()), again.first_offset, len(again)) == (
            expected
        )
        assert again.latest("lone") == (5, "lone", "survivor")
    on_file = journal.read(path).to_log()
    assert list(on_file.shortlog()) == expected[1] and on_file.first_offset == 2500


def _state(log: Any) -> tuple[Any, ...]:
    return (
        log.first_offset,
        log.next_offset,
        list(log.replay()),
        list(log.shortlog()),
        [log.latest(key) for key in ("k0", "k1", "k2", "lone", "late", "nobody")],
    )


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("policy", POLICIES)
def test_compacting_a_trimmed_log_keeps_offsets_and_survivors(
    path: Path, policy: str, codec: str
) -> None:
    if codec == "msgpack":
        pytest.importorskip("msgspec")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", journal.UnsafeCodecWarning)
        log = journal.open(path, fsync=policy, codec=codec)
        log.ingest("lone", "survivor", 5)  # a survivor that the trim drops: it must stay
        log.ingest_many([(f"k{i % 3}", i, i) for i in range(3000)])
        log.trim(before=2500)  # the middle of a chunk: hidden offsets below it in the chunk
        assert log.latest("lone") == (5, "lone", "survivor")
        expected = _state(log)
        size = log.compact()
        assert size == path.stat().st_size and _state(log) == expected
        log.ingest_many([("late", 1, 1), ("k1", "newest", 10**6)])
        log.trim(before=2998)  # journaled after the start frame: replayed on top of it
        log.ingest("k2", "last", 10**6)
        expected = _state(log)
        log.close()
        with journal.open(path, codec=codec) as again:
            assert _state(again) == expected
            # the start frame's survivor, the 501 records compacted, the 3 written after
            assert again.recovery.events == 1 + 501 + 3
            assert again.ingest("k0", "next", 1) == expected[1]
            again.compact()  # twice: a start frame of a log restored from one
            expected = _state(again)
        with journal.open(path, codec=codec) as again:
            assert _state(again) == expected
        assert _state(journal.read(path).to_log()) == expected
        assert _state(journal.load(path)) == expected


@pytest.mark.parametrize("before", [1, 1023, 1024, 1025, 2048, 3000, 3001])
def test_a_trimmed_snapshot_dumps_and_loads_at_its_offsets(tmp_path: Path, before: int) -> None:
    log: EventLog[str, int] = EventLog()
    log.ingest_many([(f"k{i % 7}", i, i % 11) for i in range(3001)])
    log.trim(before)
    snap = log.snapshot()
    log.ingest("k0", -1, 99)  # after the snapshot: not in the dump
    assert journal.dump(snap, tmp_path / "snap") == len(snap)
    loaded = journal.load(tmp_path / "snap")
    loaded._check()
    assert (loaded.first_offset, loaded.next_offset) == (snap.first_offset, snap.next_offset)
    assert list(loaded.replay()) == list(snap.replay()) and loaded.snapshot()[:] == snap[:]
    assert list(loaded.shortlog()) == list(snap.shortlog())
    assert loaded.ingest("k0", -1, 99) == snap.next_offset


def test_a_start_frame_anywhere_but_first_is_damage(path: Path) -> None:
    from cowlog._frames import encode_frame

    journal.open(path).close()
    with path.open("ab") as f:
        f.write(encode_frame(b'[1, "a", 1]'))
        f.write(encode_frame(b'{"start": 5, "kept": []}'))
    before = path.read_bytes()
    with pytest.raises(JournalCorruptError, match="does not decode"):
        journal.open(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "start",
    [
        b'{"start": 5, "kept": [[5, 1, "a", 1]]}',  # a survivor at or past the first offset
        b'{"start": 5, "kept": [[1, 1, "a", 1], [2, 1, "a", 2]]}',  # two of one key
        b'{"start": 5, "kept": [[1, 1.5, "a", 1]]}',  # not an int timestamp
        b'{"start": -1, "kept": []}',
        b'{"start": 5, "kept": [[1, 1, "a"]]}',
    ],
)
def test_a_bad_start_frame_is_reported_and_changes_nothing(path: Path, start: bytes) -> None:
    from cowlog._frames import encode_frame

    with path.open("wb") as f:
        f.write(encode_header("json") + encode_frame(start))
    before = path.read_bytes()
    with pytest.raises(JournalCorruptError):
        journal.open(path)
    assert path.read_bytes() == before


def test_the_cli_replays_a_trimmed_journal_from_its_first_offset(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cowlog.cli.main import main

    with journal.open(path) as log:
        log.ingest_many([("a", i, i) for i in range(5)])
        log.trim(before=3)
    assert main(["replay", "--format", "jsonl", str(path)]) == 0
    offsets = [json.loads(line)["offset"] for line in capsys.readouterr().out.splitlines()]
    assert offsets == [3, 4]


def test_the_cli_reads_a_compacted_trimmed_journal_at_its_offsets(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cowlog.cli.main import main

    with journal.open(path) as log:
        log.ingest_many([("old", "kept", 1), *(("a", i, i) for i in range(1, 5))])
        log.trim(before=3)
        log.compact()
        log.ingest("b", "new", 9)
    assert main(["replay", "--format", "jsonl", str(path)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["offset"], e["value"]) for e in out] == [(3, 3), (4, 4), (5, "new")]
    assert main(["shortlog", "--format", "jsonl", str(path)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["offset"], e["key"], e["value"]) for e in out] == [
        (0, "old", "kept"),
        (4, "a", 4),
        (5, "b", "new"),
    ]


def test_a_follower_of_an_always_log_sees_each_event_once_it_is_durable(path: Path) -> None:
    log = journal.open(path, fsync="always")
    seen: list[tuple[int, int]] = []  # (offset, bytes an fsync had covered when it was seen)
    state = log._journal
    assert state is not None

    def follow() -> None:
        for offset, _ in enumerate(log.follow(since=0)):
            seen.append((offset, state.synced))

    follower = threading.Thread(target=follow)
    follower.start()
    for i in range(20):
        log.ingest("a", i, i)
    log.close()  # ends the follower once it has read everything
    follower.join(30)
    assert not follower.is_alive()
    assert [offset for offset, _ in seen] == list(range(20))
    header = len(encode_header("json"))
    ends = [header, *(start for start in frames_of(path)[1:]), path.stat().st_size]
    for offset, synced in seen:  # one single-event frame each: frame `offset` ends at ends[+1]
        assert synced >= ends[offset + 1]


def test_the_cli_shortlog_of_a_trimmed_journal_keeps_survivors_and_offsets(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cowlog.cli.main import main

    with journal.open(path) as log:
        log.ingest_many([("old", "survivor", 1), ("a", 0, 2), ("a", 1, 3), ("b", 2, 1)])
        log.trim(before=2)
        expected = list(log.shortlog())
    assert main(["shortlog", "--format", "jsonl", str(path)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(x["offset"], x["key"]) for x in lines] == [(0, "old"), (2, "a"), (3, "b")]
    assert [(x["timestamp"], x["key"], x["value"]) for x in lines] == expected


def test_a_failed_fsync_in_the_interval_thread_refuses_later_writes(path: Path) -> None:
    """The flush thread's fsync fails for real (the descriptor pointed at a pipe): acknowledged
    events stay in the log, and every later write is refused until the journal is reopened."""
    log = journal.open(path, fsync="interval", interval=0.01)
    log.ingest("a", 1, 1)
    state = log._journal
    assert state is not None
    read_end, write_end = os.pipe()
    saved = os.dup(state.fd)
    os.dup2(write_end, state.fd)
    try:
        log.ingest("b", 2, 2)  # reaches the pipe; the thread's next fsync fails
        for _ in range(1000):
            if state.failed is not None:
                break
            time.sleep(0.01)
        assert isinstance(state.failed, JournalWriteError)
        with pytest.raises(JournalWriteError, match="fsync failed"):
            log.ingest("c", 3, 3)
        assert records(log) == [(1, "a", 1), (2, "b", 2)]
    finally:
        os.dup2(saved, state.fd)
        for fd in (saved, read_end, write_end):
            os.close(fd)
    log.close()


@pytest.mark.parametrize("codec", ["json", "msgpack"])
def test_a_string_that_cannot_be_utf8_is_refused_in_a_batch_too(path: Path, codec: str) -> None:
    pytest.importorskip("msgspec") if codec == "msgpack" else None
    with journal.open(path, codec=codec) as log:
        with pytest.raises(TypeError, match=rf"items\[1\] value .*'{codec}' codec"):
            log.ingest_many([("a", "fine", 1), ("a", "\udcff", 2)])
        with pytest.raises(TypeError, match=f"'{codec}' codec"):
            log.ingest("\udcff", 1, 1)
        assert len(log) == 0


def test_import_cowlog_imports_neither_the_journal_nor_its_libraries() -> None:
    code = (
        "import sys, cowlog; log = cowlog.EventLog(); log.ingest('a', 1, 1); "
        "print(sorted(m for m in ('cowlog.journal', 'cowlog._codec', 'orjson', 'msgspec') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_cli_tails_a_journal_and_escapes_its_table(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cowlog.cli.main import main

    with journal.open(path) as log:
        log.ingest_many([("a", i, i) for i in range(5)])
        log.ingest("\x1b[31mred", "bell\x07", 9)
    assert main(["replay", "--tail", "2", "--format", "jsonl", str(path)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [x["offset"] for x in lines] == [4, 5] and lines[1]["key"] == "\x1b[31mred"
    assert main(["replay", "--since", "5", "--format", "table", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "red" in out


def test_the_bench_rows_judge_each_bar_by_its_own_figures() -> None:
    from cowlog.cli.bench_journal import journal_rows

    results = {
        "json_library": "orjson",
        "single plain": 1e-6,
        "single never": 3e-6,  # 3x: met
        "single interval": 4e-6,  # 0.75x the rate of never: missed
        "batch100 plain": 1e-6,
        "batch100 never": 2.5e-6,  # missed
        "fsync p50": 1e-3,
        "fsync p99": 5e-3,
        "fsync mean": 2e-3,
        "always 1 writer p50": 1.2e-3,  # 0.83x: met
        "single always 1 writer": 4e-3,  # 0.5x of 1 / mean: missed
        "single always 4 writers": 2e-3,  # 2x: met
        "recover events": 1000,
        "recover ingest_many": 1.0,
        "recover single frames": 4.0,  # met
        "recover batch frames": 2.5,  # missed
    }
    verdicts = [met == "True" for _, _, _, met in journal_rows(results)]
    assert verdicts == [True, False, False, True, False, True, True, False]


def test_read_hands_out_tuples_whatever_the_frames(path: Path) -> None:
    with journal.open(path) as log:
        log.ingest("a", [1], 1)
        log.ingest("b", {"x": 2}, 2)
    assert journal.read(path).records == [(1, "a", [1]), (2, "b", {"x": 2})]


# -- the same values on every path ------------------------------------------------------------


def _nested(levels: int) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("library", ["orjson", "json", "msgspec"])
def test_a_value_at_the_depth_limit_is_kept_by_every_path(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, library: str
) -> None:
    """200 levels of lists are accepted by the fast path, the general path, a batch, `always`,
    a compaction that keeps them as survivors of trimmed events, and a dump, with every codec;
    201 are refused by each write path, naming the limit, writing nothing. (The journal wraps a
    value in its own arrays: those levels must not count against the value's.)"""
    codec = "msgpack" if library == "msgspec" else "json"
    pytest.importorskip("msgspec" if library == "msgspec" else "orjson")
    if library == "json":
        monkeypatch.setitem(sys.modules, "orjson", None)
    deep, deeper = _nested(200), _nested(201)
    refused = f"'{codec}' codec: nested more than 200 levels deep"
    with journal.open(path, codec=codec, fsync="never") as log:
        assert log.ingest("k", deep, 1) == 0  # a str key: the fast path
        assert log.ingest(None, deep, 2) == 1  # any other key: the general path
        assert log.ingest_many([("k", deep, 3), ("j", 0, 4)]) == range(2, 4)
        size, events = path.stat().st_size, len(log)
        for write in (
            lambda: log.ingest("k", deeper, 5),
            lambda: log.ingest(None, deeper, 5),
            lambda: log.ingest_many([("k", 0, 5), ("k", deeper, 6)]),
        ):
            with pytest.raises(TypeError, match=refused):
                write()
            assert (path.stat().st_size, len(log)) == (size, events)
        log.trim(3)  # the survivors of "k" (offset 2) and None (offset 1) hold the deep value
        log.compact()  # a start frame: three levels around each survivor's value
        journal.dump(log, tmp_path / "dump")
        expected = (records(log), list(log.shortlog()), log.first_offset)
    for reopened in (journal.open(path, codec=codec), journal.load(tmp_path / "dump")):
        with reopened:
            assert (records(reopened), list(reopened.shortlog()), reopened.first_offset) == expected
            assert [record[2] for record in reopened.shortlog()].count(deep) == 2
    with journal.open(tmp_path / "always", codec=codec, fsync="always") as durable:
        assert durable.ingest("k", deep, 1) == 0
        with pytest.raises(TypeError, match=refused):
            durable.ingest("k", deeper, 2)
        assert len(durable) == 1


def test_the_pickle_warning_names_the_line_that_chose_it(path: Path, tmp_path: Path) -> None:
    """UnsafeCodecWarning points at the caller's line, whichever entry point it came through."""
    with pytest.warns(journal.UnsafeCodecWarning) as caught:
        EventLog.open(path, codec="pickle").close()
        journal.open(path, codec="pickle").close()
        journal.dump(journal.load(path), tmp_path / "dump", codec="pickle")
    assert [warning.filename for warning in caught] == [__file__] * len(caught)
    assert len(caught) == 4  # open, open, load (reads with pickle), dump
