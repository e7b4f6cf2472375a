"""The verdicts `cowlog bench` prints (cowlog.cli.bench): each target decided by its figures."""

from __future__ import annotations

from typing import Any

from cowlog.cli.bench import _targets, _time_calls


def _results(**snapshot_at_3m: float) -> dict[str, Any]:
    return {
        "ingest": {"1000000": {"floor": 0.4e-6, "cowlog": 0.7e-6, "seed": 4e-6}},
        "growth": {
            "100000": {"floor": 1.0, "cowlog": 1.5},
            "3000000": {"floor": 1.0, "cowlog": 1.8},
        },
        "snapshot": {
            "1000": {"cowlog": 0.10e-6, "cowlog_at_1k": 0.10e-6},
            "3000000": snapshot_at_3m,
        },
        "distinct_keys": {"200000": {"seed": 3e-6, "cowlog": 1e-6}},
        "mixed": {},
    }


def _verdicts(results: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    return {name.split(":")[0]: (figure, met) for name, figure, met in _targets(results)}


def test_snapshot_target_compares_with_the_1k_log_timed_beside_it() -> None:
    """A slow stretch that doubles both figures taken side by side is not a growing cost."""
    slow_moment = _verdicts(_results(cowlog=0.20e-6, cowlog_at_1k=0.20e-6))
    assert slow_moment["snapshot O(1)"] == ("1.00x", True)
    growing = _verdicts(_results(cowlog=0.20e-6, cowlog_at_1k=0.10e-6))
    assert growing["snapshot O(1)"] == ("2.00x", False)


def test_ingest_and_growth_targets_use_their_own_ratios() -> None:
    verdicts = _verdicts(_results(cowlog=0.1e-6, cowlog_at_1k=0.1e-6))
    assert verdicts["ingest >= 5x the seed at 1M"] == ("5.7x", True)
    assert verdicts["ingest <= 1.5x the floor at 1M"] == ("1.75x", False)
    assert verdicts["growth"] == ("1.20x", True)
    assert verdicts["ingest >= 1.5x the seed, 100k keys"] == ("3.0x", True)


def test_time_calls_times_every_call_and_runs_each_batch() -> None:
    counts = {"a": 0, "b": 0}

    def bump(name: str) -> Any:
        def call() -> None:
            counts[name] += 1

        return call

    times = _time_calls({"a": bump("a"), "b": bump("b")}, budget=0.01, at_most=5)
    assert set(times) == {"a", "b"} and all(0 < t < 1 for t in times.values())
    assert counts == {"a": 1 + 9 * 5, "b": 1 + 9 * 5}  # one probe call, then 9 batches of 5
