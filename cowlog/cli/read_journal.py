"""``cowlog replay FILE`` and ``cowlog shortlog FILE`` when FILE is a journal (it has the magic).

Read-only: the file is opened for reading, without the journal's lock, and never truncated or
repaired, so it is safe while the service that owns it writes: a frame being written (a torn
tail) is simply not shown. Damage in the middle is reported (exit status 2) and changes nothing.
Each event prints as one JSON object ``{"offset", "timestamp", "key", "value"}`` (jsonl) or as a
row of a plain table; the ``--key``/``--time`` options do not apply (a journal's events have
them already). With ``--follow`` (`follow`), the file is read on as its owner writes, compacts
and trims it (`_Tail`), still without a lock.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from .render import escape, output_encoding, prepare_stdout
from .sources import SourceError

if TYPE_CHECKING:
    from ..journal import Reading

__all__ = ["follow", "is_journal", "run"]

_T = TypeVar("_T")


def is_journal(path: object) -> bool:
    """True if *path* names a file that starts with a journal's magic (stdin never does)."""
    if not isinstance(path, str) or path == "-":
        return False
    from ..journal import is_journal as starts_with_magic

    return starts_with_magic(path)


def run(args: argparse.Namespace) -> int:
    """Print the journal's shortlog or replay; raise SourceError for a bad journal.

    With ``--follow``, go on printing what the owner writes (`follow`).
    """
    if args.follow:
        return follow(args)
    from ..journal import read

    reading = _guarded(args.file, read, args.file)
    snap = reading.to_log().snapshot()
    if args.command == "shortlog":
        rows: Iterable[tuple[int, Any]] = _shortlog_with_offsets(reading)
    else:
        since = min(replay_start(args, snap.first_offset, snap.next_offset), snap.next_offset)
        rows = enumerate(snap.replay(since), start=since)
    printer = _Printer(args)
    printer.print(rows)
    if printer.table:
        torn = reading.size - reading.end
        note = f", {torn:,} bytes of a frame being written not shown" if torn else ""
        print(
            f"{len(snap):,} events in journal {args.file} ({reading.codec}){note}", file=sys.stderr
        )
    return 0


def replay_start(args: argparse.Namespace, first: int, end: int) -> int:
    """Where ``replay`` starts in a log holding offsets *first* to *end* - 1: at ``--since``, or
    the last ``--tail`` events, but never below *first* (offsets are stable: retention's oldest
    kept event is at its own offset). Past *end* when ``--since`` is: a follower waits there."""
    since: int = args.since if args.tail is None else end - args.tail
    return max(since, first)


def shortlog_changes(
    best: dict[Any, tuple[Any, int]], rows: Iterable[tuple[int, Any]]
) -> list[tuple[int, Any]]:
    """The ``(offset, record)`` rows that become their key's latest by the shortlog's rule (the
    greatest timestamp; of equal ones, the later offset), in order; *best* (key: (timestamp,
    offset) of its latest) is updated. For ``shortlog --follow``."""
    changed = []
    for offset, record in rows:
        timestamp, key = record[0], record[1]
        found = best.get(key)
        if found is None or (timestamp, offset) >= found:
            best[key] = (timestamp, offset)
            changed.append((offset, record))
    return changed


def _guarded(path: str, read: Callable[..., _T], *args: Any) -> _T:
    """``read(*args)``, its errors turned into the command's SourceError (exit status 2)."""
    from ..journal import JournalFormatError

    try:
        return read(*args)
    except (JournalFormatError, ValueError, OSError) as exc:
        raise SourceError(path, None, str(exc).removeprefix(f"{path}: ")) from None


class _Printer:
    """Writes ``(offset, record)`` rows to stdout: a JSON object a line, or a plain table."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.table = (args.format or ("table" if sys.stdout.isatty() else "jsonl")) == "table"
        prepare_stdout("table" if self.table else "jsonl")
        self.encoding = output_encoding()
        self.header = self.table

    def print(self, rows: Iterable[tuple[int, Any]]) -> None:
        """Write *rows* and flush them (a follower's reader sees each run as it comes)."""
        out = sys.stdout
        if self.header:
            out.write(f"{'offset':>8}  {'timestamp':>20}  {'key':<20}  value\n")
            self.header = False
        encoding = self.encoding
        for offset, (timestamp, key, value) in rows:
            if self.table:  # escaped: a key or value must not drive the terminal
                key_text, value_text = escape(_text(key), encoding), escape(_text(value), encoding)
                out.write(f"{offset:>8}  {timestamp:>20}  {key_text:<20}  {value_text}\n")
            else:
                event = {"offset": offset, "timestamp": timestamp, "key": key, "value": value}
                out.write(json.dumps(event, ensure_ascii=False, default=repr) + "\n")
        out.flush()


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


# -- --follow ------------------------------------------------------------------------------------

_POLL = 0.1  # seconds between two looks at a journal that has stopped growing
_READ = 1 << 20  # bytes read at a time
_RECENT = 4096  # frames remembered, to find where an owner cut its file back


class _Tail:
    """The frames a journal's owner appends, read by name like ``tail -F``, never written.

    `runs` yields what each look at the file found. A frame being written is not read until it
    is whole. A compaction (a new file renamed over the path) or a file cut shorter than what was
    read is read again from its first frame, skipping the records already read, so offsets carry
    on; if the record at the last offset read differs, or the file ends before it, another log
    took the name, and it is read from its start, with a note. Events trimmed and compacted away
    before they could be read are noted, never invented. The same file cut back (its owner takes
    back a write that failed) is read on from the last frame read that is still whole in it, and
    what was taken back is noted.
    """

    def __init__(self, path: str, note: Callable[[str], None]) -> None:
        self.path = path
        self.note = note
        self.fd = -1
        self.codec: Any = None
        self.pos = 0  # the position in the file after the last frame read
        self.frames = 0  # frames read from this file: a start frame can only be the first
        self.offset = 0  # the offset of this file's next record
        self.seen = 0  # the offset after the last record handed out
        self.last: tuple[int, Any] | None = None  # (offset, record) handed out last
        self.checking = False  # reading a file again up to `last`: does it carry on from there?
        self.cut = False  # ... the same file, cut back by its owner: what it took back is noted
        self.checked: tuple[int, Any] | None = None  # the last record read while checking
        self.end_bytes = b""  # the last bytes before `pos`: if they change, the file was cut
        # the last frames read from this file: (start, end, header, offset after, last record)
        self.recent: deque[tuple[int, int, bytes, int, tuple[int, Any] | None]] = deque(
            maxlen=_RECENT
        )
        self.bad_at = -1  # a bad frame followed by an intact one was here at the last look
        self.missing = False  # the name led nowhere at the last look
        self.restarts = 0  # times another log was found under the name

    def start(self) -> Reading:
        """Open the file and read all it holds now, as `cowlog.journal.read` does."""
        from ..journal import _read_from

        self.fd = self._open()
        data = self._bytes_from(0)
        reading = _guarded(self.path, _read_from, data, self.path)
        self.codec = _guarded(self.path, _codec_of, reading.codec)
        self.pos, self.frames = reading.end, 1
        self._remember_end()
        self.offset = self.seen = reading.first + len(reading.records)
        if reading.records:
            self.last = (self.offset - 1, reading.records[-1])
        self._recall_frames(data[: reading.end], reading)
        return reading

    def _recall_frames(self, data: bytes, reading: Reading) -> None:
        """Fill `recent` with the last frames of *data*, the file read at the start."""
        from .._frames import parse_header, scan

        found = scan(data, parse_header(data, self.path)[1], starts=True, look_past_damage=False)
        frames = []
        offset, count = self.offset, len(reading.records)
        for start, payload in zip(
            reversed(found.starts[-_RECENT:]), reversed(found.payloads[-_RECENT:]), strict=True
        ):
            last = (offset - 1, reading.records[count - 1]) if count else None
            frames.append((start, start + 8 + len(payload), data[start : start + 8], offset, last))
            frame = self.codec.decode(payload)
            if not isinstance(frame, dict):
                offset -= len(frame) // 3
                count -= len(frame) // 3
        self.recent.extend(reversed(frames))

    def runs(self) -> Iterator[tuple[list[tuple[int, Any]], list[tuple[int, Any]]]]:
        """Yield ``(records, survivors)`` for each look that found new records, until Ctrl-C.

        Both are ``(offset, record)`` lists; *survivors* are the start frame's records of a
        compacted file (events trimmed before they were read that are still their key's latest:
        the shortlog needs them, a replay does not show them).
        """
        while True:
            records, survivors = self._look()
            if records or survivors:
                yield records, survivors
            elif not self._switched():
                time.sleep(_POLL)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDONLY)
        except OSError as exc:
            raise SourceError(self.path, None, exc.strerror or str(exc)) from None

    def _end_window(self) -> bytes:
        start = max(self.pos - 16, 0)
        return _guarded(self.path, os.pread, self.fd, self.pos - start, start)

    def _remember_end(self) -> None:
        self.end_bytes = self._end_window()

    def _was_cut(self) -> bool:
        """Whether the bytes just before `pos` are no longer the ones read: the owner cut the
        file back (a write or fsync that failed) and may have written other bytes since."""
        return self._end_window() != self.end_bytes

    def _bytes_from(self, position: int) -> bytes:
        parts = []
        while part := _guarded(self.path, os.pread, self.fd, _READ, position):
            parts.append(part)
            position += len(part)
        return b"".join(parts)

    def _look(self) -> tuple[list[tuple[int, Any]], list[tuple[int, Any]]]:
        """Read the whole frames written since the last look."""
        from .._frames import find_frame, scan

        base = self.pos
        data = self._bytes_from(base)
        found = scan(data, 0, starts=True, look_past_damage=False)
        if found.damaged and found.end == 0 and find_frame(data, 1) is not None:
            if self._was_cut():
                return [], []  # not damage: `_switched` reads the file again
            if self.bad_at == base:  # twice, a poll apart: damage, not a write under way
                raise SourceError(
                    self.path,
                    None,
                    f"damaged at offset {base} (an intact frame follows); the file was not changed",
                )
            self.bad_at = base
        records: list[tuple[int, Any]] = []
        survivors: list[tuple[int, Any]] = []
        for start, payload in zip(found.starts, found.payloads, strict=True):
            where = base + start
            self.pos = where + 8 + len(payload)
            if not self._frame(self._decode(payload, where), where, records, survivors):
                return [], []  # another log: read again from its start at the next look
            header = data[start : start + 8]
            self.recent.append((where, self.pos, header, self.offset, self._last_in_file()))
        if found.end:
            self._remember_end()
        return records, survivors

    def _decode(self, payload: bytes, where: int) -> Any:
        from ..journal import _is_frame

        try:
            frame = self.codec.decode(payload)
            good = _is_frame(frame, self.frames)
        except Exception:
            good = False
        if not good:
            raise SourceError(
                self.path,
                None,
                f"the frame at offset {where} is intact but does not decode into records with "
                f"the {self.codec.name!r} codec",
            )
        self.frames += 1
        return frame

    def _frame(
        self,
        frame: Any,
        where: int,
        records: list[tuple[int, Any]],
        survivors: list[tuple[int, Any]],
    ) -> bool:
        """Take in one decoded frame; False if the file turned out to hold another log."""
        if isinstance(frame, dict):
            if "start" in frame:  # a compacted file: where its records start, the survivors
                self.offset = first = frame["start"]
                if self.checking and self.last is not None and first > self.last[0]:
                    self.checking = False  # trimmed past the last record read: it carries on
                if not self.checking:
                    for offset, timestamp, key, value in frame["kept"]:
                        if offset >= self.seen:
                            survivors.append((offset, (timestamp, key, value)))
                    if first > self.seen:
                        self.note(
                            f"cowlog: {self.path}: events {self.seen} to {first - 1} were "
                            f"trimmed before they could be read"
                        )
                        self.seen = first
            return True  # a trim: what was printed stays, and the shortlog keeps survivors
        fields = iter(frame)
        for record in zip(fields, fields, fields, strict=True):
            offset = self.offset
            self.offset += 1
            if self.checking:
                assert self.last is not None
                if offset < self.last[0]:
                    self.checked = (offset, record)
                    continue
                self.checking = False
                if _same(record, self.last[1], self.codec):
                    continue
                if not self.cut:
                    self._start_over("holds another log now")
                    return False
                self._taken_back(offset)  # and `record` is the owner's event at that offset now
            if offset >= self.seen:
                records.append((offset, record))
                self.seen = offset + 1
                self.last = (offset, record)
        return True

    def _last_in_file(self) -> tuple[int, Any] | None:
        return self.checked if self.checking else self.last

    def _resume_after_cut(self, size: int) -> bool:
        """The same file was cut back: go on after the last frame read that is still whole in
        it (a cut takes back the last writes only); False if none of `recent` is."""
        from .._frames import scan

        while self.recent:
            start, end, header, offset, last = self.recent[-1]
            if end <= size:
                frame = _guarded(self.path, os.pread, self.fd, end - start, start)
                if frame[:8] == header and not scan(frame, 0, look_past_damage=False).damaged:
                    self.pos, self.offset, self.bad_at = end, offset, -1
                    self._taken_back(offset)
                    self.last = last
                    self._remember_end()
                    return True
            self.recent.pop()
        return False

    def _switched(self) -> bool:
        """At the end of the file: True if it must be read again (a new file, or cut short)."""
        try:
            named = os.stat(self.path)
        except OSError as exc:  # renamed away and not yet replaced: look again later
            if not self.missing:
                self.note(f"cowlog: {self.path} has become inaccessible: {exc.strerror or exc}")
            self.missing = True
            return False
        self.missing = False
        mine = os.fstat(self.fd)
        if (named.st_dev, named.st_ino) != (mine.st_dev, mine.st_ino):
            fd = self._open()
            header = self._header(fd)
            if header is None:  # a file still being made under the name: look again later
                os.close(fd)
                return False
            os.close(self.fd)
            self.fd = fd
            self.note(f"cowlog: {self.path} has been replaced; following the new file")
            self._read_again(header, cut=False)
            return True
        if named.st_size < self.pos or self._was_cut():  # the same log, cut back
            if not self.checking and self._resume_after_cut(named.st_size):
                return True
            header = self._header(self.fd)
            if header is None:
                return False
            self.note(f"cowlog: {self.path}: file truncated; reading it again")
            self._read_again(header, cut=True)
            return True
        if self.checking and named.st_size == self.pos:  # read whole, and `last` not in it
            if self.cut:
                self.checking = False
                self._taken_back(self.offset)
                self.last = self.checked
            else:
                self._start_over("is shorter than what was read: another log")
            return True
        return False

    def _header(self, fd: int) -> tuple[str, int] | None:
        """The codec's name and the header's length of the journal open as *fd*; None while
        the header is cut short (a file being made)."""
        from .._frames import parse_header

        head = _guarded(self.path, os.pread, fd, 512, 0)
        try:
            return parse_header(head, self.path)
        except ValueError as exc:
            if "cut short" in str(exc):
                return None
            raise SourceError(self.path, None, str(exc).removeprefix(f"{self.path}: ")) from None

    def _read_again(self, header: tuple[str, int], *, cut: bool) -> None:
        """Go back to the file's first frame, to check that it carries on from `last`."""
        name, self.pos = header
        self.codec = _guarded(self.path, _codec_of, name)
        self.offset, self.frames, self.bad_at = 0, 0, -1
        self.checking, self.cut, self.checked = self.last is not None, cut, None
        self.recent.clear()
        self._remember_end()

    def _taken_back(self, offset: int) -> None:
        """The owner cut its file back to *offset*: what it wrote from there was refused."""
        if offset < self.seen:
            self.note(
                f"cowlog: {self.path}: events {offset} to {self.seen - 1} were taken back by "
                f"the owner (a failed write): they are not in its log"
            )
            self.seen = offset

    def _start_over(self, why: str) -> None:
        self.note(f"cowlog: {self.path} {why}; reading it from its start")
        self.last, self.seen = None, 0
        self.restarts += 1
        header = self._header(self.fd)
        if header is None:  # pragma: no cover - the header was read a moment ago
            raise SourceError(self.path, None, "the journal header was cut short")
        self._read_again(header, cut=False)


def _same(record: Any, other: Any, codec: Any) -> bool:
    """Whether two decoded records are the same event: equal, or encoded alike (a pickled
    object without ``__eq__`` is equal to nothing but itself)."""
    if record == other:
        return True
    try:
        return bool(codec.dumps(record) == codec.dumps(other))
    except Exception:
        return False


def _codec_of(name: str) -> Any:
    from .._codec import get_codec

    return get_codec(name)


def follow(args: argparse.Namespace) -> int:
    """``cowlog replay|shortlog --follow JOURNAL``: print what the journal holds, then what its
    owner writes, until Ctrl-C (which main turns into exit status 130).

    ``replay``: each event from ``--since`` (or the last ``--tail`` events), as `run` prints them.
    ``shortlog``: the shortlog, then each event that becomes the latest of its type, when it is
    written. Read-only, as `run`: no lock, no repair.
    """
    tail = _Tail(args.file, _note)
    try:
        _follow(args, tail, tail.start())
    finally:
        tail.close()
    raise AssertionError("unreachable: a follow ends by Ctrl-C")  # pragma: no cover


def _follow(args: argparse.Namespace, tail: _Tail, reading: Reading) -> None:
    printer = _Printer(args)
    if args.command == "shortlog":
        rows = _shortlog_with_offsets(reading)
        best = {record[1]: (record[0], offset) for offset, record in rows}
        printer.print(rows)
        restarts = 0
        for records, survivors in tail.runs():
            if tail.restarts != restarts:  # another log: its own shortlog, from nothing
                best.clear()
                restarts = tail.restarts
            printer.print(shortlog_changes(best, sorted(survivors) + records))
    else:
        snap = reading.to_log().snapshot()
        since = replay_start(args, snap.first_offset, snap.next_offset)
        start = min(since, snap.next_offset)
        printer.print(enumerate(snap.replay(start), start=start))
        restarts = 0
        for records, _ in tail.runs():
            if tail.restarts != restarts:  # another log: all of it, as the note says
                since, restarts = 0, tail.restarts
            printer.print(row for row in records if row[0] >= since)


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
