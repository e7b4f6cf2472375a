"""The reusable state machine (cowlog.testing) run against EventLog and the seed-compatible shim.

Four machines: EventLog and ``cowlog.compat.logger_service`` (through ``SeedShimAdapter``), each
without threads (failures shrink to a minimal program) and with the concurrency rule (failures
report at once: shrinking a timing-dependent failure is slow and rarely reproduces it). The
mutation checks at the bottom run the machine on deliberately broken logs (tests/_broken.py) and
pass only if the machine catches each one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import _broken
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from cowlog import EventLog, Snapshot
from cowlog.compat import logger_service
from cowlog.testing import log_state_machine

#: The thread machines run fewer, longer examples and never shrink.
_threads = settings(
    max_examples=max(5, settings.default.max_examples // 4),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)


class SeedShimAdapter:
    """EventLog's interface on ``logger_service``: the seed API wherever the seed has a method.

    ``ingest`` (positional, as the seed calls it), ``replay()`` and ``shortlog()`` go through the
    shim, so every write and every whole-log read the machine checks is the shim's. What the seed
    API lacks (batches, snapshots, ``latest``, ``len``, ``replay(since)``) goes through
    ``service.log``, the shim's documented EventLog.
    """

    def __init__(self) -> None:
        self.service = logger_service()

    def __len__(self) -> int:
        return len(self.service.log)

    def ingest(self, key: Any, value: Any, timestamp: Any = None) -> int:
        result = self.service.ingest(key, value, timestamp)
        assert result is None, "the seed's ingest returns None"
        return len(self.service.log) - 1  # its offset (single-threaded callers only)

    def ingest_many(self, items: Iterable[Any]) -> range:
        return self.service.log.ingest_many(items)

    def snapshot(self) -> Snapshot[Any, Any]:
        return self.service.log.snapshot()

    def replay(self, since: int = 0) -> Iterator[Any]:
        if type(since) is int and since == 0:
            return self.service.replay()
        return self.service.log.replay(since)

    def shortlog(self) -> Iterator[Any]:
        return self.service.shortlog()

    def latest(self, key: Any) -> Any:
        return self.service.log.latest(key)


TestEventLogMachine = log_state_machine(EventLog, concurrency=False).TestCase

TestEventLogMachineWithThreads = log_state_machine(EventLog).TestCase
TestEventLogMachineWithThreads.settings = _threads
TestEventLogMachineWithThreads = pytest.mark.timeout(600)(TestEventLogMachineWithThreads)

TestSeedShimMachine = log_state_machine(SeedShimAdapter, concurrency=False).TestCase

#: Retention: max_events drops whole chunks as the log grows, and the machine trims at random too.
TestRetainedLogMachine = log_state_machine(
    lambda: EventLog(max_events=10), concurrency=False, retain=10
).TestCase

TestSeedShimMachineWithThreads = log_state_machine(SeedShimAdapter).TestCase
TestSeedShimMachineWithThreads.settings = _threads
TestSeedShimMachineWithThreads = pytest.mark.timeout(600)(TestSeedShimMachineWithThreads)


# -- mutation checks: the machine must catch each deliberately broken log --------------------------

#: Broken logs the single-threaded machine must catch, with the promise each one breaks.
SEQUENTIAL_MUTANTS = [
    "TiesKeptFirst",
    "ShortlogInKeyOrder",
    "RejectedBatchLeavesPartialWrite",
    "SnapshotAliasesLiveLog",
    "ReplaySinceOffByOne",
    "NegativeIndexWrong",
    "AcceptsBoolTimestamp",
    "AcceptsFloatTimestamp",
    "LatestIsLastIngested",
    "LenCountsCalls",
    "LateBindingReplay",
    "StoresIntSubclass",
    "LockHeldAfterError",
]

#: Fixed seed, no shrinking: a mutation check is about *whether* the bug is found.
_mutation_settings = settings(
    max_examples=300,
    stateful_step_count=40,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.mutation
@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", SEQUENTIAL_MUTANTS)
def test_machine_catches_broken_log(name: str) -> None:
    """MUTATION CHECK: the machine fails on a log that breaks one promise (see tests/_broken.py)."""
    machine = log_state_machine(_broken.MUTANTS[name], concurrency=False, write_timeout=2.0)
    with pytest.raises(AssertionError):
        run_state_machine_as_test(machine, settings=_mutation_settings)


@pytest.mark.mutation
def test_machine_passes_the_correct_list_log() -> None:
    """The control for the mutation checks: the unbroken ListLog passes the same machine."""
    machine = log_state_machine(_broken.ListLog, concurrency=False)
    run_state_machine_as_test(machine, settings=settings(_mutation_settings, max_examples=60))
