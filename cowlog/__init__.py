"""cowlog: a thread-safe, in-memory event log with lock-free O(1) snapshots.

Many threads `ingest` events ``(key, value, timestamp)``; any number of readers
take consistent `Snapshot` views at any moment to **replay** the log in arrival order or
read its **shortlog**, the most recent event of each key. Writers serialize on one lock and publish
a new immutable version with one reference store; readers never lock.

Examples:
    >>> from cowlog import EventLog
    >>> log = EventLog()
    >>> _ = log.ingest("disk", "full", 10)
    >>> _ = log.ingest("disk", "ok", 15)
    >>> [e.value for e in log.replay()], log.latest("disk").value
    (['full', 'ok'], 'ok')
"""

from ._checks import Event as Event
from ._log import EventLog as EventLog
from ._snapshot import Snapshot as Snapshot

__all__ = ["Event", "EventLog", "Snapshot"]
__version__ = "0.1.0"
