"""cowlog.redis against a real redis-server (COWLOG_REDIS_URL; see tests/_redis.py).

The key checks at the top need no server (the codecs' own tests are in tests/test_codec.py).
Everything else runs against the server the environment names, never a stand-in for it, except
where the point is a server that is *not* a usable Redis (nothing listening, an HTTP server, a RESP
server reporting an old version): those are real TCP servers started by the test.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import _redis
import pytest
import redis
from _model import shortlog_by_rule
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from cowlog import EventLog, LogClosedError, TrimmedError
from cowlog.cli.bench_redis import run_redis
from cowlog.cli.main import main
from cowlog.redis import (
    _WRITE,
    FormatError,
    RedisEventLog,
    RedisSnapshot,
    ServerError,
    SnapshotTrimmedError,
    UnsafeCodecWarning,
    _encode_key,
    _Script,
)
from cowlog.testing import History, _View, _Writer, check_history, log_state_machine, stress

ROOT = Path(__file__).resolve().parent.parent


# -- without a server -----------------------------------------------------------------------------


def test_import_cowlog_never_imports_redis() -> None:
    code = "import sys, cowlog, cowlog.testing; assert 'redis' not in sys.modules, 'redis imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.parametrize(
    ("key", "canonical"),
    [
        ("a", b'"a"'),
        (7, b"7"),
        (None, b"null"),
        (True, b"1"),  # True and 1 are one dict key: one survivor, as in EventLog
        (False, b"0"),
        ((1, ("x", True)), b'[1,["x",1]]'),
    ],
)
def test_keys_that_come_back_equal_have_a_canonical_form(key: Any, canonical: bytes) -> None:
    assert _encode_key(key, "key")[0] == canonical


@pytest.mark.parametrize("key", [1.0, b"a", frozenset(), (1, 2.5), type("S", (str,), {})("a")])
def test_keys_that_would_not_come_back_equal_are_refused(key: Any) -> None:
    with pytest.raises(TypeError, match="keys must be str, int, bool, None or tuples"):
        _encode_key(key, "key")


@pytest.mark.parametrize("key", [[1], {}, ([],)])
def test_unhashable_keys_are_refused_as_unhashable(key: Any) -> None:
    with pytest.raises(TypeError, match="key must be hashable"):
        _encode_key(key, "key")


# cowlog.testing's values=: identity for logs that keep references, equality for those that copy


class CopiesValues(EventLog[Any, Any]):
    """Hands back deep copies, as a serializing backend does: right for values="equal" only."""

    def ingest(self, key: Any, value: Any, timestamp: Any = None) -> int:
        return super().ingest(key, self._value(value), timestamp)

    def ingest_many(self, items: Iterable[Any]) -> range:
        return super().ingest_many(map(self._changed, items))

    def _changed(self, item: Any) -> Any:
        if type(item) in (tuple, list) and len(item) == 3:  # else let EventLog refuse it
            return (item[0], self._value(item[1]), item[2])
        return item

    def _value(self, value: Any) -> Any:
        return copy.deepcopy(value)


class IntsComeBackFloats(CopiesValues):
    """Hands back 3.0 for 3: equal by ==, wrong by type, as a careless codec would."""

    def ingest(self, key: Any, value: Any, timestamp: Any = None) -> int:
        return super().ingest(key, float(value) if type(value) is int else value, timestamp)

    def ingest_many(self, items: Iterable[Any]) -> range:
        return super().ingest_many([(k, float(v) if type(v) is int else v, t) for k, v, t in items])


def _run_machine(factory: Callable[[], Any], values: str) -> None:
    machine = log_state_machine(factory, concurrency=False, values=values)  # type: ignore[arg-type]
    run_state_machine_as_test(
        machine,
        settings=settings(max_examples=15, stateful_step_count=15, derandomize=True, database=None),
    )


def test_values_equal_accepts_copies_and_identity_does_not() -> None:
    _run_machine(CopiesValues, "equal")
    with pytest.raises(AssertionError, match="expected"):
        _run_machine(CopiesValues, "identity")


@pytest.mark.mutation
def test_values_equal_is_type_strict() -> None:
    with pytest.raises(AssertionError, match="expected"):
        _run_machine(IntsComeBackFloats, "equal")
    with pytest.raises(ValueError, match="values must be one of"):
        log_state_machine(EventLog, values="same")  # type: ignore[arg-type]


# -- with a server --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def url() -> str:
    return _redis.server_url()


@pytest.fixture(scope="module")
def admin(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


@pytest.fixture
def make_log(url: str, admin: redis.Redis) -> Iterator[Callable[..., RedisEventLog[Any, Any]]]:
    """Fresh, empty logs under unique names; every key they made is deleted afterwards."""
    names: list[str] = []

    def make(name: str | None = None, **kwargs: Any) -> RedisEventLog[Any, Any]:
        name = name or _redis.fresh_name()
        names.append(name)
        return RedisEventLog(url, name, **kwargs)

    yield make
    for name in names:
        _redis.delete_log(admin, name)


def evalsha_calls(admin: redis.Redis) -> int:
    stats = admin.info("commandstats").get("cmdstat_evalsha", {})
    return int(stats.get("calls", 0)) if isinstance(stats, dict) else 0


def test_the_guides_worked_example(make_log: Callable[..., RedisEventLog[Any, Any]]) -> None:
    log = make_log()
    batch = log.ingest_many(
        [
            ("disk", "full", 10),
            ("cpu", "hot", 12),
            ("disk", "ok", 15),
            ("disk", "late", 11),
            ("cpu", "cool", 12),
        ]
    )
    assert batch == range(0, 5)
    assert list(log.shortlog()) == [(15, "disk", "ok"), (12, "cpu", "cool")]
    assert log.latest("disk") == (15, "disk", "ok") and log.latest("gpu") is None
    assert log.ingest("gpu", {"load": [0.5]}, 3) == 5
    assert list(log.replay(4)) == [(12, "cpu", "cool"), (3, "gpu", {"load": [0.5]})]
    assert log.ingest_many([]) == range(6, 6)
    assert len(log) == 6
    log._check()


class _Index:
    """Integer-like, as numpy.int64 is: accepted wherever an offset or index is."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


def test_a_snapshot_is_one_instant(make_log: Callable[..., RedisEventLog[Any, Any]]) -> None:
    log = make_log()
    log.ingest("config", {"level": "info"}, 1)
    snap = log.snapshot()
    log.ingest("config", {"level": "debug"}, 2)
    log.ingest("other", 1, 0)
    assert len(snap) == 1 and len(log) == 3
    assert snap.latest("config") == (1, "config", {"level": "info"})
    assert list(snap.shortlog()) == [(1, "config", {"level": "info"})]
    assert list(snap) == [(1, "config", {"level": "info"})] == snap[0:5]
    assert snap[-1] == snap[0] == snap[_Index(0)] and list(snap.replay(_Index(1))) == []
    with pytest.raises(IndexError):
        snap[1]
    with pytest.raises(TypeError, match="not bool"):
        snap[True]


def test_timestamps_compare_exactly_at_any_size(
    make_log: Callable[..., RedisEventLog[Any, Any]],
) -> None:
    """Lua numbers are doubles: 2**53 and 2**53 + 1 are one double, so are the two 10**20s.

    Each pair is ingested in both orders under its own key; the survivor must be the greater
    timestamp whichever came first (or the later arrival for equal ones).
    """
    pairs = [
        (2**53, 2**53 + 1),
        (10**20, 10**20 + 1),
        (-(2**53) - 1, -(2**53)),
        (-(10**30), -(10**29)),
        (-1, 0),
        (-5, 5),
        (999_999_999_999_999, 1_000_000_000_000_000),  # 15 digits against 16
        (123_456_789_012_345_678, 123_456_789_012_345_679),  # differ in the second chunk
        (-(2**70), 2**70),
        (7, 7),
    ]
    log = make_log()
    items = []
    for i, (low, high) in enumerate(pairs):
        items += [(f"up{i}", "low", low), (f"up{i}", "high", high)]
        items += [(f"down{i}", "high", high), (f"down{i}", "low", low)]
    log.ingest_many(items)
    expected = shortlog_by_rule([(ts, key, value) for key, value, ts in items])
    assert list(log.shortlog()) == expected
    for i in range(len(pairs)):  # the same, one event per round trip
        for key, value, timestamp in items[4 * i : 4 * i + 4]:
            log.ingest(f"single:{key}", value, timestamp)
    log._check()


def test_equal_keys_share_one_survivor_as_in_a_dict(
    make_log: Callable[..., RedisEventLog[Any, Any]],
) -> None:
    log = make_log()
    log.ingest_many([(1, "one", 5), (True, "true", 5), ((0, 1), "t", 1), ((False, True), "f", 0)])
    assert list(log.shortlog()) == [(5, True, "true"), (1, (0, 1), "t")]
    assert [type(e[1]) for e in log.replay()] == [int, bool, tuple, tuple]
    assert log.latest(1) == log.latest(True) == (5, True, "true")
    log._check()


# -- bad input: refused before any round trip, nothing written ------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda log: log.ingest("a", 1, 1.5), TypeError, "timestamp must be an int"),
        (lambda log: log.ingest("a", 1, True), TypeError, "got bool"),
        (lambda log: log.ingest(["a"], 1, 1), TypeError, "key must be hashable"),
        (lambda log: log.ingest(frozenset(), 1, 1), TypeError, "keys must be str"),
        (lambda log: log.ingest("a", (1, 2), 1), TypeError, "'json' codec"),
        (lambda log: log.ingest_many([("a", 1, 1), ("b", 2)]), ValueError, r"items\[1\]"),
        (lambda log: log.ingest_many([("a", 1, 1), 5]), TypeError, r"items\[1\]"),
        (lambda log: log.ingest_many([("a", 1, 1), ("b", {1: 2}, 1)]), TypeError, r"items\[1\]"),
        (lambda log: log.ingest_many([("a", 1, 1), ("b", 2, "x")]), TypeError, r"items\[1\]"),
        (lambda log: log.replay(-1), ValueError, "since must be >= 0"),
        (lambda log: log.replay(1.0), TypeError, "since must be an int"),
        (lambda log: log.latest([]), TypeError, "key must be hashable"),
        (lambda log: log.trim(-1), ValueError, "before must be >= 0"),
        (lambda log: log.trim(1.0), TypeError, "before must be an int"),
        (lambda log: log.trim(True), TypeError, "before must be an int"),
        (lambda log: log.follow(since=-1), ValueError, "since must be >= 0"),
        (lambda log: log.afollow(timeout="1"), TypeError, "timeout must be a number"),
    ],
)
def test_bad_input_is_refused_before_any_round_trip(
    make_log: Callable[..., RedisEventLog[Any, Any]],
    admin: redis.Redis,
    call: Callable[[RedisEventLog[Any, Any]], Any],
    error: type[Exception],
    message: str,
) -> None:
    log = make_log()
    log.ingest("before", 0, 0)
    scripts = evalsha_calls(admin)
    with pytest.raises(error, match=message):
        call(log)
    assert evalsha_calls(admin) == scripts, "a refused call ran a script on the server"
    assert list(log.replay()) == [(0, "before", 0)]
    assert log.ingest("after", 1, 1) == 1


def test_a_clock_that_returns_no_int_writes_nothing(
    make_log: Callable[..., RedisEventLog[Any, Any]],
) -> None:
    log = make_log(clock=lambda: 1.5)
    with pytest.raises(TypeError, match=r"clock\(\)"):
        log.ingest("a", 1)
    with pytest.raises(TypeError, match=r"clock\(\)"):
        log.ingest_many([("a", 1, 5), ("b", 2, None)])
    assert len(log) == 0


def test_a_batch_of_none_timestamps_shares_one_clock_reading(
    make_log: Callable[..., RedisEventLog[Any, Any]],
) -> None:
    readings = iter(range(100, 200))
    log = make_log(clock=lambda: next(readings))
    log.ingest_many([("a", 1, None), ("b", 2, 7), ("c", 3, None)])
    assert [e[0] for e in log.replay()] == [100, 7, 100]
    assert log.ingest("d", 4) == 3 and log.latest("d") == (101, "d", 4)


@pytest.mark.parametrize("name", ["", "has space", "a{b}", "x" * 513, "tab\t", "nul\x00"])
def test_a_name_that_is_not_a_valid_log_name_is_refused(url: str, name: str) -> None:
    with pytest.raises(ValueError, match="name must be"):
        RedisEventLog(url, name)


# -- the wrong server, or the wrong data under the name -------------------------------------------


def test_a_server_that_is_down_is_a_clear_error() -> None:
    port = _redis.free_port()  # nothing listens there
    with pytest.raises(ServerError, match=f"cannot reach Redis at redis://localhost:{port}/0"):
        RedisEventLog(
            redis.Redis(port=port, retry=None, socket_connect_timeout=1), _redis.fresh_name()
        )


def test_a_server_that_is_not_redis_is_a_clear_error() -> None:
    http = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
    with _redis.tcp_server(lambda _: http) as port, pytest.raises(ServerError, match="not"):
        RedisEventLog(redis.Redis(port=port, retry=None), _redis.fresh_name())


def test_a_redis_too_old_is_a_clear_error() -> None:
    with (
        _redis.tcp_server(_redis.resp_server_of_version("6.2.14")) as port,
        pytest.raises(ServerError, match=r"needs Redis 7\.0 or newer.*runs 6\.2\.14"),
    ):
        RedisEventLog(redis.Redis(port=port, retry=None), _redis.fresh_name())


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda r, n: r.set(n, "a string"), "is a string that cowlog did not write"),
        (lambda r, n: r.xadd(n, {"some": "event"}), "is a stream that cowlog did not write"),
        (lambda r, n: r.set(f"{{{n}}}:meta", "x"), "is a string, not a hash"),
        (lambda r, n: r.hset(f"{{{n}}}:meta", "format", "other/9"), "says format other/9"),
        (lambda r, n: r.hset(f"{{{n}}}:meta", "owner", "someone"), "a hash cowlog did not write"),
        (lambda r, n: r.set(f"{{{n}}}:latest", "x"), "exists without"),
    ],
)
def test_something_else_under_the_name_is_refused_and_left_alone(
    url: str,
    admin: redis.Redis,
    setup: Callable[[redis.Redis, str], Any],
    message: str,
) -> None:
    name = _redis.fresh_name()
    try:
        setup(admin, name)
        before = {key: admin.dump(key) for key in admin.scan_iter(match=f"*{name}*")}
        with pytest.raises(FormatError, match=message):
            RedisEventLog(url, name)
        after = {key: admin.dump(key) for key in admin.scan_iter(match=f"*{name}*")}
        assert after == before
    finally:
        _redis.delete_log(admin, name)


def test_a_log_opened_with_another_codec_is_refused(
    make_log: Callable[..., RedisEventLog[Any, Any]],
) -> None:
    log = make_log()
    log.ingest("a", 1, 1)
    with pytest.warns(UnsafeCodecWarning), pytest.raises(FormatError, match="codec json"):
        make_log(log.name, codec="pickle")


def test_another_program_writing_the_stream_stops_every_write(
    make_log: Callable[..., RedisEventLog[Any, Any]], admin: redis.Redis
) -> None:
    log = make_log()
    log.ingest_many([("a", 1, 1), ("b", 2, 2)])
    admin.xadd(log.name, {"foreign": "entry"})
    with pytest.raises(FormatError, match="another program changed it"):
        log.ingest("c", 3, 3)
    with pytest.raises(FormatError, match="another program changed it"):
        log.snapshot()
    assert admin.xlen(log.name) == 3 and admin.hget(f"{{{log.name}}}:meta", "size") == b"2"


def test_a_shortlog_of_another_type_stops_every_write_before_it_writes(
    make_log: Callable[..., RedisEventLog[Any, Any]], admin: redis.Redis
) -> None:
    log = make_log()
    log.ingest_many([("a", 1, 1), ("b", 2, 2)])
    latest = f"{{{log.name}}}:latest"
    admin.delete(latest)
    admin.set(latest, "not a hash")
    with pytest.raises(FormatError, match="is not a hash"):
        log.ingest_many([("c", 3, 3), ("a", 4, 4)])
    with pytest.raises(FormatError, match="is not a hash"):
        log.shortlog()
    assert admin.xlen(log.name) == 2 and admin.hget(f"{{{log.name}}}:meta", "size") == b"2"


def test_a_flushed_script_cache_is_reloaded(
    make_log: Callable[..., RedisEventLog[Any, Any]], admin: redis.Redis
) -> None:
    log = make_log()
    log.ingest("a", 1, 1)
    admin.script_flush()
    assert log.ingest("b", 2, 2) == 1
    admin.script_flush()
    assert list(log.replay()) == [(1, "a", 1), (2, "b", 2)]


def test_a_value_the_codec_refuses_sends_nothing(
    make_log: Callable[..., RedisEventLog[Any, Any]],
) -> None:
    log = make_log()
    log.ingest("a", 1, 1)
    for value in ((1, 2), {1: "one"}, float("nan"), 1 << 70, b"bytes"):
        with pytest.raises(TypeError, match="'json' codec"):
            log.ingest("b", value, 2)
        with pytest.raises(TypeError, match=r"items\[1\] value cannot be stored by the 'json'"):
            log.ingest_many([("ok", 0, 2), ("b", value, 2)])
    assert list(log.replay()) == [(1, "a", 1)] and log.next_offset == 1


def test_msgpack_stores_bytes_and_int_keys(
    make_log: Callable[..., RedisEventLog[Any, Any]],
) -> None:
    pytest.importorskip("msgspec")
    log = make_log(codec="msgpack")
    value = {1: b"\x00\n ", "s": [1.5, None, float("inf")]}
    log.ingest("a", value, 1)
    with pytest.raises(TypeError, match="'msgpack' codec: a tuple"):
        log.ingest("a", (1, 2), 2)
    again = make_log(log.name, codec="msgpack")
    assert list(again.replay()) == [(1, "a", value)] and again.latest("a") == (1, "a", value)
    with pytest.raises(FormatError, match="codec msgpack"):
        make_log(log.name)


def test_pickle_stores_what_json_refuses(make_log: Callable[..., RedisEventLog[Any, Any]]) -> None:
    with pytest.warns(UnsafeCodecWarning) as caught:
        log = make_log(codec="pickle")
    assert caught[0].filename == __file__  # the caller's line (make_log's), not cowlog's
    value = {(1, 2): {3, 4}, "bytes": b"\x00\n "}
    log.ingest("a", value, 1)
    assert log.latest("a") == (1, "a", value) and list(log.replay()) == [(1, "a", value)]


# -- exactly once across a lost reply -------------------------------------------------------------


@pytest.fixture
def killer(admin: redis.Redis) -> Iterator[_redis.ReplyKiller]:
    proxy = _redis.ReplyKiller(admin)
    yield proxy
    proxy.close()


@pytest.mark.parametrize("batch", [False, True])
def test_a_write_whose_reply_is_lost_is_applied_once(
    make_log: Callable[..., RedisEventLog[Any, Any]],
    admin: redis.Redis,
    killer: _redis.ReplyKiller,
    batch: bool,
) -> None:
    """The server runs the write script; CLIENT KILL drops the connection before the reply reaches
    the client (the proxy withholds it); redis-py reconnects and sends the same EVALSHA again.
    The second run must find the first one's result (its writer slot and sequence number) and
    answer with it: one copy in the stream, and the offsets the first run assigned."""
    name = _redis.fresh_name()
    log = make_log(name)  # registers the name for deletion
    through = RedisEventLog(redis.Redis(port=killer.port), name)  # redis-py's default retries
    through.ingest("warm", 0, 0)  # loads the script: the EVALSHA below runs it
    sent = killer.evalshas()
    killer.arm(b"EVALSHA")
    if batch:
        assert through.ingest_many([("a", 1, 1), ("b", 2, 2)]) == range(1, 3)
    else:
        assert through.ingest("a", 1, 1) == 1
    assert killer.killed == 1, "the proxy did not lose the reply: the test proved nothing"
    assert killer.evalshas() - sent == 2, "redis-py did not send the write again"
    assert killer.connections >= 2
    expected = [(0, "warm", 0), (1, "a", 1)] + ([(2, "b", 2)] if batch else [])
    assert list(log.replay()) == expected
    assert admin.xlen(name) == len(expected)
    log._check()


class WithoutRetryGuard(RedisEventLog[Any, Any]):
    """Broken on purpose: the write script never looks up the writer slot's last result."""

    _write_script = _Script(_WRITE.replace("if seq == ARGV[3] then", "if false then"))


@pytest.mark.mutation
def test_the_lost_reply_test_catches_a_write_applied_twice(
    make_log: Callable[..., RedisEventLog[Any, Any]],
    admin: redis.Redis,
    killer: _redis.ReplyKiller,
) -> None:
    """The test above, on a log whose script has no retry guard: the retry appends again."""
    assert WithoutRetryGuard._write_script.sha != RedisEventLog._write_script.sha
    name = _redis.fresh_name()
    log = make_log(name)
    through = WithoutRetryGuard(redis.Redis(port=killer.port), name)
    through.ingest("warm", 0, 0)
    killer.arm(b"EVALSHA")
    offset = through.ingest("a", 1, 1)
    assert killer.killed == 1
    assert admin.xlen(name) == 3 and offset == 2, "the broken log was not caught"
    assert list(log.replay()) == [(0, "warm", 0), (1, "a", 1), (1, "a", 1)]


_FORK = """
import os, sys
from cowlog.redis import RedisEventLog
log = RedisEventLog(sys.argv[1], sys.argv[2])
log.ingest("parent", 0, 0)
pid = os.fork()
if pid == 0:
    try:
        log.ingest("child", 1, 1)
    finally:
        os._exit(0)
os.waitpid(pid, 0)
log.ingest("parent", 2, 2)
"""


def test_a_log_made_before_fork_gets_new_writer_slots_in_the_child(
    url: str, make_log: Callable[..., RedisEventLog[Any, Any]]
) -> None:
    """Parent and child would otherwise share a writer slot and its sequence number: the child's
    first write and the parent's next one would carry the same (slot, seq), and the second would
    be answered as a retry of the first, silently dropped. (Make clients after fork; this is the
    safety net for those who do not.) In a fresh single-threaded process: fork() from pytest's,
    which has threads, could deadlock the child."""
    log = make_log()
    subprocess.run([sys.executable, "-c", _FORK, url, log.name], check=True, cwd=ROOT, timeout=60)
    assert sorted(log.replay()) == [(0, "parent", 0), (1, "child", 1), (2, "parent", 2)]


# -- the command line -----------------------------------------------------------------------------


def test_the_command_reads_a_log_on_a_server(
    make_log: Callable[..., RedisEventLog[Any, Any]],
    url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = make_log()
    log.ingest_many([("disk", {"free": 0}, 10), ("cpu", 0.5, 12), ("disk", {"free": 512}, 15)])
    where = f"{url.rstrip('/')}/{log.name}" if url.count("/") > 2 else f"{url}/0/{log.name}"
    assert main(["shortlog", where, "--format", "jsonl"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [
        {"offset": 1, "timestamp": 12, "key": "cpu", "value": 0.5},
        {"offset": 2, "timestamp": 15, "key": "disk", "value": {"free": 512}},
    ]
    assert main(["replay", where, "--since", "2", "--format", "jsonl"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [{"offset": 2, "timestamp": 15, "key": "disk", "value": {"free": 512}}]
    assert main(["replay", where, "--format", "table"]) == 0
    table = capsys.readouterr().out
    assert "free" in table and "cpu" in table
    log.trim(before=2)  # offsets stay stable: replay starts at the oldest kept, at its own offset
    for argv in (["--since", "0"], ["--since", "2"], ["--tail", "5"]):
        assert main(["replay", where, *argv, "--format", "jsonl"]) == 0
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert lines == [{"offset": 2, "timestamp": 15, "key": "disk", "value": {"free": 512}}]


def _where(url: str, name: str) -> str:
    return f"{url.rstrip('/')}/{name}" if url.count("/") > 2 else f"{url}/0/{name}"


def test_the_command_follows_a_log_on_a_server(
    make_log: Callable[..., RedisEventLog[Any, Any]], url: str
) -> None:
    from test_tail import Cowlog, assert_clean_interrupt

    log = make_log()
    log.ingest_many([("a", i, i) for i in range(5)])
    replay = Cowlog("replay", "--follow", "--tail", "2", "--format", "jsonl", _where(url, log.name))
    shortlog = Cowlog("shortlog", "--follow", "--format", "jsonl", _where(url, log.name))
    try:
        replay.wait_for_lines(2)
        shortlog.wait_for_lines(1)
        log.ingest("b", "late", 0)  # older than nothing: b's first, the new latest of b
        log.ingest("a", "late", 1)  # older than a's latest (4): the shortlog does not change
        log.ingest_many([("a", "tie", 4), ("c", {"n": 1}, 9)])  # a tie goes to the later arrival
        replay.wait_for_lines(6)
        shortlog.wait_for_lines(4)
        assert_clean_interrupt(replay, replay.interrupt())
        assert_clean_interrupt(shortlog, shortlog.interrupt())
    finally:
        replay.stop()
        shortlog.stop()
    assert [(x["offset"], x["value"]) for x in map(json.loads, replay.out)] == [
        (3, 3),
        (4, 4),
        (5, "late"),
        (6, "late"),
        (7, "tie"),
        (8, {"n": 1}),
    ]
    assert [(x["offset"], x["value"]) for x in map(json.loads, shortlog.out)] == [
        (4, 4),
        (5, "late"),
        (7, "tie"),
        (8, {"n": 1}),
    ]


def test_a_command_follower_behind_retention_gets_the_survivors_it_missed(
    make_log: Callable[..., RedisEventLog[Any, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    from cowlog.cli.redis_log import _runs

    log = make_log()
    log.ingest_many([("a", "x", 1), ("b", "y", 2), ("a", "z", 3)])
    log.trim(before=3)
    log.ingest("c", "w", 4)
    runs = _runs(log, 0)  # a follower at 0, behind the trim
    assert next(runs) == ([], [(1, (2, "b", "y")), (2, (3, "a", "z"))])
    assert "events 0 to 2 were trimmed before they could be read" in capsys.readouterr().err
    assert next(runs) == ([(3, (4, "c", "w"))], [])


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("redis://127.0.0.1:{port}/0", "expected redis://HOST:PORT/DB/NAME"),
        ("redis://127.0.0.1:{port}/x/name", "expected redis://HOST:PORT/DB/NAME"),
        ("redis://127.0.0.1:{port}/0/name", "cannot reach Redis"),
    ],
)
def test_the_command_says_what_is_wrong_with_a_redis_url(
    where: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["shortlog", where.format(port=_redis.free_port())]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_the_redis_bench_runs_and_cleans_up(url: str, admin: redis.Redis) -> None:
    """Smoke only (no timing is judged here): the figures are there and no key is left."""
    before = set(admin.scan_iter(match="cowlog-bench:*"))
    results = run_redis(url, quick=True)
    assert [row["target"].split()[0] for row in results["targets"]] == [
        "single",
        "ingest_many",
        "replay",
    ]
    assert set(results["ingest_us"]) == {"cowlog", "raw", "in_process"}
    assert set(admin.scan_iter(match="*cowlog-bench:*")) == before


# -- the same machine and stress checker as the in-process log, against the server ----------------

#: The machine's default key pool without frozensets (JSON has no sets): strings, small ints,
#: booleans (True is the key 1, as in a dict), tuples of ints, None.
REDIS_KEYS = st.one_of(
    st.sampled_from(["a", "b", "c", "d"]),
    st.sampled_from(["a", "b"]),
    st.integers(0, 3),
    st.booleans(),
    st.tuples(st.integers(0, 1)),
    st.none(),
)


def _factory(url: str, cls: type[RedisEventLog[Any, Any]] = RedisEventLog) -> Callable[[], Any]:
    def make() -> RedisEventLog[Any, Any]:
        return cls(url, _redis.fresh_name())

    make.__name__ = cls.__name__
    return make


def _delete(log: RedisEventLog[Any, Any]) -> None:
    log.delete()


def test_the_state_machine_passes_against_the_server(url: str) -> None:
    machine = log_state_machine(
        _factory(url), concurrency=False, values="equal", keys=REDIS_KEYS, teardown=_delete
    )
    run_state_machine_as_test(machine, settings=settings(settings.default))


def test_the_state_machine_with_retention_passes_against_the_server(url: str) -> None:
    """max_events=10: retention runs inside the write script every few writes, beside the
    machine's own random trims; held snapshots and iterators must still show what they showed
    (their pins), and the shortlog stay that of every event ever ingested."""

    def make() -> RedisEventLog[Any, Any]:
        return RedisEventLog(url, _redis.fresh_name(), max_events=10)

    machine = log_state_machine(
        make, concurrency=False, values="equal", retain=10, keys=REDIS_KEYS, teardown=_delete
    )
    run_state_machine_as_test(machine, settings=settings(settings.default))


def test_the_state_machine_with_threads_passes_against_the_server(url: str) -> None:
    machine = log_state_machine(_factory(url), values="equal", keys=REDIS_KEYS, teardown=_delete)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=max(3, settings.default.max_examples // 5),
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
        ),
    )


def test_stress_passes_against_the_server(url: str) -> None:
    """4 writer threads and 2 readers on one log through one client (one connection pool)."""
    report = stress(
        _factory(url),
        writers=4,
        events_per_writer=1_500,
        readers=2,
        keys=16,
        batch_percent=10,
        values="equal",
        teardown=_delete,
    )
    assert report.events == 6_000 and report.snapshots > 0


def test_stress_with_retention_passes_against_the_server(url: str, admin: redis.Redis) -> None:
    """The stress checker's retention mode (a follower collects every event) on a Redis log with
    max_events: nothing lost, duplicated or reordered, at least max_events kept, the shortlog of
    everything ingested."""
    names: list[str] = []

    def make() -> RedisEventLog[Any, Any]:
        names.append(_redis.fresh_name())
        return RedisEventLog(url, names[-1], max_events=500)

    try:
        report = stress(
            make,
            writers=4,
            events_per_writer=1_500,
            readers=2,
            keys=16,
            values="equal",
            retain=500,
        )
        assert report.events == 6_000
        assert RedisEventLog(url, names[0]).first_offset > 0  # retention did drop events
    finally:
        for name in names:
            _redis.delete_log(admin, name)


class BatchInTwoRoundTrips(RedisEventLog[Any, Any]):
    """Broken on purpose: a batch of two or more is written by two script runs, so another
    writer's events can land between its halves and a snapshot can end between them."""

    def ingest_many(self, items: Iterable[tuple[Any, Any, int | None]]) -> range:
        batch = list(items)
        if len(batch) < 2:
            return super().ingest_many(batch)
        first = super().ingest_many(batch[: len(batch) // 2])
        second = super().ingest_many(batch[len(batch) // 2 :])
        return range(first.start, second.stop)


class SnapshotInTwoRoundTrips(RedisEventLog[Any, Any]):
    """Broken on purpose: a snapshot reads its size, then its shortlog in a second round trip,
    which may already hold events past that size."""

    def snapshot(self) -> RedisSnapshot[Any, Any]:
        size = self.next_offset
        _, _, flat = self._read("shortlog")
        return RedisSnapshot(self, size, *self._survivors(flat))


@pytest.mark.mutation
@pytest.mark.parametrize("broken", [BatchInTwoRoundTrips, SnapshotInTwoRoundTrips])
def test_stress_catches_a_log_that_splits_what_must_be_one_round_trip(
    url: str, broken: type[RedisEventLog[Any, Any]]
) -> None:
    """Timing decides where the second round trip lands, so each gets up to 3 runs (seeds) to be
    caught; on this machine the first run catches both (4 writers, 2 readers, batches in 30 %
    of the calls)."""
    for seed in range(3):
        try:
            stress(
                _factory(url, broken),
                writers=4,
                events_per_writer=1_000,
                readers=2,
                keys=8,
                batch_percent=30,
                seed=seed,
                values="equal",
                teardown=_delete,
            )
        except AssertionError as caught:
            print(f"{broken.__name__} caught with seed {seed}: {caught}")
            return
    pytest.fail(f"stress did not catch {broken.__name__} in 3 runs")


# -- several processes ----------------------------------------------------------------------------


class _Seen:
    """What a reader in another process saw of one snapshot, in the shape check_history reads."""

    def __init__(self, size: int, tail: list[Any]) -> None:
        self._size, self._last = size, tuple(tail[-1]) if tail else None

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index: int) -> Any:
        assert index == -1 and self._last is not None
        return self._last


def test_four_processes_writing_one_log_lose_duplicate_and_reorder_nothing(
    url: str, admin: redis.Redis, make_log: Callable[..., RedisEventLog[Any, Any]]
) -> None:
    """4 processes x 2 writer threads (about a tenth of the calls are batches) and a reader
    thread in each, on one stream, each process with its own client made after it started. The
    writers' times come from CLOCK_MONOTONIC, one clock for all processes, so check_history
    checks real-time order across processes too: nothing lost, duplicated or reordered, batches
    contiguous, every snapshot a prefix of the final log with its own shortlog."""
    log = make_log()
    processes, writers, events = 4, 2, 600
    worker = [sys.executable, str(ROOT / "tests" / "_redis_worker.py"), url, log.name]
    workers = [
        subprocess.Popen(
            [*worker, str(p), str(writers), str(events), "7"], stdout=subprocess.PIPE, cwd=ROOT
        )
        for p in range(processes)
    ]
    try:
        deadline = time.monotonic() + 60
        while int(admin.info("clients")["blocked_clients"]) < processes:  # all at the barrier
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.05)
        admin.rpush(f"{log.name}:go", *range(processes))
        outputs = [json.loads(worker.communicate(timeout=300)[0]) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    for output in outputs:
        assert not output["errors"] and not output["violations"], output
    final = list(log.replay())
    assert len(final) == processes * writers * events == len(log)
    plans = [w for output in outputs for w in output["writers"]]
    history = History(
        initial=[],
        writers=[
            _Writer(
                w["number"],
                keys=w["keys"],
                timestamps=w["timestamps"],
                ops=[tuple(op) for op in w["ops"]],
                spans=[tuple(span) for span in w["spans"]],
            )
            for w in sorted(plans, key=lambda w: w["number"])
        ],
        readers=[
            [
                _View(
                    _Seen(v["size"], v["tail"]),
                    v["size"],
                    v["start"],
                    v["end"],
                    [tuple(e) for e in v["shortlog"]],
                    [tuple(e) for e in v["tail"]],
                )
                for v in output["views"]
            ]
            for output in outputs
        ],
    )
    assert sum(map(len, history.readers)) > processes, "the readers saw too little to judge"
    check_history(history, final, values="equal")
    for w in plans:  # the offsets each write returned hold that write's events
        base = (w["number"] + 1) << 40
        for (first, _), offset in zip(w["ops"], w["offsets"], strict=True):
            assert final[offset][2] == base | first
    assert list(log.shortlog()) == shortlog_by_rule(final)


def test_a_batch_bigger_than_the_cap_is_refused_before_any_round_trip(
    make_log: Callable[..., RedisEventLog[Any, Any]], admin: redis.Redis
) -> None:
    log = make_log()
    scripts = evalsha_calls(admin)
    with pytest.raises(ValueError, match="at most 100,000 per call"):
        log.ingest_many([("k", i, i) for i in range(100_001)])
    assert evalsha_calls(admin) == scripts and len(log) == 0


# -- following ------------------------------------------------------------------------------------


def test_follow_reads_the_backlog_then_waits_for_writes_from_another_process(
    url: str, make_log: Callable[..., RedisEventLog[Any, Any]]
) -> None:
    """A follower on one client; a second process writes single events and batches while it
    waits. It must yield every record once, in offset order, and end on its timeout."""
    log = make_log()
    log.ingest_many([("a", 0, 0), ("b", 1, 1), ("c", 2, 2)])
    follower = log.follow(since=1, timeout=5)
    assert next(follower) == (1, "b", 1) and next(follower) == (2, "c", 2)
    writer = (
        "import sys\nfrom cowlog.redis import RedisEventLog\n"
        "log = RedisEventLog(sys.argv[1], sys.argv[2])\n"
        "for i in range(3, 297, 7):\n"
        "    log.ingest('k', i, i)\n"
        "    log.ingest_many([('k%d' % j, j, j) for j in range(i + 1, i + 7)])\n"
    )
    child = subprocess.Popen([sys.executable, "-c", writer, url, log.name], cwd=ROOT)
    try:
        seen = [next(follower) for _ in range(3, 297)]
    finally:
        child.wait(timeout=60)
    assert seen == list(log.replay(3)) and [r[2] for r in seen] == list(range(3, 297))
    assert list(follower) == []  # nothing more for 5 s: it ends
    assert list(log.follow(since=0, timeout=0)) == list(log.replay())


def test_follow_past_the_end_waits_for_that_offset(
    make_log: Callable[..., RedisEventLog[Any, Any]],
) -> None:
    log = make_log()
    follower = log.follow(since=2, timeout=5)
    got: list[Any] = []
    thread = threading.Thread(target=lambda: got.extend(islice(follower, 1)))
    thread.start()
    log.ingest_many([("a", 0, 0), ("b", 1, 1)])
    log.ingest("c", 2, 2)
    thread.join(30)
    assert got == [(2, "c", 2)]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"since": -1}, ValueError),
        ({"since": 1.5}, TypeError),
        ({"timeout": -1}, ValueError),
        ({"timeout": "1"}, TypeError),
        ({"timeout": float("nan")}, ValueError),
    ],
)
def test_follow_refuses_bad_arguments_at_the_call(
    make_log: Callable[..., RedisEventLog[Any, Any]], kwargs: dict[str, Any], error: type
) -> None:
    with pytest.raises(error):
        make_log().follow(**kwargs)


def test_follow_stops_at_an_entry_cowlog_did_not_write(
    make_log: Callable[..., RedisEventLog[Any, Any]], admin: redis.Redis
) -> None:
    log = make_log()
    log.ingest("a", 0, 0)
    follower = log.follow(timeout=1)
    assert next(follower) == (0, "a", 0)
    admin.xadd(log.name, {"foreign": "entry"})
    with pytest.raises(FormatError, match="another program changed"):
        next(follower)


def test_a_follower_waits_longer_than_the_clients_socket_timeout(
    url: str, make_log: Callable[..., RedisEventLog[Any, Any]]
) -> None:
    """redis-py 8 gives a client a 5 s socket timeout: one XREAD blocking longer would fail as a
    timeout (and be retried as an error). The follower blocks in slices of half of it."""
    name = make_log().name
    log = RedisEventLog(redis.Redis.from_url(url, socket_timeout=0.6), name)
    follower = log.follow(timeout=2.0)
    log.ingest("a", 0, 0)
    assert list(follower) == [(0, "a", 0)]  # ends after 2 s of quiet, not with a TimeoutError


# -- retention ------------------------------------------------------------------------------------


def _pins(admin: redis.Redis, log: RedisEventLog[Any, Any]) -> int:
    return int(admin.zcard(f"{{{log.name}}}:pins"))


def test_trim_drops_below_an_offset_and_keeps_every_survivor(
    make_log: Callable[..., RedisEventLog[Any, Any]], admin: redis.Redis
) -> None:
    """The guide's retention example, on the server: offsets stable, positions from first_offset,
    TrimmedError below it, and the shortlog and latest() of everything ever ingested."""
    log = make_log()
    log.ingest_many([("disk", "full", 1), ("cpu", "hot", 2), ("disk", "ok", 3)])
    assert log.trim(before=2) == 2
    assert (log.first_offset, log.next_offset, len(log)) == (2, 3, 1)
    assert admin.xlen(log.name) == 1  # dropped from the server, not only hidden
    assert list(log.replay()) == [(3, "disk", "ok")] == [log.snapshot()[0]]
    assert list(log.shortlog()) == [(2, "cpu", "hot"), (3, "disk", "ok")]
    assert log.latest("cpu") == (2, "cpu", "hot")
    snap = log.snapshot()
    assert (snap.first_offset, snap.next_offset, len(snap)) == (2, 3, 1)
    assert snap.offsets() == [1, 2] and snap.latest("cpu") == (2, "cpu", "hot")
    for reader in (log, snap):
        with pytest.raises(TrimmedError) as caught:
            reader.replay(since=0)
        assert caught.value.first_offset == 2 and caught.value.since == 0
    assert log.trim(before=1) == 0 and log.trim(before=2) == 0  # below first: nothing
    assert log.ingest("cpu", "cool", 1) == 3  # offsets go on; an older timestamp loses
    assert log.latest("cpu") == (2, "cpu", "hot")
    assert log.trim(before=4) == 2 and len(log) == 0 and list(log.replay()) == []
    assert list(log.shortlog()) == [(2, "cpu", "hot"), (3, "disk", "ok")]
    log._check()


def test_trim_beyond_next_offset_is_refused_and_drops_nothing(
    make_log: Callable[..., RedisEventLog[Any, Any]],
) -> None:
    log = make_log()
    log.ingest_many([("a", 0, 0), ("b", 1, 1)])
    with pytest.raises(ValueError, match=r"before must be <= next_offset \(2\), got 3"):
        log.trim(3)
    assert log.first_offset == 0 and list(log.replay()) == [(0, "a", 0), (1, "b", 1)]
    assert log.trim(2) == 2 and log.first_offset == 2
    assert make_log().trim(0) == 0  # an empty log: nothing to drop, nothing made


@pytest.mark.parametrize(
    ("bad", "error"),
    [(0, ValueError), (-3, ValueError), (True, TypeError), (2.5, TypeError), ("10", TypeError)],
)
def test_max_events_is_checked(url: str, bad: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="max_events"):
        RedisEventLog(url, _redis.fresh_name(), max_events=bad)


def test_max_events_keeps_at_least_the_newest_and_the_whole_shortlog(
    make_log: Callable[..., RedisEventLog[Any, Any]], admin: redis.Redis
) -> None:
    """Retention inside the write script: against a log without it, the same shortlog and
    latest() for every key, and a replay that is the other's newest events."""
    limited, full = make_log(max_events=50), make_log()
    items = [(f"k{i % 37}", i, (i * 7919) % 13) for i in range(2_000)]
    for start in range(0, len(items), 90):
        for log in (limited, full):
            log.ingest_many(items[start : start + 90])
        limited.ingest(f"single{start}", start, start)
        full.ingest(f"single{start}", start, start)
    first = limited.first_offset
    assert first > 0 and 50 <= len(limited) <= 50 + 6 + 90  # the slack, plus one batch
    assert admin.xlen(limited.name) == len(limited)
    assert list(limited.replay()) == list(full.replay(first))
    assert list(limited.shortlog()) == list(full.shortlog())
    for key in {key for key, _, _ in items}:
        assert limited.latest(key) == full.latest(key)
    limited._check()


def test_a_held_snapshot_keeps_what_it_showed_until_its_pin_is_gone(
    make_log: Callable[..., RedisEventLog[Any, Any]], admin: redis.Redis
) -> None:
    log = make_log()
    log.ingest_many([(f"k{i % 3}", i, i) for i in range(10)])
    held = log.snapshot()
    everything = list(held)
    assert log.trim(8) == 8 and log.first_offset == 8
    assert admin.xlen(log.name) == 10  # pinned: still on the server
    assert list(held) == everything and held[0] == (0, "k0", 0) and held[2:4] == everything[2:4]
    assert list(log.replay()) == everything[8:]  # the log itself shows the trim
    # A lost pin (expired, or its process gone): the next trim drops the events from the server,
    # and the snapshot says so instead of showing less.
    admin.delete(f"{{{log.name}}}:pins", f"{{{log.name}}}:pin-until")
    assert log.trim(8) == 0 and admin.xlen(log.name) == 2
    with pytest.raises(SnapshotTrimmedError, match="not a copy") as caught:
        list(held)
    assert caught.value.first_offset == 8 and isinstance(caught.value, TrimmedError)
    with pytest.raises(SnapshotTrimmedError):
        held[0]
    with pytest.raises(SnapshotTrimmedError):
        held.replay(3)
        list(held.replay(3))
    assert len(held) == 10 and held.latest("k0") == (9, "k0", 9)  # in memory: still there
    assert list(held.replay(8)) == everything[8:]  # what is still on the server reads
    log._check()


def test_an_expired_pin_no_longer_holds_the_stream(
    make_log: Callable[..., RedisEventLog[Any, Any]], admin: redis.Redis
) -> None:
    """A pin past its deadline (here given one already past, instead of waiting PIN_TTL) is
    dropped by the next trim, and the snapshot it held says so."""
    log = make_log()
    log.ingest_many([("a", i, i) for i in range(4)])
    log._pin_ttl = -1
    expired = log.snapshot()
    log._pin_ttl = 3_600
    live = log.snapshot()
    assert _pins(admin, log) == 2
    log.trim(4)
    assert _pins(admin, log) == 1 and admin.xlen(log.name) == 4  # the live one still holds
    del live
    gc.collect()
    log.trim(4)
    assert _pins(admin, log) == 0 and admin.xlen(log.name) == 0
    with pytest.raises(SnapshotTrimmedError):
        list(expired)


def test_a_collected_snapshot_releases_its_pin(
    make_log: Callable[..., RedisEventLog[Any, Any]], admin: redis.Redis
) -> None:
    log = make_log()
    log.ingest_many([("a", i, i) for i in range(5)])
    held = log.snapshot()
    assert _pins(admin, log) == 1
    log.trim(5)
    assert admin.xlen(log.name) == 5
    del held
    gc.collect()
    log.snapshot()  # the next pinning read drops the released pin on the server
    log.ingest("a", 5, 5)
    log.trim(6)
    assert admin.xlen(log.name) == 0 and list(log.replay()) == []


def test_an_iterator_keeps_its_snapshots_pin_after_the_snapshot_is_dropped(
    make_log: Callable[..., RedisEventLog[Any, Any]], admin: redis.Redis
) -> None:
    log = make_log()
    log.ingest_many([("a", i, i) for i in range(5)])
    events = iter(log.snapshot())  # the snapshot itself is collected here
    since = log.snapshot().replay(2)
    gc.collect()
    assert log.trim(5) == 5 and admin.xlen(log.name) == 5  # both still pinned
    assert [value for _, _, value in events] == [0, 1, 2, 3, 4]
    assert [value for _, _, value in since] == [2, 3, 4]
    del events, since
    gc.collect()
    log.trim(5)  # flushes the released pins, then trims
    assert admin.xlen(log.name) == 0 and _pins(admin, log) == 0
    log.ingest("a", 5, 5)
    held = log.snapshot()  # a live pin, then delete(): nothing may stay behind
    assert _pins(admin, log) == 1 and len(held) == 1
    log.delete()
    assert admin.keys(f"*{log.name}*") == []


def test_a_replay_iterator_reads_its_pages_after_a_trim(
    make_log: Callable[..., RedisEventLog[Any, Any]],
) -> None:
    from cowlog.redis import PAGE

    log = make_log()
    n = PAGE * 2 + 5
    log.ingest_many([("k", i, i) for i in range(n)])
    replay = log.replay(1)
    assert next(replay) == (1, "k", 1)
    log.trim(n)
    assert [value for _, _, value in replay] == list(range(2, n))


def test_a_follower_behind_retention_gets_trimmed_error(
    make_log: Callable[..., RedisEventLog[Any, Any]],
) -> None:
    log = make_log()
    log.ingest_many([("a", i, i) for i in range(6)])
    follower = log.follow(since=0, timeout=0)
    assert next(follower) == (0, "a", 0)
    rest = list(islice(follower, 5))  # read the first page...
    assert [value for _, _, value in rest] == [1, 2, 3, 4, 5]
    log.ingest_many([("a", i, i) for i in range(6, 9)])
    log.trim(7)  # ...the follower's next offset, 6, is gone
    with pytest.raises(TrimmedError) as caught:
        next(follower)
    assert caught.value.since == 6 and caught.value.first_offset == 7
    assert list(log.follow(timeout=0)) == [(7, "a", 7), (8, "a", 8)]  # None: the oldest retained
    with pytest.raises(TrimmedError):
        next(log.follow(since=3, timeout=0))


# -- afollow --------------------------------------------------------------------------------------


def _blocked_xreads(admin: redis.Redis) -> int:
    return sum(1 for c in admin.client_list() if c.get("cmd") == "xread" and "b" in c["flags"])


def test_afollow_reads_the_backlog_then_waits_without_blocking_the_loop(
    make_log: Callable[..., RedisEventLog[Any, Any]],
) -> None:
    """The writer is a coroutine on the same loop: if afollow blocked the loop while it waits,
    the writer would never run and the follower would end on its timeout with one record."""
    log = make_log()
    log.ingest("a", 0, 0)

    async def main() -> list[Any]:
        seen: list[Any] = []

        async def writer() -> None:
            while not seen:  # wait for the follower to have read the backlog
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
            log.ingest_many([("b", 1, 1), ("c", 2, 2)])

        task = asyncio.create_task(writer())
        async for record in log.afollow(timeout=5):
            seen.append(record)
            if len(seen) == 3:
                break
        await task
        return seen

    assert asyncio.run(asyncio.wait_for(main(), 60)) == [(0, "a", 0), (1, "b", 1), (2, "c", 2)]


def test_afollow_ends_on_its_timeout_and_on_close(
    make_log: Callable[..., RedisEventLog[Any, Any]],
) -> None:
    log = make_log()
    log.ingest_many([("a", 0, 0), ("b", 1, 1)])

    async def drain(**kwargs: Any) -> list[Any]:
        return [record async for record in log.afollow(**kwargs)]

    assert asyncio.run(drain(timeout=0)) == [(0, "a", 0), (1, "b", 1)]
    assert asyncio.run(drain(since=1, timeout=0.2)) == [(1, "b", 1)]

    async def closes() -> list[Any]:
        task = asyncio.create_task(drain(since=0))  # no timeout: only the close ends it
        await asyncio.sleep(0.1)
        log.close()
        return await asyncio.wait_for(task, 30)

    assert asyncio.run(closes()) == [(0, "a", 0), (1, "b", 1)]


def test_a_cancelled_afollow_leaves_nothing_behind(
    make_log: Callable[..., RedisEventLog[Any, Any]], admin: redis.Redis
) -> None:
    log = make_log()

    async def main() -> None:
        async def follow() -> None:
            async for _ in log.afollow():
                pass

        task = asyncio.create_task(follow())
        while _blocked_xreads(admin) == 0:  # until it waits on the server
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())  # returns once the worker thread's XREAD slice has ended
    assert _blocked_xreads(admin) == 0
    pool = log._client.connection_pool
    assert len(pool._in_use_connections) == 0  # type: ignore[attr-defined]


# -- close ----------------------------------------------------------------------------------------


def test_a_closed_log_refuses_writes_before_any_round_trip_and_keeps_reading(
    make_log: Callable[..., RedisEventLog[Any, Any]], admin: redis.Redis
) -> None:
    log = make_log()
    with log as same:
        assert same is log and not log.closed
        log.ingest("a", 0, 0)
    assert log.closed and "closed" in repr(log)
    scripts = evalsha_calls(admin)
    with pytest.raises(LogClosedError, match="closed"):
        log.ingest("b", 1, 1)
    with pytest.raises(LogClosedError):
        log.ingest_many([("b", 1, 1)])
    assert evalsha_calls(admin) == scripts
    log.close()  # twice: harmless
    assert list(log.replay()) == [(0, "a", 0)] and log.latest("a") == (0, "a", 0)
    assert list(log.snapshot()) == [(0, "a", 0)] and log.trim(1) == 1
    # Local to the object: the log on the server stays open for everyone else.
    other = RedisEventLog(log._client, log.name)
    assert other.ingest("b", 1, 1) == 1


def test_close_ends_this_objects_followers_after_they_drain(
    make_log: Callable[..., RedisEventLog[Any, Any]], admin: redis.Redis
) -> None:
    log = make_log()
    got: list[Any] = []
    follower = log.follow()  # no timeout: only the close can end it
    thread = threading.Thread(target=lambda: got.extend(follower))
    thread.start()
    while _blocked_xreads(admin) == 0:
        time.sleep(0.01)
    log.ingest_many([("a", 0, 0), ("b", 1, 1)])
    log.close()
    thread.join(30)
    assert not thread.is_alive() and got == [(0, "a", 0), (1, "b", 1)]
