"""What the ``cowlog`` command shows a person: escaped text, readable times, tables that fit.

Log data is hostile to terminals: an ESC or a C1 control in a message could recolour, clear or
retitle the user's terminal, a CR or a bidi override could hide what a line says, and a lone
surrogate cannot be encoded at all. Everything shown in a table goes through :func:`escape`; JSON
lines leave the command exactly as read (JSON escapes them already). ``rich`` is imported inside the
functions that draw, never at import time.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "TIME_UNITS",
    "escape",
    "format_time",
    "output_encoding",
    "prepare_stdout",
    "time_title",
    "whole_tables_console",
]

#: Units a time column can be shown in, with how many of each make a second.
TIME_UNITS = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_FRACTION_DIGITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Characters never shown raw: C0 controls (ESC, BEL, CR, ...), DEL and the C1 controls (CSI among
# them), the line and paragraph separators, the bidi embeddings, overrides and isolates (they
# reorder what follows on the line), and lone surrogates (they cannot be encoded).
_UNSAFE = [
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    0x2028,
    0x2029,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
    *range(0xD800, 0xE000),
]
_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}
_ESCAPES = {
    code: _NAMED.get(code, f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    for code in _UNSAFE
}


def escape(text: str, encoding: str = "utf-8") -> str:
    r"""Return *text* with every control, bidi control and lone surrogate written as an escape,
    and every character *encoding* cannot encode as a backslash escape too.

    O(n); a printable string is returned as it is (when *encoding* is a UTF). Backslashes are left
    alone, so ``\x1b`` in the output is either an ESC or those four characters in the data.

    >>> escape("ok \x1b[31mred\x07 \r\x9b2J \ud800 é")
    'ok \\x1b[31mred\\x07 \\r\\x9b2J \\ud800 é'
    >>> escape("café", "ascii")
    'caf\\xe9'
    """
    if not text.isprintable():
        text = text.translate(_ESCAPES)
    if encoding.lower().replace("-", "").replace("_", "") in _UTF:
        return text
    return text.encode(encoding, "backslashreplace").decode(encoding)


_UTF = ("utf8", "utf16", "utf32")


def output_encoding() -> str:
    """The encoding stdout writes, for :func:`escape`."""
    return getattr(sys.stdout, "encoding", None) or "utf-8"


def format_time(timestamp: int, unit: str | None) -> str:
    """Return *timestamp* as a UTC date and time if its *unit* is known, else as the integer.

    The fraction has as many digits as the unit has (none for seconds, 9 for nanoseconds). A
    timestamp outside the years 1 to 9999 is shown as the integer.

    >>> format_time(1226262975123, "ms"), format_time(1226262975, "s"), format_time(7, None)
    ('2008-11-09 20:36:15.123', '2008-11-09 20:36:15', '7')
    >>> format_time(1226262975000000001, "ns")
    '2008-11-09 20:36:15.000000001'
    """
    if unit is None:
        return str(timestamp)
    per_second = TIME_UNITS[unit]
    seconds, fraction = divmod(timestamp, per_second)
    try:
        moment = _EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        return str(timestamp)
    if not 1 <= moment.year <= 9999:
        return str(timestamp)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    digits = _FRACTION_DIGITS[unit]
    return f"{text}.{fraction:0{digits}d}" if digits else text


def time_title(unit: str | None) -> str:
    """The time column's title: it says whether the times were converted."""
    return "time" if unit is None else "time (UTC)"


def prepare_stdout(output: str) -> None:
    """Make stdout take anything this *output* format can write, without an encoding error.

    JSON lines are UTF-8 whatever the locale says (a C locale would refuse non-ASCII); a table
    keeps the terminal's encoding and writes what it cannot encode as backslash escapes.
    """
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is None:  # not a text file: write what it takes
        return
    options: dict[str, Any] = {"errors": "backslashreplace"}
    if output == "jsonl":
        encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
        if encoding != "utf8":
            options["encoding"] = "utf-8"
    with suppress(ValueError, OSError):  # a stream that cannot change: write what it takes
        reconfigure(**options)


def whole_tables_console(**options: Any) -> Console:
    """Return a rich Console on which a printed table is never cut.

    On a terminal, a table wider than the terminal has its cells wrapped (folded), never
    truncated with an ellipsis. Redirected to a file or a pipe, where rich would assume 80
    columns, a table is printed at its full natural width.
    """
    from rich.console import Console
    from rich.table import Table

    class WholeTables(Console):
        def print(self, *objects: Any, **print_options: Any) -> None:
            tables = [obj for obj in objects if isinstance(obj, Table)]
            for table in tables:
                for column in table.columns:
                    column.overflow = "fold"
            width = self.width
            if tables and not self.is_terminal:
                width = max([width, *(_natural_width(self, table) for table in tables)])
            if width == self.width:
                super().print(*objects, **print_options)
                return
            narrow, self.width = self.width, width  # print() never goes past the console's width
            try:
                super().print(*objects, **print_options)
            finally:
                self.width = narrow

    return WholeTables(**options)


def _natural_width(console: Console, table: Any) -> int:
    """The width *table* takes when nothing constrains it."""
    wide = console.options.update(width=1 << 16, max_width=1 << 16)
    return int(console.measure(table, options=wide).maximum)


def widest(texts: Iterable[str], at_least: int) -> int:
    """The length of the longest of *texts*, and at least *at_least*."""
    return max([at_least, *map(len, texts)])
