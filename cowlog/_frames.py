"""The journal's file format: a header, then frames; reading it back, and finding where it ends.

Layout (all integers little-endian; docs/design.md#the-journal-on-disk has the same in prose)::

    header  magic b"\\x89cowlog\\n" | version u8 (1) | name length u8 | codec name (ASCII)
            | CRC-32 u32 of every header byte before it
    frame   CRC-32 u32 of the payload | length u32 | payload (length bytes, never 0)

A payload is the codec's encoding of one value: records, one write (one `ingest`, or a whole
`ingest_many` batch) as a flat list ``[timestamp0, key0, value0, timestamp1, ...]``; a trim,
``{"trim": before}``; or, first in a compacted file, a start, ``{"start": first, "kept": [[offset,
timestamp, key, value], ...]}`` (docs/design.md has the details). CRC-32 is zlib's (IEEE).
A damaged length is caught by the CRC too: it makes the reader check the wrong bytes.

Nothing here writes a journal file: this module only builds bytes and reads them, so the CLI can
use it on a journal another process is writing.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

__all__ = [
    "FRAME_HEADER",
    "MAGIC",
    "VERSION",
    "Scan",
    "encode_frame",
    "encode_header",
    "find_frame",
    "parse_header",
    "scan",
]

MAGIC = b"\x89cowlog\n"
VERSION = 1
FRAME_HEADER = 8  # CRC-32 + length
_U32 = struct.Struct("<I")
_FRAME = struct.Struct("<II")
_crc32 = zlib.crc32
_pack_frame = _FRAME.pack


class JournalFormatError(ValueError):
    """The file is not a cowlog journal, or its header is damaged. Nothing was changed."""


def encode_header(codec_name: str) -> bytes:
    """Return the header of a journal whose payloads use *codec_name*."""
    name = codec_name.encode("ascii")
    body = MAGIC + bytes((VERSION, len(name))) + name
    return body + _U32.pack(_crc32(body))


def parse_header(data: bytes, path: str) -> tuple[str, int]:
    """Return ``(codec name, header length)`` of the journal whose first bytes are *data*.

    Raises:
        JournalFormatError: the magic is wrong (not a journal), the version unknown, or the header
            cut short or damaged.
    """
    if not data.startswith(MAGIC):
        if MAGIC.startswith(data[: len(MAGIC)]) and len(data) < len(MAGIC):
            raise JournalFormatError(f"{path}: a journal header cut short ({len(data)} bytes)")
        raise JournalFormatError(
            f"{path}: not a cowlog journal (its first bytes are {bytes(data[:8])!r}, "
            f"a journal starts with {MAGIC!r})"
        )
    size = len(MAGIC) + 2
    if len(data) < size:
        raise JournalFormatError(f"{path}: a journal header cut short ({len(data)} bytes)")
    version, name_length = data[len(MAGIC)], data[len(MAGIC) + 1]
    if version != VERSION:
        raise JournalFormatError(
            f"{path}: journal format version {version}; this cowlog reads version {VERSION}"
        )
    end = size + name_length + 4
    if len(data) < end:
        raise JournalFormatError(f"{path}: a journal header cut short ({len(data)} bytes)")
    (crc,) = _U32.unpack_from(data, end - 4)
    if _crc32(data[: end - 4]) != crc:
        raise JournalFormatError(f"{path}: the journal header is damaged (CRC mismatch)")
    try:
        name = bytes(data[size : end - 4]).decode("ascii")
    except UnicodeDecodeError:
        raise JournalFormatError(f"{path}: the journal header names no codec") from None
    return name, end


def encode_frame(payload: bytes) -> bytes:
    """Return the frame holding *payload*: CRC-32, length, payload."""
    return _pack_frame(_crc32(payload), len(payload)) + payload


@dataclass
class Scan:
    """What reading a journal's frames found.

    ``payloads[i]`` is the payload of frame i (bytes) and ``starts[i]`` its offset in the file
    (filled only on request: see `scan`); ``end`` is
    where the last whole, intact frame ends. If ``end`` is not the file's size, ``damaged`` is
    True, and ``next_frame`` is the offset of the first intact frame found after the damage
    (damage in the middle) or None (a torn tail: the file ends in a cut frame or garbage).
    """

    payloads: list[bytes] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    end: int = 0
    size: int = 0
    next_frame: int | None = None

    @property
    def damaged(self) -> bool:
        return self.end != self.size


def scan(data: bytes, start: int, *, starts: bool = False, look_past_damage: bool = True) -> Scan:
    """Read every intact frame of *data* from offset *start*, stopping at the first bad one.

    O(n) in the file's size. With *starts*, also record where each frame starts. With
    *look_past_damage*, also search past a bad frame for an intact one (see `find_frame`).
    """
    size = len(data)
    result = Scan(size=size)
    append = result.payloads.append
    unpack = _FRAME.unpack_from
    crc32 = _crc32
    pos = start
    last = size - FRAME_HEADER
    if starts:
        offsets = result.starts
        while pos <= last:
            crc, length = unpack(data, pos)
            end = pos + FRAME_HEADER + length
            payload = data[pos + FRAME_HEADER : end]
            if crc32(payload) != crc or end > size or not length:
                break
            append(payload)
            offsets.append(pos)
            pos = end
    else:
        while pos <= last:  # the recovery's hot loop: one unpack, one slice, one CRC per frame
            crc, length = unpack(data, pos)
            end = pos + 8 + length
            payload = data[pos + 8 : end]
            if crc32(payload) != crc or end > size or not length:
                break
            append(payload)
            pos = end
    result.end = pos
    if pos != size and look_past_damage:
        result.next_frame = find_frame(data, pos + 1)
    return result


def find_frame(data: bytes | memoryview, start: int) -> int | None:
    """Return the offset of the first intact frame at or after *start*, or None.

    Tries every byte offset: a frame is intact when its length fits in the file and its CRC-32
    matches (a false match has odds of 2**-32 per offset). O(k) for k bytes when they are zeros
    or random, which is what a torn tail holds.
    """
    view = memoryview(data)
    size = len(view)
    if start >= size or not bytes(view[start:]).strip(b"\x00"):  # all zeros: the common tail
        return None
    unpack = _FRAME.unpack_from
    crc32 = _crc32
    for pos in range(start, size - FRAME_HEADER + 1):
        crc, length = unpack(view, pos)
        end = pos + FRAME_HEADER + length
        if length and end <= size and crc32(view[pos + FRAME_HEADER : end]) == crc:
            return pos
    return None
