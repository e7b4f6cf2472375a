"""The verdicts `cowlog bench` prints (cowlog.cli.bench): each target decided by its figures."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cowlog.cli.bench import (
    QUICK,
    _median_ratio,
    _random_items,
    _read_row,
    _targets,
    _time_calls,
    _time_rounds,
    bench_ingest,
    bench_reads,
)


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


def _targets_by_name(results: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    return {name: (figure, met) for name, figure, met in _targets(results)}


def test_ingest_bar_is_judged_on_the_median_of_the_ratios_within_rounds() -> None:
    """The best rounds of each design may come from different moments: the bar takes the median
    over the rounds of cowlog / floor within each round when the rounds are kept."""
    results = _results(cowlog=0.1e-6, cowlog_at_1k=0.1e-6)
    results["ingest"]["1000000"]["cowlog_floor_median"] = 1.3
    verdicts = _targets_by_name(results)
    assert verdicts["ingest <= 1.5x the floor at 1M"] == ("1.30x", True)
    assert verdicts["stretch: ingest <= 1.25x the floor at 1M"] == ("1.30x", False)


def test_bench_ingest_keeps_its_rounds_and_the_median_ratio() -> None:
    out = bench_ingest((300,), (3,), 10, lambda done: None)["300"]
    assert set(out["rounds"]) == {"floor", "cowlog", "seed"}
    assert all(len(runs) == 3 for runs in out["rounds"].values())
    assert out["cowlog"] == min(out["rounds"]["cowlog"])
    runs = out["rounds"]
    ratios = sorted(c / f for c, f in zip(runs["cowlog"], runs["floor"], strict=True))
    assert out["cowlog_floor_median"] == ratios[1]


def _row(**median: float) -> dict[str, Any]:
    return {"op": "op", "workload": "w", "median": median, "min": median, "rounds": {}}


def test_read_bars_compare_the_medians_of_their_rows() -> None:
    results = _results(cowlog=0.1e-6, cowlog_at_1k=0.1e-6)
    results["reads"] = {
        "drain replay()@100000": _row(list=1.0, floor=1.5, cowlog=1.5, seed=6.0),
        "list(replay())@100000": _row(list=1.0, floor=1.2, cowlog=2.0, seed=9.0),
        "list(shortlog())@100000": _row(floor=1.0, cowlog=2.0, seed=5.0),
        "list(shortlog())@100000 keys, round-robin": _row(floor=1.0, cowlog=2.0, seed=3.0),
        "list(shortlog())@100000 keys, random": _row(floor=1.0, cowlog=4.0, seed=3.0),
    }
    verdicts = _targets_by_name(results)
    assert verdicts["drain replay() 100k <= 2x a list of the tuples"] == ("1.50x", True)
    assert verdicts["stretch: drain replay() 100k <= 1.25x a list"] == ("1.50x", False)
    assert verdicts["drain replay() 100k >= 3x the seed"] == ("4.0x", True)
    assert verdicts["list(replay()) 100k >= 5x the seed"] == ("4.5x", False)
    assert verdicts["list(shortlog()) 100 keys: no slower than the seed"] == ("2.50x", True)
    assert verdicts["stretch: list(shortlog()) 100 keys: 2x the seed"] == ("2.50x", True)
    assert verdicts["list(shortlog()) 100k keys: no slower than the seed"] == ("1.50x", True)
    assert verdicts["stretch: list(shortlog()) 100k keys: 2x the seed"] == ("1.50x", False)
    random_keys = "list(shortlog()) 100k random keys: no slower than the seed"
    assert verdicts[random_keys] == ("0.75x", False)


def test_read_bars_are_left_out_without_their_rows() -> None:
    results = _results(cowlog=0.1e-6, cowlog_at_1k=0.1e-6)
    results["reads"] = {"list(shortlog())@100000": _row(floor=1.0, cowlog=2.0, seed=1.0)}
    names = [name for name, _, _ in _targets(results)]
    assert not [name for name in names if "replay()" in name or "shortlog()) 100k" in name]
    assert "list(shortlog()) 100 keys: no slower than the seed" in names


def test_memory_bar_compares_with_0_1() -> None:
    results = _results(cowlog=0.1e-6, cowlog_at_1k=0.1e-6)
    label = "memory <= 0.1's 144.5 B / event (100 keys)"
    results["memory"] = {"cowlog": 140.0}
    assert _targets_by_name(results)[label] == ("140.0 B", True)
    results["memory"] = {"cowlog": 150.0}
    assert _targets_by_name(results)[label] == ("150.0 B", False)


def test_random_items_are_reproducible_and_out_of_first_seen_order() -> None:
    items = _random_items(2_000, 500)
    assert items == _random_items(2_000, 500)
    assert [value for _, value, _ in items] == list(range(2_000))
    first_seen = list(dict.fromkeys(key for key, _, _ in items))
    last_seen = list(dict.fromkeys(key for key, _, _ in reversed(items)))[::-1]
    assert first_seen != last_seen  # survivors in log order differ from first-seen order


def test_time_rounds_keeps_one_figure_per_round() -> None:
    counts = {"a": 0, "b": 0}

    def bump(name: str) -> Any:
        def call() -> None:
            counts[name] += 1

        return call

    times = _time_rounds({"a": bump("a"), "b": bump("b")}, rounds=4, budget=1e-9)
    assert {name: len(runs) for name, runs in times.items()} == {"a": 4, "b": 4}
    assert counts == {"a": 1 + 4, "b": 1 + 4}  # one probe call, then 4 batches of 1


def test_bench_reads_runs_every_read_on_small_logs() -> None:
    """A tiny run: every row is there, with a figure for each of its designs."""
    config = replace(QUICK, read_sizes=(3_000,), read_keyed_events=2_000, read_rounds=1)
    config = replace(config, read_budget=1e-6)
    reads = bench_reads(config, lambda done: None)
    assert set(reads) == {
        "drain replay()@3000",
        "list(replay())@3000",
        "list(shortlog())@3000",
        "latest(key)@3000",
        "snap[i]@3000",
        "list(shortlog())@100000 keys, round-robin",
        "list(shortlog())@100000 keys, random",
    }
    assert set(reads["drain replay()@3000"]["median"]) == {"list", "floor", "cowlog", "seed"}
    assert set(reads["list(shortlog())@3000"]["median"]) == {"floor", "cowlog", "seed"}
    assert all(t > 0 for row in reads.values() for t in row["median"].values())


def test_read_bars_use_the_median_of_the_per_round_ratios_when_kept() -> None:
    """A slow moment that hits one design in one round must not decide a bar: the ratio within
    each round, then their median."""
    row = bench_reads_row_from_rounds(cowlog=[1.0, 1.0, 9.0], seed=[2.0, 2.0, 2.0])
    results = _results(cowlog=0.1e-6, cowlog_at_1k=0.1e-6)
    results["reads"] = {"list(shortlog())@100000": row}
    verdicts = _targets_by_name(results)
    assert verdicts["list(shortlog()) 100 keys: no slower than the seed"] == ("2.00x", True)


def bench_reads_row_from_rounds(**rounds: list[float]) -> dict[str, Any]:
    calls = {name: (lambda: None) for name in rounds}
    row = _read_row("list(shortlog())", "w", calls, rounds=1, budget=1e-9)
    row["rounds"] = rounds
    row["median"] = {name: sorted(times)[1] for name, times in rounds.items()}
    row["ratios"] = {"seed / cowlog": _median_ratio(rounds["seed"], rounds["cowlog"])}
    return row


def test_memory_bar_takes_0_1s_figure_to_its_digit() -> None:
    results = _results(cowlog=0.1e-6, cowlog_at_1k=0.1e-6)
    results["memory"] = {"cowlog": 144.545}  # 0.1 measured 144.5 to one decimal
    assert _targets_by_name(results)["memory <= 0.1's 144.5 B / event (100 keys)"][1]
