"""The ``cowlog`` command: shortlog and replay of real log files, a concurrent demo, benchmarks.

``main()`` parses the arguments, runs one subcommand and returns the exit status; it never raises
``SystemExit`` and never shows a traceback: 0 on success; 2 for bad input or arguments, with one
line on stderr (``FILE:LINE: what is wrong`` for a bad record); 1 when the output cannot be written
(a full disk: one line; a closed pipe, as with ``| head``: quietly); 130 on Ctrl-C.

Reading and parsing live in `cowlog.cli.sources`, what a person sees (escaping, times, tables) in
`cowlog.cli.render`; this module wires them together. ``shortlog`` folds the records into one
survivor per event type as it reads (memory grows with the types, not the lines); ``replay`` loads
them into an :class:`~cowlog.EventLog`. ``rich`` (the ``cli`` extra) is imported only by the parts
that draw tables and progress bars, so ``--format jsonl`` works with the core install alone.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import random
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count, islice
from typing import Any

from .._log import EventLog
from . import read_journal
from .render import (
    TIME_UNITS,
    escape,
    format_time,
    output_encoding,
    prepare_stdout,
    time_title,
    widest,
)
from .sources import FORMATS, Fields, Loaded, Raw, Source, SourceError, open_source

__all__ = ["main"]

_INSTALL_RICH = "cowlog: this needs rich: pip install 'cowlog[cli]' (or use --format jsonl)"
_TABLE_ROWS = 500  # rows per printed table, so a long replay streams instead of piling up
_PROGRESS_MIN_BYTES = 8 << 20  # files smaller than this read too fast for a progress bar
_RATE_AFTER = 0.5  # seconds before the demo shows a rate: earlier, the interval is too short

#: One line of output: the record's offset in the log, its time, its event type, the record.
Row = tuple[int, int, Hashable, Raw]


class _Usage(Exception):
    """A one-line message for stderr and exit status 2 (no location: see SourceError)."""


# -- arguments -----------------------------------------------------------------------------------


class _Help(argparse.HelpFormatter):
    """Wrap help text to the terminal, paragraph by paragraph.

    A paragraph is separated by a blank line; lines starting with "- " are list items (wrapped
    with a hanging indent); indented lines (examples, tables) are kept as they are.
    """

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        width = max(width, 40)
        paragraphs = []
        for paragraph in text.strip("\n").split("\n\n"):
            lines = paragraph.splitlines()
            if all(line.startswith("  ") for line in lines):
                paragraphs.append("\n".join(indent + line for line in lines))
            elif lines[0].startswith("- "):
                items = "\n".join(lines).split("\n- ")
                paragraphs.append(
                    "\n".join(
                        textwrap.fill(
                            " ".join(item.removeprefix("- ").split()),
                            width,
                            initial_indent=indent + "- ",
                            subsequent_indent=indent + "  ",
                            break_on_hyphens=False,
                        )
                        for item in items
                    )
                )
            else:
                paragraphs.append(
                    textwrap.fill(
                        " ".join(paragraph.split()),
                        width,
                        initial_indent=indent,
                        subsequent_indent=indent,
                        break_on_hyphens=False,  # never split an option such as --input-format
                    )
                )
        return "\n\n".join(paragraphs)


class _Parser(argparse.ArgumentParser):
    """argparse, except that a failed write of --help or --version is not silently ignored."""

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            (file or sys.stderr).write(message)


def _integer_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= *minimum*, or a message that says so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return value

    return parse


_offset = _integer_at_least(0)
_count_arg = _integer_at_least(1)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"must be between 0 and 600 seconds, got {text!r}")
    return value


def _thread_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"must be between 1 and 64, got {text!r}")
    return value


_INPUT_HELP = """\
Input. FILE is JSON lines (.jsonl, .ndjson: one object a line; blank lines are ignored) or CSV \
with a header row (.csv; each row becomes an object of strings), either optionally gzipped (.gz). \
'-' reads JSON lines from stdin (add --input-format csv for CSV). Any other name needs \
--input-format. Text is UTF-8; the file is streamed, never read whole.

Each record is ingested whole. Its event type is the --key field (a non-empty string or an \
integer) and its time the --time field:

- an integer is used as it is (any unit: s, ms, ns, a sequence number); so is a string of digits \
(as in CSV);
- any other string is read with --time-format (Python strptime directives, e.g. \
'%y%m%d %H%M%S'; then every string is, digits too) or else as ISO 8601 \
('2015-07-29T17:41:44.747Z'), and becomes epoch milliseconds, UTC when it has no zone; a format \
without a year reads dates as of 1900, so it cannot read Feb 29;
- booleans, floats, null, arrays and objects are bad input;
- with --no-time, the line number stands in, so the last record of each type wins.

A field name is looked up as written; failing that, 'a.b' reaches into nested objects \
(--key value.Level) and 'A+B' joins fields with a space (--time Date+Time).

Output. --format jsonl (the default when stdout is not a terminal) prints each record exactly as \
read, one JSON object a line (a CSV row as an object of strings). --format table (the default on \
a terminal; needs rich, the cli extra) shows offset, file line, time, type and a summary (the \
record's message, msg, Content, ... field, else its other fields); control characters, terminal \
escapes and lone surrogates in the data are shown escaped (\\x1b), never raw. The time column \
shows UTC dates when the unit is known: --time-unit, or milliseconds when every time was read \
from a date; otherwise the integer as read.

Exit status: 0 success; 2 bad input or arguments, with one line 'FILE:LINE: what is wrong' on \
stderr (a line that is not valid JSON or not an object, a missing field, an unreadable time, a \
CSV row with the wrong number of fields or an unclosed quote, bytes that are not UTF-8), unless \
--skip-bad skips such records and reports how many; 1 the output could not be written (a full \
disk; a closed pipe ends quietly); 130 interrupted.
"""

_SHORTLOG_HELP = """\
Print the latest event of each event type: the greatest time; of equal times, the later line. \
The survivors come in log order (the order of the file). Memory grows with the number of event \
types, not with the file.

Examples:

  cowlog shortlog app.jsonl
  cowlog shortlog app.jsonl --format jsonl | jq -r .message
  cowlog shortlog HDFS.csv --key EventId \\
      --time Date+Time --time-format '%y%m%d %H%M%S'

"""

_REPLAY_HELP = """\
Print the log's events from offset --since on, in arrival order. Offsets count the records \
ingested, from 0: blank and skipped lines take none (the table shows offset and line). An offset \
past the end prints nothing. --tail N prints the last N events instead, and keeps only those in \
memory as it reads (an EventLog with max_events=N), so a file far bigger than memory is fine.

Examples:

  cowlog replay app.jsonl --since 1000 | head
  cowlog replay huge.jsonl --tail 100000 --format jsonl
  cowlog replay Zookeeper.csv --key EventId \\
      --time Date+Time --since 1990

"""


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the log to read ('-' for stdin)")
    fields = parser.add_argument_group("fields")
    fields.add_argument(
        "--key", default="key", metavar="FIELD", help="the event-type field (default: key)"
    )
    fields.add_argument(
        "--time", default="ts", metavar="FIELD", help="the timestamp field (default: ts)"
    )
    fields.add_argument(
        "--time-format",
        metavar="FMT",
        help="strptime layout of the time field, e.g. '%%y%%m%%d %%H%%M%%S'",
    )
    fields.add_argument(
        "--no-time",
        action="store_true",
        help="ignore times: use the line number, so the last record of each type wins",
    )
    io_group = parser.add_argument_group("input and output")
    io_group.add_argument(
        "--input-format",
        choices=FORMATS,
        help="the input's format when its name does not tell (default: from the extension; "
        "stdin: jsonl)",
    )
    io_group.add_argument(
        "--format",
        choices=("table", "jsonl"),
        help="output: a table, or each record as read, one JSON object a line "
        "(default: table on a terminal, else jsonl)",
    )
    io_group.add_argument(
        "--time-unit",
        choices=(*TIME_UNITS, "raw"),
        help="show the table's times as UTC dates, reading them in this unit, or 'raw' as "
        "integers (default: ms when every time was read from a date, else raw)",
    )
    io_group.add_argument(
        "--skip-bad",
        action="store_true",
        help="skip bad records instead of stopping; report how many at the end",
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cowlog",
        description="Read structured logs (JSON lines or CSV) and print the latest event of "
        "each type, by cowlog's shortlog rule (shortlog), or the log from an offset, through a "
        "cowlog EventLog (replay); watch writers and readers share one log (demo); compare "
        "cowlog with the service it replaces (bench).",
        epilog="Run 'cowlog COMMAND --help' for a command's options, input rules and examples. "
        "Exit status: 0 success, 2 bad input or arguments (one line on stderr), 1 output not "
        "written (full disk; a closed pipe ends quietly), 130 interrupted.",
        formatter_class=_Help,
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"cowlog {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    shortlog = commands.add_parser(
        "shortlog",
        help="print the latest event of each type, in log order",
        description=_SHORTLOG_HELP + _INPUT_HELP,
        formatter_class=_Help,
    )
    _add_input_options(shortlog)
    shortlog.set_defaults(run=_run_shortlog)

    replay = commands.add_parser(
        "replay",
        help="print the log from an offset on, in arrival order",
        description=_REPLAY_HELP + _INPUT_HELP,
        formatter_class=_Help,
    )
    _add_input_options(replay)
    replay.add_argument(
        "--since", type=_offset, default=0, metavar="N", help="first offset to print (default: 0)"
    )
    replay.add_argument(
        "--tail",
        type=_count_arg,
        metavar="N",
        help="print only the last N events, holding only those in memory (not with --since)",
    )
    replay.set_defaults(run=_run_replay)

    # issue 14: --follow for shortlog and replay; all of it lives in cowlog/cli/tail.py
    from . import tail

    tail.add_follow_option(shortlog, tail.follow_shortlog)
    tail.add_follow_option(replay, tail.follow_replay)

    demo = commands.add_parser(
        "demo",
        help="writers and readers on one log at once, with live progress and rates",
        description="Writer threads ingest a generated web-service log (16 event types, "
        "timestamps in ms, one event in 16 up to 50 ms late), or FILE's records over and over, "
        "while reader threads each take a snapshot, its shortlog and its last 50 events every "
        "2 ms. Shows live progress on stderr, then the final shortlog, the rates seen and a "
        "consistency check of every snapshot read against itself and of the final shortlog "
        "against a plain-Python model. Exit status 1 if a check failed. Needs rich (the cli "
        "extra).",
        formatter_class=_Help,
    )
    demo.add_argument(
        "file", metavar="FILE", nargs="?", help="a log to replay instead of the generated one"
    )
    demo.add_argument(
        "--seconds", type=_positive_seconds, default=5.0, metavar="S", help="default: 5"
    )
    demo.add_argument("--writers", type=_thread_count, default=4, metavar="N", help="default: 4")
    demo.add_argument("--readers", type=_thread_count, default=4, metavar="N", help="default: 4")
    demo.add_argument("--key", default="key", metavar="FIELD", help="FILE's event-type field")
    demo.add_argument("--time", default="ts", metavar="FIELD", help="FILE's timestamp field")
    demo.add_argument("--time-format", metavar="FMT", help="strptime layout of FILE's times")
    demo.add_argument("--input-format", choices=FORMATS, help="FILE's format")
    demo.set_defaults(run=_run_demo)

    bench = commands.add_parser(
        "bench",
        help="compare cowlog with the seed's design and a plain locked list",
        description="Measure cowlog beside the floor (a locked list + dict), the seed's design "
        "and the naive persistent design: single-thread ingest, growth, snapshot(), a mixed "
        "load of writers and readers, memory. Prints the tables (never cut: wrapped on a "
        "narrow terminal, full width when redirected) and a last table of targets met or "
        "missed. A full run takes several minutes; needs rich (the cli extra).",
        formatter_class=_Help,
    )
    bench.add_argument("--quick", action="store_true", help="small sizes: about a minute")
    bench.add_argument(
        "--json",
        metavar="FILE",
        help="also write the raw figures to FILE (checked for writing before the run starts)",
    )
    bench.set_defaults(run=_run_bench)
    return parser


# -- shortlog and replay -------------------------------------------------------------------------


@dataclass
class _Output:
    """What to print: rows in log order, and what the table needs to size its columns."""

    source: Source
    loaded: Loaded
    fields: Fields
    rows: Iterable[Row]
    keys: Iterable[Hashable]  # every event type, for the width of the type column
    time_unit: str | None


def _fields(args: argparse.Namespace) -> Fields:
    if args.no_time and args.time_format is not None:
        raise _Usage("cowlog: --no-time and --time-format do not go together")
    return Fields(
        key=args.key, time=None if args.no_time else args.time, time_format=args.time_format
    )


def _output_format(args: argparse.Namespace) -> str:
    if args.format is not None:
        return str(args.format)
    return "table" if sys.stdout.isatty() else "jsonl"


def _time_unit(args: argparse.Namespace, loaded: Loaded) -> str | None:
    """The unit the table shows times in: --time-unit, else inferred; None for raw integers."""
    if args.time_unit is not None:
        return None if args.time_unit == "raw" else str(args.time_unit)
    if args.no_time:
        return None  # line numbers
    return loaded.time_unit


@contextmanager
def _read(args: argparse.Namespace, output: str) -> Iterator[tuple[Source, Fields]]:
    """Check the options and open args.file; yield the source and its fields."""
    fields = _fields(args)
    if output == "table":
        _require_rich()
    with open_source(args.file, args.input_format) as source:
        yield source, fields


def _load(
    source: Source,
    fields: Fields,
    ingest_many: Callable[[list[tuple[Any, Any, int]]], Any],
    skip_bad: bool,
) -> Loaded:
    """Stream every record of *source* into *ingest_many*, with a progress bar on a terminal."""
    with _progress_bar(source) as tick, _collector_parked():
        return source.load(ingest_many, fields, skip_bad=skip_bad, progress=tick)


@contextmanager
def _collector_parked() -> Iterator[None]:
    """Keep the cycle collector out of a load, and park what was loaded out of its way.

    The records are strings and tuples of strings: they cannot form cycles, and the collector's
    passes over a growing log cost more than the parsing (docs/cli.md). Afterwards, without
    freeze(), the first collection would walk every record allocated meanwhile (0.3 s for a
    million); frozen, they stay out of it until main() unfreezes them on its way out.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            if not gc.get_freeze_count():  # someone else's frozen objects: leave theirs alone
                gc.freeze()
            gc.enable()


class _Survivors:
    """The shortlog rule folded over the records as they are read: O(types) memory.

    For each event type, the record with the greatest time; of equal times, the later one. This
    is what ``EventLog.shortlog()`` returns for the same records (tests/test_cli.py checks both
    against one model), without keeping the records that lose.
    """

    def __init__(self) -> None:
        self.best: dict[Hashable, tuple[int, int, Raw]] = {}  # key -> (time, offset, record)
        self.count = 0

    def ingest_many(self, batch: list[tuple[Any, Any, int]]) -> None:
        best = self.best
        get = best.get
        offset = self.count
        for key, raw, timestamp in batch:
            held = get(key)
            if held is None or timestamp >= held[0]:
                best[key] = (timestamp, offset, raw)
            offset += 1
        self.count = offset

    def rows(self) -> list[Row]:
        """The survivors in log order."""
        rows = [(offset, ts, key, raw) for key, (ts, offset, raw) in self.best.items()]
        rows.sort(key=lambda row: row[0])
        return rows


def _run_shortlog(args: argparse.Namespace) -> int:
    output = _output_format(args)
    with _read(args, output) as (source, fields):
        survivors = _Survivors()
        loaded = _load(source, fields, survivors.ingest_many, args.skip_bad)
        rows = survivors.rows()
        _print(
            _Output(source, loaded, fields, rows, survivors.best, _time_unit(args, loaded)), output
        )
        if output == "table":
            types, total = _count(len(rows), "event type"), _count(survivors.count, "event")
            _note(f"{types}, latest of {total} in {source.name}")
        _report_skipped(loaded)
    return 0


def _run_replay(args: argparse.Namespace) -> int:
    output = _output_format(args)
    with _read(args, output) as (source, fields):
        # With --tail, retention keeps the memory to the last N events (plus a few chunks).
        log: EventLog[Any, Raw] = EventLog(max_events=args.tail)
        loaded = _load(source, fields, log.ingest_many, args.skip_bad)
        snap = log.snapshot()
        size = snap.next_offset
        if args.tail is not None:
            args.since = max(0, size - args.tail)
        if output == "jsonl":
            _print_jsonl(source, (record[2] for record in snap.replay(args.since)))
        else:
            rows: Iterator[Row] = (
                (offset, ts, key, raw)
                for offset, (ts, key, raw) in zip(count(args.since), snap.replay(args.since))
            )
            keys = (key for _, key, _ in snap.shortlog())
            _print(_Output(source, loaded, fields, rows, keys, _time_unit(args, loaded)), output)
            shown = max(0, size - args.since)
            _note(f"{shown:,} of {_count(size, 'event')} from offset {args.since} of {args.file}")
        _report_skipped(loaded)
    return 0


def _print(out: _Output, output: str) -> None:
    """Print *out* as JSON lines, or as tables of _TABLE_ROWS rows. O(1) memory per batch."""
    if output == "jsonl":
        _print_jsonl(out.source, (row[3] for row in out.rows))
    else:
        _print_tables(out)


def _print_jsonl(source: Source, records: Iterable[Raw]) -> None:
    """Print each record as read, one JSON object a line, 1,024 at a time."""
    prepare_stdout("jsonl")
    write = sys.stdout.write
    to_json = source.to_json
    iterator = iter(records)
    while batch := list(islice(iterator, 1024)):
        write("".join([to_json(raw) + "\n" for raw in batch]))
    sys.stdout.flush()


def _print_tables(out: _Output) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    prepare_stdout("table")
    console = Console(file=sys.stdout, highlight=False, soft_wrap=False)
    loaded, source, unit = out.loaded, out.source, out.time_unit
    encoding = output_encoding()
    last = loaded.ingested - 1
    key_width = widest((escape(str(key), encoding) for key in out.keys), 4)
    offset_width = max(len(str(last)), 6)
    line_width = max(len(str(loaded.line_of(last))) if last >= 0 else 1, 4)
    time_width = len(format_time(0, unit)) if unit is not None else 13

    def table(header: bool) -> Table:
        grid = Table(box=box.SIMPLE_HEAD, show_header=header, pad_edge=False, expand=True)
        grid.add_column("offset", justify="right", width=offset_width, no_wrap=True)
        grid.add_column("line", justify="right", width=line_width, no_wrap=True, style="dim")
        grid.add_column(time_title(unit), justify="right", no_wrap=True, min_width=time_width)
        grid.add_column("type", width=min(key_width, 30), no_wrap=True, style="bold cyan")
        grid.add_column("summary", ratio=1, no_wrap=True, overflow="ellipsis")
        return grid

    iterator = iter(out.rows)
    first = True
    while batch := list(islice(iterator, _TABLE_ROWS)):
        grid = table(first)
        for offset, timestamp, key, raw in batch:
            grid.add_row(  # Text, not str: a log's "[preauth]" is not rich markup
                Text(str(offset)),
                Text(str(loaded.line_of(offset))),
                Text(format_time(timestamp, unit)),
                Text(escape(str(key), encoding)),
                Text(escape(_summary(source.to_object(raw), out.fields), encoding)),
            )
        console.print(grid)
        first = False
    if first:
        console.print(table(True))
    sys.stdout.flush()  # before the notes on stderr: a failed write is the only message


_MESSAGE_FIELDS = ("message", "msg", "Content", "content", "text", "summary", "event", "log")


def _summary(record: dict[str, Any], fields: Fields) -> str:
    """A short description of a record: its message if it has one, else its other fields."""
    for scope in (record, record.get("value")):
        if isinstance(scope, dict):
            for name in _MESSAGE_FIELDS:
                message = scope.get(name)
                if isinstance(message, str) and message:
                    return " ".join(message.split())  # one line, however many it had
    skip = {fields.key, fields.time}
    rest = {name: value for name, value in record.items() if name not in skip}
    return json.dumps(rest, ensure_ascii=False, separators=(", ", "=")).strip("{}")


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def _note(text: str) -> None:
    with suppress(OSError, ValueError):  # no stderr to tell: the exit status says it
        print(escape(text), file=sys.stderr)


def _report_skipped(loaded: Loaded) -> None:
    if loaded.skipped:
        skipped = _count(loaded.skipped, "bad record")
        _note(f"cowlog: skipped {skipped}; the first: {loaded.first_skipped}")


class _progress_bar:
    """A transient progress bar on stderr for a large file on a terminal; a no-op otherwise."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.progress: Any = None

    def __enter__(self) -> Callable[[], None] | None:
        size = self.source.size
        if not size or size < _PROGRESS_MIN_BYTES or not sys.stderr.isatty():
            return None
        try:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )
        except ImportError:
            return None  # no bar without rich; reading works the same
        self.progress = Progress(
            TextColumn("reading {task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.progress.start()
        task = self.progress.add_task(escape(self.source.name), total=size)
        position = self.source.position
        update = self.progress.update

        def tick() -> None:
            update(task, completed=position())

        return tick

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()


def _require_rich() -> None:
    if importlib.util.find_spec("rich") is None:
        raise _Usage(_INSTALL_RICH)
    try:
        import rich  # noqa: F401
    except ImportError:
        raise _Usage(_INSTALL_RICH) from None


# -- demo ----------------------------------------------------------------------------------------

# A web service's log: event types with realistic frequencies (a few common, many rare).
_TEMPLATES = [
    ("http.request", "GET /api/orders/{n} 200 in {ms} ms"),
    ("http.request.slow", "GET /api/search?q=item{n} 200 in {ms}0 ms"),
    ("http.error", "POST /api/checkout 502 upstream timeout after {ms} ms"),
    ("db.query", "SELECT orders WHERE customer={n}: {ms} rows"),
    ("db.pool.exhausted", "connection pool exhausted: {n} waiting"),
    ("cache.miss", "cache miss for session:{n}"),
    ("cache.evict", "evicted {n} keys (memory {ms}%)"),
    ("auth.login", "user{n} logged in from 10.0.{ms}.7"),
    ("auth.failed", "failed login for user{n} from 10.0.{ms}.9"),
    ("queue.enqueue", "job {n} enqueued on queue emails"),
    ("queue.retry", "job {n} failed; retrying in {ms} s"),
    ("disk.usage", "/var volume at {ms}% ({n} MB free)"),
    ("gc.pause", "gc pause {ms} ms, heap {n} MB"),
    ("deploy", "release r{n} rolled out to {ms} hosts"),
    ("health.check", "all {ms} checks passed ({n})"),
    ("config.reload", "configuration reloaded (version {n})"),
]


def _generated_events(seed: int, count: int) -> list[tuple[str, dict[str, Any]]]:
    """Return *count* (key, value) pairs drawn with Zipf-like frequencies."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** 1.2 for rank in range(len(_TEMPLATES))]
    picks = rng.choices(_TEMPLATES, weights, k=count)
    return [
        (
            key,
            {
                "host": f"web-{rng.randrange(8)}",
                "message": template.format(n=rng.randrange(10_000), ms=rng.randrange(100)),
            },
        )
        for key, template in picks
    ]


@dataclass
class _DemoStats:
    reads: int = 0
    latencies: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    smallest: int = -1
    largest: int = 0


def _reader(log: EventLog[Any, Any], stop: threading.Event, stats: _DemoStats) -> None:
    """Every 2 ms: a snapshot, its shortlog and last 50 events; check they agree."""
    previous = 0
    latencies = stats.latencies
    while not stop.is_set():
        began = time.perf_counter()
        snap = log.snapshot()
        shortlog = list(snap.shortlog())
        recent = snap[-50:]
        latencies.append(time.perf_counter() - began)
        size = len(snap)
        if size < previous:
            stats.problems.append(f"a snapshot of {size} events after one of {previous}")
        if len(recent) != min(50, size) or (recent and recent[-1] != snap[size - 1]):
            stats.problems.append(f"the last 50 events of a snapshot of {size} disagree")
        if len({key for _, key, _ in shortlog}) != len(shortlog):
            stats.problems.append("a shortlog with two events of one type")
        for record in shortlog[:3]:  # the shortlog agrees with latest() on the same snapshot
            key = record[1]
            if snap.latest(key) != record:
                stats.problems.append(f"latest({key!r}) disagrees with the shortlog")
        del stats.problems[10:]  # a broken log would say so thousands of times: keep the first
        previous = size
        stats.reads += 1
        if stats.smallest < 0:
            stats.smallest = size
        stats.largest = size
        time.sleep(0.002)


def _writer(
    log: EventLog[Any, Any],
    events: Sequence[tuple[Any, Any]],
    start: int,
    stop: threading.Event,
    counts: list[int],
    index: int,
    times: Sequence[int] | None,
) -> None:
    """Ingest *events* round-robin from *start* until *stop*: a timestamp per event, some late."""
    ingest = log.ingest
    clock = time.time_ns
    size = len(events)
    span = max(times) - min(times) + 1 if times else 0  # the file's time range
    done = 0
    position = start
    while not stop.is_set():
        for _ in range(256):  # check the stop flag every 256 events
            key, value = events[position]
            if times is None:
                # milliseconds, with one event in 16 arriving up to 50 ms late (out of order)
                stamp = clock() // 1_000_000 - (position & 15 == 0) * (position % 50)
            else:
                stamp = times[position] + (done // size) * span  # a later lap is later
            ingest(key, value, stamp)
            position = position + 1 if position + 1 < size else 0
            done += 1
        counts[index] = done


def _run_demo(args: argparse.Namespace) -> int:
    _require_rich()
    from rich.console import Console
    from rich.live import Live
    from rich.markup import escape as markup_escape
    from rich.table import Table

    events: list[tuple[Any, Any]]
    times: list[int] | None = None
    file_unit: str | None = None  # the unit of the file's times, when known
    if args.file is not None:
        fields = Fields(key=args.key, time=args.time, time_format=args.time_format)
        scratch: EventLog[Any, Raw] = EventLog()
        with open_source(args.file, args.input_format) as source:
            with _collector_parked():
                file_unit = source.load(scratch.ingest_many, fields).time_unit
            records = list(scratch.replay())
            events = [(key, source.to_object(raw)) for _, key, raw in records]
            times = [timestamp for timestamp, _, _ in records]
        if not events:
            raise _Usage(f"cowlog: {args.file} holds no records")
        origin = f"{markup_escape(escape(args.file))}, {len(events):,} records, replayed in laps"
    else:
        events = _generated_events(seed=1, count=50_000)
        origin = f"a generated web-service log, {len(_TEMPLATES)} event types"

    log: EventLog[Any, Any] = EventLog()
    stop = threading.Event()
    counts = [0] * args.writers
    readers = [_DemoStats() for _ in range(args.readers)]
    threads = [
        threading.Thread(
            target=_writer,
            args=(log, events, i * len(events) // args.writers, stop, counts, i, times),
            daemon=True,
        )
        for i in range(args.writers)
    ] + [
        threading.Thread(target=_reader, args=(log, stop, stats), daemon=True) for stats in readers
    ]
    err = Console(file=sys.stderr, highlight=False)
    out = Console(file=sys.stdout, highlight=False)
    out.print(
        f"cowlog demo: {args.writers} writers ingest {origin} while {args.readers} readers "
        f"take snapshots, for {args.seconds:g} s"
    )

    def status(elapsed: float) -> Table:
        grid = Table.grid(padding=(0, 2))
        reads = sum(stats.reads for stats in readers)
        grid.add_row(
            f"[bold]{elapsed:4.1f}[/] / {args.seconds:g} s",
            f"events [bold]{len(log):>10,}[/] ({_demo_rate(len(log), elapsed)})",
            f"snapshots read [bold]{reads:>7,}[/]",
        )
        return grid

    began = time.perf_counter()
    try:
        for thread in threads:
            thread.start()
        with Live(status(0.0), console=err, refresh_per_second=8, transient=True) as live:
            while (elapsed := time.perf_counter() - began) < args.seconds:
                live.update(status(elapsed))
                time.sleep(min(0.1, max(args.seconds - elapsed, 0)))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    elapsed = time.perf_counter() - began

    snap = log.snapshot()
    _demo_results(out, snap, readers, elapsed, args, file_unit)
    problems = [problem for stats in readers for problem in stats.problems]
    problems += _check_shortlog(snap)
    if problems:
        out.print(f"[bold red]{len(problems)} consistency problems[/]; the first: {problems[0]}")
        return 1
    out.print(
        f"[green]consistent[/]: all {sum(s.reads for s in readers):,} snapshots read agreed with "
        f"themselves, and the final shortlog matches a plain-Python model of its {len(snap):,} "
        "events"
    )
    return 0


def _demo_rate(events: int, elapsed: float) -> str:
    """The live rate: none before _RATE_AFTER seconds, when a few thousand events over a few
    milliseconds of thread start-up would show a rate many times the real one."""
    if elapsed < _RATE_AFTER:
        return "rate after 0.5 s"
    return f"{events / elapsed:,.0f}/s"


def _check_shortlog(snap: Any) -> list[str]:
    """Compare the snapshot's shortlog with the rule applied to its replay (an O(n) model)."""
    survivor: dict[Any, tuple[int, int]] = {}
    for offset, (timestamp, key, _) in enumerate(snap.replay()):
        best = survivor.get(key)
        if best is None or timestamp >= best[0]:
            survivor[key] = (timestamp, offset)
    expected = [snap[offset] for offset in sorted(offset for _, offset in survivor.values())]
    if list(snap.shortlog()) != expected:
        return ["the final shortlog differs from the model's"]
    return []


def _demo_results(
    out: Any,
    snap: Any,
    readers: list[_DemoStats],
    elapsed: float,
    args: argparse.Namespace,
    file_unit: str | None,
) -> None:
    from rich.table import Table
    from rich.text import Text

    events = list(snap.shortlog())
    times = [_demo_time(timestamp, args, file_unit) for timestamp, _, _ in events]
    keys = [escape(str(key)) for _, key, _ in events]
    fields = Fields(key=args.key, time=args.time)
    title = "time (UTC)" if args.file is None else time_title(file_unit)
    shortlog = Table(
        title="shortlog: the latest event of each type", title_justify="left", expand=True
    )
    shortlog.add_column(title, no_wrap=True, width=max([len(title), *map(len, times)]))
    shortlog.add_column(
        "type", style="bold cyan", no_wrap=True, width=min(max([4, *map(len, keys)]), 30)
    )
    shortlog.add_column("summary", overflow="ellipsis", no_wrap=True, ratio=1)
    for (_, _, value), time_text, key in zip(events, times, keys, strict=True):
        summary = _summary(value, fields) if isinstance(value, dict) else repr(value)
        shortlog.add_row(time_text, Text(key), Text(escape(summary)))
    out.print(shortlog)

    latencies = sorted(latency for stats in readers for latency in stats.latencies)
    reads = len(latencies)

    def percentile(fraction: float) -> str:
        if not latencies:
            return "-"
        return f"{latencies[min(reads - 1, int(fraction * reads))] * 1e3:.2f} ms"

    rates = Table(title="rates", title_justify="left")
    rates.add_column("measure")
    rates.add_column("value", justify="right")
    rates.add_row("events ingested", f"{len(snap):,}")
    rates.add_row("writes per second", f"{len(snap) / elapsed:,.0f} ({args.writers} threads)")
    rates.add_row("snapshots read", f"{reads:,} ({args.readers} threads, one per 2 ms each)")
    rates.add_row("reads per second", f"{reads / elapsed:,.0f}")
    rates.add_row("read latency p50 / p99", f"{percentile(0.5)} / {percentile(0.99)}")
    rates.add_row("read latency max", f"{latencies[-1] * 1e3:.2f} ms" if latencies else "-")
    rates.add_row("event types", f"{shortlog.row_count:,}")
    rates.add_row("elapsed", f"{elapsed:.1f} s")
    out.print(rates)


def _demo_time(timestamp: int, args: argparse.Namespace, file_unit: str | None) -> str:
    if args.file is not None:  # a file's times: dates if read from dates, else as they are
        return format_time(timestamp, file_unit)
    moment = datetime.fromtimestamp(timestamp / 1000, UTC)  # the generated log's milliseconds
    return moment.strftime("%H:%M:%S.%f")[:-3]


# -- bench ---------------------------------------------------------------------------------------


def _run_bench(args: argparse.Namespace) -> int:
    from . import bench

    if args.json is not None:
        _check_writable(args.json, "--json")
    result = bench.run(quick=args.quick, json_path=args.json)
    return result if isinstance(result, int) else 0


def _check_writable(path: str, option: str) -> None:
    """Raise _Usage unless *path* can be opened for writing; leave no file behind."""
    existed = os.path.lexists(path)
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise _Usage(f"cowlog: {option} {path}: {exc.strerror or exc}") from None
    if not existed:
        with suppress(OSError):
            os.unlink(path)


# -- main ----------------------------------------------------------------------------------------


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    return exc.code if isinstance(exc.code, int) else 2


def main(argv: list[str] | None = None) -> int:
    """Run the ``cowlog`` command with *argv* (default: ``sys.argv[1:]``); return the exit status.

    Never raises for bad input or bad arguments: they print one line on stderr and return 2.
    Output that cannot be written returns 1: quietly for a closed pipe, with one line otherwise.
    """
    frozen = gc.get_freeze_count()
    try:
        try:
            args = _parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version, or a usage error already printed
            sys.stdout.flush()
            return _exit_status(exc)
        run: Callable[[argparse.Namespace], int] = args.run
        if args.command == "replay" and args.tail is not None and args.since:
            raise _Usage("cowlog: --tail and --since do not go together")  # any FILE, --follow
        if args.command in ("shortlog", "replay") and str(args.file).startswith(
            ("redis://", "rediss://")
        ):
            from .redis_log import run  # a shared log on a Redis server (docs/redis.md)
        elif args.command in ("shortlog", "replay") and read_journal.is_journal(args.file):
            run = read_journal.run  # a journal: read-only, never repaired
        status = run(args)
        sys.stdout.flush()  # here, not at exit: a full disk must be reported, not ignored
        return status
    except (SourceError, _Usage) as exc:
        _flush_quietly()
        _note(str(exc))
        return 2
    except KeyboardInterrupt:
        _flush_quietly()
        _note("cowlog: interrupted")
        return 130
    except BrokenPipeError:  # the reader went away (| head): a quiet exit, as Unix tools do
        _silence_stdout()
        return 1
    except OSError as exc:  # reading errors are SourceErrors: this is the output failing
        _silence_stdout()
        where = exc.filename if exc.filename is not None else "cannot write the output"
        _note(f"cowlog: {where}: {exc.strerror or exc}")
        return 1
    finally:
        if not frozen and gc.get_freeze_count():  # hand back to the collector what a load parked
            gc.unfreeze()


def _flush_quietly() -> None:
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        _silence_stdout()


def _silence_stdout() -> None:
    """After a failed write, point stdout at devnull so the interpreter's final flush of what
    is still buffered is quiet (else: "Exception ignored ..." and exit status 120)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    return None
