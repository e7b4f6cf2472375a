"""The ``cowlog`` command: shortlog and replay of real log files, a concurrent demo, benchmarks.

``main()`` parses the arguments, runs one subcommand and returns the exit status; it never raises
``SystemExit`` and never shows a traceback for bad input: 0 on success, 2 for bad input or usage
(with one ``FILE:LINE: what is wrong`` line on stderr), 1 for a broken pipe, 130 on Ctrl-C.

Reading and parsing live in `cowlog.cli.sources`; this module only wires them to an
:class:`~cowlog.EventLog` and prints. ``rich`` (the ``cli`` extra) is imported only by the parts
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
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from .._checks import Record
from .._log import EventLog
from . import read_journal
from .sources import FORMATS, Fields, Loaded, Raw, Source, SourceError, open_source

__all__ = ["main"]

_INSTALL_RICH = "cowlog: this needs rich: pip install 'cowlog[cli]' (or use --format jsonl)"
_TABLE_ROWS = 500  # rows per printed table, so a long replay streams instead of piling up
_PROGRESS_MIN_BYTES = 8 << 20  # files smaller than this read too fast for a progress bar


class _Usage(Exception):
    """A one-line message for stderr and exit status 2 (no location: see SourceError)."""


# -- arguments -----------------------------------------------------------------------------------


def _offset(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


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
FILE is JSON lines (.jsonl, .ndjson: one object a line) or CSV with a header row (.csv); either
may be gzipped (.gz). '-' reads JSON lines from stdin. Each record is ingested into an EventLog
whole, as read; its event type is the --key field and its time the --time field.

A time that is an integer (or a CSV string of digits) is used as it is. Any other string is read
with --time-format (strptime directives; then every string is) or else as ISO 8601, and becomes
epoch milliseconds (UTC when it has no zone). A field name is looked up as written; failing that,
'a.b' reaches into nested objects and 'Date+Time' joins fields with a space.

Bad input (invalid JSON, a line that is not an object, a missing field, an unreadable time) stops
with exit status 2 and 'FILE:LINE: what is wrong' on stderr, unless --skip-bad. Docs: docs/cli.md.
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
        help="the input's format when its name does not tell (default: from the extension)",
    )
    io_group.add_argument(
        "--format",
        choices=("table", "jsonl"),
        help="output: a table, or each record as read, one JSON object a line "
        "(default: table on a terminal, else jsonl)",
    )
    io_group.add_argument(
        "--skip-bad",
        action="store_true",
        help="skip bad records instead of stopping; report how many at the end",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cowlog",
        description="Read structured logs into a cowlog EventLog: the latest event of each type "
        "(shortlog), the log from an offset (replay), a concurrent demo, benchmarks.",
        epilog="Run 'cowlog COMMAND --help' for a command's options.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"cowlog {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    formatter = argparse.RawDescriptionHelpFormatter

    shortlog = commands.add_parser(
        "shortlog",
        help="print the latest event of each type, in log order",
        description="Print the latest event of each event type (the greatest time; of equal\n"
        "times, the later line), in log order.\n\n" + _INPUT_HELP,
        formatter_class=formatter,
    )
    _add_input_options(shortlog)
    shortlog.set_defaults(run=_run_shortlog)

    replay = commands.add_parser(
        "replay",
        help="print the log from an offset on, in arrival order",
        description="Print the log's events from offset --since on, in arrival order. Offsets\n"
        "count ingested records from 0: blank and skipped lines take none.\n\n" + _INPUT_HELP,
        formatter_class=formatter,
    )
    _add_input_options(replay)
    replay.add_argument(
        "--since", type=_offset, default=0, metavar="N", help="first offset to print (default: 0)"
    )
    replay.set_defaults(run=_run_replay)

    demo = commands.add_parser(
        "demo",
        help="writers and readers on one log at once, with live progress and rates",
        description="Writer threads ingest a realistic log (or FILE's records, over and over) "
        "while reader threads take a snapshot, its shortlog and its last 50 events every 2 ms. "
        "Shows live progress, then the final shortlog, the rates seen and a consistency check "
        "of every snapshot read. Needs rich (the cli extra).",
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
        "and the naive persistent design, and print the tables (docs/performance.md).",
    )
    bench.add_argument("--quick", action="store_true", help="small sizes: about a minute")
    bench.add_argument("--json", metavar="FILE", help="also write the raw figures to FILE")
    bench.set_defaults(run=_run_bench)
    return parser


# -- shortlog and replay -------------------------------------------------------------------------


@dataclass
class _Input:
    """A source loaded into a log, and how to show its records."""

    source: Source
    log: EventLog[Any, Raw]
    loaded: Loaded
    fields: Fields


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


@contextmanager
def _load(args: argparse.Namespace, output: str) -> Iterator[_Input]:
    """Open and ingest args.file, with a progress bar on a terminal; yield the loaded input."""
    fields = _fields(args)
    if output == "table":
        _require_rich()
    with open_source(args.file, args.input_format) as source:
        log: EventLog[Any, Raw] = EventLog()
        with _progress_bar(source) as tick, _collector_parked():
            loaded = source.load(log.ingest_many, fields, skip_bad=args.skip_bad, progress=tick)
        yield _Input(source, log, loaded, fields)


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


def _run_shortlog(args: argparse.Namespace) -> int:
    output = _output_format(args)
    with _load(args, output) as loaded:
        snap = loaded.log.snapshot()
        events = list(snap.shortlog())
        _print_events(loaded, events, output, start=None)
        if output == "table":
            types, total = _count(len(events), "event type"), _count(len(snap), "event")
            _note(f"{types}, latest of {total} in {loaded.source.name}")
        _report_skipped(loaded.loaded)
    return 0


def _run_replay(args: argparse.Namespace) -> int:
    output = _output_format(args)
    with _load(args, output) as loaded:
        snap = loaded.log.snapshot()
        _print_events(loaded, snap.replay(args.since), output, start=args.since)
        if output == "table":
            shown = max(0, len(snap) - args.since)
            _note(
                f"{shown:,} of {_count(len(snap), 'event')} from offset {args.since} of {args.file}"
            )
        _report_skipped(loaded.loaded)
    return 0


def _print_events(
    loaded: _Input, events: Iterable[Record[Any, Raw]], output: str, start: int | None
) -> None:
    """Print *events* as JSON lines or as tables of _TABLE_ROWS rows. O(1) memory per batch."""
    source = loaded.source
    out = sys.stdout
    if output == "jsonl":
        _utf8_stdout()
        to_json = source.to_json
        iterator = iter(events)
        while batch := list(islice(iterator, 1024)):
            out.write("".join([to_json(event[2]) + "\n" for event in batch]))
        out.flush()
        return
    _print_tables(loaded, events, start)


def _utf8_stdout() -> None:
    """JSON lines are UTF-8 whatever the locale says (a C locale would refuse non-ASCII)."""
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if encoding != "utf8" and reconfigure is not None:
        with suppress(ValueError, OSError):  # a stream that cannot change: write what it takes
            reconfigure(encoding="utf-8")


def _print_tables(loaded: _Input, events: Iterable[Record[Any, Raw]], start: int | None) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=sys.stdout, highlight=False, soft_wrap=False)
    snap = loaded.log.snapshot()
    source = loaded.source
    key_width = max([len(str(event[1])) for event in snap.shortlog()] + [4])
    last = snap[-1] if len(snap) else None
    offset_width = max(len(str(len(snap) - 1)), 6)
    line_width = max(len(str(loaded.loaded.line_of(len(snap) - 1))) if last else 1, 4)

    def table(header: bool) -> Table:
        grid = Table(box=box.SIMPLE_HEAD, show_header=header, pad_edge=False, expand=True)
        grid.add_column("offset", justify="right", width=offset_width, no_wrap=True)
        grid.add_column("line", justify="right", width=line_width, no_wrap=True, style="dim")
        grid.add_column("time", justify="right", no_wrap=True, min_width=13)
        grid.add_column("type", width=min(key_width, 30), no_wrap=True, style="bold cyan")
        grid.add_column("summary", ratio=1, no_wrap=True, overflow="ellipsis")
        return grid

    iterator = iter(events)
    first = True
    next_offset = start
    scan = enumerate(snap.replay())
    while batch := list(islice(iterator, _TABLE_ROWS)):
        grid = table(first)
        if next_offset is None:  # a shortlog: look the offsets up
            offsets: Iterable[int] = _offsets_of(snap, batch, scan)
        else:  # a replay: consecutive
            offsets = range(next_offset, next_offset + len(batch))
            next_offset += len(batch)
        for offset, event in zip(offsets, batch, strict=True):
            line, raw = loaded.loaded.line_of(offset), event[2]
            grid.add_row(  # Text, not str: a log's "[preauth]" is not rich markup
                Text(str(offset)),
                Text(str(line)),
                Text(str(event[0])),
                Text(str(event[1])),
                Text(_summary(source.to_object(raw), loaded.fields)),
            )
        console.print(grid)
        first = False
    if first:
        console.print(table(True))


def _offsets_of(snap: Any, events: Sequence[Record[Any, Raw]], scan: Iterator[Any]) -> list[int]:
    """Return the offsets of *events*, which are in log order, by scanning on from *scan*.

    *scan* is ``enumerate(snap.replay())``, shared between calls: O(n) in all. Only the table
    of a shortlog needs this; the values are compared by identity, never by content.
    """
    offsets = []
    for event in events:
        for offset, candidate in scan:
            if candidate[2] is event[2]:
                offsets.append(offset)
                break
    return offsets


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
    print(text, file=sys.stderr)


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
        task = self.progress.add_task(self.source.name, total=size)
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
        if len({event[1] for event in shortlog}) != len(shortlog):
            stats.problems.append("a shortlog with two events of one type")
        for event in shortlog[:3]:  # the shortlog agrees with latest() on the same snapshot
            if snap.latest(event[1]) != event:
                stats.problems.append(f"latest({event[1]!r}) disagrees with the shortlog")
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
    from rich.table import Table

    events: list[tuple[Any, Any]]
    times: list[int] | None = None
    if args.file is not None:
        fields = Fields(key=args.key, time=args.time, time_format=args.time_format)
        scratch: EventLog[Any, Raw] = EventLog()
        with open_source(args.file, args.input_format) as source:
            with _collector_parked():
                source.load(scratch.ingest_many, fields)
            records = list(scratch.replay())
            events = [(event[1], source.to_object(event[2])) for event in records]
            times = [event[0] for event in records]
        if not events:
            raise _Usage(f"cowlog: {args.file} holds no records")
        origin = f"{args.file}, {len(events):,} records, replayed in laps"
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
            f"events [bold]{len(log):>10,}[/] ({len(log) / max(elapsed, 1e-9):,.0f}/s)",
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
    _demo_results(out, snap, readers, elapsed, args)
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


def _check_shortlog(snap: Any) -> list[str]:
    """Compare the snapshot's shortlog with the rule applied to its replay (an O(n) model)."""
    survivor: dict[Any, tuple[int, int]] = {}
    for offset, event in enumerate(snap.replay()):
        best = survivor.get(event[1])
        if best is None or event[0] >= best[0]:
            survivor[event[1]] = (event[0], offset)
    expected = [snap[offset] for offset in sorted(offset for _, offset in survivor.values())]
    if list(snap.shortlog()) != expected:
        return ["the final shortlog differs from the model's"]
    return []


def _demo_results(
    out: Any, snap: Any, readers: list[_DemoStats], elapsed: float, args: argparse.Namespace
) -> None:
    from rich.table import Table
    from rich.text import Text

    events = list(snap.shortlog())
    times = [_demo_time(event[0], args) for event in events]
    keys = [str(event[1]) for event in events]
    fields = Fields(key=args.key, time=args.time)
    time_title = "time (UTC)" if args.file is None else "time"
    shortlog = Table(
        title="shortlog: the latest event of each type", title_justify="left", expand=True
    )
    shortlog.add_column(time_title, no_wrap=True, width=max([len(time_title), *map(len, times)]))
    shortlog.add_column(
        "type", style="bold cyan", no_wrap=True, width=min(max([4, *map(len, keys)]), 30)
    )
    shortlog.add_column("summary", overflow="ellipsis", no_wrap=True, ratio=1)
    for event, time_text, key in zip(events, times, keys, strict=True):
        value = event[2]
        summary = _summary(value, fields) if isinstance(value, dict) else repr(value)
        shortlog.add_row(time_text, Text(key), Text(summary))
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


def _demo_time(timestamp: int, args: argparse.Namespace) -> str:
    if args.file is not None:  # a file's times: in whatever unit the file uses
        return str(timestamp)
    moment = datetime.fromtimestamp(timestamp / 1000, UTC)  # the generated log's milliseconds
    return moment.strftime("%H:%M:%S.%f")[:-3]


# -- bench ---------------------------------------------------------------------------------------


def _run_bench(args: argparse.Namespace) -> int:
    from . import bench

    result = bench.run(quick=args.quick, json_path=args.json)
    return result if isinstance(result, int) else 0


# -- main ----------------------------------------------------------------------------------------


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    return exc.code if isinstance(exc.code, int) else 2


def main(argv: list[str] | None = None) -> int:
    """Run the ``cowlog`` command with *argv* (default: ``sys.argv[1:]``); return the exit status.

    Never raises for bad input or bad arguments: they print one line on stderr and return 2.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return _exit_status(exc)
    run: Callable[[argparse.Namespace], int] = args.run
    frozen = gc.get_freeze_count()
    try:
        if args.command in ("shortlog", "replay") and read_journal.is_journal(args.file):
            return read_journal.run(args)  # a journal: read-only, never repaired
        return run(args)
    except (SourceError, _Usage) as exc:
        _flush_quietly()
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _flush_quietly()
        print("cowlog: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
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
    """After a broken pipe, point stdout at devnull so the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    return None
