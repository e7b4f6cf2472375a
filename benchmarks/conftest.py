"""Shared logs for the benchmarks: each design prefilled once per session, as fast as it allows.

Every benchmark runs one operation on every design, in one pytest-benchmark ``group``, so the
table shows cowlog beside the floor (a locked ``list`` + ``dict``), the seed's design and, where it
matters, the naive persistent design (cowlog/_baselines.py). ``pytest benchmarks
--benchmark-disable`` runs each once, untimed, so that they never rot.
"""

from __future__ import annotations

from typing import Any

import pytest

# One definition of the designs, the workload and the prefill, shared with `cowlog bench`.
from cowlog.cli.bench import MAKERS as MAKERS
from cowlog.cli.bench import Item as Item
from cowlog.cli.bench import _items as items
from cowlog.cli.bench import _prefill as prefill
from cowlog.cli.bench import _random_items as random_items

BIG = 1_000_000


class Logs:
    """Prefilled logs by (design, events, keys, order), made on first use, kept for the session.

    *order* is ``"round-robin"`` (`cowlog bench`'s items: key ``i % keys``) or ``"random"`` (keys
    drawn with ``random.Random(1)``, so survivors are out of first-seen order). The design
    ``"list"`` is no log: a plain list of the very tuples the cowlog log of the same slot stores.
    """

    def __init__(self) -> None:
        self._made: dict[tuple[str, int, int, str, str], Any] = {}

    def get(
        self,
        design: str,
        n: int,
        keys: int = 100,
        purpose: str = "read",
        order: str = "round-robin",
    ) -> Any:
        """A log of *n* events; a different *purpose* gets its own copy (for benchmarks that
        ingest into it, so that readers elsewhere see the size they expect)."""
        slot = (design, n, keys, purpose, order)
        if slot not in self._made:
            if design == "list":
                made: Any = list(self.get("cowlog", n, keys, purpose, order).replay())
            else:
                make = random_items if order == "random" else items
                made = prefill(design, make(n, keys))
            self._made[slot] = made
        return self._made[slot]


@pytest.fixture(scope="session")
def logs() -> Logs:
    return Logs()
