"""Durability: an EventLog that journals every accepted write to a file and recovers it on open.

``EventLog.open(path)`` (the same as `cowlog.journal.open`) recovers every event in the file into
a new log, offsets unchanged, then appends one frame per accepted write (one per `ingest`, one per
`ingest_many` batch), under the writer lock, so the journal's order is the log's order. The file
format lives in ``cowlog/_frames.py``; the codecs (shared with
``cowlog.redis``) in ``cowlog/_codec.py``.

Per ``fsync`` policy (docs/journal.md has the promises and the table):

* ``"always"``: a write returns, and readers see it, only after an fsync covered its frame. Writers
  release the writer lock before they fsync; one fsync covers every frame written before it
  (group commit); the thread that ran it publishes the newest version it covered.
* ``"interval"``: the frame reaches the OS before the write returns; a background thread fsyncs at
  least every ``interval`` seconds.
* ``"never"``: the same without the thread: the OS decides (``close()`` still fsyncs).

What this module must never do: publish a version an fsync has not covered (``"always"``), write
a frame outside the writer lock, let two processes (or a forked child) write one file, or change a
file it could not read (a foreign file, damage in the middle) unless told to.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import gc
import os
import stat
import threading
import time
import warnings
import weakref
import zlib
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, TypeVar

from ._checks import LogClosedError, check_offset, check_timestamp
from ._codec import Codec, UnsafeCodecWarning, get_codec
from ._frames import (
    _FRAME,
    MAGIC,
    JournalFormatError,
    Scan,
    encode_frame,
    encode_header,
    parse_header,
    scan,
)
from ._log import EventLog
from ._state import CHUNK_BITS, CHUNK_MASK

__all__ = [
    "FSYNC_POLICIES",
    "ON_CORRUPTION",
    "JournalCompactionWarning",
    "JournalCorruptError",
    "JournalFormatError",
    "JournalLockedError",
    "JournalWriteError",
    "JournaledLog",
    "Reading",
    "Recovery",
    "UnsafeCodecWarning",
    "dump",
    "is_journal",
    "load",
    "open",
    "read",
]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

FSYNC_POLICIES = ("always", "interval", "never")
ON_CORRUPTION = ("raise", "truncate")
_BATCH = 1024  # records per frame in compact() and dump()
_AUTO_COMPACT_SLACK = 8192  # a file compacts itself past 2x the events retained plus this
_pack_frame = _FRAME.pack
_crc32 = zlib.crc32
_os_write = os.write
_time_ns = time.time_ns
_yield = time.sleep  # _yield(0) releases the GIL to the threads waiting for it


# -- errors ----------------------------------------------------------------------------------------


class JournalCorruptError(JournalFormatError):
    """Damage in the middle of a journal: a bad frame followed by intact ones.

    Opening stops here and changes nothing; ``on_corruption="truncate"`` keeps the frames before
    *offset* instead (and saves the rest beside the file).
    """

    def __init__(self, path: str, offset: int, message: str) -> None:
        self.path = path
        self.offset = offset
        super().__init__(message)


class JournalLockedError(BlockingIOError):
    """Another open journal (in this process or another) holds the file's lock."""


class JournalCompactionWarning(RuntimeWarning):
    """A background compaction failed; the journal in use is unchanged, whole, and still used."""


class JournalWriteError(OSError):
    """Writing or syncing the journal failed: the write was refused and nothing was ingested.

    ``errno`` is the operating system's (``ENOSPC``, ``EFBIG``, ``EIO``...). After a failed fsync
    the journal refuses every later write with this error too: reopen it to go on.
    """


# -- what opening found ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Recovery:
    """What `open` found in the file.

    Attributes:
        path: the journal's path.
        created: True if the file did not exist (or was empty) and was created.
        events: events read from the file (trimmed ones included: see `trim`).
        frames: intact frames read.
        end: the offset where the intact frames end (the file's size after opening).
        dropped_bytes: bytes cut off the end (a torn tail, or with ``on_corruption="truncate"``
            damage and everything after it); 0 if none.
        dropped_at: the offset they were cut from, or None.
        saved_to: the file beside the journal holding the dropped bytes, or None.
        damage: ``None``, ``"torn tail"`` or ``"damaged in the middle"``.
    """

    path: str
    created: bool
    events: int
    frames: int
    end: int
    dropped_bytes: int = 0
    dropped_at: int | None = None
    saved_to: str | None = None
    damage: str | None = None


# -- checks ----------------------------------------------------------------------------------------


def _check_path(path: object) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    text = os.fspath(path)
    if not isinstance(text, str):
        text = os.fsdecode(text)
    if not text:
        raise ValueError("path must not be empty")
    return text


def _check_choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def _check_interval(interval: object) -> float:
    if isinstance(interval, bool) or not isinstance(interval, (int, float)):
        raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
    if not 0 < interval < float("inf"):  # also refuses NaN
        raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
    return float(interval)


# -- files -----------------------------------------------------------------------------------------


def _fsync_directory(path: str) -> None:
    """Fsync the directory holding *path*, so a create or rename in it is durable."""
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_all(fd: int) -> bytes:
    """Read the whole file behind *fd* from offset 0."""
    size = os.fstat(fd).st_size
    chunks = []
    offset = 0
    while True:
        chunk = os.pread(fd, max(size - offset, 1 << 16), offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _save_beside(path: str, offset: int, data: bytes | memoryview) -> str:
    """Write *data* to a new file beside *path*, fsynced; return its name."""
    base = f"{path}.damaged-at-{offset}"
    name, n = base, 0
    while True:
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            break
        except FileExistsError:
            n += 1
            name = f"{base}.{n}"
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_directory(path)
    return name


def _write_beside(path: str, header: bytes, frames: Iterable[bytes]) -> tuple[int, int]:
    """Write *header* and *frames* to a new ``PATH.new``; return its descriptor and size.

    The descriptor is open for appending, so more frames can follow before `_rename_over`. On
    failure the file is removed and the error raised.
    """
    temporary = f"{path}.new"
    flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC
    fd = os.open(temporary, flags, 0o644)
    try:
        size = len(header)
        _write_all(fd, header)
        for frame in frames:
            _write_all(fd, frame)
            size += len(frame)
    except BaseException:
        _discard_beside(path, fd)
        raise
    return fd, size


def _discard_beside(path: str, fd: int) -> None:
    """Close and remove a ``PATH.new`` that will not be renamed."""
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(f"{path}.new")


def _rename_over(path: str, fd: int, adopt: Callable[[int], None]) -> None:
    """Fsync ``PATH.new`` (open as *fd*), rename it over *path*, then fsync the directory.

    A crash at any point leaves either the old file or the new one whole. *fd* belongs to this
    call: if anything fails before the rename, the new file is closed and removed and the error
    raised. Right after the rename, ``adopt(fd)`` is called: from then on the new file is the one
    at *path*, whatever happens next, and *fd* belongs to whoever adopted it; an error of the
    directory's fsync is raised after that (the rename may then not survive a power loss).
    """
    try:
        os.fsync(fd)
        os.replace(f"{path}.new", path)
    except BaseException:
        _discard_beside(path, fd)
        raise
    adopt(fd)
    _fsync_directory(path)


def _write_new_file(path: str, header: bytes, frames: Iterable[bytes]) -> tuple[int, int]:
    """Write *header* and *frames* beside *path* and rename the file over it (`_rename_over`).

    Returns the new file's descriptor (open for appending) and its size; on failure nothing is
    left open.
    """
    fd, size = _write_beside(path, header, frames)
    adopted: list[int] = []
    try:
        _rename_over(path, fd, adopted.append)
    except BaseException:
        if adopted:
            os.close(fd)
        raise
    return fd, size


def is_journal(path: str | os.PathLike[str]) -> bool:
    """Return True if the file at *path* starts with a journal's magic. Reads 8 bytes; no lock."""
    try:
        with builtins.open(path, "rb") as f:
            return bool(f.read(len(MAGIC)) == MAGIC)
    except OSError:
        return False


# -- decoding --------------------------------------------------------------------------------------


Records = list[Any]  # (timestamp, key, value) tuples
Trims = list[tuple[int, int]]  # (n, before): a trim frame after the first n records
Survivors = list[tuple[int, Any]]  # (offset, record) from a start frame


@dataclass
class _Decoded:
    """What a journal's frames hold: the start (if compacted), the events, the trims."""

    records: Records
    trims: Trims
    first: int = 0  #: the offset of records[0]: a start frame's, else 0
    survivors: Survivors = field(default_factory=list)  #: the start frame's kept records


def _decode(codec: Codec, payloads: list[bytes], data: bytes, start: int, path: str) -> _Decoded:
    """Decode every payload into ``(timestamp, key, value)`` records, in order, at C speed.

    JSON payloads are joined into one array and parsed once (msgpack: one array header before
    them all); the fields of every frame are chained and grouped in threes by a C-level
    ``zip``: those tuples are the records the log stores. Trim and start frames (objects, not
    arrays) take a slower path. *data* and *start* (the file and its header's length) serve
    only to name a bad frame's offset.

    Raises:
        JournalCorruptError: a frame with an intact CRC does not decode into whole records.
    """
    if not payloads:
        return _Decoded([], [])
    try:
        if codec.name == "json":
            frames = codec.decode(b"[" + b",".join(payloads) + b"]")
        elif codec.name == "msgpack":
            frames = codec.decode(b"\xdd" + len(payloads).to_bytes(4, "big") + b"".join(payloads))
        else:
            frames = list(map(codec.decode, payloads))
        if dict in set(map(type, frames)):
            return _with_marks(frames)
        if not sum(map(len, frames)) % 3:  # a number or a short list fails here or when stored
            fields = chain.from_iterable(frames)
            return _Decoded(list(zip(fields, fields, fields, strict=False)), [])
    except Exception:
        pass
    starts = scan(data, start, starts=True, look_past_damage=False).starts
    _locate_bad_frame(codec, payloads, starts, path)
    raise AssertionError("unreachable: _locate_bad_frame raises")  # pragma: no cover


def _with_marks(frames: list[Any]) -> _Decoded:
    """`_decode` for a journal holding trim frames or a start frame (objects)."""
    decoded = _Decoded([], [])
    records, trims = decoded.records, decoded.trims
    for index, frame in enumerate(frames):
        if type(frame) is not dict:
            if len(frame) % 3:
                raise ValueError("not whole records")
            fields = iter(frame)
            records += zip(fields, fields, fields, strict=False)
        elif "trim" in frame:
            before = frame["trim"]
            if type(before) is not int or before < 0:
                raise ValueError("a bad trim frame")
            trims.append((len(records), before))
        elif index == 0 and type(frame["start"]) is int and frame["start"] >= 0:
            decoded.first = frame["start"]
            decoded.survivors = [
                (offset, (ts, key, value)) for offset, ts, key, value in frame["kept"]
            ]
        else:
            raise ValueError("a bad frame")
    return decoded


def _replay_into(log: EventLog[Any, Any], decoded: _Decoded) -> None:
    """Ingest *decoded* into the new *log*, trimming where the journal trimmed (the log's own
    methods, which refuse what is not events)."""
    if decoded.first or decoded.survivors:
        log._start_at(decoded.first, decoded.survivors)
    records = decoded.records
    done = 0
    for count, before in decoded.trims:
        log._extend(records[done:count])
        EventLog.trim(log, before)
        done = count
    log._extend(records[done:] if done else records)


def _locate_bad_frame(codec: Codec, payloads: list[bytes], starts: list[int], path: str) -> None:
    for index, (payload, start) in enumerate(zip(payloads, starts, strict=False)):
        try:
            good = _is_frame(codec.decode(payload), index)
        except Exception:
            good = False
        if not good:
            raise JournalCorruptError(
                path,
                start,
                f"{path}: the frame at offset {start} is intact but does not decode into "
                f"records with the {codec.name!r} codec",
            )
    raise JournalCorruptError(path, start, f"{path}: the frames do not decode into records")


def _is_frame(frame: Any, index: int) -> bool:
    """Whether *frame*, decoded, is what a journal's frame number *index* may hold."""
    if isinstance(frame, (list, tuple)):  # pickle keeps a single ingest's tuple
        return len(frame) % 3 == 0
    if not isinstance(frame, dict):
        return False
    if "trim" in frame:
        return type(frame["trim"]) is int and frame["trim"] >= 0
    kept = frame.get("kept")
    return (
        index == 0
        and type(frame.get("start")) is int
        and isinstance(kept, list)
        and all(isinstance(survivor, list) and len(survivor) == 4 for survivor in kept)
    )


# -- reading without writing -----------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """A journal read without a lock and without changing it (see `read`).

    ``records`` are the events in the file, as ``(timestamp, key, value)`` tuples (the records of
    a replay); ``records[0]`` has offset ``first``, which is 0 unless the journal was compacted
    after a trim: then ``survivors`` holds the ``(offset, record)`` of each key's survivor below
    ``first``. ``trims``: ``(n, before)``
    for each trim made after the first n records.
    """

    path: str
    codec: str
    records: list[tuple[Any, Any, Any]]
    end: int
    size: int
    trims: list[tuple[int, int]]
    first: int = 0
    survivors: list[tuple[int, tuple[Any, Any, Any]]] = field(default_factory=list)

    def to_log(self) -> EventLog[Any, Any]:
        """Return a new, plain `EventLog` holding what the journal's owner holds. O(n)."""
        log: EventLog[Any, Any] = EventLog()
        collecting = gc.isenabled()
        gc.disable()
        try:
            _replay_into(log, _Decoded(self.records, self.trims, self.first, self.survivors))
        finally:
            if collecting:
                gc.enable()
        return log


def read(path: str | os.PathLike[str]) -> Reading:
    """Read the journal at *path* without locking or changing it; safe while its owner writes.

    Returns every event in the intact frames as ``(timestamp, key, value)`` records. A torn tail
    (most often a frame being written right now) is left out silently.

    Raises:
        JournalFormatError: not a journal (wrong magic) or a damaged header.
        JournalCorruptError: damage followed by intact frames.
        ValueError: the file's codec needs a library that is not installed.
    """
    name = _check_path(path)
    with builtins.open(name, "rb") as f:
        return _read_from(f.read(), name)


def _read_from(data: bytes, name: str) -> Reading:
    """`read` of the journal whose bytes are *data* (read from the file at *name*)."""
    codec_name, start = parse_header(data, name)
    codec = get_codec(codec_name)
    found = scan(data, start)
    if found.damaged and found.next_frame is not None:
        raise _mid_file(name, found)
    got = _decode(codec, found.payloads, data, start, name)
    return Reading(
        name, codec_name, got.records, found.end, found.size, got.trims, got.first, got.survivors
    )


def _mid_file(path: str, found: Scan) -> JournalCorruptError:
    return JournalCorruptError(
        path,
        found.end,
        f"{path}: damaged at offset {found.end} (an intact frame follows at offset "
        f"{found.next_frame}); the file was not changed. Open it with on_corruption='truncate' "
        f"to keep the {len(found.payloads)} frames before the damage",
    )


# -- the journaled log -----------------------------------------------------------------------------

_live: weakref.WeakSet[_Journal] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for journal in list(_live):
        # a thread of the parent may have held it at the fork: the child's copy would stay held
        journal.fsync_lock = threading.Lock()
        journal.refusal = RuntimeError(
            f"journal {journal.path}: this process is a fork of the one that opened it "
            f"(pid {journal.pid}); a child cannot write through its parent's journal. "
            "Open a journal of its own in the child"
        )
        journal.forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _anything(obj: object) -> bool:
    return True


def _nothing(obj: object) -> bool:
    return False


class _Journal:
    """The open file: descriptor, lock, byte positions and failure state. Writer lock guards it."""

    def __init__(self, path: str, fd: int, lock_fd: int, codec: Codec, fsync: str) -> None:
        self.path = path
        self.fd = fd
        self.lock_fd = lock_fd
        self.codec = codec
        # JournaledLog.ingest's fast path: dumps unchecked, then fits(value) unless the value's
        # type is plain. It relies on dumps refusing ints past 64 bits (timestamps, keys): the
        # stdlib json writes them, so with it every write takes the checked path.
        self.dumps = codec.dumps
        self.plain: frozenset[type]
        self.fits: Callable[[Any], bool]
        if not codec.exact:
            self.plain, self.fits = frozenset(), _anything
        elif int in codec.plain:
            self.plain, self.fits = codec.plain, codec.fits
        else:
            self.plain, self.fits = frozenset(), _nothing
        self.policy = fsync
        self.pid = os.getpid()
        self.written = os.fstat(fd).st_size  # bytes handed to the OS
        self.synced = self.written  # bytes an fsync covered
        #: None while writable; else what every write raises (closed, failed fsync, forked).
        self.refusal: BaseException | None = None
        #: The failed fsync (or cut-back) that made the journal refuse writes, or None.
        self.failed: BaseException | None = None
        self.forked = False
        self.closed = False
        self.fds_closed = False
        #: Held around every fsync and while compact() swaps the file: never fsync a closed fd.
        self.fsync_lock = threading.Lock()
        _live.add(self)

    def write_payload(self, payload: bytes) -> None:
        """Frame *payload* and write it at the end, in one ``os.write`` when it can. Writer lock
        held. On failure, cut the frame back off and raise `JournalWriteError`."""
        frame = _pack_frame(_crc32(payload), len(payload)) + payload
        try:
            written = _os_write(self.fd, frame)
        except OSError:
            written = 0
        if written == len(frame):
            self.written += written
        else:  # a short write or an error: finish it or cut it off, and raise
            self.append_rest(frame, written)

    def append(self, frame: bytes) -> None:
        """Write one frame at the end. Writer lock held. On failure, cut it back off and raise."""
        self.append_rest(frame, 0)

    def append_rest(self, frame: bytes, done: int) -> None:
        """Write *frame* from byte *done* on; on failure, cut the whole frame off and raise."""
        try:
            # a short write means the disk is full, or RLIMIT_FSIZE: the next one says which
            _write_all(self.fd, memoryview(frame)[done:])
        except OSError as exc:
            self._cut_back()
            raise JournalWriteError(
                exc.errno,
                f"journal {self.path}: write failed ({os.strerror(exc.errno or 0)}); "
                "the write was refused: nothing was ingested",
            ) from exc
        self.written += len(frame)

    def _cut_back(self) -> None:
        """Remove a partly written frame, so the next frame follows an intact one."""
        try:
            os.ftruncate(self.fd, self.written)
        except OSError as exc:  # the file now ends in a torn frame: no frame may follow it
            self.refusal = self.failed = JournalWriteError(
                exc.errno,
                f"journal {self.path}: a failed write could not be cut back off "
                f"({os.strerror(exc.errno or 0)}); reopen the journal to recover it",
            )

    def fsync(self) -> None:
        """Fsync the file; on failure refuse every later write, and raise JournalWriteError."""
        position = self.written
        try:
            os.fdatasync(self.fd) if hasattr(os, "fdatasync") else os.fsync(self.fd)
        except OSError as exc:
            failure = JournalWriteError(
                exc.errno,
                f"journal {self.path}: fsync failed ({os.strerror(exc.errno or 0)}); the journal "
                "refuses every write until it is reopened (a failed fsync cannot be retried "
                "safely; with fsync='always', the writes it was to cover were refused)",
            )
            self.refusal = self.failed = failure
            raise failure from exc
        if position > self.synced:
            self.synced = position

    def close(self) -> None:
        """Close the descriptors, once (a second close could hit a reused descriptor number)."""
        if self.fds_closed:
            return
        self.fds_closed = True
        for fd in (self.fd, self.lock_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        _live.discard(self)


def _lock(path: str) -> int:
    """Take the journal's advisory lock (``PATH.lock``, flock: one per open file description)."""
    import fcntl

    lock_path = f"{path}.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise JournalLockedError(
                exc.errno,
                f"journal {path} is open already (its lock {lock_path} is held, by this process "
                "or another): one writer per journal",
            ) from None
        raise
    return fd


class JournaledLog(EventLog[K, V]):
    """An `EventLog` whose accepted writes are journaled to a file; made by `EventLog.open`.

    Everything an `EventLog` does, plus `sync`, `compact`, `close`, the context manager, and
    `recovery`: what opening found. Reads are exactly an `EventLog`'s: lock-free.

    Writes also raise `JournalWriteError` (the write or its fsync failed: the event is not in the
    log), ``TypeError`` naming the codec (a key or value it would not bring back equal: nothing
    written, nothing ingested), ``ValueError`` once closed, and ``RuntimeError`` in a forked child
    of the process that opened the journal. With ``fsync="always"``, `ingest` and `ingest_many`
    return, and readers see their events, only once an fsync covered their frame.
    """

    def __new__(cls, path: Any = None, *, fsync: str = "interval", **options: Any) -> Any:
        if cls is JournaledLog and fsync == "always":
            cls = _AlwaysLog
        return super().__new__(cls)

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: str = "interval",
        interval: float = 1.0,
        codec: str = "json",
        on_corruption: str = "raise",
        clock: Any = time.time_ns,
        max_events: int | None = None,
    ) -> None:
        name = _check_path(path)
        policy = _check_choice(fsync, "fsync", FSYNC_POLICIES)
        every = _check_interval(interval)
        _check_choice(on_corruption, "on_corruption", ON_CORRUPTION)
        super().__init__(clock=clock, max_events=max_events)
        self._journal: _Journal | None = None  # None while recovering: writes are not journaled
        self._group = policy == "always"
        self._sync_cv = threading.Condition(threading.Lock())
        self._syncing = False  # a thread is running the group-commit fsync
        self._waiting = 0  # threads waiting for an fsync to cover their frame (cv held)
        self._woken = 0  # how many the last fsync woke: the next leader lets them write first
        self._stop_flusher = threading.Event()
        self._flusher: threading.Thread | None = None
        self._compacting = threading.Lock()  # held by the one compaction running
        self._compactor: threading.Thread | None = None  # the last background compaction
        self._file_first = 0  # the offset of the file's first record: 0 or its start frame's
        the_codec = get_codec(codec)  # for pickle: warns at the user's line
        _refuse_foreign_file(name)  # before the lock file is made: a foreign file stays untouched
        lock_fd = _lock(name)
        collecting = gc.isenabled()
        gc.disable()  # decoded records cannot form cycles: the collector's passes are waste
        try:
            fd, recovery, found = _open_file(name, the_codec, on_corruption)
            try:
                _replay_into(self, found)
            except (TypeError, ValueError) as exc:  # intact frames whose records are not records
                os.close(fd)
                raise JournalCorruptError(
                    name, 0, f"{name}: intact frames hold something that is not events: {exc}"
                ) from exc
            except BaseException:
                os.close(fd)
                raise
        except BaseException:
            os.close(lock_fd)
            raise
        finally:
            if collecting:
                gc.enable()
        self._file_first = found.first
        del found
        self.recovery: Recovery = recovery
        self._journal = _Journal(name, fd, lock_fd, the_codec, policy)
        # a log dropped without close(): stop its thread and free the file and its lock
        weakref.finalize(self, _abandon, self._journal, self._stop_flusher)
        with self._lock:
            if self._trim_due:  # max_events: drop what it does not keep now, not at a write
                self._retain()
            self._update_slow()  # always: every write takes the general path; else see ingest
        if policy == "interval":
            self._flusher = threading.Thread(
                target=_flush_every,
                args=(self._journal, self._stop_flusher, every),
                name=f"cowlog journal flusher {name}",
                daemon=True,
            )
            self._flusher.start()

    def __repr__(self) -> str:
        journal = self._journal
        policy = journal.policy if journal is not None else "?"
        path = journal.path if journal is not None else "?"
        return f"<cowlog.JournaledLog: {len(self)} events, {path!r}, fsync={policy!r}>"

    # -- writers -----------------------------------------------------------------------------------

    def ingest(self, key: K, value: V, timestamp: int | None = None) -> int:
        """Append one event, journal it, and return its offset (see `EventLog.ingest`).

        Amortized O(1) plus one ``os.write``. The common case (a ``str`` or ``int`` key, an
        ``int`` timestamp, nothing unusual about the log) runs `EventLog.ingest`'s fast path with
        the frame written just before the version is published; everything else takes the
        general path (`_commit`), which costs 1.6x as much (measured on 200k events; see
        docs/performance.md#the-journal for what a journaled ingest costs).

        Examples:
            >>> import os, tempfile
            >>> log = EventLog.open(os.path.join(tempfile.mkdtemp(), "j"), fsync="never")
            >>> log.ingest("boot", "ok", 1)
            0
            >>> try:
            ...     log.ingest(("a", "tuple"), 1, 2)
            ... except TypeError as exc:
            ...     print(exc)
            key cannot be stored by the 'json' codec: a tuple would come back a list
            >>> list(log.replay())
            [(1, 'boot', 'ok')]
            >>> log.close()

        Raises:
            TypeError: as `EventLog.ingest`, or the codec would not bring *key* or *value* back
                equal (the message names the codec): nothing written, nothing ingested.
            JournalWriteError: the frame could not be written: the event is not in the log.
            LogClosedError: the log is closed.
            RuntimeError: a re-entrant write, or a forked child of the process that opened the
                journal.
        """
        # Mirrors EventLog.ingest's fast path, with the frame written before the store that
        # publishes: tests/test_layout.py checks the two copies statement for statement, and
        # tests/test_journal_stateful.py compares the log and its file after every step.
        if type(timestamp) is not int:
            if timestamp is not None:
                timestamp = check_timestamp(timestamp, "timestamp")
            elif self._clock is not _time_ns:
                return self._write_one(key, value, None)  # the clock may run Python code
        if type(key) is not str and type(key) is not int:
            return self._write_one(key, value, timestamp)  # its hash may run Python code
        if self._owner:
            self._refuse_reentry()
        with self._lock:
            journal = self._journal
            if self._slow or journal is None or journal.refusal is not None:
                return self._write([(key, value, timestamp)], True).start
            size, sealed, tail = self._version
            if timestamp is None:
                timestamp = _time_ns()  # under the lock: timestamps follow arrival order
            record = (timestamp, key, value)
            try:  # encoded and checked first: a refused value changes nothing
                payload = journal.dumps(record)
                if type(value) not in journal.plain and not journal.fits(value):
                    payload = b""
            except Exception:
                payload = b""
            if not payload:  # the general path says what is wrong with it, and changes nothing
                return self._write([(key, value, timestamp)], True).start
            history = self._histories.get(key)
            try:
                if history is None:
                    history = [timestamp, size]
                    self._histories[key] = history
                    self._keys.append(history)
                elif timestamp >= history[0]:  # ties go to the later arrival
                    history.append(size)  # first: the repair finds a history by its last offset
                    history[0] = timestamp
                if not size & CHUNK_MASK and size:  # the tail is full: seal it
                    sealed = self._seal(size, sealed, tail)
                    tail = []
                tail.append(record)
                journal.write_payload(payload)
                # publish last: a reader must never see a half-built version
                self._version = (size + 1, sealed, tail)
            except BaseException:
                self._dirty = self._slow = True
                self._repair()
                raise
        return size

    def _commit(self, size: int, version: Any) -> None:
        """Journal the records past *size* in *version*, then publish (or stage). Lock held."""
        journal = self._journal
        if journal is None or version[0] == size:  # recovering, or an empty batch: no frame
            EventLog._commit(self, size, version)
            return
        if journal.refusal is not None:
            raise _fresh(journal.refusal)
        journal.write_payload(_encode_records(journal.codec, _records(version, size)))
        if self._group:
            self._head = version  # staged: published once an fsync covers it
        else:
            EventLog._commit(self, size, version)

    # -- group commit ------------------------------------------------------------------------------

    def _await_durable(self, size: int) -> None:
        """Return once the published version holds *size* events (fsynced), leading if needed."""
        cv = self._sync_cv
        journal = self._journal
        assert journal is not None
        while True:
            with cv:
                while True:
                    if self._version[0] >= size:
                        return
                    if journal.failed is not None:
                        raise _fresh(journal.failed)
                    if not self._syncing:
                        self._syncing = True
                        break
                    self._waiting += 1
                    cv.wait()
                    self._waiting -= 1
            self._lead_sync()

    def _lead_sync(self) -> None:
        """Fsync once and publish the newest staged version it covered. ``_syncing`` is ours."""
        journal = self._journal
        assert journal is not None
        cv = self._sync_cv
        # Let the writers the last fsync woke stage their frames first (they wait for the GIL):
        # without this the leader races ahead and fsyncs its own frame alone (measured: 2 events
        # per fsync with 4 writers, instead of 3). Not when it woke nobody: a lone writer would
        # only give its CPU away (0.1 ms a write on a busy machine).
        if self._woken:
            _yield(0)
        staged = self._head  # its frames were all written before it was stored
        try:
            with journal.fsync_lock:
                journal.fsync()
        except BaseException:
            with cv:
                self._syncing = False
                self._woken = self._waiting
                cv.notify_all()
            self._roll_back()
            raise
        with self._lock:  # publish under the writer lock, as every other publication
            if staged is not None and staged[0] > self._version[0]:
                self._publish(staged)  # the store readers load, and the followers' wake-up
            if self._head is staged:  # nothing staged since: writes build on the published
                self._head = None
        with cv:
            self._syncing = False
            self._woken = self._waiting
            cv.notify_all()

    def _roll_back(self) -> None:
        """After a failed fsync: forget every staged write, and cut its frames off if possible."""
        with self._lock:
            self._roll_back_locked()

    def _roll_back_locked(self) -> None:
        journal = self._journal
        assert journal is not None
        if journal.failed is None:
            journal.failed = journal.refusal or JournalWriteError(errno.EIO, "fsync failed")
        self._head = None
        self._dirty = True
        self._repair()  # back to the published version
        if self._group:  # nothing past the last good fsync was acknowledged
            with contextlib.suppress(OSError):
                os.ftruncate(journal.fd, journal.synced)
                journal.written = journal.synced

    def _cover_staged_locked(self) -> None:
        """Fsync, and publish what is staged (``always``): writer lock held, so nothing is
        written meanwhile and the published version is then everything in the file."""
        journal = self._journal
        assert journal is not None
        try:
            with journal.fsync_lock:
                journal.fsync()
        except JournalWriteError:
            self._roll_back_locked()
            raise
        staged = self._head
        if staged is not None and staged[0] > self._version[0]:
            self._publish(staged)
        self._head = None

    # -- the file ----------------------------------------------------------------------------------

    def sync(self) -> None:
        """Fsync the journal now; with ``fsync="always"``, publish the writes it covered.

        Raises:
            JournalWriteError: the fsync failed (the journal then refuses every write).
            ValueError: the journal is closed.
        """
        journal = self._journal
        assert journal is not None
        if journal.refusal is not None:
            raise _fresh(journal.refusal)
        if self._group:
            head = self._head
            self._await_durable(head[0] if head is not None else self._version[0])
        with journal.fsync_lock:
            journal.fsync()

    def compact(self) -> int:
        """Rewrite the journal as the log holds it now, in frames of 1,024 events; return its size.

        The new file holds what the log retains: on a trimmed log, a start frame with its
        `first_offset` and the survivors of the trimmed events, then the retained records, so
        reopening it gives back the same offsets, replay and shortlog. It is written beside the
        old one while writers go on (from a snapshot), then, with writers waiting for a moment,
        the writes made meanwhile are appended, the file is fsynced and renamed over the old one,
        and the directory is fsynced: a crash at any point leaves the old journal or the new one,
        whole. O(n) for n retained events; readers never wait. A journaled log with retention
        (``max_events``, or `trim`) also compacts itself in a background thread, once the file
        holds more than twice the events the log retains (and 8,192 more).

        Raises:
            JournalWriteError: writing the new file failed; the old one is still in use, whole.
            LogClosedError: the log is closed (also if it was closed while compacting).
            TypeError: a stored value was changed after it was ingested into something the codec
                would not bring back equal; the old journal is still in use, whole.
        """
        journal = self._journal
        assert journal is not None
        path, codec = journal.path, journal.codec
        header = encode_header(codec.name)

        def frames_of(snap: Any) -> Iterator[bytes]:
            for frame in _frames_of(snap, codec):
                if journal.refusal is not None:  # closed meanwhile: stop here
                    raise _fresh(journal.refusal)
                yield frame

        def adopt(fd: int) -> None:  # right after the rename: the new file is the journal
            old, journal.fd = journal.fd, fd
            journal.written = journal.synced = size
            os.close(old)

        with self._compacting:  # one compaction at a time
            with self._lock:
                if journal.refusal is not None:
                    raise _fresh(journal.refusal)
                if self._group:
                    self._cover_staged_locked()
                snap = self.snapshot()  # everything in the file, all published
            try:  # writers go on meanwhile
                fd, size = _write_beside(path, header, frames_of(snap))
            except OSError as exc:
                raise _compaction_failed(journal, exc) from exc
            # From here *fd* is ours to close (or to hand to _rename_over, which takes it): -1 once
            # it is not, so that a descriptor number is never closed twice.
            try:
                with self._lock:  # writers wait from here: append what they wrote meanwhile
                    if journal.refusal is not None:
                        raise _fresh(journal.refusal)
                    if self._group:
                        self._cover_staged_locked()
                    now = self.snapshot()
                    if now.first_offset > snap.next_offset:  # trimmed past it: start again
                        _discard_beside(path, fd)
                        fd = -1
                        snap = now
                        fd, size = _write_beside(path, header, _frames_of(now, codec))
                    else:
                        for frame in _frames_after(now, snap, codec):
                            _write_all(fd, frame)
                            size += len(frame)
                    with journal.fsync_lock:
                        handed, fd = fd, -1
                        try:
                            _rename_over(path, handed, adopt)
                        except OSError as exc:
                            if journal.fd == handed:  # renamed, but its directory's fsync failed
                                raise _directory_sync_failed(journal, exc) from exc
                            raise
                    self._file_first = snap.first_offset
            except OSError as exc:
                if fd >= 0:
                    _discard_beside(path, fd)
                if isinstance(exc, JournalWriteError):
                    raise
                raise _compaction_failed(journal, exc) from exc
            except BaseException:
                if fd >= 0:
                    _discard_beside(path, fd)
                raise
        return size

    def _trim_to(self, before: int) -> int:
        """`EventLog._trim_to`, then start a background compaction if the file is mostly
        garbage: more than twice the events retained, plus 8,192. Lock held."""
        dropped = super()._trim_to(before)
        journal = self._journal
        if journal is not None and journal.refusal is None:
            size, sealed, _ = self._version
            if size - self._file_first > 2 * (size - sealed.first) + _AUTO_COMPACT_SLACK:
                compactor = self._compactor
                if compactor is None or not compactor.is_alive():
                    self._compactor = threading.Thread(
                        target=self._compact_quietly,
                        name=f"cowlog journal compactor {journal.path}",
                        daemon=True,
                    )
                    self._compactor.start()
        return dropped

    def _compact_quietly(self) -> None:
        """The background compaction: a failure leaves the old journal in use, and warns."""
        try:
            self.compact()
        except LogClosedError:
            pass
        except Exception as exc:  # the journal in use is whole: say so, and go on
            warnings.warn(
                f"automatic compaction failed: {exc}", JournalCompactionWarning, stacklevel=1
            )

    def trim(self, before: int) -> int:
        """Drop every event below offset *before* (see `EventLog.trim`), journaled as a frame.

        O(k + n/1,024) for k keys and n retained events, plus one frame (and with
        ``fsync="always"`` one fsync, after covering the writes staged before it). Recovery
        replays the trim where it was made, so offsets, `first_offset` and the shortlog come back
        as they were.

        Raises:
            TypeError: *before* is not an integer.
            ValueError: *before* is negative or beyond `next_offset`; the journal is closed.
            JournalWriteError: the frame could not be written: nothing was trimmed.
        """
        before = check_offset(before, "before")
        if self._owner:
            self._refuse_reentry()
        journal = self._journal
        assert journal is not None
        with self._lock:
            try:
                self._owner = threading.get_ident()
                if self._dirty:
                    self._repair()
                if journal.refusal is not None:
                    raise _fresh(journal.refusal)
                if self._group:
                    self._cover_staged_locked()
                size = self._version[0]
                if before > size:
                    raise ValueError(f"before must be <= next_offset ({size}), got {before}")
                if before <= self.first_offset:
                    return 0
                journal.append(encode_frame(journal.codec.encode({"trim": before})))
                if self._group:
                    with journal.fsync_lock:
                        journal.fsync()
                return self._trim_to(before)
            finally:
                self._owner = 0

    def close(self) -> None:
        """Close the log (see `EventLog.close`), then fsync and close the journal. Idempotent.

        Later writes raise `LogClosedError` (a ``ValueError``); reads and followers go on as after
        `EventLog.close`. With ``fsync="always"``, writes already written but not yet covered by
        an fsync are covered (and published) before the file is closed. O(1) plus one fsync.
        """
        journal = self._journal
        if journal is None or journal.closed:
            EventLog.close(self)
            return
        EventLog.close(self)  # no write gets past the core's check from here on
        with self._lock:
            if journal.refusal is None:
                journal.refusal = LogClosedError(f"journal {journal.path} is closed")
            journal.closed = True
        self._stop_flusher.set()
        for thread in (self._flusher, self._compactor):  # a compaction now stops at its next step
            if thread is not None and thread is not threading.current_thread():
                thread.join()
        try:
            if not journal.forked and journal.failed is None:
                if self._group:
                    head = self._head
                    if head is not None and head[0] > self._version[0]:
                        self._await_durable(head[0])
                with journal.fsync_lock:
                    journal.fsync()
        finally:
            with journal.fsync_lock:
                journal.close()

    def __enter__(self) -> JournaledLog[K, V]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _AlwaysLog(JournaledLog[K, V]):
    """A `JournaledLog` with ``fsync="always"``: writes return (and publish) after their fsync.

    A class of its own so that the other policies' writes pay nothing for group commit.
    """

    def _update_slow(self) -> None:
        """Keep every write on the general path, which calls `_commit`. Lock held."""
        self._slow = True

    def ingest(self, key: K, value: V, timestamp: int | None = None) -> int:
        """Append one event, journal it, and return its offset once an fsync covered its frame.

        Readers see the event only then too. Thread-safe: writers that wait together share one
        fsync (group commit).

        Raises:
            TypeError: as `EventLog.ingest`, or the codec cannot bring *key* or *value* back equal.
            JournalWriteError: the write or its fsync failed: the event is not in the log.
            ValueError: the journal is closed.
            RuntimeError: called in a forked child of the process that opened the journal.
        """
        offset: int = EventLog.ingest(self, key, value, timestamp)  # the general path: _slow
        self._await_durable(offset + 1)
        return offset

    def ingest_many(self, items: Iterable[tuple[K, V, int | None]]) -> Any:
        """Append a batch as one frame, all or nothing (see `EventLog.ingest_many`).

        Raises:
            TypeError: as `ingest`; an item the codec refuses is named by its index.
        """
        result = super().ingest_many(items)
        if len(result):
            self._await_durable(_stop_of(result))
        return result


def _abandon(journal: _Journal, stop: threading.Event) -> None:
    """What a journaled log garbage-collected without close() leaves to do."""
    stop.set()
    with journal.fsync_lock:
        journal.close()


def _stop_of(result: Any) -> int:
    """The size after a batch: ``range.stop`` (core 0.2) or the published size."""
    return int(result.stop)


def _fresh(exc: BaseException) -> BaseException:
    """A new exception like *exc*: raising one instance again and again piles up tracebacks."""
    try:
        return type(exc)(*exc.args)
    except Exception:
        return exc


def _flush_every(journal: _Journal, stop: threading.Event, interval: float) -> None:
    """The ``interval`` policy's thread: fsync whatever was written, every *interval* seconds."""
    while not stop.wait(interval):
        if journal.refusal is not None:
            return
        if journal.written != journal.synced:
            try:
                with journal.fsync_lock:
                    if journal.closed:
                        return
                    journal.fsync()
            except JournalWriteError:
                return  # the journal now refuses writes; the next one raises the error


def _encode_records(codec: Codec, records: list[Any]) -> bytes:
    """Return the payload holding *records* (``(timestamp, key, value)`` tuples), or TypeError.

    The payload is the codec's array ``[timestamp0, key0, value0, timestamp1, ...]``, checked by
    `Codec.encode` unless every field is of a type the codec's own ``dumps`` refuses or brings
    back equal (``codec.plain``). A record that would not come back equal, type for type, is
    refused with a message naming the codec, the item and what is wrong with it.
    """
    fields = list(chain.from_iterable(records))  # C all the way
    try:
        if set(map(type, fields)) <= codec.plain and int in codec.plain:
            return codec.dumps(fields)  # nothing to check: dumps refuses what would not come back
        return codec.encode(fields, "a record", wrapping=1)
    except Exception:  # a TypeError, or the library's own error: find the item, say what it is
        pass
    for index, (ts, key, value) in enumerate(records):
        where = "" if len(records) == 1 else f"items[{index}] "
        codec.encode(key, f"{where}key")
        codec.encode(value, f"{where}value")
        codec.encode(ts, f"{where}timestamp")
    return codec.encode(fields, "the batch", wrapping=1)  # pragma: no cover - an item failed


def _frames_after(now: Any, before: Any, codec: Codec) -> Iterator[bytes]:
    """The frames that take a journal holding snapshot *before* to snapshot *now* of the same
    log, trimmed no further than ``before.next_offset``: the records since, then a trim frame."""
    start = before.next_offset - now.first_offset
    for begin in range(start, len(now), _BATCH):
        yield encode_frame(_encode_records(codec, now[begin : begin + _BATCH]))
    if now.first_offset > before.first_offset:
        yield encode_frame(codec.encode({"trim": now.first_offset}))


def _directory_sync_failed(journal: _Journal, exc: OSError) -> JournalWriteError:
    """After a compaction's rename, the directory's fsync failed: the new file is in use, but the
    rename may not survive a power loss, and with it every later write. As after a failed fsync,
    the journal refuses every write until it is reopened."""
    failure = JournalWriteError(
        exc.errno,
        f"journal {journal.path}: compaction renamed the new journal into place but the "
        f"directory's fsync failed ({os.strerror(exc.errno or 0)}); the journal refuses every "
        "write until it is reopened (nothing acknowledged was lost)",
    )
    journal.refusal = journal.failed = failure
    return failure


def _compaction_failed(journal: _Journal, exc: OSError) -> JournalWriteError:
    return JournalWriteError(
        exc.errno,
        f"journal {journal.path}: compaction failed ({os.strerror(exc.errno or 0)}); the journal "
        "in use is unchanged",
    )


def _frames_of(snap: Any, codec: Codec) -> Iterator[bytes]:
    """The frames that rebuild *snap*: a start frame if it was trimmed, then the retained records
    in frames of ``_BATCH``."""
    first = snap.first_offset
    if first:
        kept = [[offset, *record] for offset, record in snap._dropped_survivors()]
        start = {"start": first, "kept": kept}
        # [offset, ts, key, value] in a list in a dict: 3 levels around each value
        yield encode_frame(codec.encode(start, "a survivor of a trimmed event", wrapping=3))
    for begin in range(0, len(snap), _BATCH):
        yield encode_frame(_encode_records(codec, snap[begin : begin + _BATCH]))


def _refuse_foreign_file(path: str) -> None:
    """Raise before anything is created or locked if *path* is a directory or not a journal."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, f"path {path!r} is a directory, not a journal file")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"path {path!r} is not a regular file")
    with builtins.open(path, "rb") as f:  # PermissionError if unreadable: nothing changed
        head = f.read(4096)
    if head:
        parse_header(head, path)


def _open_file(path: str, codec: Codec, on_corruption: str) -> tuple[int, Recovery, _Decoded]:
    """Open or create the journal (its lock held); recover it. Returns ``(fd, recovery, found)``."""
    flags = os.O_RDWR | os.O_APPEND | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        fd, size = _write_new_file(path, encode_header(codec.name), ())
        return fd, Recovery(path, True, 0, 0, size), _Decoded([], [])
    try:
        data = _read_all(fd)
        if not data:  # an empty file (made by a crash before our first header, or by touch)
            header = encode_header(codec.name)
            _write_all(fd, header)
            os.fsync(fd)
            return fd, Recovery(path, True, 0, 0, len(header)), _Decoded([], [])
        name, start = parse_header(data, path)
        if name != codec.name:
            raise ValueError(
                f"journal {path} was written with codec {name!r}; open it with codec={name!r}"
            )
        found = scan(data, start)
        if found.damaged and found.next_frame is not None and on_corruption == "raise":
            raise _mid_file(path, found)
        try:
            got = _decode(codec, found.payloads, data, start, path)
        except JournalCorruptError as exc:
            if on_corruption == "raise":
                raise
            keep = scan(data, start, starts=True, look_past_damage=False).starts.index(exc.offset)
            del found.payloads[keep:]
            found.end, found.next_frame = exc.offset, exc.offset
            got = _decode(codec, found.payloads, data, start, path)
        events = len(got.records) + len(got.survivors)
        recovery = Recovery(path, False, events, len(found.payloads), found.end)
        if found.damaged:
            saved = _save_beside(path, found.end, memoryview(data)[found.end :])
            os.ftruncate(fd, found.end)
            os.fsync(fd)
            recovery = Recovery(
                path,
                False,
                events,
                len(found.payloads),
                found.end,
                dropped_bytes=found.size - found.end,
                dropped_at=found.end,
                saved_to=saved,
                damage="torn tail" if found.next_frame is None else "damaged in the middle",
            )
        return fd, recovery, got
    except BaseException:
        os.close(fd)
        raise


def _records(version: Any, start: int) -> list[Any]:
    """The records of *version* from offset *start* to its end (all retained), by C slices."""
    size, sealed, tail = version
    base = sealed.base
    open_from = (base + len(sealed.chunks)) << CHUNK_BITS  # the first offset in the tail
    if start >= open_from:  # the common case: all in the open chunk
        return tail[start - open_from : size - open_from]  # type: ignore[no-any-return]
    first = (start >> CHUNK_BITS) - base
    runs = [sealed.chunks[i] for i in range(first, len(sealed.chunks))]
    runs[0] = runs[0][start & CHUNK_MASK :]
    records: list[Any] = list(chain.from_iterable(runs))  # the batch that sealed a chunk
    records += tail[: size - open_from]
    return records


# -- the public functions --------------------------------------------------------------------------


def open(
    path: str | os.PathLike[str],
    *,
    fsync: str = "interval",
    interval: float = 1.0,
    codec: str = "json",
    on_corruption: str = "raise",
    clock: Any = time.time_ns,
    max_events: int | None = None,
) -> JournaledLog[Any, Any]:
    """Open (or create) the journal at *path*: recover every event in it, then journal every write.

    See `EventLog.open`, the same function.
    """
    return JournaledLog(
        path,
        fsync=fsync,
        interval=interval,
        codec=codec,
        on_corruption=on_corruption,
        clock=clock,
        max_events=max_events,
    )


def dump(source: Any, path: str | os.PathLike[str], *, codec: str = "json") -> int:
    """Write a snapshot (or a log's current snapshot) to *path* in the journal format.

    Written beside, fsynced and renamed: *path* holds the old file or the new one, whole. O(n).
    Returns the number of retained events written (``len(snap)``). A trimmed snapshot is written
    as a compacted journal is: a start frame with its `first_offset` and the survivors of its
    trimmed events, then its records, so `load` brings back its offsets and shortlog.

    Raises:
        TypeError: a record does not round-trip through *codec* (nothing is written).
        ValueError: *codec* is unknown.
    """
    name = _check_path(path)
    the_codec = get_codec(codec)
    snap = source.snapshot() if isinstance(source, EventLog) else source
    frames = list(_frames_of(snap, the_codec))  # encoded first: a refused record writes nothing
    fd, _ = _write_new_file(name, encode_header(the_codec.name), frames)
    os.close(fd)
    return len(snap)


def load(path: str | os.PathLike[str], *, clock: Any = time.time_ns) -> EventLog[Any, Any]:
    """Read a file written by `dump` (or a journal) into a new, plain `EventLog`. O(n).

    The log is the one dumped: the same offsets, `first_offset`, replay and shortlog (a trimmed
    snapshot's survivors come back with it).

    Raises:
        JournalFormatError: not a journal or dump, or a damaged header.
        JournalCorruptError: any damage at all (a dump is written whole or not at all).
    """
    reading = read(path)
    if reading.end != reading.size:
        raise JournalCorruptError(
            reading.path, reading.end, f"{reading.path}: damaged at offset {reading.end}"
        )
    log: EventLog[Any, Any] = EventLog(clock=clock)
    collecting = gc.isenabled()
    gc.disable()
    try:
        _replay_into(
            log, _Decoded(reading.records, reading.trims, reading.first, reading.survivors)
        )
    except (TypeError, ValueError) as exc:  # intact frames whose records are not records
        raise JournalCorruptError(
            reading.path,
            0,
            f"{reading.path}: intact frames hold something that is not events: {exc}",
        ) from exc
    finally:
        if collecting:
            gc.enable()
    return log
