"""The reusable state machine (cowlog.testing) run against a journaled log.

Every step compares the log with a plain list (as for `EventLog`), and ``_check`` also reads the
journal file read-only and compares its events with the log's: the file holds exactly the accepted
writes, in order, after refused calls and hostile keys too. A second machine adds two rules:
`compact` and a restart (close, then reopen the same file: the values come back as copies, so it
compares them by type-strict equality), with and without ``max_events``.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis.stateful import rule

from cowlog import journal
from cowlog.testing import log_state_machine

# pickle: the machine's values include tuples and objects that JSON would refuse
pytestmark = pytest.mark.filterwarnings("ignore::cowlog.journal.UnsafeCodecWarning")

_directory = Path(tempfile.mkdtemp(prefix="cowlog-stateful-"))
_names = itertools.count()


class CheckedJournaledLog(journal.JournaledLog[Any, Any]):
    """A journaled log whose `_check` also compares the file with the log."""

    def _check(self) -> None:
        super()._check()
        on_file = journal.read(self.recovery.path).to_log()
        assert list(on_file.replay()) == list(self.replay()), "the journal differs from the log"
        assert list(on_file.shortlog()) == list(self.shortlog())
        assert on_file.first_offset == self.first_offset


def _fresh() -> CheckedJournaledLog:
    return CheckedJournaledLog(_directory / f"log{next(_names)}", fsync="never", codec="pickle")


TestJournaledLogMachine = log_state_machine(_fresh, concurrency=False).TestCase


def _restartable(max_events: int | None) -> type[Any]:
    def fresh() -> CheckedJournaledLog:
        path = _directory / f"log{next(_names)}"
        return CheckedJournaledLog(path, fsync="never", codec="pickle", max_events=max_events)

    machine = log_state_machine(fresh, concurrency=False, retain=max_events, values="equal")

    class RestartingMachine(machine):  # type: ignore[misc,valid-type]
        @rule()
        def compact(self) -> None:
            self.log.compact()

        @rule()
        def restart(self) -> None:
            """A service restarts: close the log, open its file again (held snapshots stay)."""
            path = self.log.recovery.path
            self.log.close()
            self.log = CheckedJournaledLog(
                path, fsync="never", codec="pickle", max_events=max_events
            )

    return RestartingMachine


TestRestartingJournaledLog = _restartable(None).TestCase
TestRestartingJournaledLogWithRetention = _restartable(10).TestCase
