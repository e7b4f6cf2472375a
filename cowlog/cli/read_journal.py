"""``cowlog replay FILE`` and ``cowlog shortlog FILE`` when FILE is a journal (it has the magic).

Read-only: the file is opened for reading, without the journal's lock, and never truncated or
repaired, so it is safe while the service that owns it writes: a frame being written (a torn
tail) is simply not shown. Damage in the middle is reported (exit status 2) and changes nothing.
Each event prints as one JSON object ``{"offset", "timestamp", "key", "value"}`` (jsonl) or as a
row of a plain table; the ``--key``/``--time`` options do not apply (a journal's events have
them already).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import Any

from .render import escape, output_encoding, prepare_stdout
from .sources import SourceError

__all__ = ["is_journal", "run"]


def is_journal(path: object) -> bool:
    """True if *path* names a file that starts with a journal's magic (stdin never does)."""
    if not isinstance(path, str) or path == "-":
        return False
    from ..journal import is_journal as starts_with_magic

    return starts_with_magic(path)


def run(args: argparse.Namespace) -> int:
    """Print the journal's shortlog or replay; raise SourceError for a bad journal."""
    from ..journal import JournalFormatError, read

    try:
        reading = read(args.file)
    except (JournalFormatError, ValueError, OSError) as exc:
        raise SourceError(args.file, None, str(exc).removeprefix(f"{args.file}: ")) from None
    snap = reading.to_log().snapshot()
    if args.command == "shortlog":
        rows: Iterable[tuple[int, Any]] = _shortlog_with_offsets(reading)
    else:
        end = snap.first_offset + len(snap)
        since = args.since if getattr(args, "tail", None) is None else end - args.tail
        since = min(max(since, snap.first_offset), end)
        rows = enumerate(snap.replay(since), start=since)
    table = (args.format or ("table" if sys.stdout.isatty() else "jsonl")) == "table"
    prepare_stdout("table" if table else "jsonl")
    encoding = output_encoding()
    out = sys.stdout
    if table:
        out.write(f"{'offset':>8}  {'timestamp':>20}  {'key':<20}  value\n")
    for offset, (timestamp, key, value) in rows:
        if table:  # escaped: a key or value must not drive the terminal
            key_text, value_text = escape(_text(key), encoding), escape(_text(value), encoding)
            out.write(f"{offset:>8}  {timestamp:>20}  {key_text:<20}  {value_text}\n")
        else:
            event = {"offset": offset, "timestamp": timestamp, "key": key, "value": value}
            out.write(json.dumps(event, ensure_ascii=False, default=repr) + "\n")
    out.flush()
    if table:
        torn = reading.size - reading.end
        note = f", {torn:,} bytes of a frame being written not shown" if torn else ""
        print(
            f"{len(snap):,} events in journal {args.file} ({reading.codec}){note}", file=sys.stderr
        )
    return 0


def _shortlog_with_offsets(reading: Any) -> list[tuple[int, Any]]:
    """The shortlog as ``(offset, record)``, by the rule applied to every event in the file.

    A trim keeps each key's survivor, so this is the owner's shortlog, with the offsets that
    records of trimmed events no longer show in a replay; a compacted journal's start frame
    holds the survivors of the events trimmed before it. O(n).
    """
    best: dict[Any, tuple[int, int, Any]] = {}  # key: (timestamp, offset, record)
    for offset, record in reading.survivors:
        best[record[1]] = (record[0], offset, record)
    for offset, record in enumerate(reading.records, reading.first):
        found = best.get(record[1])
        if found is None or record[0] >= found[0]:  # ties go to the later arrival
            best[record[1]] = (record[0], offset, record)
    return sorted((offset, record) for _, offset, record in best.values())


def _text(item: Any) -> str:
    return item if isinstance(item, str) else json.dumps(item, ensure_ascii=False, default=repr)
