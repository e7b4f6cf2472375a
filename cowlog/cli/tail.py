"""``--follow`` for ``cowlog replay`` and ``cowlog shortlog``: read a growing file like ``tail -F``.

Two threads share one :class:`~cowlog.EventLog`. A *reader* thread tails FILE by name (reopening it
when it is replaced, starting over when it is truncated), cuts what it reads into complete lines,
parses each run of lines with the command's own parser (`cowlog.cli.sources`) and ingests the run
in one batch. The *output* side, on the main thread, follows the log (`EventLog.follow`) and prints
each run of records as it arrives: a JSON line or a table row per record for ``replay``, a live
table (or a JSON line per change) for ``shortlog``. When stdin ends, or the reader fails, the reader
closes the log: the output drains what was read and stops.

What this module must never do: parse a record by rules of its own (sources.py owns them, so a
followed file reads exactly as the same file without ``--follow``), or hand the parser a line
whose newline has not arrived yet.
"""

from __future__ import annotations

import argparse
import csv
import os
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Final, TextIO, cast

from .._checks import Record
from .._log import EventLog
from .main import (
    _count,
    _fields,
    _note,
    _output_format,
    _require_rich,
    _summary,
    _time_unit,
)
from .render import escape, format_time, output_encoding, prepare_stdout, time_title
from .sources import Fields, Format, Loaded, Raw, Source, SourceError, open_source

__all__ = ["add_follow_option", "follow_replay", "follow_shortlog"]

_READ = 1 << 20  # bytes per read: a large backlog is parsed and ingested a megabyte at a time
_POLL = 0.1  # seconds between two looks at a file that has stopped growing
_BATCH = 4096  # records printed at most at once, so a long backlog streams
_REFRESH = 4  # live table refreshes per second
_OPEN_RECORD_MAX = 4 << 20  # bytes of lines a CSV record with an open quote may hold back

FOLLOW_HELP = (
    "keep reading FILE as it grows, like 'tail -F': survive truncation and rotation (FILE is "
    "reopened by name); '-' reads stdin until it ends. Ctrl-C stops (exit status 130)"
)


def add_follow_option(
    parser: argparse.ArgumentParser, follow: Callable[[argparse.Namespace], int]
) -> None:
    """Give a subcommand ``--follow``: with it, *follow* runs instead of the subcommand."""
    parser.add_argument("--follow", action="store_true", help=FOLLOW_HELP)
    run: Callable[[argparse.Namespace], int] = parser.get_default("run")

    def run_or_follow(args: argparse.Namespace) -> int:
        return follow(args) if args.follow else run(args)

    parser.set_defaults(run=run_or_follow)


# -- bytes: reading a file by name, or a stream --------------------------------------------------


class _Restart:
    """A marker among the bytes read: FILE starts over from its first byte."""

    def __init__(self, finished: bool) -> None:
        # finished: the old file is complete (replaced), so its unterminated last line is a line;
        # otherwise the file was truncated under us and that line's bytes are gone
        self.finished = finished


_REPLACED: Final = _Restart(finished=True)
_TRUNCATED: Final = _Restart(finished=False)

Note = Callable[[str], None]


def _file_reads(
    path: str, fd: int, stop: threading.Event, note: Note, poll: float = _POLL
) -> Iterator[bytes | _Restart]:
    """Yield the bytes of the file named *path* (open as *fd*) as they are appended, until *stop*.

    Like ``tail -F``: at the end of the file it waits *poll* seconds and looks at the name again.
    Another file under the name (rotation): the rest of the old one is read, then the new one from
    its start (`_REPLACED`). The same file, shorter than what was read (copytruncate): read again
    from its start (`_TRUNCATED`). No file under the name: keep the old one and keep looking.
    Closes *fd* at the end.

    Raises:
        OSError: a read fails.
    """
    missing = False
    try:
        while not stop.is_set():
            data = os.read(fd, _READ)
            if data:
                yield data
                continue
            try:
                named = os.stat(path)
            except OSError as exc:  # renamed away and not yet replaced, or no longer readable
                if not missing:
                    missing = True
                    note(f"cowlog: {path} has become inaccessible: {exc.strerror or exc}")
                stop.wait(poll)
                continue
            mine = os.fstat(fd)
            if (named.st_dev, named.st_ino) != (mine.st_dev, mine.st_ino):
                while data := os.read(fd, _READ):  # what was written to it before the switch
                    yield data
                try:
                    new = os.open(path, os.O_RDONLY)
                except OSError:  # gone again (or unreadable): look again later
                    stop.wait(poll)
                    continue
                os.close(fd)
                fd = new
                how = "has appeared" if missing else "has been replaced"
                note(f"cowlog: {path} {how}; following the new file")
                missing = False
                yield _REPLACED
                continue
            if missing:  # back under its name (renamed back)
                missing = False
            if named.st_size < os.lseek(fd, 0, os.SEEK_CUR):
                note(f"cowlog: {path}: file truncated")
                os.lseek(fd, 0, os.SEEK_SET)
                yield _TRUNCATED
                continue
            stop.wait(poll)
    finally:
        os.close(fd)


def _stream_reads(fd: int) -> Iterator[bytes | _Restart]:
    """Yield what a stream (stdin, a pipe) delivers, as it arrives, until it ends."""
    while data := os.read(fd, _READ):
        yield data


class _Lines:
    """Cut bytes into complete lines; keep a partial last line until its newline arrives.

    For CSV a record is complete only when its quotes are balanced: a quoted cell may hold line
    breaks, and the parser must get such a record whole. Lines held back that way are handed over
    past _OPEN_RECORD_MAX bytes: the parser then reports the quote that never closes (a stray
    quote in an unquoted cell, which the parser takes as it is, only delays its record).
    """

    def __init__(self, csv: bool) -> None:
        self.csv = csv
        self.pending = b""

    def feed(self, data: bytes) -> list[bytes]:
        """Return the complete lines (line breaks kept) that *data* finishes, in order."""
        buffer = self.pending + data if self.pending else data
        end = buffer.rfind(b"\n") + 1
        lines = buffer[:end].splitlines(keepends=True)
        if self.csv:
            whole = 0  # lines that make up whole records
            odd = False
            for count, line in enumerate(lines, 1):
                odd ^= bool(line.count(b'"') & 1)
                if not odd:
                    whole = count
            if whole < len(lines):
                held = sum(map(len, lines[whole:]))
                if held <= _OPEN_RECORD_MAX:
                    end -= held
                    del lines[whole:]
        self.pending = buffer[end:]
        return lines

    def flush(self) -> list[bytes]:
        """The input is finished: return what is left (an unterminated last line) as lines."""
        rest, self.pending = self.pending, b""
        return rest.splitlines(keepends=True)

    def drop(self) -> None:
        """Forget a partial line (its file was truncated: its bytes are gone)."""
        self.pending = b""


# -- records: parsing runs of lines into the log --------------------------------------------------


@dataclass
class _Ingester:
    """Parse runs of lines with `Source.load` and ingest each run into *log* in one batch.

    Each run is parsed as a little file of its own (a CSV run behind its file's header line), so
    the parser's line numbers, ``--no-time`` times, line anchors and skipped-record reports are
    per run; this class shifts them to the file's lines (and, for ``--no-time``, to a count of
    lines that never goes back, so the last record read wins even after a rotation).
    """

    log: EventLog[Any, Raw]
    name: str
    format: Format
    fields: Fields
    skip_bad: bool
    total: Loaded = field(default_factory=Loaded)  # offsets -> lines, skips: read by the output
    printer: Source = field(init=False)  # renders records; for CSV, holds the first header
    line: int = 0  # lines of the current file handed to the parser so far
    lines_read: int = 0  # lines of every file so far (the --no-time clock)
    header_line: str | None = None  # this file's CSV header, as read
    format_given: bool = True  # False: stdin read as JSON lines by default (a hint on line 1)

    def __post_init__(self) -> None:
        self.printer = Source(self.name, cast(TextIO, iter(())), self.format)

    def restart(self) -> None:
        """The file starts over: line 1 again, and for CSV a header first."""
        self.line = 0
        self.header_line = None

    def ingest(self, lines: list[bytes]) -> None:
        """Parse *lines*, complete lines of the current file, and ingest their records.

        Raises:
            SourceError: a bad record (unless skip_bad) or a CSV header without the fields asked
                for, or unlike the first file's; located at the file's own line.
        """
        if not lines:
            return
        if self.format == "jsonl" and any(b"\r" in line for line in lines):
            lines = [_universal(line) for line in lines]  # as TextIOWrapper(newline=None) reads
        texts = [line.decode("utf-8", "surrogateescape") for line in lines]
        if self.line == 0 and texts[0].startswith("\ufeff"):
            texts[0] = texts[0][1:]  # a byte-order mark, as utf-8-sig drops it
        if self.format == "csv" and self.header_line is None:
            self._read_header(texts[0])
            self.line += 1
            self.lines_read += 1
            del texts[0]
        if texts:
            self._ingest(texts)

    def _ingest(self, texts: list[str]) -> None:
        """Parse and ingest *texts*, the next lines of the current file (past its header)."""
        shift = 0  # lines put before the run for the parser (the CSV header)
        run = texts
        if self.format == "csv":
            run = [cast(str, self.header_line), *texts]
            shift = 1
        base = self.line - shift  # the file's line = base + the run's line
        batch: list[tuple[Any, Raw, int]] = []
        # Source reads its lines by iterating them: a list of this run's lines is a small file.
        given = self.format_given or self.lines_read > 0  # its hint is for the input's line 1
        source = Source(self.name, cast(TextIO, run), self.format, format_given=given)
        try:
            loaded = source.load(batch.extend, self.fields, skip_bad=self.skip_bad)
        except SourceError as exc:
            if exc.line is None:
                raise
            good = exc.line - 1 - shift  # the lines before the bad record are good
            if good > 0:  # print them, wherever the run happened to be cut
                self._ingest(texts[:good])
            raise SourceError(exc.name, base + exc.line, exc.message) from None
        if self.fields.time is None:  # the parser's clock is the run's line: make it global
            clock = self.lines_read - shift
            batch = [(key, raw, clock + stamp) for key, raw, stamp in batch]
        self._account(loaded, base, len(batch))
        self.line += len(texts)
        self.lines_read += len(texts)
        if batch:
            self.log.ingest_many(batch)  # after _account: a printed offset always has its line

    def _read_header(self, text: str) -> None:
        """Check a new file's CSV header (the columns asked for; the same as the first file's)."""
        header = next(csv.reader([text]), [])
        if self.printer.header and header != self.printer.header:
            raise SourceError(
                self.name,
                self.line + 1,
                f"the header changed (was {','.join(self.printer.header)}): cannot follow a "
                "file whose columns change",
            )
        probe = Source(self.name, cast(TextIO, [text]), self.format)
        try:
            probe.load(lambda batch: None, self.fields)  # a header without the fields raises
        except SourceError as exc:
            raise SourceError(exc.name, self.line + 1, exc.message) from None
        self.printer.header = probe.header
        self.header_line = text

    def _account(self, loaded: Loaded, base: int, records: int) -> None:
        """Add a run's line anchors and skipped records to the totals, at the file's lines."""
        total = self.total
        offset = total.ingested
        for first, line in [(0, loaded.line_of(0)), *loaded.anchors]:
            if records and first < records and total.line_of(offset + first) != base + line:
                total.anchors.append((offset + first, base + line))
        if loaded.skipped:
            if total.first_skipped is None and loaded.first_skipped is not None:
                where = loaded.skipped_lines[0]
                message = loaded.first_skipped.removeprefix(f"{self.name}:{where}: ")
                total.first_skipped = f"{self.name}:{base + where}: {message}"
            total.skipped += loaded.skipped
        total.dated += loaded.dated
        total.ingested = offset + records


def _universal(line: bytes) -> bytes:
    """End a line with ``\n`` whichever line break it has (``\r\n``, ``\r``)."""
    if line.endswith(b"\r\n"):
        return line[:-2] + b"\n"
    if line.endswith(b"\r"):
        return line[:-1] + b"\n"
    return line


# -- the reader thread ----------------------------------------------------------------------------


class _ReadFailure(Exception):
    """An I/O error while following: exit status 1."""


class _Following:
    """The reader thread and its log: start it with ``with``; leaving stops it.

    The log is closed when the input ends (stdin's EOF), when reading fails, or when the reader is
    stopped; `failure` then says why, if something went wrong.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        self.fields = _fields(args)
        path: str = args.file
        if path != "-" and path.lower().endswith(".gz"):
            raise SourceError(path, None, "cannot follow a gzipped file; drop --follow")
        self.stream = path == "-"
        # open before the probe: a named pipe's writer must never be left without a reader
        fd = 0 if self.stream else _open(path)
        try:
            with open_source(path, args.input_format) as probe:  # the format; the same errors
                format, name, given = probe.format, probe.name, probe.format_given
            if not self.stream and not stat.S_ISREG(os.fstat(fd).st_mode):
                self.stream = True  # a named pipe or a device: read it until it ends, as stdin
        except BaseException:
            if fd:
                os.close(fd)
            raise
        self.log: EventLog[Any, Raw] = EventLog()
        self.ingester = _Ingester(self.log, name, format, self.fields, args.skip_bad)
        self.ingester.format_given = given
        self.args = args
        self.stop = threading.Event()
        self.failure: BaseException | None = None
        self.printed = 0  # records the output side has printed
        # The backlog: what the input holds at the start (for --tail). A file's size now; a
        # stream's whole content, as `tail -n N` takes a pipe's
        self.backlog = None if self.stream else os.fstat(fd).st_size
        self.backlog_records = 0
        self.caught_up = threading.Event()
        if self.backlog == 0:
            self.caught_up.set()
        reads = _stream_reads(fd) if self.stream else _file_reads(path, fd, self.stop, _note)
        self.lines = _Lines(csv=format == "csv")
        self.thread = threading.Thread(
            target=self._read, args=(reads,), name="cowlog-follow", daemon=True
        )

    @property
    def name(self) -> str:
        return self.ingester.name

    @property
    def printer(self) -> Source:
        return self.ingester.printer

    def __enter__(self) -> _Following:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if not self.stream:  # a blocked read of stdin cannot be cut short: it is a daemon
            self.thread.join()

    def _read(self, reads: Iterator[bytes | _Restart]) -> None:
        lines, ingester = self.lines, self.ingester
        unread = self.backlog  # bytes of the file as it was at the start, still to read
        try:
            for data in reads:
                if self.stop.is_set():
                    return
                if isinstance(data, _Restart):
                    if data.finished:
                        ingester.ingest(lines.flush())
                    lines.drop()
                    ingester.restart()
                    self._caught_up()  # what was there at the start is all read (or gone)
                else:
                    ingester.ingest(lines.feed(data))
                    if unread is not None:
                        unread -= len(data)
                        if unread <= 0:
                            self._caught_up()
                            unread = None
            if not self.stop.is_set():  # the stream ended: its last line is complete as it is
                ingester.ingest(lines.flush())
        except SourceError as exc:
            self.failure = exc
        except OSError as exc:
            self.failure = _ReadFailure(
                f"cowlog: {self.name}: cannot read: {exc.strerror or exc or type(exc).__name__}"
            )
        except BaseException as exc:  # a bug: main() shows it
            self.failure = exc
        finally:
            self._caught_up()
            self.log.close()

    def _caught_up(self) -> None:
        """Mark the end of the backlog: the records read so far are what the input held."""
        if not self.caught_up.is_set():
            self.backlog_records = self.ingester.total.ingested
            self.caught_up.set()

    def backlog_start(self, tail: int) -> int:
        """Wait until the backlog is read; return the offset of its last *tail* records."""
        self.caught_up.wait()
        return max(0, self.backlog_records - tail)

    def report_skipped(self) -> None:
        total = self.ingester.total
        if total.skipped:
            _note(
                f"cowlog: skipped {_count(total.skipped, 'bad record')}; the first: "
                f"{total.first_skipped}"
            )


def _open(path: str) -> int:
    try:
        return os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise SourceError(path, None, exc.strerror or str(exc)) from None


def _batches(log: EventLog[Any, Raw], since: int) -> Iterator[tuple[int, list[Record[Any, Raw]]]]:
    """Follow *log* from *since*: yield (offset, records) for each run of records there is.

    Blocks for the first record of a run, then takes what is already published without
    blocking, so the output is written (and flushed) once per run, not once per record.
    """
    follower = log.follow(since)
    offset = since
    for first in follower:
        batch = [first]
        ready = log.next_offset - offset - 1
        if ready > 0:
            batch.extend(islice(follower, min(ready, _BATCH - 1)))
        yield offset, batch
        offset += len(batch)


def _status(following: _Following, interrupted: bool) -> int:
    """Report skipped records and say how the follow ended; return the exit status.

    Ctrl-C is how a follow of a file ends: 130, as for any command the user interrupts (a shell
    tells it from a normal end). A failed read: 1. A bad record: its SourceError goes on to main(),
    which prints it and returns 2. The end of stdin: 0.
    """
    following.report_skipped()
    if interrupted:
        _note("cowlog: interrupted")
        return 130
    failure = following.failure
    if isinstance(failure, _ReadFailure):
        _note(str(failure))
        return 1
    if failure is not None:
        raise failure
    return 0


# -- replay --follow -----------------------------------------------------------------------------


def follow_replay(args: argparse.Namespace) -> int:
    """``cowlog replay --follow``: print the records from ``--since`` on, then each one as it comes.

    Ends at the end of stdin (status 0), on a bad record (2, unless ``--skip-bad``), a failed read
    (1) or Ctrl-C (130).
    """
    output = _output_format(args)
    if output == "table":
        _require_rich()
    interrupted = False
    with _Following(args) as following:
        try:
            if args.tail is not None:  # like tail -n N -F: the last N records there, then on
                args.since = following.backlog_start(args.tail)
            if output == "jsonl":
                _replay_jsonl(following, args.since)
            else:
                _replay_table(following, args.since)
        except KeyboardInterrupt:
            interrupted = True
    if output == "table" and (interrupted or following.failure is None):
        events = _count(following.log.next_offset, "event")
        _note(f"{following.printed:,} of {events} from offset {args.since} of {args.file}")
    return _status(following, interrupted)


def _replay_jsonl(following: _Following, since: int) -> None:
    prepare_stdout("jsonl")
    out = sys.stdout
    to_json = following.printer.to_json
    for _, batch in _batches(following.log, since):
        following.printed += len(batch)  # first: a Ctrl-C after the write must not miss them
        out.write("".join([to_json(record[2]) + "\n" for record in batch]))
        out.flush()


def _replay_table(following: _Following, since: int) -> None:
    from rich.console import Console

    prepare_stdout("table")
    console = Console(file=sys.stdout, highlight=False, soft_wrap=False)
    widths: _Widths | None = None
    for offset, batch in _batches(following.log, since):
        if widths is None:  # fixed after the first run, so the rows of all runs line up
            widths = _Widths.of(following, batch)
        grid = _table(widths, header=offset == since)
        for position, record in enumerate(batch, offset):
            _add_row(grid, following, widths, position, record)
        following.printed += len(batch)  # first: a Ctrl-C after the print must not miss them
        console.print(grid)


# -- shortlog --follow ---------------------------------------------------------------------------


class _Shortlog:
    """The latest record of each key, by the library's rule, updated one run of records at a time.

    A key's survivor is its record with the greatest time; of equal times the later one wins (the
    rule of `Snapshot.shortlog`). Survivors are kept with their offsets, for the table and for log
    order. Guarded by a lock: the live display reads it from rich's refresh thread.
    """

    def __init__(self) -> None:
        self.survivors: dict[Any, tuple[int, Record[Any, Raw]]] = {}
        self.events = 0
        self.lock = threading.Lock()

    def update(self, offset: int, batch: list[Record[Any, Raw]]) -> list[tuple[int, Any]]:
        """Take in *batch* (starting at *offset*); return the new survivors, in log order."""
        changed: dict[Any, tuple[int, Record[Any, Raw]]] = {}
        with self.lock:
            survivors = self.survivors
            for position, record in enumerate(batch, offset):
                best = survivors.get(record[1])
                if best is None or record[0] >= best[1][0]:
                    survivors[record[1]] = changed[record[1]] = (position, record)
            self.events = offset + len(batch)
        return sorted(changed.values(), key=_first)

    def rows(self) -> list[tuple[int, Record[Any, Raw]]]:
        with self.lock:
            rows = list(self.survivors.values())
        rows.sort(key=_first)
        return rows


def _first(item: tuple[int, Any]) -> int:
    return item[0]


def follow_shortlog(args: argparse.Namespace) -> int:
    """``cowlog shortlog --follow``: the latest event of each type, kept up to date.

    On a terminal, a live table; with ``--format jsonl``, each record that becomes the latest of
    its type, a run of records at a time (one superseded within its run is not printed). Ends as
    `follow_replay` does; a table is printed whole at the end.
    """
    output = _output_format(args)
    if output == "table":
        _require_rich()
    shortlog = _Shortlog()
    interrupted = False
    with _Following(args) as following:
        try:
            if output == "jsonl":
                _shortlog_jsonl(following, shortlog)
            else:
                _shortlog_live(following, shortlog)
        except KeyboardInterrupt:
            interrupted = True
    if output == "table":  # the live table was transient: print it whole, once
        _print_shortlog(following, shortlog, note=interrupted or following.failure is None)
    return _status(following, interrupted)


def _shortlog_jsonl(following: _Following, shortlog: _Shortlog) -> None:
    prepare_stdout("jsonl")
    out = sys.stdout
    to_json = following.printer.to_json
    for offset, batch in _batches(following.log, 0):
        changed = shortlog.update(offset, batch)
        out.write("".join([to_json(record[2]) + "\n" for _, record in changed]))
        out.flush()


def _shortlog_live(following: _Following, shortlog: _Shortlog) -> None:
    from rich.console import Console
    from rich.live import Live

    prepare_stdout("table")
    console = Console(file=sys.stdout, highlight=False, soft_wrap=False)
    if not console.is_terminal:  # nothing to animate: the final table is printed at the end
        for offset, batch in _batches(following.log, 0):
            shortlog.update(offset, batch)
        return

    def view() -> Any:
        rows = shortlog.rows()
        widths = _Widths.of(following, [record for _, record in rows])
        grid = _table(widths, header=True)
        for offset, record in rows:
            _add_row(grid, following, widths, offset, record)
        types, events = _count(len(rows), "event type"), _count(shortlog.events, "event")
        name = escape(following.name, output_encoding())
        grid.caption = f"{types}, latest of {events} in {name}; Ctrl-C stops"
        return grid

    live = Live(
        console=console,
        get_renderable=view,
        refresh_per_second=_REFRESH,
        transient=True,  # the full table is printed once at the end, below any notes
        redirect_stdout=False,
        redirect_stderr=sys.stderr.isatty(),  # notes above the table, on the same terminal
    )
    with live:
        for offset, batch in _batches(following.log, 0):
            shortlog.update(offset, batch)


def _print_shortlog(following: _Following, shortlog: _Shortlog, note: bool) -> None:
    from rich.console import Console

    prepare_stdout("table")
    console = Console(file=sys.stdout, highlight=False, soft_wrap=False)
    rows = shortlog.rows()
    widths = _Widths.of(following, [record for _, record in rows])
    grid = _table(widths, header=True)
    for offset, record in rows:
        _add_row(grid, following, widths, offset, record)
    console.print(grid)
    if note:
        types, events = _count(len(rows), "event type"), _count(shortlog.events, "event")
        _note(f"{types}, latest of {events} in {following.name}")


# -- tables: the columns of `cowlog replay` and `cowlog shortlog` --------------------------------


@dataclass(frozen=True)
class _Widths:
    """The columns' widths and the time unit, as `cowlog replay` sizes its tables."""

    offset: int
    line: int
    time: int
    key: int
    unit: str | None  # the time column's unit (UTC dates), None for the integers as read

    @staticmethod
    def of(following: _Following, records: list[Record[Any, Raw]]) -> _Widths:
        """Widths for *records* and a little more: a followed log keeps growing."""
        total = following.ingester.total
        size = following.log.next_offset
        line = total.line_of(max(size - 1, 0))
        encoding = output_encoding()
        key = max([len(escape(str(record[1]), encoding)) for record in records] + [4])
        unit = _time_unit(following.args, total)
        time = len(format_time(0, unit)) if unit is not None else 13
        return _Widths(
            max(len(str(size * 10)), 6), max(len(str(line * 10)), 4), time, min(key, 30), unit
        )


def _table(widths: _Widths, header: bool) -> Any:
    from rich import box
    from rich.table import Table

    grid = Table(box=box.SIMPLE_HEAD, show_header=header, pad_edge=False, expand=True)
    grid.add_column("offset", justify="right", width=widths.offset, no_wrap=True)
    grid.add_column("line", justify="right", width=widths.line, no_wrap=True, style="dim")
    title = time_title(widths.unit)
    grid.add_column(title, justify="right", no_wrap=True, min_width=widths.time)
    grid.add_column("type", width=widths.key, no_wrap=True, style="bold cyan")
    grid.add_column("summary", ratio=1, no_wrap=True, overflow="ellipsis")
    return grid


def _add_row(
    grid: Any, following: _Following, widths: _Widths, offset: int, record: Record[Any, Raw]
) -> None:
    from rich.text import Text

    encoding = output_encoding()
    line = following.ingester.total.line_of(offset)
    summary = _summary(following.printer.to_object(record[2]), following.fields)
    grid.add_row(  # Text, not str: a log's "[preauth]" is not rich markup; escaped: no controls
        Text(str(offset)),
        Text(str(line)),
        Text(format_time(record[0], widths.unit)),
        Text(escape(str(record[1]), encoding)),
        Text(escape(summary, encoding)),
    )
