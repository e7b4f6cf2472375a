"""The reusable state machine (cowlog.testing) run against a journaled log.

Every step compares the log with a plain list (as for `EventLog`), and ``_check`` also reads the
journal file read-only and compares its events with the log's: the file holds exactly the accepted
writes, in order, after refused calls and hostile keys too.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path
from typing import Any

import pytest

from cowlog import journal
from cowlog.testing import log_state_machine

# pickle: the machine's values include tuples and objects that JSON would refuse
pytestmark = pytest.mark.filterwarnings("ignore::cowlog.journal.PickleWarning")

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
