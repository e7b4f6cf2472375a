"""``cowlog shortlog|replay redis://HOST:PORT/DB/NAME``: read a shared log on a Redis server.

The only part of the command that imports `cowlog.redis` (and so redis-py), and only when the
argument is a Redis URL. The log is read, never written. Output: ``--format jsonl`` prints each
event as ``{"offset", "timestamp", "key", "value"}``; the table shows the same columns.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .read_journal import replay_start, shortlog_changes

__all__ = ["is_redis_url", "run", "split_url"]

_SCHEMES = ("redis://", "rediss://")
_ROWS = 500  # rows per printed table


def is_redis_url(text: object) -> bool:
    """Whether the command's FILE argument names a log on a Redis server."""
    return isinstance(text, str) and text.startswith(_SCHEMES)


def split_url(url: str) -> tuple[str, str]:
    """Split ``redis://HOST:PORT/DB/NAME`` into the server's URL and the log's name.

    >>> split_url("redis://127.0.0.1:6379/0/app:events")
    ('redis://127.0.0.1:6379/0', 'app:events')

    Raises:
        ValueError: the URL has no database number or no name.
    """
    parts = urlsplit(url)
    db, _, name = parts.path.lstrip("/").partition("/")
    if not db.isdigit() or not name:
        raise ValueError(f"cowlog: expected redis://HOST:PORT/DB/NAME, got {url}")
    server = urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))
    return server, name


def run(args: argparse.Namespace) -> int:
    """Print the shortlog, or the replay from ``args.since``, of the log ``args.file`` names."""
    try:
        from redis import RedisError

        from ..redis import FormatError, RedisEventLog, ServerError
    except ImportError:
        print(
            "cowlog: reading a Redis log needs redis-py: pip install 'cowlog[redis]'",
            file=sys.stderr,
        )
        return 2
    try:
        server, name = split_url(args.file)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    try:
        log: RedisEventLog[Any, Any] = RedisEventLog(server, name)
        snap = log.snapshot()
        if args.follow:
            return _follow(log, snap, args)
        if args.command == "shortlog":
            rows: Iterable[tuple[int, Any]] = zip(snap.offsets(), snap.shortlog(), strict=True)
        else:
            # Offsets are stable: start at --since (or the last --tail events), but never below
            # the oldest offset retention kept, as the journal reader does.
            since = min(replay_start(args, snap.first_offset, snap.next_offset), snap.next_offset)
            rows = enumerate(snap.replay(since), start=since)
        if (args.format or ("table" if sys.stdout.isatty() else "jsonl")) == "jsonl":
            _print_jsonl(rows)
        else:
            _print_tables(rows, f"{len(snap):,} events in {name} on {server}")
    except (RedisError, ServerError, FormatError) as exc:
        print(f"cowlog: {args.file}: {exc}", file=sys.stderr)
        return 2
    return 0


def _follow(log: Any, snap: Any, args: argparse.Namespace) -> int:
    """``--follow``: print as `run` does, then what is written after *snap*, until Ctrl-C.

    ``replay``: each event from ``--since`` (or the last ``--tail`` events) on; ``shortlog``:
    the shortlog, then each event that becomes the latest of its type. Each run of events that
    `RedisEventLog.follow` has at hand is printed (and flushed) at once: a JSON line per event,
    or a table per run.
    """
    jsonl = (args.format or ("table" if sys.stdout.isatty() else "jsonl")) == "jsonl"

    def show(rows: Iterable[tuple[int, Any]]) -> None:
        _print_jsonl(rows) if jsonl else _print_tables(rows, None)

    end = snap.next_offset
    if args.command == "shortlog":
        rows = list(zip(snap.offsets(), snap.shortlog(), strict=True))
        best = {record[1]: (record[0], offset) for offset, record in rows}
        show(rows)
        for batch, survivors in _runs(log, end):
            show(shortlog_changes(best, sorted(survivors) + batch))
    else:
        since = replay_start(args, snap.first_offset, end)
        show(enumerate(snap.replay(min(since, end)), start=min(since, end)))
        for batch, _ in _runs(log, end):
            show(row for row in batch if row[0] >= since)
    raise AssertionError("unreachable: a follow ends by Ctrl-C")  # pragma: no cover


def _runs(log: Any, since: int) -> Iterator[tuple[list[tuple[int, Any]], list[tuple[int, Any]]]]:
    """Follow *log* from *since*: ``(records, survivors)`` for each run written since, forever.

    Blocks (on the server) for the first record of a run, then takes what was written by then.
    A follower that fell behind retention says what it missed and goes on from the oldest kept;
    *survivors* are then the shortlog's records among the events it missed (still their key's
    latest: the shortlog needs them, a replay does not show them).
    """
    from .._checks import TrimmedError

    while True:
        follower = log.follow(since)
        batch: list[tuple[int, Any]] = []
        try:
            for first in follower:
                batch = [(since, first)]
                for record in islice(follower, max(log.next_offset - since - 1, 0)):
                    batch.append((since + len(batch), record))
                since += len(batch)
                yield batch, []
                batch = []
        except TrimmedError:
            if batch:  # read before the trim reached them: printed, not called trimmed
                since += len(batch)
                yield batch, []
            snap = log.snapshot()  # the shortlog of one instant, and where its events start
            first = snap.first_offset
            missed = [
                (offset, record)
                for offset, record in zip(snap.offsets(), snap.shortlog(), strict=True)
                if since <= offset < first
            ]
            print(
                f"cowlog: {log.name}: events {since} to {first - 1} were trimmed before they "
                f"could be read",
                file=sys.stderr,
                flush=True,
            )
            since = first
            if missed:
                yield [], missed


def _json(value: Any) -> Any:
    return value if not isinstance(value, tuple) else list(value)


def _print_jsonl(rows: Iterable[tuple[int, Any]]) -> None:
    out = sys.stdout
    iterator = iter(rows)
    while batch := list(islice(iterator, 1024)):
        out.write(
            "".join(
                json.dumps(
                    {"offset": o, "timestamp": t, "key": _json(k), "value": v},
                    ensure_ascii=False,
                    default=repr,
                )
                + "\n"
                for o, (t, k, v) in batch
            )
        )
    out.flush()


def _print_tables(rows: Iterable[tuple[int, Any]], note: str | None) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=sys.stdout, highlight=False, soft_wrap=False)
    iterator = iter(rows)
    while batch := list(islice(iterator, _ROWS)):
        grid = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=True)
        for column in ("offset", "time", "type"):
            grid.add_column(column, no_wrap=True, justify="right" if column != "type" else "left")
        grid.add_column("value", ratio=1, no_wrap=True, overflow="ellipsis")
        for offset, (timestamp, key, value) in batch:
            shown = json.dumps(value, ensure_ascii=False, default=repr)
            grid.add_row(Text(str(offset)), Text(str(timestamp)), Text(str(key)), Text(shown))
        console.print(grid)
    if note is not None:
        print(note, file=sys.stderr)
