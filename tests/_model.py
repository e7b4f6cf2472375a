"""An obviously correct model of the contract, for tests: a list and the shortlog rule."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

Triple = tuple[int, Hashable, Any]


def shortlog_by_rule(events: Sequence[Triple]) -> list[Triple]:
    """The replay with every superseded event removed: greatest timestamp, ties to the later."""
    survivor: dict[Hashable, int] = {}
    for offset, (timestamp, key, _) in enumerate(events):
        if key not in survivor or timestamp >= events[survivor[key]][0]:
            survivor[key] = offset
    return [events[offset] for offset in sorted(survivor.values())]
