"""``--follow`` (issue 14, item 5): a followed file reads as the same file read whole, like tail -F.

Two halves. In-process: the file's bytes cut at random places and fed through the follower's line
cutter and ingester give the same log, the same lines and the same errors as reading the whole file
without ``--follow`` (so following never parses by rules of its own). Real processes: ``python -m
cowlog ... --follow`` runs while the test appends to, truncates and rotates a real file, or writes
to its stdin, and the test waits (polling, generous timeouts) for what it prints. No test asserts
a duration: each waits for an event it can see, a line on stdout or a note on stderr.
"""

from __future__ import annotations

import argparse
import errno
import io
import json
import os
import pty
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from cowlog import EventLog
from cowlog.cli import tail
from cowlog.cli.sources import Fields, Format, Source, SourceError, open_source
from cowlog.cli.tail import _Ingester, _Lines

DATA = Path(__file__).parent / "data" / "loghub"
WAIT = 30.0  # seconds to wait for something that should come at once: only a broken build waits


def record(key: str, ts: int, msg: str) -> str:
    return json.dumps({"key": key, "ts": ts, "msg": msg}) + "\n"


# -- in-process: a file cut anywhere reads as the whole file ------------------------------------


def read_whole(path: Path, fields: Fields, skip_bad: bool = False) -> tuple[list[Any], Any]:
    """The log and Loaded of reading *path* without --follow."""
    log: EventLog[Any, Any] = EventLog()
    with open_source(str(path)) as source:
        loaded = source.load(log.ingest_many, fields, skip_bad=skip_bad)
    return list(log.replay()), loaded


def read_in_pieces(
    path: Path, fields: Fields, seed: int, largest: int, skip_bad: bool = False
) -> tuple[list[Any], _Ingester]:
    """The log and ingester of feeding *path*'s bytes in random pieces, as the follower does."""
    data = path.read_bytes()
    rng = random.Random(seed)
    log: EventLog[Any, Any] = EventLog()
    format: Format = "csv" if path.suffix == ".csv" else "jsonl"
    ingester = _Ingester(log, str(path), format, fields, skip_bad)
    lines = _Lines(csv=format == "csv")
    start = 0
    while start < len(data):
        end = start + rng.randint(1, largest)
        ingester.ingest(lines.feed(data[start:end]))
        start = end
    ingester.ingest(lines.flush())
    return list(log.replay()), ingester


CASES = [
    ("HDFS_2k.jsonl", Fields()),
    ("OpenSSH_2k.jsonl", Fields(time=None)),
    ("Zookeeper_2k.log_structured.csv", Fields(key="EventId", time="Date+Time")),
    ("Apache_2k.log_structured.csv", Fields(key="EventId", time=None)),
]


@pytest.mark.parametrize(("name", "fields"), CASES, ids=[name for name, _ in CASES])
@pytest.mark.parametrize("seed", [1, 2])
def test_a_file_fed_in_random_pieces_gives_the_log_and_lines_of_the_whole_file(
    name: str, fields: Fields, seed: int
) -> None:
    path = DATA / name
    expected, loaded = read_whole(path, fields)
    records, ingester = read_in_pieces(path, fields, seed, largest=8192)
    assert records == expected
    total = ingester.total
    assert [total.line_of(i) for i in range(len(records))] == [
        loaded.line_of(i) for i in range(len(expected))
    ]


def test_tiny_pieces_never_split_a_line_or_a_quoted_csv_cell(tmp_path: Path) -> None:
    """Pieces of 1 to 5 bytes: a line is parsed only once its newline is in, a CSV record only
    once its quotes close (a cell with a line break in it), a multi-byte character never cut."""
    path = tmp_path / "cells.csv"
    rows = ["key,ts,text\n"]
    for i in range(60):
        text = f'"line {i}\nstill ""{i}"" é\r\nend"' if i % 3 == 0 else f"plain {i} é"
        rows.append(f"k{i % 4},{i},{text}\r\n")
        if i % 7 == 0:
            rows.append("\n")  # blank lines take no offset
    path.write_text("".join(rows), encoding="utf-8", newline="")
    expected, loaded = read_whole(path, Fields())
    for seed in range(3):
        records, ingester = read_in_pieces(path, Fields(), seed, largest=5)
        assert records == expected
        assert [ingester.total.line_of(i) for i in range(60)] == [
            loaded.line_of(i) for i in range(60)
        ]


def test_bad_and_odd_lines_read_as_without_follow(tmp_path: Path) -> None:
    """A byte-order mark, CRLF, blank lines, a bad record, a non-UTF-8 byte: the same records,
    the same skip count and the same first skipped line as the whole file."""
    path = tmp_path / "odd.jsonl"
    lines = [record("a", i, f"m{i}") for i in range(20)]
    lines[3] = "\n"
    lines[5] = "not json\n"
    lines[8] = lines[8].replace("\n", "\r\n")
    lines[12] = '{"key": "a", "ts": 1.5}\n'
    path.write_bytes(b"\xef\xbb\xbf" + "".join(lines).encode() + b'{"key": "\xff", "ts": 1}\n')
    expected, loaded = read_whole(path, Fields(), skip_bad=True)
    records, ingester = read_in_pieces(path, Fields(), seed=3, largest=7, skip_bad=True)
    assert records == expected
    assert (ingester.total.skipped, ingester.total.first_skipped) == (
        loaded.skipped,
        loaded.first_skipped,
    )
    with pytest.raises(SourceError) as whole:
        read_whole(path, Fields())
    with pytest.raises(SourceError) as pieces:
        read_in_pieces(path, Fields(), seed=4, largest=30)
    message = f"{path}:6: not valid JSON: Expecting value (column 1)"
    assert str(pieces.value) == str(whole.value) == message


def test_a_partial_line_is_kept_until_its_newline_and_flushed_at_the_end() -> None:
    lines = _Lines(csv=False)
    assert lines.feed(b'{"a": 1}\n{"b"') == [b'{"a": 1}\n']
    assert lines.feed(b": 2") == []
    assert lines.feed(b"}\r\n{") == [b'{"b": 2}\r\n']
    assert lines.flush() == [b"{"]
    lines.feed(b"partial")
    lines.drop()
    assert lines.feed(b"x\n") == [b"x\n"]


def test_a_csv_quote_that_never_closes_is_handed_over_after_a_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tail, "_OPEN_RECORD_MAX", 100)
    lines = _Lines(csv=True)
    assert lines.feed(b'a,1,x\nb,2,"open\n') == [b"a,1,x\n"]
    assert lines.feed(b"more\n" * 10) == []  # 70 bytes held: still within the limit
    assert lines.feed(b"more\n" * 10) == [b'b,2,"open\n', *[b"more\n"] * 20]


def test_the_ingester_reads_a_list_of_lines_as_a_source_does() -> None:
    """The follower hands Source a list of lines for its TextIO: iterating is all load() does."""
    log: EventLog[Any, Any] = EventLog()
    source = Source("run", io.StringIO(record("a", 1, "x")), "jsonl")
    listed = Source("run", [record("a", 1, "x")], "jsonl")  # type: ignore[arg-type]
    assert source.load(log.ingest_many, Fields()).ingested == 1
    assert listed.load(log.ingest_many, Fields()).ingested == 1
    first, second = log.snapshot()
    assert first == second


def test_a_failed_read_while_following_exits_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An I/O error under the reader (a disk gone: EIO) is exit status 1, after the records read
    before it, with one line naming the file; no traceback."""
    path = tmp_path / "app.jsonl"
    path.write_text(record("a", 1, "one"))
    args = argparse.Namespace(
        file=str(path), key="key", time="ts", time_format=None, no_time=False,
        input_format=None, format="jsonl", skip_bad=False, since=0, tail=None, time_unit=None,
    )  # fmt: skip

    def failing(fd: int) -> Iterator[bytes]:
        yield os.read(fd, 1000)
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(tail, "_file_reads", lambda path, fd, stop, note: failing(fd))
    status = tail.follow_replay(args)
    out, err = capsys.readouterr()
    assert status == 1
    assert msgs(out.splitlines()) == ["one"]
    assert err == f"cowlog: {path}: cannot read: Input/output error\n"


# -- real processes --------------------------------------------------------------------------------


class Cowlog:
    """``python -m cowlog ARGS`` running; its stdout and stderr lines are collected as they come."""

    def __init__(self, *args: str | Path, stdin: bool = False, cwd: Path | None = None) -> None:
        self.out: list[str] = []
        self.err: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cowlog", *map(str, args)],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            # a test runner started in the background may ignore SIGINT; cowlog must get it
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self.readers = [
            threading.Thread(target=self._collect, args=(self.process.stdout, self.out)),
            threading.Thread(target=self._collect, args=(self.process.stderr, self.err)),
        ]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _collect(stream: IO[bytes], into: list[str]) -> None:
        for line in stream:
            into.append(line.decode("utf-8"))

    def wait_for(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not done():
            if self.process.poll() is not None:  # it ended: all it printed is collected below
                self.join()
                if done():
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"never saw {what}; stdout {self.out}, stderr {self.err}")
            time.sleep(0.01)

    def wait_for_lines(self, count: int) -> None:
        self.wait_for(lambda: len(self.out) >= count, f"{count} lines of output")

    def wait_for_note(self, text: str) -> None:
        self.wait_for(lambda: any(text in line for line in self.err), f"the note {text!r}")

    def write(self, data: bytes) -> None:
        assert self.process.stdin is not None
        os.write(self.process.stdin.fileno(), data)  # one write: a pipe delivers it whole

    def end(self) -> int:
        """Close its stdin (if it reads one), wait for it to end; return its status."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        status = self.process.wait(timeout=WAIT)
        self.join()
        return status

    def interrupt(self) -> int:
        """Ctrl-C: SIGINT, then wait; return the status."""
        self.process.send_signal(signal.SIGINT)
        return self.end()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.join()

    def join(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        for reader in self.readers:
            reader.join(timeout=WAIT)
        if self.process.poll() is not None:  # its pipes are read to their end: close them
            for stream in (self.process.stdout, self.process.stderr):
                if stream is not None and not any(r.is_alive() for r in self.readers):
                    stream.close()


@pytest.fixture
def run() -> Any:
    started: list[Cowlog] = []

    def start(*args: str | Path, stdin: bool = False) -> Cowlog:
        started.append(Cowlog(*args, stdin=stdin))
        return started[-1]

    yield start
    for process in started:
        process.stop()


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


def msgs(lines: list[str]) -> list[str]:
    return [json.loads(line)["msg"] for line in lines]


def assert_clean_interrupt(cowlog: Cowlog, status: int) -> None:
    assert status == 130
    assert cowlog.err[-1] == "cowlog: interrupted\n"
    assert not any("Traceback" in line for line in cowlog.err)


def test_replay_follow_prints_the_file_then_each_line_appended(tmp_path: Path, run: Any) -> None:
    path = tmp_path / "app.jsonl"
    path.write_text(record("a", 1, "one") + record("b", 2, "two"))
    cowlog = run("replay", "--follow", path, "--format", "jsonl")
    cowlog.wait_for_lines(2)
    append(path, record("a", 3, "three"))
    cowlog.wait_for_lines(3)
    append(path, record("c", 4, "four") + record("d", 5, "five"))
    cowlog.wait_for_lines(5)
    assert_clean_interrupt(cowlog, cowlog.interrupt())
    assert msgs(cowlog.out) == ["one", "two", "three", "four", "five"]
    assert cowlog.out[0] == record("a", 1, "one")  # each record exactly as read


def test_tail_n_follow_prints_the_last_n_records_there_then_each_new_one(
    tmp_path: Path, run: Any
) -> None:
    """``replay --follow --tail 3``, as ``tail -n 3 -F``: the file's last 3 records (not the
    partial line after them), then what is appended."""
    path = tmp_path / "app.jsonl"
    path.write_text("".join(record("a", i, f"m{i}") for i in range(10)) + '{"key": "a", "ts"')
    cowlog = run("replay", "--follow", "--tail", "3", path, "--format", "jsonl")
    cowlog.wait_for_lines(3)
    append(path, ': 10, "msg": "m10"}\n')
    cowlog.wait_for_lines(4)
    assert_clean_interrupt(cowlog, cowlog.interrupt())
    assert msgs(cowlog.out) == ["m7", "m8", "m9", "m10"]


def test_tail_n_follow_of_stdin_prints_its_last_n_records_at_its_end(run: Any) -> None:
    cowlog = run("replay", "--follow", "--tail", "2", "-", "--format", "jsonl", stdin=True)
    cowlog.write("".join(record("a", i, f"m{i}") for i in range(5)).encode())
    assert cowlog.end() == 0
    assert msgs(cowlog.out) == ["m3", "m4"]


def test_a_partial_last_line_waits_for_its_newline(tmp_path: Path, run: Any) -> None:
    """One write holds a whole line and the start of the next: once the whole line is printed,
    the reader has read the partial one too, and must not have printed it."""
    path = tmp_path / "app.jsonl"
    path.write_text("")
    cowlog = run("replay", "--follow", path, "--format", "jsonl")
    first, second = record("a", 1, "whole"), record("b", 2, "cut in two")
    append(path, first + second[:20])
    cowlog.wait_for_lines(1)
    assert msgs(cowlog.out) == ["whole"]
    append(path, second[20:])
    cowlog.wait_for_lines(2)
    assert_clean_interrupt(cowlog, cowlog.interrupt())
    assert msgs(cowlog.out) == ["whole", "cut in two"]


def test_stdin_is_followed_until_it_ends_and_a_partial_line_waits(run: Any) -> None:
    """A pipe delivers one write whole: same proof as for a file. At EOF the unterminated last
    line is complete and is read, as without --follow; the status is 0."""
    cowlog = run("replay", "--follow", "-", "--format", "jsonl", stdin=True)
    cowlog.write((record("a", 1, "first") + record("b", 2, "second"))[:-10].encode())
    cowlog.wait_for_lines(1)
    assert msgs(cowlog.out) == ["first"]
    cowlog.write((record("b", 2, "second")[-10:] + record("c", 3, "last").rstrip()).encode())
    cowlog.wait_for_lines(2)
    assert cowlog.process.poll() is None  # still following: stdin is open
    assert cowlog.end() == 0
    assert msgs(cowlog.out) == ["first", "second", "last"]
    assert cowlog.err == []


def test_copytruncate_starts_over_from_the_start_of_the_file(tmp_path: Path, run: Any) -> None:
    path = tmp_path / "app.jsonl"
    path.write_text("".join(record("a", i, f"old {i}") for i in range(5)))
    cowlog = run("replay", "--follow", path, "--format", "jsonl")
    cowlog.wait_for_lines(5)
    (tmp_path / "app.jsonl.1").write_bytes(path.read_bytes())  # logrotate's copytruncate
    with path.open("r+") as f:
        f.truncate(0)
    cowlog.wait_for_note("app.jsonl: file truncated")
    append(path, record("b", 9, "new"))  # shorter than what was there
    cowlog.wait_for_lines(6)
    append(path, record("b", 10, "newer"))
    cowlog.wait_for_lines(7)
    assert_clean_interrupt(cowlog, cowlog.interrupt())
    assert msgs(cowlog.out)[5:] == ["new", "newer"]


def test_rotation_reads_the_old_file_to_its_end_then_the_new_one(tmp_path: Path, run: Any) -> None:
    """rename + a new file, with a line written to the old file after the rename (a writer that
    has not reopened yet): every record once, in order, the new file's from its first line."""
    path = tmp_path / "app.jsonl"
    path.write_text(record("a", 1, "one"))
    cowlog = run("replay", "--follow", path, "--format", "table")
    cowlog.wait_for(lambda: any("one" in line for line in cowlog.out), "the first row")
    path.rename(tmp_path / "app.jsonl.1")
    append(tmp_path / "app.jsonl.1", record("a", 2, "late in the old file"))
    path.write_text(record("b", 3, "first of the new"))
    cowlog.wait_for_note("following the new file")
    append(path, record("b", 4, "second of the new"))
    cowlog.wait_for(lambda: any("second of the new" in line for line in cowlog.out), "the 4th")
    assert_clean_interrupt(cowlog, cowlog.interrupt())
    rows = [line.split() for line in cowlog.out if line.split()[:1] in (["0"], ["1"], ["2"], ["3"])]
    # offset, line in its file, time, type: the new file's lines count from 1 again
    assert [row[:4] for row in rows] == [
        ["0", "1", "1", "a"],
        ["1", "2", "2", "a"],
        ["2", "1", "3", "b"],
        ["3", "2", "4", "b"],
    ]
    assert cowlog.err[-2].startswith("4 of 4 events from offset 0 of ")


def test_shortlog_follow_prints_each_new_survivor_and_ends_with_the_shortlog(run: Any) -> None:
    """--format jsonl: each record that becomes the latest of its type, as it comes; the last
    line printed per type is the shortlog that `cowlog shortlog` prints for the same input."""
    data = (DATA / "HDFS_2k.jsonl").read_bytes()
    cowlog = run("shortlog", "--follow", "-", "--format", "jsonl", stdin=True)
    half = data.index(b"\n", len(data) // 2) + 1
    cowlog.write(data[:half])
    cowlog.wait_for_lines(1)
    cowlog.write(data[half:])
    assert cowlog.end() == 0
    whole = subprocess.run(
        [sys.executable, "-m", "cowlog", "shortlog", DATA / "HDFS_2k.jsonl", "--format", "jsonl"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines(keepends=True)
    last: dict[str, str] = {}
    for line in cowlog.out:
        last[json.loads(line)["key"]] = line
    assert sorted(last.values()) == sorted(whole)


def test_shortlog_follow_keeps_a_live_table_on_a_terminal(tmp_path: Path) -> None:
    """stdout a terminal (a pty): the table shows a type appended later; Ctrl-C prints the final
    table and the count, status 130."""
    path = tmp_path / "app.jsonl"
    path.write_text(record("disk", 1, "full") + record("cpu", 2, "hot"))
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "cowlog", "shortlog", "--follow", path],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "100", "LINES": "40", "TERM": "xterm"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    os.close(follower)
    screen = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed
                return
            if not chunk:
                return
            screen.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        deadline = time.monotonic() + WAIT
        while b"2 event types" not in screen and time.monotonic() < deadline:
            time.sleep(0.01)
        append(path, record("net", 3, "a new type, live"))
        while b"a new type, live" not in screen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert b"a new type, live" in screen, bytes(screen)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=WAIT)
        os.close(leader)
    assert process.returncode == 130
    assert err.decode().splitlines() == [
        "3 event types, latest of 3 events in " + str(path),
        "cowlog: interrupted",
    ]
    final = bytes(screen).rsplit(b"offset", 1)[-1]  # the table printed last
    assert [word in final for word in (b"disk", b"cpu", b"net")] == [True] * 3


def test_shortlog_follow_interrupted_exits_130_without_a_traceback(
    tmp_path: Path, run: Any
) -> None:
    path = tmp_path / "app.jsonl"
    path.write_text(record("a", 1, "one") + record("a", 0, "older") + record("b", 1, "two"))
    cowlog = run("shortlog", "--follow", path, "--format", "jsonl")
    cowlog.wait_for_lines(2)
    assert_clean_interrupt(cowlog, cowlog.interrupt())
    assert msgs(cowlog.out) == ["one", "two"]


def test_csv_follow_prints_rows_as_objects_and_waits_for_a_quoted_cell_to_close(
    tmp_path: Path, run: Any
) -> None:
    path = tmp_path / "app.csv"
    path.write_text("key,ts,text\na,1,first\n", newline="")
    cowlog = run("replay", "--follow", path, "--format", "jsonl")
    cowlog.wait_for_lines(1)
    append(path, 'b,2,"two lines\n')  # a whole line, but not a whole record
    append(path, 'and more"\nc,3,third\n')
    cowlog.wait_for_lines(3)
    assert_clean_interrupt(cowlog, cowlog.interrupt())
    assert [json.loads(line) for line in cowlog.out] == [
        {"key": "a", "ts": "1", "text": "first"},
        {"key": "b", "ts": "2", "text": "two lines\nand more"},
        {"key": "c", "ts": "3", "text": "third"},
    ]


def test_a_bad_record_appended_stops_with_status_2_and_its_line(tmp_path: Path, run: Any) -> None:
    path = tmp_path / "app.jsonl"
    path.write_text(record("a", 1, "one") + "\n")
    cowlog = run("replay", "--follow", path, "--format", "jsonl")
    cowlog.wait_for_lines(1)
    append(path, record("a", 2, "two") + '{"key": "a", "ts": "noon"}\n')
    assert cowlog.end() == 2
    assert msgs(cowlog.out) == ["one", "two"]
    assert len(cowlog.err) == 1
    assert cowlog.err[0].startswith(f"{path}:4: time field 'ts': cannot read 'noon'")


def test_skip_bad_reports_the_skipped_records_at_the_end(run: Any) -> None:
    cowlog = run("replay", "--follow", "-", "--format", "jsonl", "--skip-bad", stdin=True)
    cowlog.write((record("a", 1, "one") + "oops\n" + record("a", 2, "two")).encode())
    assert cowlog.end() == 0
    assert msgs(cowlog.out) == ["one", "two"]
    assert cowlog.err == [
        "cowlog: skipped 1 bad record; the first: <stdin>:2: not valid JSON: Expecting value "
        "(column 1)\n"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", "--follow", "app.jsonl.gz"], "app.jsonl.gz: cannot follow a gzipped file"),
        (["shortlog", "--follow", "missing.jsonl"], "missing.jsonl: No such file or directory"),
        (["replay", "--follow", "app.txt"], "app.txt: cannot tell the format"),
        (["replay", "--follow", "--since", "-1", "app.jsonl"], "--since: must be an integer"),
        (["replay", "--follow", "dir.jsonl"], "dir.jsonl: Is a directory"),
        (["replay", "--follow", "--tail", "5", "--since", "2", "app.jsonl"], "--tail and --since"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    for name in ("app.jsonl.gz", "app.txt", "app.jsonl"):
        (tmp_path / name).write_text("")
    (tmp_path / "dir.jsonl").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "cowlog", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert done.returncode == 2
    assert message in done.stderr.splitlines()[-1]
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_replay_follow_table_from_stdin_numbers_offsets_and_lines(run: Any) -> None:
    """Blank lines take no offset; the line column says where each record is; rows stream."""
    cowlog = run("replay", "--follow", "-", "--since", "1", "--format", "table", stdin=True)
    cowlog.write((record("a", 10, "zero") + "\n" + record("b", 20, "one")).encode())
    cowlog.wait_for(lambda: any("one" in line for line in cowlog.out), "the row of offset 1")
    cowlog.write(("\n\n" + record("c", 30, "two")).encode())
    assert cowlog.end() == 0
    rows = [line.split() for line in cowlog.out if line.split()[:1] in (["1"], ["2"])]
    assert [row[:5] for row in rows] == [["1", "3", "20", "b", "one"], ["2", "6", "30", "c", "two"]]
    assert cowlog.err == ["2 of 3 events from offset 1 of -\n"]


def test_follow_tables_escape_controls_and_show_dates_as_replay_does(run: Any) -> None:
    """The table conventions of `cowlog replay` (render.py): terminal escapes in the data are
    shown escaped, never raw; times read from dates are shown as UTC dates."""
    cowlog = run("replay", "--follow", "-", "--format", "table", stdin=True)
    line = {"key": "red\x1b[31m", "ts": "2015-07-29T17:41:44.747Z", "msg": "wipe\x1b[2J"}
    cowlog.write((json.dumps(line) + "\n").encode())
    assert cowlog.end() == 0
    text = "".join(cowlog.out)
    assert "\x1b" not in text
    assert "red\\x1b[31m" in text
    assert "wipe\\x1b[2J" in text
    assert "2015-07-29 17:41:44.747" in text
    assert "time (UTC)" in text
