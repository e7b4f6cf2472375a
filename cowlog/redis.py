"""RedisEventLog: cowlog's contract on a Redis stream, shared by processes and hosts.

The only module of cowlog that imports ``redis`` (install ``cowlog[redis]``). The same API and
promises as `cowlog.EventLog` (offsets, the shortlog rule, atomic batches, snapshots of one
instant, bad input refused before anything is sent), with the differences Redis forces written
down in docs/redis.md. What lives on the server for a log named ``NAME``:

* ``NAME``: a stream; the event at offset ``o`` has the entry ID ``1-o`` (XADD refuses ``0-0``, so
  the offset is the ID's sequence part under a constant 1) and the fields ``t`` (the timestamp in
  decimal), ``k`` (the key in JSON) and ``v`` (the value, by the codec);
* ``{NAME}:meta``: a hash: ``format``, ``codec``, ``size`` (the next offset), ``first`` (the
  first retained offset) and ``kept`` (the oldest offset still in the stream: below ``first``
  while a snapshot pins it), both absent until retention first runs;
* ``{NAME}:latest``: a hash from each key (in a canonical JSON form, so that keys equal in Python
  share one survivor, as in a dict) to its survivor, ``"TIMESTAMP OFFSET KEY\\nVALUE"``;
* ``{NAME}:writer:ID``: one short string per writer slot, ``"SEQ FIRST COUNT"``: the last write it
  made, so that a write the client retries after a lost reply is answered, not applied twice.
  Expires after a day;
* ``{NAME}:pins`` and ``{NAME}:pin-until``: sorted sets, one member per live snapshot (or replay
  iterator with pages left): the oldest offset it may still read, and its deadline. Retention
  never trims the stream below a live pin.

Every write is one EVALSHA of `_WRITE` (checks first, then writes: a script error is not rolled
back), and every read that must see one instant is one call too. Nothing here decodes a timestamp
in Lua (Lua numbers are doubles): timestamps travel and compare as decimal strings.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Callable, Hashable, Iterable, Iterator, Sequence
from itertools import chain
from types import TracebackType
from typing import Any, Final, Generic, TypeVar, overload

from ._checks import (
    LogClosedError,
    Record,
    TrimmedError,
    check_index,
    check_max_events,
    check_offset,
    check_timestamp,
)
from ._codec import UnsafeCodecWarning, get_codec
from ._follow import check_timeout

try:
    import redis
    from redis.client import NEVER_DECODE
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import NoScriptError, RedisError, ResponseError
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("cowlog.redis needs redis-py: pip install 'cowlog[redis]'") from exc

__all__ = [
    "FormatError",
    "RedisEventLog",
    "RedisSnapshot",
    "ServerError",
    "SnapshotTrimmedError",
    "UnsafeCodecWarning",
]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: Stored in ``{NAME}:meta``; a log in any other format is refused, never reinterpreted.
FORMAT: Final = "cowlog-stream/1"
#: Script flags (``#!lua flags=...``) need Redis 7.0.
MIN_SERVER: Final = (7, 0)
#: Seconds a writer slot's last result is kept for a retry to find.
WRITER_TTL: Final = 86_400
#: Entries per XRANGE when reading: bigger pages, fewer round trips, more memory per page.
PAGE: Final = 2_048
#: A batch is one script run, and the server serves no one else while it runs (about 8 us per
#: event on the machine in docs/redis.md: 0.8 s for a batch this size).
MAX_BATCH: Final = 100_000
#: Seconds a snapshot (or a replay iterator with pages left to read) keeps the events it shows on
#: the server against retention, unless it is garbage-collected first (which releases it).
PIN_TTL: Final = 3_600

_NAME = re.compile(r"[^\s{}]{1,512}")
_NEVER: Final = {NEVER_DECODE: True}


class ServerError(RuntimeError):
    """The server cannot hold a cowlog log: unreachable, not Redis, or too old."""


class FormatError(ValueError):
    """The keys under the log's name hold something cowlog did not write, or in another format."""


class SnapshotTrimmedError(TrimmedError):
    """A snapshot or replay iterator can no longer read events it showed: they left the server.

    A Redis snapshot is not a copy: it reads events from the stream when asked for them, and keeps
    them there against retention with a *pin* that lasts PIN_TTL seconds (or until the snapshot is
    garbage-collected). Past that, a trim may drop them, and reading them raises this error
    instead of returning less. `first_offset` is the oldest offset the server still holds for the
    log: take a new snapshot, or ``log.replay(err.first_offset)``.
    """

    def __init__(self, name: str, since: int, first_offset: int) -> None:
        super().__init__(since, first_offset)
        self.args = (
            f"{name}: offset {since} was trimmed from the server after this snapshot or replay "
            f"was made (its pin expired or was lost): a Redis snapshot reads the stream, it is "
            f"not a copy; the oldest retained offset is {first_offset}",
        )


# -- Lua ------------------------------------------------------------------------------------------

# KEYS: stream, meta, latest (, writer). ARGV[1]: FORMAT, ARGV[2]: codec name. Raises unless the
# keys are a log in this format and codec (or absent); returns its size, and whether the metadata
# exists. Reads only. Two commands on the hot path (HMGET, XLEN); TYPE only when there is no
# metadata. pcall: a key of the wrong type becomes a clear COWLOG error, not WRONGTYPE.
_CHECK = """
local function fail(why) error(redis.error_reply('COWLOG ' .. why)) end
local function checked_size()
  local meta = redis.pcall('HMGET', KEYS[2], 'format', 'codec', 'size', 'first', 'kept')
  if meta['err'] then
    fail(KEYS[2] .. ' is a ' .. redis.call('TYPE', KEYS[2])['ok'] .. ', not a hash')
  end
  if not (meta[1] or meta[2] or meta[3]) then  -- no metadata: only nothing may be there
    if redis.call('EXISTS', KEYS[2]) == 1 then
      fail(KEYS[2] .. ' is a hash cowlog did not write')
    end
    local stream_type = redis.call('TYPE', KEYS[1])['ok']
    if stream_type ~= 'none' then
      fail(KEYS[1] .. ' is a ' .. stream_type .. ' that cowlog did not write (no '
           .. KEYS[2] .. ')')
    end
    if redis.call('EXISTS', KEYS[3]) == 1 then fail(KEYS[3] .. ' exists without ' .. KEYS[2]) end
    return 0, false, 0, 0
  end
  if meta[1] ~= ARGV[1] then
    fail(KEYS[2] .. ' says format ' .. tostring(meta[1]) .. ', this is ' .. ARGV[1])
  end
  if meta[2] ~= ARGV[2] then
    fail(KEYS[1] .. ' was written with codec ' .. tostring(meta[2]) .. ', opened with ' .. ARGV[2])
  end
  local size = tonumber(meta[3])
  local first, kept = tonumber(meta[4] or '0'), tonumber(meta[5] or '0')
  -- the stream holds offsets kept..size-1: first..size-1 retained, kept..first-1 still pinned
  if redis.pcall('XLEN', KEYS[1]) ~= size - kept then
    fail(KEYS[1] .. ' is not the stream of ' .. meta[3] .. ' events cowlog wrote: another '
         .. 'program changed it')
  end
  return size, true, first, kept
end
local function survivor(field)  -- the stored survivor of a key, or false
  local stored = redis.pcall('HGET', KEYS[3], field)
  if type(stored) == 'table' then fail(KEYS[3] .. ' is not a hash') end
  return stored
end
"""

# KEYS[4], KEYS[5]: the pins (score: the oldest offset a held snapshot or replay may still read;
# member: its id) and their deadlines (score: server seconds). Drops expired pins, then the stream
# below the logical first offset or the oldest live pin, whichever is lower; returns the new kept.
# Only writes: call it after every check.
_RELEASE = """
local function release(first, kept, existed)
  local now = tonumber(redis.call('TIME')[1])
  local expired = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', '(' .. now)
  for i = 1, #expired, 1000 do
    local part = {unpack(expired, i, math.min(i + 999, #expired))}
    redis.call('ZREM', KEYS[4], unpack(part))
    redis.call('ZREM', KEYS[5], unpack(part))
  end
  local floor = first
  local oldest = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
  if oldest[2] and tonumber(oldest[2]) < floor then floor = tonumber(oldest[2]) end
  if floor > kept and existed then
    redis.call('XTRIM', KEYS[1], 'MINID', '1-' .. string.format('%d', floor))
    redis.call('HSET', KEYS[2], 'kept', string.format('%d', floor))
    return floor
  end
  return kept
end
local function unpin(id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('ZREM', KEYS[5], id)
end
local function pin(id, offset, ttl)
  local now = tonumber(redis.call('TIME')[1])
  redis.call('ZADD', KEYS[4], offset, id)
  redis.call('ZADD', KEYS[5], now + tonumber(ttl), id)
end
"""

# Exact order of two timestamps in canonical decimal (any size): never through a Lua number,
# which is a double, except for chunks of 15 digits, which a double holds exactly.
_LESS = """
local function less(a, b)
  local neg = string.byte(a, 1) == 45
  if neg ~= (string.byte(b, 1) == 45) then return neg end
  if #a ~= #b then return (#a < #b) ~= neg end
  for i = neg and 2 or 1, #a, 15 do
    local x, y = tonumber(string.sub(a, i, i + 14)), tonumber(string.sub(b, i, i + 14))
    if x ~= y then return (x < y) ~= neg end
  end
  return false
end
"""

# KEYS: stream, meta, latest, pins, pin deadlines, writer. ARGV: FORMAT, codec, seq, ttl,
# max_events (0: keep everything), slack, then per event: timestamp, canonical key, key, value.
# Returns {first offset, count}. Retention runs after the appends: once more than max_events +
# slack events are retained, the logical first offset moves to keep exactly max_events, and the
# stream is trimmed below it (or below the oldest pin). Survivors need no move: the latest hash
# holds each survivor's whole record.
_WRITE = (
    "#!lua\n"
    + _CHECK
    + _LESS
    + _RELEASE
    + """
local done = redis.call('GET', KEYS[6])
if done then  -- a retry of a write that ran but whose reply was lost: answer, write nothing
  local seq, first, count = string.match(done, '^(%d+) (%d+) (%d+)$')
  if seq == ARGV[3] then return {tonumber(first), tonumber(count)} end
end
local size, existed, first, kept = checked_size()
local n = (#ARGV - 6) / 4
-- Every read before the first write: a script error is not rolled back.
local best, top, order = {}, {}, {}  -- per canonical key: survivor's ARGV index, its timestamp
for j = 7, 6 + 4 * n, 4 do
  local ts, field = ARGV[j], ARGV[j + 1]
  local current = top[field]
  if current == nil then  -- the key's first event in this batch: its stored survivor, if any
    local stored = survivor(field)
    current = stored and string.sub(stored, 1, string.find(stored, ' ', 1, true) - 1) or false
    best[field] = false
    order[#order + 1] = field
  end
  if not current or not less(ts, current) then  -- ties go to the later arrival
    best[field] = j
    top[field] = ts
  else
    top[field] = current
  end
end
for i = 0, n - 1 do
  local j = 7 + 4 * i
  redis.call('XADD', KEYS[1], '1-' .. string.format('%d', size + i),
             't', ARGV[j], 'k', ARGV[j + 2], 'v', ARGV[j + 3])
end
for _, field in ipairs(order) do
  local j = best[field]
  if j then
    redis.call('HSET', KEYS[3], field, ARGV[j] .. ' ' .. string.format('%d', size + (j - 7) / 4)
               .. ' ' .. ARGV[j + 2] .. '\\n' .. ARGV[j + 3])
  end
end
if existed then
  redis.call('HSET', KEYS[2], 'size', string.format('%d', size + n))
else
  redis.call('HSET', KEYS[2], 'format', ARGV[1], 'codec', ARGV[2],
             'size', string.format('%d', size + n))
end
local limit = tonumber(ARGV[5])
if limit > 0 and size + n - first > limit + tonumber(ARGV[6]) then
  first = size + n - limit
  redis.call('HSET', KEYS[2], 'first', string.format('%d', first))
  release(first, kept, true)
end
redis.call('SET', KEYS[6], ARGV[3] .. ' ' .. string.format('%d', size) .. ' ' .. n,
           'EX', ARGV[4])
return {size, n}
"""
)

# KEYS: stream, meta, latest, pins, pin deadlines. ARGV: FORMAT, codec, mode, then by mode:
# "size": {size, first}. "shortlog": {size, first, HGETALL latest}. "snapshot": ARGV pin id,
# ttl, then ids of released pins: the same, after pinning the first offset for the snapshot's
# later reads. "replay": ARGV since (-1: from first), count, pin id ('' for none), ttl, released
# pin ids: {size, first, up to count entries from since} (none if since is below first; the pin
# is taken only if more pages remain). Writes only pins: every check comes first.
_READ = (
    "#!lua\n"
    + _CHECK
    + _RELEASE
    + """
local size, existed, first = checked_size()
local mode = ARGV[3]
if mode == 'size' then return {size, first} end
if mode == 'shortlog' or mode == 'snapshot' then
  local survivors = redis.pcall('HGETALL', KEYS[3])
  if survivors['err'] then fail(KEYS[3] .. ' is not a hash') end
  if mode == 'snapshot' then
    for i = 6, #ARGV do unpin(ARGV[i]) end
    if size > first then pin(ARGV[4], first, ARGV[5]) end
  end
  return {size, first, survivors}
end
local since = tonumber(ARGV[4])
if since < 0 then since = first end  -- from the oldest retained
if since < first or since >= size then return {size, first, {}} end
for i = 8, #ARGV do unpin(ARGV[i]) end
local last = math.min(size, since + tonumber(ARGV[5])) - 1
if last < size - 1 and ARGV[6] ~= '' then pin(ARGV[6], last + 1, ARGV[7]) end
return {size, first, redis.call('XRANGE', KEYS[1], '1-' .. string.format('%d', since),
                                '1-' .. string.format('%d', last))}
"""
)

# KEYS: stream, meta, latest, pins, pin deadlines. ARGV: FORMAT, codec, before, released pin
# ids. Moves the logical
# first offset up to *before* and trims the stream (see release); returns how many events the
# first offset moved over. Refuses a *before* beyond the size before writing anything.
_TRIM = (
    "#!lua\n"
    + _CHECK
    + _RELEASE
    + """
local size, existed, first, kept = checked_size()
local before = tonumber(ARGV[3])
if before > size then
  error(redis.error_reply('COWLOGVALUE before must be <= next_offset (' ..
                          string.format('%d', size) .. '), got ' .. ARGV[3]))
end
if not existed then return 0 end
for i = 4, #ARGV do unpin(ARGV[i]) end
local dropped = 0
if before > first then
  dropped = before - first
  first = before
  redis.call('HSET', KEYS[2], 'first', string.format('%d', first))
end
release(first, kept, true)
return dropped
"""
)


class _Script:
    __slots__ = ("sha", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()


_WRITE_SCRIPT: Final = _Script(_WRITE)
_READ_SCRIPT: Final = _Script(_READ)
_TRIM_SCRIPT: Final = _Script(_TRIM)


# -- argument checks (the same refusals as EventLog, before any round trip) ----------------------


_KEY_SCALARS: Final = frozenset({str, int, type(None)})
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _encode_key(key: object, what: str) -> tuple[bytes, bytes]:
    """Return *key*'s canonical form (the shortlog's index) and its JSON (what replay returns).

    Keys are ``str``, ``int``, ``bool``, ``None`` or tuples of them, exact types: JSON gives each
    back as it was (a JSON array comes back a tuple: a key is never a list). The canonical form
    writes ``True`` as ``1`` and ``False`` as ``0``, because they are the same dict key in Python.
    """
    kind = type(key)
    if kind in _KEY_SCALARS:
        try:
            data = _dumps(key).encode()
        except (UnicodeEncodeError, ValueError) as exc:  # a lone surrogate; an int too long
            raise TypeError(f"{what} cannot be stored: {exc}") from None
        return data, data
    if kind is bool:
        return (b"1", b"true") if key else (b"0", b"false")
    try:
        hash(key)
    except TypeError as exc:
        raise TypeError(f"{what} must be hashable, got {kind.__name__}") from exc
    if kind is not tuple:
        raise TypeError(
            f"{what} of type {kind.__name__} cannot be stored in Redis: keys must be str, int, "
            f"bool, None or tuples of them (exact types), so that they come back equal"
        )
    canonical = _canonical(key, what)  # type: ignore[arg-type]
    try:
        return _dumps(canonical).encode(), _dumps(key).encode()
    except (UnicodeEncodeError, ValueError) as exc:
        raise TypeError(f"{what} cannot be stored: {exc}") from None


def _canonical(key: tuple[Any, ...], what: str) -> list[Any]:
    out: list[Any] = []
    for part in key:
        kind = type(part)
        if kind in _KEY_SCALARS:
            out.append(part)
        elif kind is bool:
            out.append(int(part))
        elif kind is tuple:
            out.append(_canonical(part, what))
        else:
            raise TypeError(
                f"{what} holds a {kind.__name__}: keys must be str, int, bool, None or tuples "
                f"of them (exact types), so that they come back equal"
            )
    return out


def _tuples(obj: Any) -> Any:
    """JSON arrays back to tuples, all the way down (a stored key is never a list)."""
    return tuple(map(_tuples, obj)) if type(obj) is list else obj


class _KeyCache(dict[bytes, Any]):
    """Decoded keys by their JSON: logs repeat a few keys many times. At most 65,536 kept."""

    def __missing__(self, data: bytes) -> Any:
        key = _tuples(json.loads(data))
        if len(self) < 65_536:
            self[data] = key
        return key


# -- the log --------------------------------------------------------------------------------------


class RedisEventLog(Generic[K, V]):
    """An event log in a Redis stream: `EventLog`'s contract, shared by every process that opens it.

    Any number of threads and processes may call any method at any time; writes from all of them
    are linearizable (the server runs one script at a time) and every snapshot shows one instant.
    Make the log (and its client) in each process after any ``fork``, and share it between that
    process's threads: redis-py keeps a pool of connections.

    Args:
        client_or_url: a ``redis.Redis`` client, or a URL such as ``redis://127.0.0.1:6379/0``.
        name: the stream's key: printable, no whitespace, no ``{`` or ``}``, at most 512 chars.
        codec: how values are stored: ``"json"`` (the default), ``"msgpack"`` (needs msgspec;
            adds ``bytes``) or ``"pickle"`` (anything picklable; warns with
            `UnsafeCodecWarning`: reading runs code chosen by the writer). With json and msgpack
            a value that would not come back equal, type for type, is refused (docs/redis.md).
        clock: called, on the client, for the timestamp of an event ingested with
            ``timestamp=None`` (one reading per batch). Default: `time.time_ns`.
        max_events: keep at least the newest *max_events* events for replay: a write that leaves
            more than ``max_events + max(1, min(1,024, max_events // 8))`` retained moves
            `first_offset` to keep exactly *max_events*, in the same script run, and trims the
            stream below it (`trim`). The setting belongs to this object: every process that
            writes should pass the same. Default: ``None``, keep everything.

    Raises:
        ServerError: the server is unreachable, is not Redis, or is older than 7.0.
        FormatError: the keys under *name* hold something cowlog did not write, or were written
            with another codec.
        TypeError, ValueError: a bad argument.
    """

    #: Seconds a snapshot's pin lasts (see `SnapshotTrimmedError`); a test may lower it.
    _pin_ttl: int = PIN_TTL
    #: The scripts this log runs (a test swaps in a broken one to prove the tests catch it).
    _write_script: _Script = _WRITE_SCRIPT
    _read_script: _Script = _READ_SCRIPT
    _trim_script: _Script = _TRIM_SCRIPT

    def __init__(
        self,
        client_or_url: redis.Redis | str,
        name: str,
        *,
        codec: str = "json",
        clock: Callable[[], int] = time.time_ns,
        max_events: int | None = None,
    ) -> None:
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {type(name).__name__}")
        if not (_NAME.fullmatch(name) and name.isprintable()):
            raise ValueError(
                f"name must be 1 to 512 printable characters without whitespace, '{{' or '}}', "
                f"got {name!r}"
            )
        if not callable(clock):
            raise TypeError(f"clock must be callable, got {type(clock).__name__}")
        self.max_events = check_max_events(max_events)
        self._codec = get_codec(codec)
        if isinstance(client_or_url, str):
            where = client_or_url
            client = redis.Redis.from_url(client_or_url, socket_connect_timeout=5)
        elif isinstance(client_or_url, redis.Redis):
            client = client_or_url
            where = _describe(client)
        else:
            raise TypeError(
                f"client_or_url must be a redis.Redis or a URL, got {type(client_or_url).__name__}"
            )
        self.name = name
        self._client = client
        # The same connection pool without redis-py's reply callbacks (XRANGE's builds a dict per
        # entry): cowlog reads raw replies by position. One pool per process, shared by threads.
        self._raw = redis.Redis(connection_pool=client.connection_pool)
        self._raw.response_callbacks.clear()
        self._execute: Callable[..., Any] = self._raw.execute_command  # redis-py leaves it untyped
        self._where = where
        self._clock = clock
        self._stream = name
        self._meta = f"{{{name}}}:meta"
        self._latest = f"{{{name}}}:latest"
        self._keys3 = (self._stream, self._meta, self._latest)
        self._keys5 = (*self._keys3, f"{{{name}}}:pins", f"{{{name}}}:pin-until")
        self._head = [FORMAT, self._codec.name]
        slack = 0 if max_events is None else max(1, min(1024, max_events // 8))
        # FORMAT, codec, the writer slot's seq (set per call), its TTL, retention, then events
        self._write_head = [*self._head, 0, WRITER_TTL, max_events or 0, slack]
        self._released: list[str] = []  # pins of snapshots collected since, to drop on the server
        self._closed = False
        self._key_of = _KeyCache()
        self._decode = self._codec.decode
        # Writer slots: one per call in flight, reused, so their number stays that of the threads
        # writing at once. A slot's sequence numbers rise by one per write it makes.
        self._slots: list[list[Any]] = []
        self._pid = os.getpid()
        self._slots_lock = threading.Lock()
        self._check_server()

    def __repr__(self) -> str:
        closed = ", closed" if self._closed else ""
        return f"<cowlog.RedisEventLog {self.name!r} on {self._where}{closed}>"

    # -- round trips -----------------------------------------------------------------------------

    def _check_server(self) -> None:
        """Fail now, and clearly, if the server cannot hold this log. Two round trips."""
        try:
            info = self._client.info("server")
        except RedisConnectionError as exc:
            raise ServerError(f"cannot reach Redis at {self._where}: {exc}") from exc
        except (RedisError, OSError) as exc:
            raise ServerError(f"{self._where} does not answer as Redis does: {exc}") from exc
        reported = info.get("redis_version") if isinstance(info, dict) else None
        found = re.match(r"(\d+)\.(\d+)", str(reported))
        if found is None:
            raise ServerError(f"{self._where} does not answer as Redis does: no redis_version")
        version = (int(found[1]), int(found[2]))
        if version < MIN_SERVER:
            raise ServerError(
                f"cowlog.redis needs Redis {MIN_SERVER[0]}.{MIN_SERVER[1]} or newer (for script "
                f"flags); {self._where} runs {reported}"
            )
        self._read("size")

    def _eval(self, script: _Script, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """EVALSHA *script*; load it once if the server does not have it (first use, a restart,
        SCRIPT FLUSH). A COWLOG error from the script becomes a FormatError."""
        execute = self._execute
        try:
            try:
                return execute("EVALSHA", script.sha, len(keys), *keys, *args, **_NEVER)
            except NoScriptError:
                execute("SCRIPT", "LOAD", script.source)
                return execute("EVALSHA", script.sha, len(keys), *keys, *args, **_NEVER)
        except ResponseError as exc:
            message = str(exc)
            if message.startswith("COWLOG "):
                raise FormatError(message[7:]) from None
            if message.startswith("COWLOGVALUE "):
                raise ValueError(message[12:]) from None
            raise

    def _read(self, mode: str, *args: Any) -> Any:
        """Run the read script in *mode* (see _READ); hand it the pins released since."""
        if mode == "snapshot" or mode == "replay":
            released, self._released = self._released, []
            args = (*args, *released)
        return self._eval(self._read_script, self._keys5, (*self._head, mode, *args))

    def _pin(self, owner: object) -> str:
        """A new pin id, released (dropped on the server at the next pinning read) when *owner*
        is garbage-collected."""
        pin = uuid.uuid4().hex
        weakref.finalize(owner, self._release, pin)
        return pin

    def _release(self, pin: str) -> None:
        self._released.append(pin)

    def _write(self, args: list[Any]) -> tuple[int, int]:
        """Run the write script with *args* (the head's seq slot filled here); return
        (first offset, count). Exactly once, however often redis-py retries the call."""
        slot = self._take_slot()
        try:
            slot[1] += 1
            args[2] = slot[1]
            first, count = self._eval(self._write_script, (*self._keys5, slot[0]), args)
        finally:
            self._slots.append(slot)
        return int(first), int(count)

    def _take_slot(self) -> list[Any]:
        if self._pid != os.getpid():  # forked: the parent's slots are the parent's
            with self._slots_lock:
                if self._pid != os.getpid():
                    self._slots = []
                    self._pid = os.getpid()
        try:
            return self._slots.pop()
        except IndexError:
            return [f"{{{self.name}}}:writer:{uuid.uuid4().hex}", 0]

    def _entries(self, start: int, stop: int) -> list[Any]:
        """The raw entries at offsets start..stop-1 (stop - start <= PAGE), in one XRANGE."""
        entries: list[Any] = self._execute(
            "XRANGE", self._stream, f"1-{start}", f"1-{stop - 1}", **_NEVER
        )
        if len(entries) != stop - start:
            if not entries or entries[0][0] != b"1-%d" % start:
                _, first = self._read("size")
                kept = int(self._execute("HGET", self._meta, "kept", **_NEVER) or 0)
                if start < kept:
                    raise SnapshotTrimmedError(self.name, start, int(first))
            raise FormatError(
                f"{self._stream}: offsets {start} to {stop - 1} hold {len(entries)} entries, "
                f"not {stop - start}: the stream was trimmed or changed by another program"
            )
        return entries

    def _records(self, entries: list[Any]) -> list[Record[K, V]]:
        key_of, decode = self._key_of, self._decode
        return [(int(f[1]), key_of[f[3]], decode(f[5])) for _, f in entries]

    def _pages(
        self, first: list[Record[K, V]], start: int, stop: int
    ) -> Iterator[list[Record[K, V]]]:
        yield first
        records = self._records
        for page in range(start, stop, PAGE):
            yield records(self._entries(page, min(page + PAGE, stop)))

    def _replay(self, first: list[Record[K, V]], start: int, stop: int) -> Iterator[Record[K, V]]:
        """The records from *start* to *stop*, *first* being those from *start* on, read already."""
        return chain.from_iterable(self._pages(first, start + len(first), stop))

    def _survivors(
        self, flat: list[bytes]
    ) -> tuple[list[Record[K, V]], list[int], dict[bytes, Record[K, V]]]:
        """Parse HGETALL of the latest hash: the shortlog in log order, its offsets, and the
        records by canonical key."""
        key_of, decode = self._key_of, self._decode
        by_offset = []
        by_field: dict[bytes, Record[K, V]] = {}
        for i in range(0, len(flat), 2):
            timestamp, offset, rest = flat[i + 1].split(b" ", 2)
            key, value = rest.split(b"\n", 1)
            record = (int(timestamp), key_of[key], decode(value))
            by_offset.append((int(offset), record))
            by_field[flat[i]] = record
        by_offset.sort(key=_first)
        return [record for _, record in by_offset], [o for o, _ in by_offset], by_field

    # -- writers ---------------------------------------------------------------------------------

    def ingest(self, key: K, value: V, timestamp: int | None = None) -> int:
        """Append one event and return its offset.

        One round trip (one script run: append, update the key's survivor, record the result for
        a retry). Thread- and process-safe. Visible to every snapshot taken after this returns.

        Raises:
            TypeError: *timestamp* is not an int or None (``bool`` is refused), the clock returned
                something else, *key* is not hashable or not a storable key, or *value* cannot be
                stored by the codec. Nothing is sent.
            LogClosedError: `close` was called on this object. Nothing is sent.
        """
        if self._closed:
            raise LogClosedError(f"{self!r}: the log is closed, nothing was written")
        if type(timestamp) is not int and timestamp is not None:
            timestamp = check_timestamp(timestamp, "timestamp")
        field, key_json = _encode_key(key, "key")
        data = self._codec.encode(value, "value")
        if timestamp is None:
            timestamp = check_timestamp(self._clock(), "clock()")
        return self._write([*self._write_head, timestamp, field, key_json, data])[0]

    def ingest_many(self, items: Iterable[tuple[K, V, int | None]]) -> range:
        """Append a batch of ``(key, value, timestamp)`` items, all at once; return their offsets.

        All or nothing: every item is checked and encoded before the one round trip, and the
        server applies the batch in one script run, which no reader or writer sees in part. Items
        whose timestamp is ``None`` share one clock reading. An empty batch sends nothing and
        returns an empty range at the current size (one round trip to read it).

        Raises:
            TypeError: an item is not a ``(key, value, timestamp)`` tuple or list, or one of its
                fields is refused as `ingest` refuses it; the message names the item's index.
            ValueError: an item has the wrong length, or the batch has more than MAX_BATCH items.
            LogClosedError: `close` was called on this object. Nothing is sent.
        """
        if self._closed:
            raise LogClosedError(f"{self!r}: the log is closed, nothing was written")
        batch = items if type(items) is list else list(items)
        if len(batch) > MAX_BATCH:
            raise ValueError(
                f"items holds {len(batch):,} events; a batch runs as one script, which blocks the "
                f"server while it runs: send at most {MAX_BATCH:,} per call"
            )
        if not batch:
            size = self.next_offset
            return range(size, size)
        args: list[Any] = [*self._write_head]
        append = args.append
        encode = self._codec.encode
        clocked: list[int] = []
        for index, item in enumerate(batch):
            if type(item) is not tuple and type(item) is not list:
                raise TypeError(
                    f"items[{index}] must be a (key, value, timestamp) tuple, "
                    f"got {type(item).__name__}"
                )
            if len(item) != 3:
                raise ValueError(
                    f"items[{index}] must have 3 fields (key, value, timestamp), got {len(item)}"
                )
            key, value, timestamp = item
            if type(timestamp) is not int:
                if timestamp is None:
                    clocked.append(len(args))
                else:
                    timestamp = check_timestamp(timestamp, f"items[{index}] timestamp")
            field, key_json = _encode_key(key, f"items[{index}] key")
            append(timestamp)
            append(field)
            append(key_json)
            append(encode(value, f"items[{index}] value"))
        if clocked:
            now = check_timestamp(self._clock(), "clock()")
            for position in clocked:
                args[position] = now
        first, count = self._write(args)
        return range(first, first + count)

    # -- readers ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        """Return the number of retained events (``next_offset - first_offset``). One round trip
        (HMGET), O(1)."""
        size, first = self._execute("HMGET", self._meta, "size", "first", **_NEVER)
        return int(size or 0) - int(first or 0)

    @property
    def first_offset(self) -> int:
        """The offset of the oldest retained event: how many were dropped so far. One round trip."""
        return int(self._execute("HGET", self._meta, "first", **_NEVER) or 0)

    @property
    def next_offset(self) -> int:
        """The offset the next event will get: how many were ever ingested. One round trip."""
        return int(self._execute("HGET", self._meta, "size", **_NEVER) or 0)

    def snapshot(self) -> RedisSnapshot[K, V]:
        """Return a consistent, immutable view of the log as it is now.

        One round trip, O(k) for k keys: the first and next offsets and the whole shortlog are
        read together (the in-process log's O(1) is out of reach when the shortlog lives on a
        server). Replay, indexing and slicing read the stream later, by offset: entries never
        change, and the snapshot *pins* its retained events on the server against retention for
        PIN_TTL seconds, or until it is garbage-collected. Reading an event after a trim dropped
        it anyway raises `SnapshotTrimmedError`, never less than the snapshot showed.
        """
        holder = _Pinned()
        size, first, flat = self._read("snapshot", self._pin(holder), self._pin_ttl)
        return RedisSnapshot(self, int(size), *self._survivors(flat), first=int(first), pin=holder)

    def replay(self, since: int | None = None) -> Iterator[Record[K, V]]:
        """Yield the events from offset *since* on, in arrival order, as of now.

        The first and next offsets and the first page are read in one round trip when called;
        later pages (PAGE events each) when the iterator reaches them, pinned on the server as a
        snapshot's events are. Events ingested after the call are not yielded. ``None`` (the
        default) starts at the oldest retained event.

        Raises:
            TypeError: *since* is not an int.
            ValueError: *since* is negative.
            TrimmedError: *since* is below `first_offset` (raised at the call); carries it.
        """
        start = -1 if since is None else min(check_offset(since), 1 << 62)
        holder = _Pinned()
        size, first, entries = self._read("replay", start, PAGE, self._pin(holder), self._pin_ttl)
        size, first = int(size), int(first)
        if start < 0:
            start = first
        elif start < first:
            raise TrimmedError(start, first)
        records = self._records(entries)
        if start >= size or start + len(records) >= size:
            return iter(records)
        return _held(self._replay(records, start, size), holder)

    def shortlog(self) -> Iterator[Record[K, V]]:
        """Yield the most recent event of each key, in log order, as of now. One round trip.

        Complete whatever retention dropped: each key's survivor is kept in the latest hash."""
        _, _, flat = self._read("shortlog")
        return iter(self._survivors(flat)[0])

    def trim(self, before: int) -> int:
        """Drop every event with an offset below *before* now; return how many were dropped.

        Like ``XTRIM MINID``, in one script run (one round trip): `first_offset` moves to
        *before*, and the stream is trimmed below it, except the events a live snapshot or replay
        iterator has pinned (they go at a later trim, once unpinned). Offsets never change;
        `shortlog` and `latest` stay exactly what they were (the latest hash holds every
        survivor's record). Trimming below `first_offset` drops nothing and returns 0.

        Raises:
            TypeError: *before* is not an integer (before any round trip).
            ValueError: *before* is negative (before any round trip) or beyond `next_offset`
                (checked by the script before it writes). Nothing is dropped.
        """
        before = check_offset(before, "before")
        released, self._released = self._released, []
        return int(self._eval(self._trim_script, self._keys5, (*self._head, before, *released)))

    # -- closing ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Refuse further writes through this object, and end its followers once they are caught
        up.

        Local to this object (and so to this process): writes through it raise `LogClosedError`
        before any round trip, and its followers end once they have read what is on the server;
        the log itself stays open on the server, for other processes and for other objects on
        the same name. Reads keep working. Closing twice is harmless. No round trip.
        """
        self._closed = True

    @property
    def closed(self) -> bool:
        """Whether `close` was called on this object."""
        return self._closed

    def __enter__(self) -> RedisEventLog[K, V]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def latest(self, key: K) -> Record[K, V] | None:
        """Return the most recent event of *key*, or ``None``. One round trip (HGET), O(1).

        Raises:
            TypeError: *key* is not hashable.
        """
        field = _field_or_none(key)
        if field is None:
            return None
        stored = self._execute("HGET", self._latest, field, **_NEVER)
        if stored is None:
            return None
        timestamp, _, rest = stored.split(b" ", 2)
        key_json, value = rest.split(b"\n", 1)
        return (int(timestamp), self._key_of[key_json], self._decode(value))

    def follow(
        self, since: int | None = None, *, timeout: float | None = None
    ) -> Iterator[Record[K, V]]:
        """Yield the records from offset *since* on, then wait for more (XREAD BLOCK).

        Every record exactly once, in offset order, with no gap, whoever writes and from whichever
        process; a batch is written by one script run, so no read sees part of it. Records are
        read PAGE per round trip by the read script (which also reads `first_offset`, so a
        follower behind retention is told); when caught up, the iterator blocks on the server
        (XREAD BLOCK) until the next write, then reads again. It ends when no new record arrived
        for *timeout* seconds (``None``: never; ``0``: at the end of what is there), or once it
        is caught up after `close` was called on this object. A waiting follower holds one
        connection of the client's pool; give the client no ``socket_timeout`` shorter than
        *timeout*. ``since=None`` starts at the oldest retained event. The log is checked (one
        round trip) at the call.

        Raises:
            TypeError: *since* is not an integer or *timeout* not a number (at the call).
            ValueError: *since* is negative, or *timeout* negative or NaN (at the call).
            TrimmedError: the follower's next offset was dropped by retention (raised by
                ``next()``; carries `first_offset`).
            FormatError: the keys under the name are not this log (at the call), or the stream
                holds an entry cowlog did not write where the next record should be.
        """
        position = None if since is None else check_offset(since)
        seconds = check_timeout(timeout)
        _, first = self._read("size")
        return self._follow(int(first) if position is None else position, seconds)

    def afollow(
        self, since: int | None = None, *, timeout: float | None = None
    ) -> AsyncIterator[Record[K, V]]:
        """The same as `follow`, for ``async for`` under asyncio, never blocking the event loop.

        Each round trip (a page read, or one XREAD BLOCK slice of at most 1 s) runs in a worker
        thread (`asyncio.to_thread`) on the log's own client; the loop only awaits it. Cancelling
        the task ends the iterator at once; the worker's round trip in flight ends by itself
        (within its slice), its result is discarded and its connection goes back to the pool.

        Raises:
            TypeError: *since* is not an integer or *timeout* not a number (at the call).
            ValueError: *since* is negative, or *timeout* negative or NaN (at the call).
            TrimmedError: as for `follow`.
        """
        position = None if since is None else check_offset(since)
        seconds = check_timeout(timeout)
        return self._afollow(position, seconds)

    def _block_cap(self) -> int:
        # Each XREAD blocks for at most 1 s, or half the client's socket timeout less 100 ms if that
        # is less (redis-py 8 connections time out after 5 s unless told otherwise): a longer block
        # would end as a socket timeout, which redis-py treats as an error and retries. The 100 ms:
        # the server ends a block on its clock tick (hz 10 by default), up to 100 ms late.
        socket_timeout = self._client.connection_pool.connection_kwargs.get("socket_timeout")
        return 1000 if not socket_timeout else max(10, min(1000, int(socket_timeout * 500) - 100))

    def _step(self, position: int, block: int | None) -> list[Record[K, V]] | None:
        """One round trip of a follower at *position*: the records from there (up to PAGE) if
        any, else, with *block* ms, wait on the server for the next write (XREAD BLOCK) and
        return ``None`` (read again), or ``[]`` if the wait ended with nothing new."""
        size, first, entries = self._read("replay", position, PAGE, "", 0)
        if position < int(first):
            raise TrimmedError(position, int(first))
        if entries:
            if entries[0][0] != b"1-%d" % position or entries[-1][0] != b"1-%d" % (
                position + len(entries) - 1
            ):
                raise FormatError(
                    f"{self._stream}: the entries after offset {position - 1} are not the ones "
                    f"cowlog wrote (IDs {entries[0][0]!r}..): another program changed the stream"
                )
            return self._records(entries)
        if block is None or position < int(size):
            return []
        last = f"1-{position - 1}" if position else "0-0"
        reply = self._execute(
            "XREAD", "COUNT", 1, "BLOCK", block, "STREAMS", self._stream, last, **_NEVER
        )
        return None if reply else []

    def _follow(self, position: int, seconds: float | None) -> Iterator[Record[K, V]]:
        cap = self._block_cap()
        quiet_since = time.monotonic()
        while True:
            block = None
            if seconds != 0 and not self._closed:
                left = None if seconds is None else seconds - (time.monotonic() - quiet_since)
                if left is not None and left <= 0:
                    return
                block = cap if left is None else min(cap, max(1, round(left * 1e3)))
            records = self._step(position, block)
            if records:
                quiet_since = time.monotonic()
                position += len(records)
                yield from records
            elif records is not None and block is None:
                return  # caught up, and timeout=0 or closed
            elif records is None:
                quiet_since = time.monotonic()

    async def _afollow(
        self, since: int | None, seconds: float | None
    ) -> AsyncIterator[Record[K, V]]:
        import asyncio  # here: `import cowlog.redis` stays free of asyncio

        if since is None:
            _, first = await asyncio.to_thread(self._read, "size")
            since = int(first)
        position = since
        cap = self._block_cap()
        quiet_since = time.monotonic()
        while True:
            block = None
            if seconds != 0 and not self._closed:
                left = None if seconds is None else seconds - (time.monotonic() - quiet_since)
                if left is not None and left <= 0:
                    return
                block = cap if left is None else min(cap, max(1, round(left * 1e3)))
            records = await asyncio.to_thread(self._step, position, block)
            if records:
                quiet_since = time.monotonic()
                position += len(records)
                for record in records:
                    yield record
            elif records is not None and block is None:
                return
            elif records is None:
                quiet_since = time.monotonic()

    # -- housekeeping ----------------------------------------------------------------------------

    def delete(self) -> None:
        """Delete the log from the server: its stream, metadata, shortlog, pins and writer
        slots."""
        client = self._client
        for key in client.scan_iter(match=f"{{{self.name}}}:writer:*", count=1000):
            client.delete(key)
        client.delete(*self._keys5)

    def _check(self) -> None:
        """Assert every invariant of the stored log, by brute force. O(n); for tests.

        The stream holds offsets ``kept`` to ``size - 1``, dense; each key's stored survivor
        wins (by the rule) over every retained event of its key, and is the stream's own record
        wherever it is still in the stream."""
        size, first, flat = self._read("shortlog")
        size, first = int(size), int(first)
        kept = int(self._execute("HGET", self._meta, "kept", **_NEVER) or 0)
        assert 0 <= kept <= first <= size, (kept, first, size)
        entries: list[Any] = []
        for start in range(kept, size, PAGE):
            entries += self._entries(start, min(start + PAGE, size))
        assert [e[0] for e in entries] == [b"1-%d" % i for i in range(kept, size)], "IDs not dense"
        assert all(e[1][0::2] == [b"t", b"k", b"v"] for e in entries), "entry fields"
        stored = dict(zip(flat[0::2], flat[1::2], strict=True))
        parsed = {}
        for field, value in stored.items():
            timestamp, offset, rest = value.split(b" ", 2)
            parsed[field] = (int(timestamp), int(offset), rest)
            assert int(offset) < size, "a survivor past the end"
        for offset, (_, fields) in enumerate(entries, kept):
            timestamp = int(fields[1])
            canonical = _encode_key(self._key_of[fields[3]], "key")[0]
            assert canonical in parsed, "a retained event's key has no survivor"
            top, at, rest = parsed[canonical]
            if offset == at:
                assert (timestamp, rest) == (top, b"%s\n%s" % (fields[3], fields[5])), "survivor"
            elif offset < at:
                assert timestamp <= top, "an earlier event beats the survivor"
            else:
                assert timestamp < top, "a later event ties or beats the survivor"


class RedisSnapshot(Sequence[Record[K, V]], Generic[K, V]):
    """A `RedisEventLog` as of one instant: its size and shortlog, read in one round trip.

    The same read-only sequence as `cowlog.Snapshot`: ``len``, ``snap[i]`` (one XRANGE),
    slices (a list), iteration, `replay`, `shortlog`, `latest`. The shortlog is held in memory;
    events are read from the stream when asked for (they never change once written).
    """

    __slots__ = ("_by_field", "_first", "_log", "_offsets", "_pin", "_shortlog", "_size")

    def __init__(
        self,
        log: RedisEventLog[K, V],
        size: int,
        shortlog: list[Record[K, V]],
        offsets: list[int],
        by_field: dict[bytes, Record[K, V]],
        *,
        first: int = 0,
        pin: _Pinned | None = None,
    ) -> None:
        self._log = log
        self._first = first
        self._pin = pin  # alive as long as the snapshot and its iterators: its pin with it
        self._size = size
        self._shortlog = shortlog
        self._offsets = offsets
        self._by_field = by_field

    def __len__(self) -> int:
        """Return the number of retained events. O(1), no round trip."""
        return self._size - self._first

    def __repr__(self) -> str:
        trimmed = f", from offset {self._first}" if self._first else ""
        return f"<cowlog.RedisSnapshot of {self._log.name!r}: {len(self)} events{trimmed}>"

    @property
    def first_offset(self) -> int:
        """The offset of the oldest retained event when the snapshot was taken. No round trip."""
        return self._first

    @property
    def next_offset(self) -> int:
        """The offset the next event ingested after this snapshot gets. No round trip."""
        return self._size

    @overload
    def __getitem__(self, index: int) -> Record[K, V]: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record[K, V]]: ...

    def __getitem__(self, index: int | slice) -> Record[K, V] | list[Record[K, V]]:
        """Return the event at position *index* (one round trip), or a list for a slice.

        Position ``i`` is offset ``first_offset + i``.

        Raises:
            IndexError: *index* is out of range.
            SnapshotTrimmedError: the event left the server after the snapshot's pin ended.
            TypeError: *index* is neither an integer (anything `operator.index` accepts) nor a
                slice.
        """
        first = self._first
        size = self._size - first
        if isinstance(index, slice):
            wanted = range(*index.indices(size))
            if not wanted:
                return []
            low, high = min(wanted), max(wanted)
            records = list(self._log._replay([], first + low, first + high + 1))  # read now
            return [records[i - low] for i in wanted] if wanted.step != 1 else records
        if type(index) is not int:  # as cowlog.Snapshot: what operator.index takes, but bool
            index = check_index(index)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError(f"snapshot index out of range: {index} (length {size})")
        offset = first + index
        return self._log._records(self._log._entries(offset, offset + 1))[0]

    def __iter__(self) -> Iterator[Record[K, V]]:
        """Iterate over the retained events in arrival order (the same as `replay`)."""
        return self._held(self._log._replay([], self._first, self._size))

    def _held(self, records: Iterator[Record[K, V]]) -> Iterator[Record[K, V]]:
        return records if self._pin is None else _held(records, self._pin)

    def replay(self, since: int | None = None) -> Iterator[Record[K, V]]:
        """Yield the events from offset *since* on, in arrival order; PAGE per round trip.

        ``None`` (the default) starts at `first_offset`.

        Raises:
            TypeError: *since* is not an int.
            ValueError: *since* is negative.
            TrimmedError: *since* is below `first_offset`.
            SnapshotTrimmedError: (while iterating) the events left the server after the
                snapshot's pin ended.
        """
        first = self._first
        if since is None:
            since = first
        else:
            since = check_offset(since)
            if since < first:
                raise TrimmedError(since, first)
        return self._held(self._log._replay([], min(since, self._size), self._size))

    def shortlog(self) -> Iterator[Record[K, V]]:
        """Yield the survivor of each key, in log order. O(k), no round trip."""
        return iter(self._shortlog)

    def offsets(self) -> list[int]:
        """Return the offsets of the shortlog's events, in the same order. O(k), no round trip."""
        return list(self._offsets)

    def latest(self, key: K) -> Record[K, V] | None:
        """Return the survivor of *key*, or ``None``. O(1), no round trip.

        Raises:
            TypeError: *key* is not hashable.
        """
        field = _field_or_none(key)
        return None if field is None else self._by_field.get(field)


def _describe(client: redis.Redis) -> str:
    """Where *client* connects, as a URL without credentials."""
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    host, port = kwargs.get("host", "localhost"), kwargs.get("port", 6379)
    return f"redis://{host}:{port}/{kwargs.get('db', 0)}"


def _first(pair: tuple[int, Any]) -> int:
    return pair[0]


def _field_or_none(key: object) -> bytes | None:
    """The canonical form of *key*, or None for a hashable key no log can hold."""
    try:
        return _encode_key(key, "key")[0]
    except TypeError:
        try:
            hash(key)
        except TypeError as exc:
            raise TypeError(f"key must be hashable, got {type(key).__name__}") from exc
        return None


class _Pinned:
    """Stands for a replay iterator's pin: the pin is released when this is collected."""

    __slots__ = ("__weakref__",)


def _held(records: Iterator[Record[K, V]], holder: _Pinned) -> Iterator[Record[K, V]]:
    """*records*, keeping *holder* (and so its pin) alive until exhausted or dropped."""
    try:
        yield from records
    finally:
        del holder
