"""Streaming readers for the ``cowlog`` command: JSON lines and CSV files into an EventLog.

A source is read one line (or CSV row) at a time and never whole. Each record is ingested as
``(key, raw, timestamp)``: *raw* is the record as read (the line's text for JSON lines, the row's
cells as a tuple of strings for CSV), so the command can print it exactly as read.
:meth:`Loaded.line_of` says which line of the file a log offset came from.

Why the raw text and not the parsed object: a parsed JSON object is a tree of dicts the garbage
collector must walk on every full collection, and holding a million of them made ``shortlog`` 5x
slower than parsing alone (docs/cli.md has the figures). A string and a tuple of strings are not
tracked by the collector; the few records that are printed are parsed again on the way out.

Bad input never escapes as a traceback: every problem with a record becomes a :class:`SourceError`
whose text is ``FILE:LINE: what is wrong``, or is skipped and counted when asked to.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import sys
import zlib
from bisect import bisect_right
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import chain
from operator import itemgetter
from typing import Any, Literal, TextIO

__all__ = [
    "FORMATS",
    "BadRecord",
    "Fields",
    "Loaded",
    "Source",
    "SourceError",
    "open_source",
    "parse_time",
]

FORMATS = ("jsonl", "csv")
Format = Literal["jsonl", "csv"]
IngestMany = Callable[[list[tuple[Any, Any, int]]], Any]
Raw = str | tuple[str, ...]  # a JSON line's text, or a CSV row's cells

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_SIGNED_DIGITS = re.compile(r"-?[0-9]+")
_BATCH = 1 << 10  # records per ingest_many call (a power of two)
_PROGRESS_EVERY = 1 << 14  # records between two progress callbacks (a multiple of _BATCH)
_YEAR_DIRECTIVES = ("%Y", "%y", "%G", "%c", "%x")
_BOM = "\ufeff"
_UNCLOSED = "not valid CSV: a quoted field opens on this line and is never closed"
_BOM_MESSAGE = (
    "a byte-order mark (U+FEFF) in mid-file, as where two files were joined: read them one at "
    "a time, or strip it first (sed 's/\\xEF\\xBB\\xBF//g')"
)


class SourceError(Exception):
    """A problem with the input, located: ``str(error)`` is ``FILE:LINE: message``."""

    def __init__(self, name: str, line: int | None, message: str) -> None:
        self.name = name
        self.line = line
        self.message = message
        where = name if line is None else f"{name}:{line}"
        super().__init__(f"{where}: {message}")


class BadRecord(ValueError):
    """What is wrong with one record (the caller adds the file and line)."""


@dataclass(frozen=True)
class Fields:
    """Which fields of a record hold the event type and the time, and how to read the time.

    A field name is looked up as written; if a record has no such field, ``a.b`` reaches into
    nested JSON objects and ``Date+Time`` joins several fields with a space (for logs whose date
    and time sit in separate CSV columns). ``time=None`` uses the line number as the time, so the
    shortlog keeps the last record of each type.
    """

    key: str = "key"
    time: str | None = "ts"
    time_format: str | None = None


@dataclass
class Loaded:
    """What :meth:`Source.load` did: records ingested, bad records skipped, the first skip."""

    ingested: int = 0
    dated: int = 0  # records whose time was a date string (so epoch milliseconds)
    skipped: int = 0
    first_skipped: str | None = None
    skipped_lines: list[int] = field(default_factory=list)
    # (offset, line) wherever a record's line is not the previous record's + 1: O(1) memory
    # for a file without blank, bad or multi-line records
    anchors: list[tuple[int, int]] = field(default_factory=list)

    def line_of(self, offset: int) -> int:
        """Return the 1-based line of the file where the record at log *offset* starts.

        O(log a) for a lines that broke the count (blank, skipped or multi-line records).
        """
        anchors = self.anchors
        index = bisect_right(anchors, (offset, sys.maxsize)) - 1
        if index < 0:
            return offset + 1
        first_offset, line = anchors[index]
        return line + offset - first_offset

    @property
    def time_unit(self) -> str | None:
        """``"ms"`` if every record's time was read from a date (so is epoch milliseconds), else
        None: integers are used as they are, in a unit only the user knows."""
        return "ms" if self.ingested and self.dated == self.ingested else None


# -- time ----------------------------------------------------------------------------------------


def _epoch_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MILLISECOND


def parse_time(value: object, time_format: str | None = None, name: str = "ts") -> int:
    """Return the integer timestamp a record's time field *value* stands for.

    An ``int`` is used as it is. A string is parsed with *time_format* (:func:`time.strptime`
    directives) when one is given; otherwise a string of digits (optionally signed) is that
    integer and anything else is read as ISO 8601. Parsed dates become integer epoch milliseconds,
    UTC when they carry no zone.

    >>> parse_time(1226262975000), parse_time("42"), parse_time("1970-01-01T00:00:01.5Z")
    (1226262975000, 42, 1500)
    >>> parse_time("081109 203615", "%y%m%d %H%M%S")
    1226262975000

    Raises:
        BadRecord: a ``bool``, ``float``, ``null``, list or object, an empty string, or a string
            that does not parse. The message names the field *name*.
    """
    return _read_time(value, time_format, name)[0]


def _read_time(value: object, time_format: str | None, name: str) -> tuple[int, bool]:
    """parse_time(), and whether the value was a date (True) or an integer used as it is."""
    if type(value) is int:
        return value, False
    if isinstance(value, bool) or not isinstance(value, str | int):
        kind = _json_kind(value)
        raise BadRecord(f"time field {name!r} is {kind}; expected an integer or a date string")
    if isinstance(value, int):  # an int subclass
        return int(value), False
    text = value.strip()
    if not text:
        raise BadRecord(f"time field {name!r} is empty")
    if time_format is not None:
        try:
            return _epoch_ms(datetime.strptime(text, time_format)), True
        except ValueError:
            if _only_feb_29_fails(text, time_format):
                raise BadRecord(
                    f"time field {name!r}: {_short(text)!r} is Feb 29, but --time-format "
                    f"{time_format!r} has no year, and strptime then takes 1900, which has no "
                    "Feb 29: add the year to the time (e.g. --time Year+Date) and its directive "
                    "(%Y)"
                ) from None
            raise BadRecord(
                f"time field {name!r}: {_short(text)!r} does not match --time-format "
                f"{time_format!r}"
            ) from None
    if _SIGNED_DIGITS.fullmatch(text):
        try:
            return int(text), False
        except ValueError:  # more digits than int() accepts
            raise BadRecord(f"time field {name!r}: integer too long") from None
    try:
        return _epoch_ms(datetime.fromisoformat(text)), True
    except ValueError:
        raise BadRecord(
            f"time field {name!r}: cannot read {_short(text)!r} as an integer or an ISO 8601 "
            "date; give its layout with --time-format"
        ) from None


def _only_feb_29_fails(text: str, time_format: str) -> bool:
    """Whether *text* fails *time_format* only for want of a leap year (a year-less Feb 29)."""
    if any(directive in time_format for directive in _YEAR_DIRECTIVES):
        return False
    try:
        datetime.strptime(f"2000 {text}", f"%Y {time_format}")
    except ValueError:
        return False
    return True


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({json.dumps(value)})"
    if isinstance(value, float):
        return f"a float ({value!r})"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- field access --------------------------------------------------------------------------------


def _json_getter(name: str) -> Callable[[dict[str, Any]], Any]:
    """Return a function reading field *name* of a JSON object.

    The function raises KeyError if a plain name is absent, BadRecord for the other shapes.
    """
    plain = itemgetter(name)
    if "+" not in name and "." not in name:
        return plain
    joined = [part for part in name.split("+") if part] if "+" in name else None
    path = name.split(".") if "." in name else None

    def get(record: dict[str, Any]) -> Any:
        try:
            return plain(record)
        except KeyError:
            pass
        if joined is not None and all(part in record for part in joined):
            parts = [record[part] for part in joined]
            if all(type(part) is str or type(part) is int for part in parts):
                return " ".join(map(str, parts))
            raise BadRecord(f"fields of {name!r} must be strings or integers to be joined")
        if path is not None:
            node: Any = record
            for step in path:
                if not isinstance(node, dict) or step not in node:
                    break
                node = node[step]
            else:
                return node
        raise _missing(name, record)

    return get


def _missing(name: str, record: dict[str, Any], option: str | None = None) -> BadRecord:
    """The error for a record without field *name*: it lists the fields the record has."""
    names = ", ".join(record)
    hint = f"; pick one with {option}" if option else ""
    return BadRecord(f"no field {name!r} (the record has: {_short(names, 120)}{hint})")


def _csv_getter(name: str, header: list[str]) -> Callable[[tuple[str, ...]], str] | None:
    """Return a function reading column(s) *name* of a CSV row, or None if the header lacks it."""
    if name in header:
        return itemgetter(header.index(name))
    parts = [part for part in name.split("+") if part] if "+" in name else []
    if parts and all(part in header for part in parts):
        columns = itemgetter(*(header.index(part) for part in parts))

        def joined(row: tuple[str, ...]) -> str:
            cells: tuple[str, ...] | str = columns(row)
            return cells if isinstance(cells, str) else " ".join(cells)

        return joined
    return None


def _checked_key(key: object, name: str) -> Any:
    """Return *key* if it can be an event type (a non-empty string or an int), else raise."""
    if type(key) is str:
        if key:
            return key
        raise BadRecord(f"key field {name!r} is empty")
    if type(key) is int:
        return key
    raise BadRecord(f"key field {name!r} is {_json_kind(key)}; expected a string or an integer")


def _check_utf8(text: str) -> None:
    """Raise BadRecord if *text* holds bytes that were not UTF-8 (decoded as lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRecord("not valid UTF-8") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# -- sources -------------------------------------------------------------------------------------


class Source:
    """One opened input (a file or stdin) in one format; see :func:`open_source`."""

    def __init__(
        self,
        name: str,
        lines: TextIO,
        format: Format,
        position: Callable[[], int] | None = None,
        size: int | None = None,
        format_given: bool = True,
    ) -> None:
        self.name = name
        self.format: Format = format
        self.format_given = format_given  # False: stdin, read as JSON lines by default
        self.header: list[str] = []
        self.size = size  # bytes, when known: for a progress bar
        self._lines = lines
        self._position = position

    def position(self) -> int:
        """Return how many bytes have been read so far (0 when unknown)."""
        try:
            return self._position() if self._position is not None else 0
        except (OSError, ValueError):
            return 0

    def load(
        self,
        ingest_many: IngestMany,
        fields: Fields,
        *,
        skip_bad: bool = False,
        progress: Callable[[], None] | None = None,
    ) -> Loaded:
        """Ingest every record as ``(key, raw, timestamp)``; return the counts and lines.

        The records go to *ingest_many* (say ``log.ingest_many``) in batches of 1,024, in file
        order; a batch holds only good records, so it is never refused. O(n) for n records,
        streaming: memory is whatever *ingest_many* keeps. *progress* is called every 16,384
        records.

        Raises:
            SourceError: a bad record (unless *skip_bad*), a CSV header without the fields asked
                for, or a read error (for example a truncated gzip file).
        """
        loaded = Loaded()

        def bad(line: int, message: str) -> None:
            if not skip_bad:
                raise SourceError(self.name, line, message)
            loaded.skipped += 1
            if loaded.first_skipped is None:
                loaded.first_skipped = f"{self.name}:{line}: {message}"
            if len(loaded.skipped_lines) < 100:
                loaded.skipped_lines.append(line)

        if self.format == "csv":
            self._load_csv(ingest_many, fields, bad, progress, loaded)
        else:
            self._load_jsonl(ingest_many, fields, bad, progress, loaded)
        return loaded

    def _read_error(self, line: int, exc: BaseException) -> SourceError:
        detail = str(exc) or type(exc).__name__
        return SourceError(self.name, line, f"cannot read: {detail}")

    def _load_jsonl(
        self,
        ingest_many: IngestMany,
        fields: Fields,
        bad: Callable[[int, str], None],
        progress: Callable[[], None] | None,
        loaded: Loaded,
    ) -> None:
        decode = json.JSONDecoder(parse_constant=_reject_constant).decode
        key_name, time_name, time_format = fields.key, fields.time, fields.time_format
        get_key = _json_getter(key_name)
        get_time = _json_getter(time_name) if time_name is not None else None
        batch: list[tuple[Any, Any, int]] = []
        append = batch.append
        anchors = loaded.anchors
        ingested = 0
        dated = 0
        line = 0
        shift = 1  # line - offset while no line breaks the count
        # the loop is written out flat, once: it is the command's whole cost beside parsing
        try:
            for line, text in enumerate(self._lines, 1):
                try:
                    record = decode(text)
                except ValueError as exc:
                    if text.isspace() or not text:
                        continue  # a blank line: nothing to ingest
                    if text.startswith(_BOM):
                        bad(line, _BOM_MESSAGE)
                        continue
                    message = f"not valid JSON: {_json_error(exc, text)}"
                    if line == 1 and not self.format_given and _looks_like_csv(text):
                        raise SourceError(
                            self.name,
                            line,
                            f"{message}; stdin is read as JSON lines: for CSV, add "
                            "--input-format csv",
                        ) from None
                    bad(line, message)
                    continue
                except RecursionError:
                    bad(line, "JSON nested too deeply to read")
                    continue
                if type(record) is not dict:
                    bad(line, f"not a JSON object but {_json_kind(record)}")
                    continue
                try:
                    if not text.isascii():
                        _check_utf8(text)
                    try:
                        key = get_key(record)
                    except KeyError:
                        raise _missing(key_name, record, "--key") from None
                    if type(key) is not str or not key:
                        key = _checked_key(key, key_name)
                    if get_time is None:
                        timestamp = line
                    else:
                        try:
                            timestamp = get_time(record)
                        except KeyError:
                            raise _missing(time_name or "", record, "--time") from None
                        if type(timestamp) is not int or time_format is not None:
                            timestamp, was_date = _read_time(
                                timestamp, time_format, time_name or ""
                            )
                            dated += was_date
                except BadRecord as exc:
                    bad(line, str(exc))
                    continue
                if line - ingested != shift:
                    shift = line - ingested
                    anchors.append((ingested, line))
                append((key, text, timestamp))
                ingested += 1
                if not ingested & (_BATCH - 1):  # a full batch
                    ingest_many(batch)
                    batch.clear()
                    if progress is not None and not ingested & (_PROGRESS_EVERY - 1):
                        progress()
        except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
            raise self._read_error(line + 1, exc) from None
        ingest_many(batch)
        loaded.ingested = ingested
        loaded.dated = dated

    def _load_csv(
        self,
        ingest_many: IngestMany,
        fields: Fields,
        bad: Callable[[int, str], None],
        progress: Callable[[], None] | None,
        loaded: Loaded,
    ) -> None:
        at_end: list[bool] = []
        # the reader asks for a line past the end only at the end, or inside a quoted field that
        # is never closed; then it would hand the rest of the file over as one field, silently
        reader = csv.reader(chain(self._lines, _mark_end(at_end)))
        limit = csv.field_size_limit()
        csv.field_size_limit(_FIELD_SIZE_LIMIT)  # a log's stack trace can exceed 128 KiB
        try:
            self._read_csv(reader, at_end, ingest_many, fields, bad, progress, loaded)
        finally:
            csv.field_size_limit(limit)

    def _read_csv(
        self,
        reader: Any,
        at_end: list[bool],
        ingest_many: IngestMany,
        fields: Fields,
        bad: Callable[[int, str], None],
        progress: Callable[[], None] | None,
        loaded: Loaded,
    ) -> None:
        try:
            try:
                header = next(reader)
            except StopIteration:
                return  # an empty file: no records
            except csv.Error as exc:
                raise SourceError(self.name, 1, f"bad CSV header: {exc}") from None
            if at_end:
                opened = 1 + sum(map(_line_breaks, header[:-1]))
                raise SourceError(self.name, opened, _UNCLOSED)
            if not all(map(str.isascii, header)):
                try:
                    _check_utf8("".join(header))
                    if _BOM in "".join(header):
                        raise BadRecord(_BOM_MESSAGE)
                except BadRecord as exc:
                    raise SourceError(self.name, reader.line_num, str(exc)) from None
            duplicates = sorted({name for name in header if header.count(name) > 1})
            if duplicates:
                raise SourceError(
                    self.name, reader.line_num, f"duplicate column(s) in the header: {duplicates}"
                )
            self.header = header
            get_key = self._column(fields.key, "--key", reader.line_num)
            get_time = (
                self._column(fields.time, "--time", reader.line_num)
                if fields.time is not None
                else None
            )
            key_name, time_name, time_format = fields.key, fields.time or "", fields.time_format
            width = len(header)
            batch: list[tuple[Any, Any, int]] = []
            append = batch.append
            anchors = loaded.anchors
            ingested = 0
            dated = 0
            shift = 1  # line - offset while no line breaks the count
            start = reader.line_num + 1  # the line the next row starts on
            last_text, last_time, last_dated = "", 0, False  # rows often repeat the last time
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    bad(start, f"not valid CSV: {exc}")
                    start = reader.line_num + 1
                    continue
                line, start = start, reader.line_num + 1
                if at_end:
                    opened = line + sum(map(_line_breaks, row[:-1]))
                    bad(opened, _UNCLOSED)
                    continue
                if len(row) != width:
                    if not row:
                        continue  # a blank line
                    bad(line, f"{len(row)} fields where the header has {width}")
                    continue
                cells = tuple(row)
                try:
                    if not all(map(str.isascii, cells)):
                        _check_utf8("".join(cells))
                        if _BOM in cells[0]:
                            raise BadRecord(_BOM_MESSAGE)
                    key = get_key(cells)
                    if not key:
                        key = _checked_key(key, key_name)
                    if get_time is None:
                        timestamp = line
                    else:
                        text = get_time(cells)
                        if text == last_text and text:
                            timestamp = last_time
                            dated += last_dated
                        elif (
                            time_format is None
                            and text.isdigit()
                            and text.isascii()
                            and len(text) < 19  # int() refuses 4,301 digits: parse_time says so
                        ):
                            timestamp = int(text)
                            last_dated = False
                        else:
                            timestamp, last_dated = _read_time(text, time_format, time_name)
                            dated += last_dated
                        last_text, last_time = text, timestamp
                except BadRecord as exc:
                    bad(line, str(exc))
                    continue
                if line - ingested != shift:
                    shift = line - ingested
                    anchors.append((ingested, line))
                append((key, cells, timestamp))
                ingested += 1
                if not ingested & (_BATCH - 1):  # a full batch
                    ingest_many(batch)
                    batch.clear()
                    if progress is not None and not ingested & (_PROGRESS_EVERY - 1):
                        progress()
            ingest_many(batch)
            loaded.ingested = ingested
            loaded.dated = dated
        except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
            raise self._read_error(reader.line_num + 1, exc) from None

    def _column(self, name: str, option: str, line: int) -> Callable[[tuple[str, ...]], str]:
        getter = _csv_getter(name, self.header)
        if getter is None:
            columns = ", ".join(self.header)
            raise SourceError(
                self.name,
                line,
                f"no column {name!r} in the header (pick one with {option}: "
                f"{_short(columns, 200)})",
            )
        return getter

    # -- the way out -----------------------------------------------------------------------------

    def to_object(self, raw: Raw) -> dict[str, Any]:
        """Return a record as an object: a JSON line parsed, a CSV row as column -> string."""
        if isinstance(raw, str):
            record: dict[str, Any] = json.loads(raw)
            return record
        return dict(zip(self.header, raw, strict=True))

    def to_json(self, raw: Raw) -> str:
        """Return a record as one line of JSON: a JSON line exactly as read, a CSV row as an object
        of strings in column order."""
        if isinstance(raw, str):
            return raw.strip()
        return json.dumps(dict(zip(self.header, raw, strict=True)), ensure_ascii=False)


def _largest_field_size_limit() -> int:
    """The largest limit csv.field_size_limit() takes here (a C long: 2**31 - 1 on Windows)."""
    previous = csv.field_size_limit()
    for limit in (sys.maxsize, 2**31 - 1):
        try:
            csv.field_size_limit(limit)
        except OverflowError:
            continue
        csv.field_size_limit(previous)
        return limit
    return previous


_FIELD_SIZE_LIMIT = _largest_field_size_limit()


def _mark_end(at_end: list[bool]) -> Iterator[str]:
    """An empty iterator that records, in *at_end*, that it was asked for a line."""
    at_end.append(True)
    return
    yield  # a generator function: the body runs on the first next()


def _line_breaks(text: str) -> int:
    """How many line breaks *text* holds (\\r\\n, \\n or \\r each count one)."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _looks_like_csv(text: str) -> bool:
    """Whether a line that is not JSON looks like a CSV header or row."""
    stripped = text.lstrip(_BOM + " \t")
    return "," in stripped and not stripped.startswith(("{", "["))


def _json_error(exc: ValueError, text: str) -> str:
    message = getattr(exc, "msg", None) or str(exc)
    position = getattr(exc, "pos", None)  # within this one line; past its end at most
    if not isinstance(position, int):
        return message
    return f"{message} (column {min(position, len(text.rstrip())) + 1})"


def _format_of(path: str, input_format: str | None) -> Format:
    if input_format is not None:
        if input_format not in FORMATS:
            raise SourceError(path, None, f"unknown input format {input_format!r}")
        return "csv" if input_format == "csv" else "jsonl"
    if path == "-":
        return "jsonl"
    name = path.lower().removesuffix(".gz")
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    raise SourceError(
        path,
        None,
        "cannot tell the format from the file name (expected .jsonl, .ndjson or .csv, "
        "optionally .gz); name it with --input-format jsonl|csv",
    )


@contextmanager
def open_source(path: str, input_format: str | None = None) -> Iterator[Source]:
    """Open *path* (``-`` for stdin) for streaming and yield it as a :class:`Source`.

    The format comes from the name (``.jsonl``/``.ndjson``, ``.csv``, either with ``.gz``) unless
    *input_format* names it; stdin is JSON lines by default. Text is UTF-8 (a byte-order mark is
    dropped); bytes that are not UTF-8 make that record bad.

    Raises:
        SourceError: the file cannot be opened, or its format cannot be told.
    """
    format = _format_of(path, input_format)
    newline = "" if format == "csv" else None  # the csv module reads its own line endings
    if path == "-":
        given = input_format is not None
        stdin = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else None
        if stdin is None:
            yield Source("<stdin>", sys.stdin, format, format_given=given)
            return
        text = io.TextIOWrapper(
            stdin, encoding="utf-8-sig", errors="surrogateescape", newline=newline
        )
        try:
            yield Source("<stdin>", text, format, format_given=given)
        finally:
            text.detach()  # leave sys.stdin usable
        return
    try:
        raw = open(path, "rb")  # noqa: SIM115 (closed below, after the caller is done)
    except OSError as exc:
        raise SourceError(path, None, exc.strerror or str(exc)) from None
    try:
        size: int | None
        try:
            size = raw.seek(0, io.SEEK_END)
            raw.seek(0)
        except OSError:  # a pipe
            size = None
        binary: io.BufferedIOBase | gzip.GzipFile = raw
        if path.lower().endswith(".gz"):
            binary = gzip.GzipFile(fileobj=raw, mode="rb")
        text = io.TextIOWrapper(
            binary,
            encoding="utf-8-sig",
            errors="surrogateescape",
            newline=newline,
        )
        with text:
            yield Source(path, text, format, position=raw.tell, size=size)
    finally:
        raw.close()
