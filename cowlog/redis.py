"""RedisEventLog: cowlog's contract on a Redis stream, shared by processes and hosts.

The only module of cowlog that imports ``redis`` (install ``cowlog[redis]``). The same API and
promises as `cowlog.EventLog` (offsets, the shortlog rule, atomic batches, snapshots of one
instant, bad input refused before anything is sent), with the differences Redis forces written
down in docs/redis.md. What lives on the server for a log named ``NAME``:

* ``NAME``: a stream; the event at offset ``o`` has the entry ID ``1-o`` (XADD refuses ``0-0``, so
  the offset is the ID's sequence part under a constant 1) and the fields ``t`` (the timestamp in
  decimal), ``k`` (the key in JSON) and ``v`` (the value, by the codec);
* ``{NAME}:meta``: a hash: ``format``, ``codec``, ``size`` (the next offset);
* ``{NAME}:latest``: a hash from each key (in a canonical JSON form, so that keys equal in Python
  share one survivor, as in a dict) to its survivor, ``"TIMESTAMP OFFSET KEY\\nVALUE"``;
* ``{NAME}:writer:ID``: one short string per writer slot, ``"SEQ FIRST COUNT"``: the last write it
  made, so that a write the client retries after a lost reply is answered, not applied twice.
  Expires after a day.

Every write is one EVALSHA of `_WRITE` (checks first, then writes: a script error is not rolled
back), and every read that must see one instant is one call too. Nothing here decodes a timestamp
in Lua (Lua numbers are doubles): timestamps travel and compare as decimal strings.
"""

from __future__ import annotations

import hashlib
import json
import operator
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from itertools import chain
from typing import Any, Final, Generic, TypeVar, overload

from ._checks import Record, check_offset, check_timestamp
from ._codec import Codec, get_codec
from ._follow import check_timeout

try:
    import redis
    from redis.client import NEVER_DECODE
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import NoScriptError, RedisError, ResponseError
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("cowlog.redis needs redis-py: pip install 'cowlog[redis]'") from exc

__all__ = ["FormatError", "RedisEventLog", "RedisSnapshot", "ServerError"]

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

_NAME = re.compile(r"[^\s{}]{1,512}")
_NEVER: Final = {NEVER_DECODE: True}


class ServerError(RuntimeError):
    """The server cannot hold a cowlog log: unreachable, not Redis, or too old."""


class FormatError(ValueError):
    """The keys under the log's name hold something cowlog did not write, or in another format."""


# -- Lua ------------------------------------------------------------------------------------------

# KEYS: stream, meta, latest (, writer). ARGV[1]: FORMAT, ARGV[2]: codec name. Raises unless the
# keys are a log in this format and codec (or absent); returns its size, and whether the metadata
# exists. Reads only. Two commands on the hot path (HMGET, XLEN); TYPE only when there is no
# metadata. pcall: a key of the wrong type becomes a clear COWLOG error, not WRONGTYPE.
_CHECK = """
local function fail(why) error(redis.error_reply('COWLOG ' .. why)) end
local function checked_size()
  local meta = redis.pcall('HMGET', KEYS[2], 'format', 'codec', 'size')
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
    return 0, false
  end
  if meta[1] ~= ARGV[1] then
    fail(KEYS[2] .. ' says format ' .. tostring(meta[1]) .. ', this is ' .. ARGV[1])
  end
  if meta[2] ~= ARGV[2] then
    fail(KEYS[1] .. ' was written with codec ' .. tostring(meta[2]) .. ', opened with ' .. ARGV[2])
  end
  local size = tonumber(meta[3])
  -- issue 15 (retention) will trim: then compare with size minus the first kept offset
  if redis.pcall('XLEN', KEYS[1]) ~= size then
    fail(KEYS[1] .. ' is not the stream of ' .. meta[3] .. ' events cowlog wrote: another '
         .. 'program changed it')
  end
  return size, true
end
local function survivor(field)  -- the stored survivor of a key, or false
  local stored = redis.pcall('HGET', KEYS[3], field)
  if type(stored) == 'table' then fail(KEYS[3] .. ' is not a hash') end
  return stored
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

# KEYS: stream, meta, latest, writer. ARGV: FORMAT, codec, seq, ttl, then per event: timestamp,
# canonical key, key, value. Returns {first offset, count}.
_WRITE = (
    "#!lua\n"
    + _CHECK
    + _LESS
    + """
local done = redis.call('GET', KEYS[4])
if done then  -- a retry of a write that ran but whose reply was lost: answer, write nothing
  local seq, first, count = string.match(done, '^(%d+) (%d+) (%d+)$')
  if seq == ARGV[3] then return {tonumber(first), tonumber(count)} end
end
local size, existed = checked_size()
local n = (#ARGV - 4) / 4
-- Every read before the first write: a script error is not rolled back.
local best, top, order = {}, {}, {}  -- per canonical key: survivor's ARGV index, its timestamp
for j = 5, 4 + 4 * n, 4 do
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
  local j = 5 + 4 * i
  redis.call('XADD', KEYS[1], '1-' .. string.format('%d', size + i),
             't', ARGV[j], 'k', ARGV[j + 2], 'v', ARGV[j + 3])
end
for _, field in ipairs(order) do
  local j = best[field]
  if j then
    redis.call('HSET', KEYS[3], field, ARGV[j] .. ' ' .. string.format('%d', size + (j - 5) / 4)
               .. ' ' .. ARGV[j + 2] .. '\\n' .. ARGV[j + 3])
  end
end
if existed then
  redis.call('HSET', KEYS[2], 'size', string.format('%d', size + n))
else
  redis.call('HSET', KEYS[2], 'format', ARGV[1], 'codec', ARGV[2],
             'size', string.format('%d', size + n))
end
redis.call('SET', KEYS[4], ARGV[3] .. ' ' .. string.format('%d', size) .. ' ' .. n,
           'EX', ARGV[4])
return {size, n}
"""
)

# KEYS: stream, meta, latest. ARGV: FORMAT, codec, mode, since, count. Mode "shortlog": {size,
# HGETALL latest}; mode "replay": {size, XRANGE of up to count entries from since below size}.
_READ = (
    "#!lua flags=no-writes\n"
    + _CHECK
    + """
local size = checked_size()
if ARGV[3] == 'shortlog' then
  local survivors = redis.pcall('HGETALL', KEYS[3])
  if survivors['err'] then fail(KEYS[3] .. ' is not a hash') end
  return {size, survivors}
end
local since = tonumber(ARGV[4])
if since >= size then return {size, {}} end
local last = math.min(size, since + tonumber(ARGV[5])) - 1
return {size, redis.call('XRANGE', KEYS[1], '1-' .. string.format('%d', since),
                         '1-' .. string.format('%d', last))}
"""
)


class _Script:
    __slots__ = ("sha", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()


_WRITE_SCRIPT: Final = _Script(_WRITE)
_READ_SCRIPT: Final = _Script(_READ)


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
        codec: ``"json"`` (the default: values that would not come back equal are refused) or
            ``"pickle"`` (anything picklable; warns: reading runs code chosen by the writer).
        clock: called, on the client, for the timestamp of an event ingested with
            ``timestamp=None`` (one reading per batch). Default: `time.time_ns`.

    Raises:
        ServerError: the server is unreachable, is not Redis, or is older than 7.0.
        FormatError: the keys under *name* hold something cowlog did not write, or were written
            with another codec.
        TypeError, ValueError: a bad argument.
    """

    #: The scripts this log runs (a test swaps in a broken one to prove the tests catch it).
    _write_script: _Script = _WRITE_SCRIPT
    _read_script: _Script = _READ_SCRIPT

    def __init__(
        self,
        client_or_url: redis.Redis | str,
        name: str,
        *,
        codec: str | Codec = "json",
        clock: Callable[[], int] = time.time_ns,
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
        self._head = [FORMAT, self._codec.name]
        self._key_of = _KeyCache()
        self._decode = self._codec.decode
        # Writer slots: one per call in flight, reused, so their number stays that of the threads
        # writing at once. A slot's sequence numbers rise by one per write it makes.
        self._slots: list[list[Any]] = []
        self._pid = os.getpid()
        self._slots_lock = threading.Lock()
        self._check_server()

    def __repr__(self) -> str:
        return f"<cowlog.RedisEventLog {self.name!r} on {self._where}>"

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
            raise

    def _read(self, mode: str, since: int = 0, count: int = PAGE) -> Any:
        return self._eval(self._read_script, self._keys3, (*self._head, mode, since, count))

    def _write(self, args: list[Any]) -> tuple[int, int]:
        """Run the write script with *args* (the head's seq slot filled here); return
        (first offset, count). Exactly once, however often redis-py retries the call."""
        slot = self._take_slot()
        try:
            slot[1] += 1
            args[2] = slot[1]
            first, count = self._eval(self._write_script, (*self._keys3, slot[0]), args)
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
        """
        if type(timestamp) is not int and timestamp is not None:
            timestamp = check_timestamp(timestamp, "timestamp")
        field, key_json = _encode_key(key, "key")
        data = self._codec.encode(value, "value")
        if timestamp is None:
            timestamp = check_timestamp(self._clock(), "clock()")
        return self._write([*self._head, 0, WRITER_TTL, timestamp, field, key_json, data])[0]

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
        """
        batch = items if type(items) is list else list(items)
        if len(batch) > MAX_BATCH:
            raise ValueError(
                f"items holds {len(batch):,} events; a batch runs as one script, which blocks the "
                f"server while it runs: send at most {MAX_BATCH:,} per call"
            )
        if not batch:
            size = len(self)
            return range(size, size)
        args: list[Any] = [*self._head, 0, WRITER_TTL]
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
        """Return the number of events. One round trip (HGET), O(1)."""
        size = self._execute("HGET", self._meta, "size", **_NEVER)
        return int(size) if size is not None else 0

    def snapshot(self) -> RedisSnapshot[K, V]:
        """Return a consistent, immutable view of the log as it is now.

        One round trip, O(k) for k keys: the size and the whole shortlog are read together (the
        in-process log's O(1) is out of reach when the shortlog lives on a server). Replay,
        indexing and slicing read the stream later, by offset: entries never change.
        """
        size, flat = self._read("shortlog")
        return RedisSnapshot(self, int(size), *self._survivors(flat))

    def replay(self, since: int = 0) -> Iterator[Record[K, V]]:
        """Yield the events from offset *since* on, in arrival order, as of now.

        The size and the first page are read in one round trip when called; later pages (PAGE
        events each) when the iterator reaches them. Events ingested after the call are not
        yielded.

        Raises:
            TypeError: *since* is not an int.
            ValueError: *since* is negative.
        """
        since = check_offset(since)
        size, entries = self._read("replay", min(since, 1 << 62))
        size = int(size)
        first = self._records(entries)
        return self._replay(first, since, size) if since < size else iter(first)

    def shortlog(self) -> Iterator[Record[K, V]]:
        """Yield the most recent event of each key, in log order, as of now. One round trip."""
        return iter(self.snapshot()._shortlog)

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
        process; a batch is written by one script run, so no read sees part of it. A backlog is
        read PAGE records per round trip; then the iterator blocks on the server until the next
        write. It ends when no new record arrived for *timeout* seconds (``None``: never; ``0``:
        at the end of what is there). A waiting follower holds one connection of the client's
        pool; give the client no ``socket_timeout`` shorter than *timeout*. ``since=None`` starts
        at offset 0. The log is checked (one round trip) at the call.

        Raises:
            TypeError: *since* is not an integer or *timeout* not a number (at the call).
            ValueError: *since* is negative, or *timeout* negative or NaN (at the call).
            FormatError: the keys under the name are not this log (at the call), or the stream
                holds an entry cowlog did not write where the next record should be.
        """
        position = 0 if since is None else check_offset(since)
        seconds = check_timeout(timeout)
        self._read("size")
        return self._follow(position, seconds)

    def _follow(self, position: int, seconds: float | None) -> Iterator[Record[K, V]]:
        execute, stream, records = self._execute, self._stream, self._records
        # Each XREAD blocks for at most 1 s, or half the client's socket timeout less 100 ms if that
        # is less (redis-py 8 connections time out after 5 s unless told otherwise): a longer block
        # would end as a socket timeout, which redis-py treats as an error and retries. The 100 ms:
        # the server ends a block on its clock tick (hz 10 by default), up to 100 ms late.
        socket_timeout = self._client.connection_pool.connection_kwargs.get("socket_timeout")
        cap = 1000 if not socket_timeout else max(10, min(1000, int(socket_timeout * 500) - 100))
        quiet_since = time.monotonic()
        while True:
            block: list[Any] = []
            if seconds != 0:
                left = None if seconds is None else seconds - (time.monotonic() - quiet_since)
                if left is not None and left <= 0:
                    return
                ms = 0 if left is None else max(1, round(left * 1e3))  # 0: BLOCK forever
                if ms == 0 or ms > cap:
                    ms = cap
                block = ["BLOCK", ms]
            last = f"1-{position - 1}" if position else "0-0"
            reply = execute("XREAD", "COUNT", PAGE, *block, "STREAMS", stream, last, **_NEVER)
            if not reply:
                if seconds == 0:
                    return
                continue  # a slice of the wait ended: the loop checks the whole timeout
            quiet_since = time.monotonic()
            # RESP2: [[stream, entries]]; RESP3: {stream: entries}
            entries = next(iter(reply.values())) if isinstance(reply, dict) else reply[0][1]
            if entries[0][0] != b"1-%d" % position or entries[-1][0] != b"1-%d" % (
                position + len(entries) - 1
            ):
                raise FormatError(
                    f"{stream}: the entries after offset {position - 1} are not the ones cowlog "
                    f"wrote (IDs {entries[0][0]!r}..): another program changed the stream"
                )
            position += len(entries)
            yield from records(entries)

    # -- retention (issue 15) goes here: XTRIM MINID 1-offset, with the size check comparing the
    # stream's length with the size minus the first kept offset; every survivor's record is in the
    # latest hash already, so trimming the stream loses no survivor.

    # -- housekeeping ----------------------------------------------------------------------------

    def delete(self) -> None:
        """Delete the log from the server: its stream, metadata, shortlog and writer slots."""
        client = self._client
        for key in client.scan_iter(match=f"{{{self.name}}}:writer:*", count=1000):
            client.delete(key)
        client.delete(self._stream, self._meta, self._latest)

    def _check(self) -> None:
        """Assert every invariant of the stored log, by brute force. O(n); for tests."""
        size, flat = self._read("shortlog")
        entries: list[Any] = []
        for start in range(0, size, PAGE):
            entries += self._entries(start, min(start + PAGE, size))
        assert [e[0] for e in entries] == [b"1-%d" % i for i in range(size)], "IDs not dense"
        assert all(e[1][0::2] == [b"t", b"k", b"v"] for e in entries), "entry fields"
        survivors: dict[bytes, tuple[int, int]] = {}
        for offset, (_, fields) in enumerate(entries):
            timestamp = int(fields[1])
            canonical = _encode_key(self._key_of[fields[3]], "key")[0]
            current = survivors.get(canonical)
            if current is None or timestamp >= current[0]:
                survivors[canonical] = (timestamp, offset)
        stored = dict(zip(flat[0::2], flat[1::2], strict=True))
        expected = {
            field: b"%d %d %s\n%s" % (ts, o, entries[o][1][3], entries[o][1][5])
            for field, (ts, o) in survivors.items()
        }
        assert stored == expected, "the latest hash disagrees with the stream"


class RedisSnapshot(Sequence[Record[K, V]], Generic[K, V]):
    """A `RedisEventLog` as of one instant: its size and shortlog, read in one round trip.

    The same read-only sequence as `cowlog.Snapshot`: ``len``, ``snap[i]`` (one XRANGE),
    slices (a list), iteration, `replay`, `shortlog`, `latest`. The shortlog is held in memory;
    events are read from the stream when asked for (they never change once written).
    """

    __slots__ = ("_by_field", "_log", "_offsets", "_shortlog", "_size")

    def __init__(
        self,
        log: RedisEventLog[K, V],
        size: int,
        shortlog: list[Record[K, V]],
        offsets: list[int],
        by_field: dict[bytes, Record[K, V]],
    ) -> None:
        self._log = log
        self._size = size
        self._shortlog = shortlog
        self._offsets = offsets
        self._by_field = by_field

    def __len__(self) -> int:
        """Return the number of events. O(1), no round trip."""
        return self._size

    def __repr__(self) -> str:
        return f"<cowlog.RedisSnapshot of {self._log.name!r}: {self._size} events>"

    @overload
    def __getitem__(self, index: int) -> Record[K, V]: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record[K, V]]: ...

    def __getitem__(self, index: int | slice) -> Record[K, V] | list[Record[K, V]]:
        """Return the event at offset *index* (one round trip), or a list for a slice.

        Raises:
            IndexError: *index* is out of range.
            TypeError: *index* is neither an integer (anything `operator.index` accepts) nor a
                slice.
        """
        size = self._size
        if isinstance(index, slice):
            wanted = range(*index.indices(size))
            if not wanted:
                return []
            low, high = min(wanted), max(wanted)
            records = list(self._log._replay([], low, high + 1))
            return [records[i - low] for i in wanted] if wanted.step != 1 else records
        if type(index) is not int:  # as cowlog.Snapshot: what operator.index takes, but bool
            if isinstance(index, bool):
                raise TypeError("snapshot indices must be integers or slices, not bool")
            try:
                index = operator.index(index)
            except TypeError:
                raise TypeError(
                    f"snapshot indices must be integers or slices, not {type(index).__name__}"
                ) from None
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError(f"snapshot index out of range: {index} (length {size})")
        return self._log._records(self._log._entries(index, index + 1))[0]

    def __iter__(self) -> Iterator[Record[K, V]]:
        """Iterate over all events in arrival order (the same as `replay`)."""
        return self._log._replay([], 0, self._size)

    def replay(self, since: int = 0) -> Iterator[Record[K, V]]:
        """Yield the events from offset *since* on, in arrival order; PAGE per round trip.

        Raises:
            TypeError: *since* is not an int.
            ValueError: *since* is negative.
        """
        since = check_offset(since)
        return self._log._replay([], min(since, self._size), self._size)

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
