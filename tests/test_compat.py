"""cowlog.compat.logger_service: the seed's API, each of the seed's defects shown fixed.

The seed is the reference service in ../shared/seed/0001-log-service.md. Each test named
``test_defect_...`` says in its docstring what the seed did. The ``test_seed_...`` tests at the end
run the seed's own code (extracted from that file) on the real logs and record exactly
where its output differs from the shim's.
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import re
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cowlog import EventLog
from cowlog.compat import logger_service

DATA = Path(__file__).parent / "data" / "loghub"
LOGS = sorted(DATA.glob("*.jsonl"))
SEED = Path(
    os.environ.get("COWLOG_SEED")
    or Path(__file__).resolve().parents[2] / "shared" / "seed" / "0001-log-service.md"
)

Triple = tuple[int, Any, Any]


def read(path: Path) -> list[Triple]:
    """The log as (timestamp, key, value) triples, in file order."""
    with path.open(encoding="utf-8") as lines:
        return [(row["ts"], row["key"], row["value"]) for row in map(json.loads, lines)]


def model_shortlog(events: list[Triple]) -> list[Triple]:
    """The shortlog rule, by brute force: per key the event with the greatest (timestamp, offset),
    listed in log order."""
    offsets_by_key: dict[Any, list[int]] = {}
    for offset, (_, key, _) in enumerate(events):
        offsets_by_key.setdefault(key, []).append(offset)
    survivors = [max(offs, key=lambda i: (events[i][0], i)) for offs in offsets_by_key.values()]
    return [events[i] for i in sorted(survivors)]


def filled(n: int, keys: int = 10) -> tuple[logger_service, list[Triple]]:
    service = logger_service()
    events = [(i, f"k{i % keys}", {"n": i}) for i in range(n)]
    for timestamp, key, value in events:
        service.ingest(key, value, timestamp)
    return service, events


class tiny_switch_interval:
    """Make the interpreter switch threads every microsecond; restore the old interval on exit."""

    def __enter__(self) -> None:
        self.old = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)

    def __exit__(self, *exc: object) -> None:
        sys.setswitchinterval(self.old)


def run_threads(targets: list[Callable[[], None]], timeout: float = 60) -> None:
    """Start one thread per target, join them all, and re-raise the first error any of them hit."""
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:
                errors.append(exc)

        return run

    threads = [threading.Thread(target=guarded(t)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a thread did not finish: deadlock?"
    if errors:
        raise errors[0]


# -- the seed's API ------------------------------------------------------------------------------


def test_switching_is_one_import_with_the_seeds_signatures() -> None:
    service = logger_service()
    assert service.ingest("disk", "full", 10) is None  # the seed's ingest returned nothing
    service.ingest(key="disk", value="ok", timestamp=15)
    replay, shortlog = service.replay(), service.shortlog()
    assert iter(replay) is replay and iter(shortlog) is shortlog  # iterators, as the seed's were
    assert list(replay) == [(10, "disk", "full"), (15, "disk", "ok")]
    assert list(shortlog) == [(15, "disk", "ok")]
    for ts, key, value in service.replay():  # the seed's tuple order unpacks as before
        assert (type(ts), type(key), type(value)) == (int, str, str)
    assert isinstance(service.log, EventLog) and len(service.log) == 2


def test_shortlog_lists_survivors_in_log_order() -> None:
    """The seed listed keys in order of first appearance; the shim lists survivors in log order."""
    service = logger_service()
    for key, timestamp in [("a", 1), ("b", 2), ("a", 3)]:
        service.ingest(key, None, timestamp)
    assert [key for _, key, _ in service.shortlog()] == ["b", "a"]  # the seed: ["a", "b"]


def test_float_timestamp_is_refused_and_changes_nothing() -> None:
    """The seed stored any timestamp it could compare; cowlog wants exact ints."""
    service, events = filled(5)
    for bad in (1.5, True, "7", b"7"):
        with pytest.raises(TypeError, match="timestamp"):
            service.ingest("k0", "x", bad)  # type: ignore[arg-type]
    assert list(service.replay()) == events


def test_unhashable_key_is_refused_and_changes_nothing() -> None:
    """The seed appended the event to its raw log, then raised when updating the latest dict."""
    service, events = filled(5)
    with pytest.raises(TypeError, match="key must be hashable"):
        service.ingest(["not", "hashable"], "x", 99)
    assert list(service.replay()) == events
    assert list(service.shortlog()) == model_shortlog(events)
    service.ingest("after", "works", 100)
    assert len(service.log) == 6


# -- the seed's defects, each shown fixed --------------------------------------------------------


def test_defect_1_abandoned_generators_never_exhaust_copies_or_leak() -> None:
    """The seed counted live copies: its replay() generator took one of 32 "raw copies" when first
    advanced and gave it back only when run to the end, so after 32 abandoned replays (64 for
    shortlog) every later call raised "Too many raw copies" for the life of the service.

    The shim: 10,000 abandoned (started, never finished) replays and shortlogs, then both still
    work, and the memory in use (tracemalloc) does not grow with the number abandoned.
    """
    service, events = filled(200)

    def abandon(n: int) -> None:
        for _ in range(n):
            next(service.replay())
            next(service.shortlog())

    started_here = not tracemalloc.is_tracing()
    if started_here:
        tracemalloc.start()
    try:
        abandon(1_000)  # warm up caches and free lists
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        abandon(10_000)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        if started_here:
            tracemalloc.stop()
    # A leak of one small object per abandoned iterator would be at least 20,000 * 16 bytes.
    assert grown < 64 * 1024, f"memory grew by {grown} bytes over 20,000 abandoned iterators"
    assert list(service.replay()) == events
    assert list(service.shortlog()) == model_shortlog(events)


class EventType(str):
    """A key whose hash lets other threads run (``time.sleep(0)`` gives up the GIL, as a hash that
    took a lock or logged would): hashing it in the middle of a dictionary store hands the
    interpreter to another thread right there."""

    def __hash__(self) -> int:
        time.sleep(0)
        return str.__hash__(self)


@pytest.mark.timeout(120)
def test_defect_2_concurrent_writers_newest_timestamp_always_wins() -> None:
    """The seed's rw_lock.acquire_write waited for readers but not for another writer, so two
    writers ran the check-then-set on the latest-per-type dict at once and an older timestamp could
    overwrite a newer one.

    Forces: 4 writer threads, a switch every microsecond, all writing one key (an EventType, whose
    __hash__ yields the GIL, so another writer runs between the seed's check and its store;
    against the seed's own code this test fails every time) with interleaved
    timestamps (writer i writes i, i+4, i+8, ...). After each ingest a writer publishes its
    timestamp, then reads the shortlog: its survivor may not be older than any ingest that already
    returned. A reader polls meanwhile. Catches a lost update: a survivor older than a returned
    ingest, a survivor that goes back in time, or a final one that is not the newest.
    """
    service = logger_service()
    key = EventType("one key")
    per_writer = 2_000
    done = threading.Event()
    seen: list[int] = []
    returned = [-1] * 4  # the timestamp of each writer's last ingest that returned

    def writer(i: int) -> Callable[[], None]:
        def run() -> None:
            for timestamp in range(i, 4 * per_writer, 4):
                service.ingest(key, timestamp, timestamp)
                returned[i] = timestamp
                floor = max(returned)  # every one of these ingests has returned: none may be lost
                ((survivor, _, _),) = service.shortlog()
                assert survivor >= floor, f"ingest({floor}) returned; the survivor is {survivor}"

        return run

    def reader() -> None:
        while not done.is_set():
            for timestamp, _, value in service.shortlog():
                assert timestamp == value
                seen.append(timestamp)

    reading = threading.Thread(target=reader)
    with tiny_switch_interval():
        reading.start()
        try:
            run_threads([writer(i) for i in range(4)])
        finally:
            done.set()
            reading.join(60)
    assert not reading.is_alive()
    newest = 4 * per_writer - 1
    assert list(service.shortlog()) == [(newest, "one key", newest)]
    assert seen == sorted(seen), "the survivor went back in time"
    arrived = list(service.replay())
    assert sorted(ts for ts, _, _ in arrived) == list(range(4 * per_writer))
    assert list(service.shortlog()) == model_shortlog(arrived)


def test_defect_3_replay_is_a_snapshot_taken_when_called_without_copying() -> None:
    """The seed's replay copied the whole log, O(n), under the read lock while writers waited.

    The shim's replay reads an O(1) snapshot: starting one on 100,000 events allocates next to
    nothing (the seed's copy alone is 800 kB of references), and it yields exactly the events
    ingested before the call, none of the ones ingested while it is being read.
    """
    service, events = filled(100_000)
    started_here = not tracemalloc.is_tracing()
    if started_here:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        replay, shortlog = service.replay(), service.shortlog()
        first = next(replay)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        if started_here:
            tracemalloc.stop()
    assert peak < 16 * 1024, f"starting a replay allocated {peak} bytes"
    never_started = service.replay()
    for i in range(1_000):
        service.ingest("k0", "later", 10**9 + i)
    assert [first, *replay] == events
    assert list(never_started) == events
    assert list(shortlog) == model_shortlog(events)


@pytest.mark.timeout(60)
def test_defect_3_writers_proceed_while_a_reader_holds_an_unfinished_iterator() -> None:
    """Forces: a reader thread starts a replay and a shortlog, reads one event of each and then
    waits, holding both, until a writer thread has ingested 1,000 more events. Would deadlock (and
    time out) if an unfinished iterator held anything writers wait for; would fail if the reader's
    iterators showed any of the writer's events."""
    service, events = filled(3_000)
    holding, written = threading.Event(), threading.Event()
    got: dict[str, list[Any]] = {}

    def reader() -> None:
        replay, shortlog = service.replay(), service.shortlog()
        head = [next(replay)], [next(shortlog)]
        holding.set()
        assert written.wait(30), "the writer never finished while the reader held its iterators"
        got["replay"] = head[0] + list(replay)
        got["shortlog"] = head[1] + list(shortlog)

    def writer() -> None:
        assert holding.wait(30)
        for i in range(1_000):
            service.ingest(f"k{i % 7}", "new", 10**9 + i)
        written.set()

    run_threads([reader, writer])
    assert got["replay"] == events
    assert got["shortlog"] == model_shortlog(events)
    assert len(service.log) == 4_000


def _freeze(obj: Any) -> Any:
    """A comparable copy of a structure: containers by content, anything else by identity."""
    if isinstance(obj, (int, str, bytes, bool, type(None))):
        return obj
    if isinstance(obj, dict):
        return ("dict", tuple((_freeze(k), _freeze(v)) for k, v in obj.items()))
    if isinstance(obj, (list, tuple)) or type(obj).__name__ == "PVector":
        return (type(obj).__name__, tuple(_freeze(item) for item in obj))
    return ("id", id(obj))


def _state(service: logger_service) -> Any:
    """Every field of the shim and of its log (but the lock), frozen for comparison."""
    fields = []
    for obj in (service, service.log):
        names = [*getattr(type(obj), "__slots__", ()), *getattr(obj, "__dict__", ())]
        for name in names:
            if name not in ("__weakref__", "_lock", "_log") and hasattr(obj, name):
                fields.append((type(obj).__name__, name, _freeze(getattr(obj, name))))
    return fields


@pytest.mark.timeout(120)
def test_defect_4_readers_change_nothing_shared() -> None:
    """The seed's readers incremented and decremented its copy counters while holding only the
    shared read lock, so two readers could lose an update (a data race on the counters).

    Forces: 4 reader threads, a switch every microsecond, each starting, partly reading and
    abandoning 2,000 replays and shortlogs. Catches any state a reader writes: every field of the
    log and of the shim is the same, by content, before and after, and every read was whole.
    """
    service, events = filled(2_000, keys=20)
    expected_shortlog = model_shortlog(events)
    before = _state(service)

    def reader() -> None:
        for i in range(2_000):
            replay, shortlog = service.replay(), service.shortlog()
            assert list(itertools.islice(replay, i % 50)) == events[: i % 50]
            assert next(shortlog) == expected_shortlog[0]
        assert list(service.shortlog()) == expected_shortlog

    with tiny_switch_interval():
        run_threads([reader] * 4)
    assert _state(service) == before
    assert list(service.replay()) == events


@pytest.mark.timeout(120)
def test_defect_5_replay_and_shortlog_never_disagree() -> None:
    """The seed appended to its raw log and updated its latest-per-type dict under two separate
    locks, so a reader could see an event in replay() that a shortlog() asked for afterwards did
    not reflect yet (or a shortlog event no replay asked for afterwards contained).

    Forces: 3 writers ingesting 12 keys (timestamps from a counter, so later means newer) while a
    reader, switching every microsecond, alternates replay-then-shortlog and shortlog-then-replay
    and reads a replay and a shortlog from one snapshot. Catches an ingest that is visible to one
    read and not to a later one, and a snapshot whose shortlog is not the rule applied to its
    replay.
    """
    counter = itertools.count()
    service = logger_service(clock=lambda: next(counter))
    done = threading.Event()
    checks = [0]

    def writer(w: int) -> Callable[[], None]:
        def run() -> None:
            for i in range(4_000):
                service.ingest(f"k{(i * 5 + w) % 12}", (w, i), None)

        return run

    def reader() -> None:
        while not done.is_set() or checks[0] < 10:
            replay = list(service.replay())
            newest = {key: ts for ts, key, _ in replay}
            shortlog = {key: ts for ts, key, _ in service.shortlog()}
            for key, ts in newest.items():  # every event replay showed is reflected
                assert shortlog[key] >= ts, f"shortlog missed {key}@{ts} that replay showed"
            shortlog_events = set(service.shortlog())
            replay_events = {(ts, key) for ts, key, _ in service.replay()}
            assert {(ts, key) for ts, key, _ in shortlog_events} <= replay_events
            snap = service.log.snapshot()
            assert list(snap.shortlog()) == model_shortlog(list(snap.replay()))
            checks[0] += 1

    reading = threading.Thread(target=reader)
    with tiny_switch_interval():
        reading.start()
        try:
            run_threads([writer(w) for w in range(3)])
        finally:
            done.set()
            reading.join(60)
    assert not reading.is_alive() and checks[0] >= 10
    final = list(service.replay())
    assert len(final) == 12_000
    assert list(service.shortlog()) == model_shortlog(final)


def test_defect_6_none_timestamp_takes_the_greatest_seen_and_does_not_freeze_the_key() -> None:
    """The seed stored a timestamp of None as is; its check ``latest[1] is not None and ...`` then
    never replaced that event, so the key's shortlog stayed frozen on it forever (and a later None
    raised TypeError after the event was already in the raw log).

    The shim: None takes the greatest timestamp ingested so far (0 before any), and later events
    replace it by the usual rule."""
    service = logger_service()
    service.ingest("k", "first", None)
    assert list(service.shortlog()) == [(0, "k", "first")]
    service.ingest("k", "newer", 101)
    service.ingest("k", "older", 50)
    service.ingest("k", "none after 101", None)  # takes 101: ties with "newer", arrives later
    assert list(service.shortlog()) == [(101, "k", "none after 101")]
    service.ingest("k", "newest", 102)
    assert list(service.shortlog()) == [(102, "k", "newest")]
    assert [ts for ts, _, _ in service.replay()] == [0, 101, 50, 101, 102]


# One moment, 2026-12-02 16:00:00 UTC, in each unit a caller might use.
UNITS = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
MOMENT_S = 1_796_227_200


@pytest.mark.parametrize("unit", UNITS)
def test_none_timestamp_never_outranks_later_events_in_any_unit(unit: str) -> None:
    """Defect 6 as 0.1 left it: None took time.time_ns(), which outranks every later timestamp in
    s, ms or us for ever. Now, in every unit, an event one tick after the greatest seen replaces
    a None event, whether the None came first, in the middle or after several keys."""
    scale = UNITS[unit]
    now = MOMENT_S * scale
    service = logger_service()
    service.ingest("boot", "none first", None)
    service.ingest("boot", "real", now)
    assert list(service.shortlog()) == [(now, "boot", "real")]
    service.ingest("cpu", "hot", now + 5 * scale)
    service.ingest("boot", "none later", None)  # the greatest seen: now + 5 s, from another key
    latest = service.log.latest("boot")
    assert latest is not None and latest[0] == now + 5 * scale
    service.ingest("boot", "one tick later", now + 5 * scale + 1)
    assert [(key, value) for _, key, value in service.shortlog()] == [
        ("cpu", "hot"),
        ("boot", "one tick later"),
    ]


def test_none_timestamp_takes_the_clock_when_it_is_ahead_and_never_goes_back() -> None:
    """With a clock in the caller's unit, None is "now"; a clock behind what was seen (a skewed
    host, or a clock in a smaller unit) is overruled by the greatest timestamp seen."""
    readings = iter([100, 5])
    service = logger_service(clock=lambda: next(readings))
    service.ingest("k", "by clock", None)
    service.ingest("k", "real", 50)
    service.ingest("k", "clock behind", None)
    assert [ts for ts, _, _ in service.replay()] == [100, 50, 100]
    with pytest.raises(TypeError, match="clock must be callable"):
        logger_service(clock=5)  # type: ignore[arg-type]


def test_refused_ingest_does_not_move_the_greatest_timestamp() -> None:
    service = logger_service()
    service.ingest("a", 1, 10)
    with pytest.raises(TypeError):
        service.ingest(["unhashable"], 1, 99)
    with pytest.raises(TypeError):
        service.ingest("a", 1, 99.5)  # type: ignore[arg-type]
    service.ingest("a", "none", None)
    assert list(service.replay())[-1] == (10, "a", "none")


@pytest.mark.timeout(120)
def test_none_takes_the_greatest_timestamp_before_it_in_arrival_order_under_contention() -> None:
    """Forces: 3 threads ingesting rising real timestamps (each its own stride) and 3 threads
    ingesting None, with a switch every microsecond, so a None ingest is constantly interleaved
    with real ones. Proves: every None event's timestamp is exactly the greatest timestamp of the
    events before it in the replay (the arrival order). Catches a "greatest seen" read or updated
    outside the writers' order: a None event that took a stale maximum (smaller than an event
    that arrived before it) or one from the future."""
    service = logger_service()
    per_thread = 2_000

    def real(offset: int) -> Callable[[], None]:
        def run() -> None:
            for i in range(per_thread):
                service.ingest(f"k{i % 7}", "real", i * 3 + offset)

        return run

    def none(name: str) -> Callable[[], None]:
        def run() -> None:
            for i in range(per_thread):
                service.ingest(f"k{i % 7}", name, None)

        return run

    with tiny_switch_interval():
        run_threads([real(0), real(1), real(2), none("n0"), none("n1"), none("n2")])
    greatest = 0
    checked = 0
    for timestamp, _, value in service.replay():
        if value == "real":
            greatest = max(greatest, timestamp)
        else:
            assert timestamp == greatest
            checked += 1
    assert checked == 3 * per_thread
    assert greatest == (per_thread - 1) * 3 + 2


# -- an ordinary object --------------------------------------------------------------------------


def test_service_is_an_ordinary_object_weakref_attributes_and_patch() -> None:
    import weakref
    from unittest import mock

    service = logger_service()
    ref = weakref.ref(service)
    assert ref() is service
    service.name = "orders"  # type: ignore[attr-defined]
    assert service.name == "orders"  # type: ignore[attr-defined]
    with mock.patch.object(service, "ingest") as fake:
        service.ingest("k", "v", 1)
        fake.assert_called_once_with("k", "v", 1)
    assert list(service.replay()) == []  # the patched ingest did not write
    service.ingest("k", "v", 1)
    assert list(service.replay()) == [(1, "k", "v")]
    del service
    gc.collect()
    assert ref() is None


def test_replay_and_shortlog_are_generators_that_close_and_accept_send() -> None:
    import inspect

    service, events = filled(5)
    for method in (service.replay, service.shortlog):
        generator = method()
        assert inspect.isgenerator(generator)
        first = next(generator)
        assert type(first) is tuple and first == events[0]
        assert generator.send(None) == events[1]
        assert generator.send("ignored, as by the seed's") in events
        generator.close()
        with pytest.raises(StopIteration):
            next(generator)


def test_repr_says_how_many_events_and_the_greatest_timestamp() -> None:
    service = logger_service()
    assert repr(service) == "<cowlog.compat.logger_service: 0 events, greatest timestamp none yet>"
    service.ingest("a", 1, 7)
    service.ingest("b", 1, 3)
    assert repr(service) == "<cowlog.compat.logger_service: 2 events, greatest timestamp 7>"


def test_defect_7_equal_timestamps_the_later_arrival_wins() -> None:
    """The seed replaced a key's latest event only on a strictly greater timestamp, so of equal
    timestamps it kept the first. cowlog keeps the later arrival (a documented difference): the
    shortlog is the replay with every superseded event removed, and an event with the same
    timestamp supersedes the one before it."""
    service = logger_service()
    service.ingest("k", "first", 5)
    service.ingest("other", "x", 6)
    service.ingest("k", "second", 5)
    service.ingest("k", "older", 4)
    assert list(service.shortlog()) == [(6, "other", "x"), (5, "k", "second")]
    assert service.log.latest("k") == (5, "k", "second")


# -- real logs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.stem)
def test_real_log_matches_an_obviously_correct_model(path: Path) -> None:
    events = read(path)
    service = logger_service()
    for timestamp, key, value in events:
        service.ingest(key, value, timestamp)
    replay = list(service.replay())
    assert replay == events
    assert all(a[2] is b[2] for a, b in zip(replay, events, strict=True))  # values by reference
    assert list(service.shortlog()) == model_shortlog(events)
    assert all(type(e) is tuple for e in service.shortlog())  # the seed's plain tuples
    assert all(type(e) is tuple for e in service.replay())


# -- the seed's own code -------------------------------------------------------------------------


def seed_class() -> type:
    """The seed's logger_service, from the python block of its markdown file, or skip."""
    if not SEED.is_file():
        pytest.skip(f"the seed is not here ({SEED}); set COWLOG_SEED to its markdown file")
    match = re.search(r"```python\n(.*?)```", SEED.read_text(encoding="utf-8"), re.DOTALL)
    assert match, f"no python block in {SEED}"
    namespace: dict[str, Any] = {"__name__": "seed"}
    exec(compile(match.group(1), str(SEED), "exec"), namespace)
    cls: type = namespace["logger_service"]
    return cls


def seed_fed(events: list[Triple]) -> Any:
    seed = seed_class()()
    for timestamp, key, value in events:
        seed.ingest(key, value, timestamp)
    return seed


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.stem)
def test_seed_on_real_log_differs_from_shim_only_as_documented(path: Path) -> None:
    """Same replay. Shortlog: same keys and same survivor timestamps; the survivor differs only for
    a key whose greatest timestamp is shared by several events (the seed keeps the first, the shim
    the last); the seed lists keys in order of first appearance, the shim in log order."""
    events = read(path)
    seed = seed_fed(events)
    service = logger_service()
    for timestamp, key, value in events:
        service.ingest(key, value, timestamp)

    assert list(seed.replay()) == list(service.replay()) == events
    seed_short, shim_short = list(seed.shortlog()), list(service.shortlog())
    assert [k for _, k, _ in seed_short] == list(dict.fromkeys(k for _, k, _ in events))
    assert [k for _, k, _ in shim_short] == [k for _, k, _ in model_shortlog(events)]
    seed_by_key = {k: (ts, v) for ts, k, v in seed_short}
    shim_by_key = {k: (ts, v) for ts, k, v in shim_short}
    assert seed_by_key.keys() == shim_by_key.keys()
    for key, (timestamp, shim_value) in shim_by_key.items():
        assert seed_by_key[key][0] == timestamp
        tied = [v for ts, k, v in events if k == key and ts == timestamp]
        assert seed_by_key[key][1] == tied[0] and shim_value == tied[-1]


def test_seed_keeps_the_first_of_equal_timestamps_on_the_real_logs() -> None:
    """The documented difference shows up on real data. On the six samples the seed's shortlog
    names another event than the shim's for 16 keys (Apache 3, HealthApp 1, Spark 12): exactly the
    keys whose greatest timestamp is shared by several events. Its key order differs in all six."""
    differing: dict[str, int] = {}
    for path in LOGS:
        events = read(path)
        seed_short = {k: v for _, k, v in seed_fed(events).shortlog()}
        differing[path.stem] = sum(seed_short[k] is not v for _, k, v in model_shortlog(events))
        shared_greatest = sum(
            [ts for ts, k, _ in events if k == key].count(timestamp) > 1
            for timestamp, key, _ in model_shortlog(events)
        )
        assert differing[path.stem] == shared_greatest, path.stem
    assert sum(differing.values()) > 0, differing


def test_seed_defects_1_6_7_are_real() -> None:
    """The seed's own code shows the defects the shim fixes (deterministic ones only)."""
    seed = seed_class()()
    seed.ingest("k", "first", None)  # defect 6: a first None freezes the key
    seed.ingest("k", "newer", 10)
    assert list(seed.shortlog()) == [(None, "k", "first")]
    seed.ingest("t", "first", 5)  # defect 7: of equal timestamps the first is kept
    seed.ingest("t", "second", 5)
    assert (5, "t", "first") in list(seed.shortlog())
    for _ in range(32):  # defect 1: 32 abandoned replays exhaust the copies
        abandoned: Iterator[Any] = seed.replay()
        next(abandoned)
        del abandoned
    gc.collect()
    with pytest.raises(Exception, match="Too many raw copies"):
        next(seed.replay())


@pytest.mark.timeout(60)
def test_reentrant_ingest_raises_instead_of_deadlocking_on_the_shims_lock() -> None:
    """A key whose __hash__ writes to the same service re-enters ingest while the shim holds its
    own lock. The shim's lock is re-entrant, so the nested call reaches the log, which refuses a
    re-entrant write with RuntimeError; a plain lock would hang here for ever."""
    service = logger_service()

    class Sneaky:
        def __hash__(self) -> int:
            service.ingest("inner", "x", None)
            return 1

    with pytest.raises(RuntimeError, match="re-entrant"):
        service.ingest(Sneaky(), "outer", 5)
    service.ingest("after", "works", None)
    assert list(service.replay()) == [(0, "after", "works")]
