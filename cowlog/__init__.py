"""cowlog: a thread-safe, in-memory event log with lock-free O(1) snapshots.

Many threads `ingest` events ``(key, value, timestamp)``; any number of readers
take consistent `Snapshot` views at any moment to **replay** the log in arrival order or
read its **shortlog**, the most recent event of each key. Writers serialize on one lock and publish
a new immutable version with one reference store; readers never lock. Writes return offsets; reads
hand out the stored records, plain ``(timestamp, key, value)`` tuples (annotate them as `Record`).

Examples:
    >>> from cowlog import EventLog
    >>> log = EventLog()
    >>> log.ingest("disk", "full", 10), log.ingest("disk", "ok", 15)
    (0, 1)
    >>> [value for _, _, value in log.replay()], log.latest("disk")
    (['full', 'ok'], (15, 'disk', 'ok'))
"""

from ._checks import LogClosedError as LogClosedError
from ._checks import Record as Record
from ._checks import TrimmedError as TrimmedError
from ._log import EventLog as EventLog
from ._snapshot import Snapshot as Snapshot

__all__ = ["EventLog", "LogClosedError", "Record", "Snapshot", "TrimmedError"]
__version__ = "0.2.0"
