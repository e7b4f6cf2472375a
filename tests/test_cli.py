"""The ``cowlog`` command, end to end, on the real logs and on every kind of bad input.

The model is plain Python: read the file with ``json``/``csv`` into a list of records, apply the
shortlog rule (greatest time, ties to the later line, survivors in log order), print each record.
Most tests call ``main()`` in-process for speed; a few run the installed command in a subprocess.
"""

from __future__ import annotations

import csv
import gc
import gzip
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from _model import shortlog_by_rule

import cowlog.cli.main
from cowlog.cli.main import main

DATA = Path(__file__).parent / "data" / "loghub"
JSONL = sorted(DATA.glob("*.jsonl"))
CSV = sorted(DATA.glob("*.log_structured.csv"))
SYSTEMS = [path.name.split("_")[0] for path in JSONL]

# How each loghub CSV's own Date/Time columns read as a time (docs/cli.md gives the same table).
TIME_FORMATS = {
    "Apache": ("Time", "%a %b %d %H:%M:%S %Y"),
    "HDFS": ("Date+Time", "%y%m%d %H%M%S"),
    "HealthApp": ("Time", "%Y%m%d-%H:%M:%S:%f"),
    "OpenSSH": ("Date+Day+Time", "%b %d %H:%M:%S"),
    "Spark": ("Date+Time", "%y/%m/%d %H:%M:%S"),
    "Zookeeper": ("Date+Time", "%Y-%m-%d %H:%M:%S,%f"),
}

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cowlog_main(capsys: pytest.CaptureFixture[str]) -> Run:
    """Call main() in-process; return (exit status, stdout, stderr)."""

    def run(*argv: str | Path) -> tuple[int, str, str]:
        status = main([str(arg) for arg in argv])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def cowlog_process(*argv: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m cowlog`` as a separate process, the way a user runs the command."""
    return subprocess.run(
        [sys.executable, "-m", "cowlog", *map(str, argv)],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


# -- the model -----------------------------------------------------------------------------------


def jsonl_records(path: Path) -> list[tuple[int, Any, str]]:
    """(ts, key, the line as read) for every line of a JSON-lines file: the obvious way."""
    records = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            records.append((row["ts"], row["key"], line.strip()))
    return records


def csv_records(path: Path, key: str, time: Callable[[dict[str, str]], int]) -> list[Any]:
    """(time, key, the row as a JSON object of strings) for every row of a CSV file."""
    with path.open(newline="", encoding="utf-8") as rows:
        return [
            (time(row), row[key], json.dumps(row, ensure_ascii=False))
            for row in csv.DictReader(rows)
        ]


def printed(records: list[Any]) -> str:
    return "".join(text + "\n" for _, _, text in records)


# -- shortlog and replay on the real logs --------------------------------------------------------


@pytest.mark.parametrize("path", JSONL, ids=lambda p: p.stem)
def test_shortlog_of_real_jsonl_prints_the_models_survivors_as_read(
    cowlog_main: Run, path: Path
) -> None:
    status, out, err = cowlog_main("shortlog", path, "--format", "jsonl")
    assert (status, err) == (0, "")
    assert out == printed(shortlog_by_rule(jsonl_records(path)))


@pytest.mark.parametrize("since", [0, 1, 1000, 1999, 2000, 5000])
@pytest.mark.parametrize("path", JSONL[:2], ids=lambda p: p.stem)
def test_replay_of_real_jsonl_prints_every_record_from_offset_since(
    cowlog_main: Run, path: Path, since: int
) -> None:
    status, out, _ = cowlog_main("replay", path, "--since", since, "--format", "jsonl")
    assert status == 0
    assert out == printed(jsonl_records(path)[since:])


@pytest.mark.parametrize("path", CSV, ids=lambda p: p.stem)
def test_shortlog_of_published_csv_by_line_id_matches_model(cowlog_main: Run, path: Path) -> None:
    status, out, _ = cowlog_main(
        "shortlog", path, "--key", "EventId", "--time", "LineId", "--format", "jsonl"
    )
    model = shortlog_by_rule(csv_records(path, "EventId", lambda row: int(row["LineId"])))
    assert status == 0
    assert out == printed(model)
    # by line number, the last row of each event type survives
    assert len(model) == len({row[1] for row in csv_records(path, "EventId", lambda r: 0)})


@pytest.mark.parametrize("system", SYSTEMS)
def test_shortlog_of_csv_with_its_own_times_picks_the_same_lines_as_the_jsonl(
    cowlog_main: Run, system: str
) -> None:
    """The documented --time/--time-format recipe per system reads times as the JSONL has them."""
    time_field, time_format = TIME_FORMATS[system]
    status, out, err = cowlog_main(
        "shortlog",
        DATA / f"{system}_2k.log_structured.csv",
        *("--key", "EventId", "--time", time_field, "--time-format", time_format),
        *("--format", "jsonl"),
    )
    assert (status, err) == (0, "")
    from_csv = [int(json.loads(line)["LineId"]) for line in out.splitlines()]
    model = shortlog_by_rule(jsonl_records(DATA / f"{system}_2k.jsonl"))
    assert from_csv == [json.loads(text)["line"] for _, _, text in model]


def test_nested_key_field_reaches_into_the_value(cowlog_main: Run) -> None:
    path = DATA / "HDFS_2k.jsonl"
    status, out, _ = cowlog_main("shortlog", path, "--key", "value.Component", "--format", "jsonl")
    records = [(ts, json.loads(text)["value"]["Component"], text) for ts, _, text in
               jsonl_records(path)]  # fmt: skip
    assert status == 0
    assert out == printed(shortlog_by_rule(records))


def test_no_time_keeps_the_last_record_of_each_type(cowlog_main: Run) -> None:
    path = DATA / "Zookeeper_2k.jsonl"  # out of time order: some last lines are not the latest
    status, out, _ = cowlog_main("shortlog", path, "--no-time", "--format", "jsonl")
    by_line = [(line, key, text) for line, (_, key, text) in enumerate(jsonl_records(path))]
    assert status == 0
    assert out == printed(shortlog_by_rule(by_line))
    assert out != printed(shortlog_by_rule(jsonl_records(path)))


def test_output_is_jsonl_when_stdout_is_not_a_terminal(cowlog_main: Run) -> None:
    path = DATA / "Spark_2k.jsonl"
    status, out, _ = cowlog_main("shortlog", path)
    assert status == 0
    assert out == printed(shortlog_by_rule(jsonl_records(path)))


def test_table_shows_offset_line_time_type_and_message(cowlog_main: Run) -> None:
    path = DATA / "HDFS_2k.jsonl"
    records = jsonl_records(path)
    status, out, err = cowlog_main("shortlog", path, "--format", "table")
    assert status == 0
    rows = [line.split() for line in out.splitlines() if line.strip().split()[:1] != ["offset"]]
    rows = [row for row in rows if row and row[0].isdigit()]
    survivors = shortlog_by_rule(records)
    offsets = [records.index(record) for record in survivors]
    assert [int(row[0]) for row in rows] == offsets
    assert [int(row[1]) for row in rows] == [offset + 1 for offset in offsets]  # no blank lines
    assert [int(row[2]) for row in rows] == [ts for ts, _, _ in survivors]
    assert [row[3] for row in rows] == [key for _, key, _ in survivors]
    content = json.loads(survivors[0][2])["value"]["Content"]
    assert " ".join(rows[0][4:]).rstrip("…") in content
    assert f"{len(survivors)} event types, latest of 2,000 events" in err


def test_table_shows_brackets_verbatim_not_as_markup(cowlog_main: Run, tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"key": "[b]k", "ts": 1, "message": "Auth fail [preauth] [/nope]"}\n')
    status, out, _ = cowlog_main("shortlog", path, "--format", "table")
    assert status == 0
    assert "[b]k" in out and "Auth fail [preauth] [/nope]" in out


def test_replay_table_numbers_offsets_from_since(cowlog_main: Run) -> None:
    status, out, _ = cowlog_main("replay", DATA / "Zookeeper_2k.jsonl", "--since", 1995,
                                 "--format", "table")  # fmt: skip
    offsets = [int(line.split()[0]) for line in out.splitlines() if line.split()[:1] != []
               and line.split()[0].isdigit()]  # fmt: skip
    assert (status, offsets) == (0, [1995, 1996, 1997, 1998, 1999])


def test_table_line_column_counts_blank_and_skipped_lines(cowlog_main: Run, tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(
        '\n{"key": "a", "ts": 1}\nbad\n{"key": "b", "ts": 1}\n\n{"key": "a", "ts": 0}\n'
    )
    for command in (["replay"], ["shortlog"]):
        status, out, _ = cowlog_main(*command, path, "--skip-bad", "--format", "table")
        rows = [line.split()[:4] for line in out.splitlines() if line.split()[:1] != []]
        rows = [row for row in rows if row[0].isdigit()]
        expected = [["0", "2", "1", "a"], ["1", "4", "1", "b"], ["2", "6", "0", "a"]]
        assert status == 0
        assert rows == (expected if command == ["replay"] else expected[:2])


def test_main_leaves_the_garbage_collector_as_it_found_it(cowlog_main: Run, tmp_path: Path) -> None:
    """main() turns the collector off while loading and freezes what it loaded; a caller running
    main() in its own process (like this test) must get the collector back unchanged."""
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    assert cowlog_main("shortlog", DATA / "HDFS_2k.jsonl")[0] == 0
    bad = tmp_path / "x.jsonl"
    bad.write_text("nope\n")
    assert cowlog_main("shortlog", bad)[0] == 2
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen


def test_blank_lines_are_skipped_and_take_no_offset(cowlog_main: Run, tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('\n{"key": "a", "ts": 1}\n\n{"key": "b", "ts": 1}\n')
    status, out, _ = cowlog_main("replay", path, "--since", 1, "--format", "jsonl")
    assert (status, out) == (0, '{"key": "b", "ts": 1}\n')


def test_gzipped_input_reads_like_the_plain_file(cowlog_main: Run, tmp_path: Path) -> None:
    path = tmp_path / "Spark.jsonl.gz"
    path.write_bytes(gzip.compress((DATA / "Spark_2k.jsonl").read_bytes()))
    assert cowlog_main("shortlog", path, "--format", "jsonl") == cowlog_main(
        "shortlog", DATA / "Spark_2k.jsonl", "--format", "jsonl"
    )


# -- the installed command -----------------------------------------------------------------------


def test_installed_command_shortlog_of_real_jsonl_matches_model() -> None:
    path = DATA / "Zookeeper_2k.jsonl"
    done = cowlog_process("shortlog", path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == printed(shortlog_by_rule(jsonl_records(path)))


def test_installed_command_replay_of_real_csv_matches_model() -> None:
    path = DATA / "OpenSSH_2k.log_structured.csv"
    done = cowlog_process("replay", path, "--key", "EventId", "--time", "LineId", "--since", 10)
    assert done.returncode == 0
    model = csv_records(path, "EventId", lambda row: int(row["LineId"]))
    assert done.stdout == printed(model[10:])


def test_console_script_is_installed_and_runs() -> None:
    script = Path(sys.executable).parent / "cowlog"
    if not script.exists():
        pytest.skip("cowlog is not installed as a console script beside this interpreter")
    path = DATA / "HealthApp_2k.jsonl"
    done = subprocess.run(
        [str(script), "shortlog", str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0
    assert done.stdout == printed(shortlog_by_rule(jsonl_records(path)))


def test_dash_reads_json_lines_from_stdin() -> None:
    text = (DATA / "Apache_2k.jsonl").read_text(encoding="utf-8")
    done = cowlog_process("shortlog", "-", stdin=text)
    assert done.returncode == 0
    assert done.stdout == printed(shortlog_by_rule(jsonl_records(DATA / "Apache_2k.jsonl")))


def test_jsonl_output_is_utf8_even_when_the_locale_is_ascii(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"key": "café", "ts": 1}\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "cowlog", "shortlog", str(path)],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
        timeout=120,
    )
    assert (done.returncode, done.stdout) == (0, '{"key": "café", "ts": 1}\n'.encode())


def test_dash_with_input_format_csv_reads_csv_from_stdin() -> None:
    path = DATA / "Apache_2k.log_structured.csv"
    done = cowlog_process(
        "shortlog", "-", "--input-format", "csv", "--key", "EventId", "--time", "LineId",
        stdin=path.read_text(encoding="utf-8"),
    )  # fmt: skip
    model = csv_records(path, "EventId", lambda row: int(row["LineId"]))
    assert (done.returncode, done.stdout) == (0, printed(shortlog_by_rule(model)))


def test_bad_line_on_stdin_is_located_as_stdin() -> None:
    done = cowlog_process("replay", "-", stdin='{"key": "a", "ts": 1}\n{"key": "a"}\n')
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "<stdin>:2: no field 'ts' (the record has: key; pick one with --time)\n"


def test_closed_pipe_ends_quietly_without_a_traceback() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "cowlog", "replay", str(DATA / "HDFS_2k.jsonl")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()  # like `| head -1`: 700 kB of output cannot fit the pipe
    err = process.stderr.read().decode()
    process.wait(timeout=60)
    assert "Traceback" not in err
    assert process.returncode in (0, 1)


# -- bad input -----------------------------------------------------------------------------------

GOOD = '{"key": "ok", "ts": 1}\n'
BAD_LINES = {
    "malformed JSON": ('{"key": "a", "ts": 1', "not valid JSON: Expecting ',' delimiter"),
    "not an object": ('["a", 1]', "not a JSON object but an array"),
    "missing key field": ('{"ts": 1}', "no field 'key'"),
    "missing time field": ('{"key": "a"}', "no field 'ts'"),
    "unparseable time": ('{"key": "a", "ts": "noon-ish"}', "time field 'ts': cannot read"),
    "bool time": ('{"key": "a", "ts": true}', "time field 'ts' is a boolean (true)"),
    "float time": ('{"key": "a", "ts": 1.5}', "time field 'ts' is a float (1.5)"),
    "null time": ('{"key": "a", "ts": null}', "time field 'ts' is null"),
    "object key": ('{"key": {"a": 1}, "ts": 1}', "key field 'key' is an object"),
}


@pytest.mark.parametrize("kind", BAD_LINES)
def test_bad_record_exits_2_with_one_located_line_and_no_output(
    cowlog_main: Run, tmp_path: Path, kind: str
) -> None:
    line, message = BAD_LINES[kind]
    path = tmp_path / "log.jsonl"
    path.write_text(GOOD + GOOD + line + "\n" + GOOD)
    status, out, err = cowlog_main("shortlog", path)
    assert (status, out) == (2, "")
    assert err.startswith(f"{path}:3: {message}")
    assert err.count("\n") == 1 and err.endswith("\n")


@pytest.mark.parametrize("kind", ["malformed JSON", "float time"])  # a process each: two kinds
def test_bad_record_in_a_process_shows_no_traceback(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text(GOOD + BAD_LINES[kind][0] + "\n")
    done = cowlog_process("replay", path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"{path}:2: ") and done.stderr.count("\n") == 1


def test_bad_csv_time_with_time_format_is_located(cowlog_main: Run, tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("LineId,Time,EventId\n1,10:00:00,E1\n2,ten past,E1\n")
    status, out, err = cowlog_main(
        "shortlog", path, "--key", "EventId", "--time", "Time", "--time-format", "%H:%M:%S"
    )
    assert (status, out) == (2, "")
    assert err == f"{path}:3: time field 'Time': 'ten past' does not match --time-format " \
        "'%H:%M:%S'\n"  # fmt: skip


def test_csv_without_the_default_key_column_says_which_columns_exist(cowlog_main: Run) -> None:
    path = DATA / "HDFS_2k.log_structured.csv"
    status, _, err = cowlog_main("shortlog", path)
    assert status == 2
    assert err.startswith(f"{path}:1: no column 'key' in the header (pick one with --key: LineId")


def test_missing_file_is_one_line_and_exit_2(cowlog_main: Run, tmp_path: Path) -> None:
    status, out, err = cowlog_main("shortlog", tmp_path / "nowhere.jsonl")
    assert (status, out) == (2, "")
    assert err == f"{tmp_path / 'nowhere.jsonl'}: No such file or directory\n"


def test_missing_file_in_a_process_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = cowlog_process("replay", tmp_path / "nowhere.jsonl")
    assert done.returncode == 2
    assert done.stderr == f"{tmp_path / 'nowhere.jsonl'}: No such file or directory\n"


@pytest.mark.parametrize("since", ["-1", "ten", "1.5", ""])
def test_bad_since_is_a_usage_error(cowlog_main: Run, since: str) -> None:
    status, out, err = cowlog_main("replay", DATA / "HDFS_2k.jsonl", "--since", since)
    assert (status, out) == (2, "")
    assert f"argument --since: must be an integer >= 0, got {since!r}" in err
    assert "Traceback" not in err


def test_since_past_the_end_prints_nothing(cowlog_main: Run) -> None:
    assert cowlog_main("replay", DATA / "HDFS_2k.jsonl", "--since", 10**9) == (0, "", "")


def test_skip_bad_skips_every_kind_and_reports_the_count(cowlog_main: Run, tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    good = [f'{{"key": "k{i % 3}", "ts": {i % 5}, "n": {i}}}' for i in range(30)]
    lines: list[str] = []
    for i, text in enumerate(good):
        lines.append(text)
        if i < len(BAD_LINES):
            lines.append(list(BAD_LINES.values())[i][0])
    path.write_text("\n".join(lines) + "\n")
    status, out, err = cowlog_main("shortlog", path, "--skip-bad")
    records = [(json.loads(text)["ts"], json.loads(text)["key"], text) for text in good]
    assert status == 0
    assert out == printed(shortlog_by_rule(records))
    assert err == (
        f"cowlog: skipped {len(BAD_LINES)} bad records; the first: {path}:2: not valid JSON: "
        "Expecting ',' delimiter (column 21)\n"
    )


def test_skip_bad_with_nothing_bad_reports_nothing(cowlog_main: Run) -> None:
    status, _, err = cowlog_main("shortlog", DATA / "HDFS_2k.jsonl", "--skip-bad")
    assert (status, err) == (0, "")


# -- help, rich, demo, bench ---------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["shortlog"], ["replay"], ["demo"], ["bench"]])
def test_every_command_has_help(cowlog_main: Run, command: list[str]) -> None:
    status, out, _ = cowlog_main(*command, "--help")
    assert status == 0
    assert out.startswith(f"usage: cowlog {' '.join(command)}".rstrip())


def test_no_command_is_a_usage_error(cowlog_main: Run) -> None:
    status, _, err = cowlog_main()
    assert status == 2 and "required: COMMAND" in err


def test_table_without_rich_says_how_to_install_it(
    cowlog_main: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)  # import rich now raises ImportError
    status, out, err = cowlog_main("shortlog", DATA / "HDFS_2k.jsonl", "--format", "table")
    assert (status, out) == (2, "")
    assert err == "cowlog: this needs rich: pip install 'cowlog[cli]' (or use --format jsonl)\n"
    assert cowlog_main("demo", "--seconds", "0.1")[0] == 2


def test_jsonl_output_works_without_rich(cowlog_main: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    path = DATA / "HDFS_2k.jsonl"
    status, out, _ = cowlog_main("shortlog", path, "--format", "jsonl")
    assert (status, out) == (0, printed(shortlog_by_rule(jsonl_records(path))))


@pytest.mark.timeout(60)
def test_demo_runs_writers_and_readers_and_reports_consistency(cowlog_main: Run) -> None:
    """Two writers and two readers share one log for half a second.

    Every reader checks each snapshot against itself (size never shrinks, the last 50 events are
    the snapshot's last, one shortlog event per type that latest() agrees with) and the final
    shortlog is checked against a plain-Python model; a broken log would make the demo exit 1.
    """
    status, out, _ = cowlog_main("demo", "--seconds", "0.5", "--writers", "2", "--readers", "2")
    assert status == 0, out
    assert "consistent: all" in out
    ingested = next(line for line in out.splitlines() if "events ingested" in line)
    assert int(ingested.split("│")[2].strip().replace(",", "")) > 0


@pytest.mark.timeout(60)
def test_demo_replays_a_real_log_file(cowlog_main: Run) -> None:
    """One writer replays the Spark sample in laps while one reader reads; the log ends
    consistent with the model, and its types are the file's."""
    status, out, _ = cowlog_main(
        "demo", DATA / "Spark_2k.jsonl", "--seconds", "0.3", "--writers", "1", "--readers", "1"
    )
    assert status == 0, out
    assert "consistent: all" in out
    assert "E22" in out  # one of the file's event types


def test_demo_refuses_a_silly_duration(cowlog_main: Run) -> None:
    status, _, err = cowlog_main("demo", "--seconds", "0")
    assert status == 2 and "--seconds: must be between 0 and 600" in err


def test_bench_calls_the_benchmark_runner_with_its_options(
    cowlog_main: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cowlog.cli.bench

    calls: list[dict[str, Any]] = []

    def fake_run(**options: Any) -> int:
        calls.append(options)
        return 7

    monkeypatch.setattr(cowlog.cli.bench, "run", fake_run)
    assert cowlog_main("bench", "--quick", "--json", "out.json")[0] == 7
    assert cowlog_main("bench")[0] == 7
    assert calls == [{"quick": True, "json_path": "out.json"}, {"quick": False, "json_path": None}]


def test_main_module_only_calls_main() -> None:
    source = (Path(cowlog.__file__).parent / "__main__.py").read_text()
    assert "main()" in source and "import" in source


# -- hostile input and output (issue 13) ---------------------------------------------------------

# Characters that must never reach a terminal raw: ESC (starts a terminal escape), BEL, CR (moves
# back over what was written), DEL, CSI (a C1 control that starts an escape on its own), a bidi
# override (reorders the rest of the line), the line separator, and a lone surrogate.
COMMAND = [sys.executable, "-m", "cowlog"]
HOSTILE = "\x1b\x07\r\x7f\x9b\u202e\u2028\ud800"


def hostile_jsonl(tmp_path: Path) -> tuple[Path, str]:
    """A JSON-lines file whose keys and messages hold every HOSTILE character (as JSON escapes:
    a lone surrogate can only arrive that way; raw bytes that are not UTF-8 are refused)."""
    lines = [
        json.dumps({"key": f"k{ch}", "ts": i, "message": f"m{ch}[31mred"})
        for i, ch in enumerate(HOSTILE)
    ]
    path = tmp_path / "hostile.jsonl"
    text = "\n".join(lines) + "\n"
    path.write_text(text, encoding="ascii")
    return path, text


def test_table_shows_controls_escapes_and_surrogates_escaped_never_raw(tmp_path: Path) -> None:
    path, _ = hostile_jsonl(tmp_path)
    for command in ("shortlog", "replay"):
        done = subprocess.run(
            [sys.executable, "-m", "cowlog", command, str(path), "--format", "table"],
            capture_output=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        out = done.stdout.decode("utf-8")  # strictly: no surrogate can have been written
        assert not set(HOSTILE) & set(out), [ch for ch in HOSTILE if ch in out]
        for shown in ("k\\x1b", "m\\x1b[31mred", "k\\x07", "k\\r", "k\\x7f", "k\\x9b"):
            assert shown in out
        for shown in ("k\\u202e", "k\\u2028", "k\\ud800", "m\\ud800[31mred"):
            assert shown in out


def test_jsonl_output_keeps_hostile_records_exactly_as_read(tmp_path: Path) -> None:
    path, text = hostile_jsonl(tmp_path)
    done = cowlog_process("replay", path, "--format", "jsonl")
    assert (done.returncode, done.stdout, done.stderr) == (0, text, "")


def test_csv_with_controls_prints_them_intact_in_jsonl_and_escaped_in_a_table(
    tmp_path: Path,
) -> None:
    path = tmp_path / "x.csv"
    path.write_text('k,ts,msg\na,1,"x\x1b[2Jy\x9bz"\n', encoding="utf-8", newline="")
    done = cowlog_process("shortlog", path, "--key", "k")
    assert json.loads(done.stdout) == {"k": "a", "ts": "1", "msg": "x\x1b[2Jy\x9bz"}
    table = cowlog_process("shortlog", path, "--key", "k", "--format", "table")
    assert "x\\x1b[2Jy\\x9bz" in table.stdout and "\x1b" not in table.stdout


def test_unencodable_characters_in_a_table_on_an_ascii_stdout_are_escaped(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"key": "café", "ts": 1, "message": "naïve ☃"}\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "cowlog", "shortlog", str(path), "--format", "table"],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode("ascii")  # strictly ASCII
    assert "caf\\xe9" in out and "na\\xefve \\u2603" in out


def test_csv_bytes_that_are_not_utf8_are_bad_input_exit_2(cowlog_main: Run, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"k,ts\na,1\n\xff\xfe,2\n")
    status, out, err = cowlog_main("shortlog", path, "--key", "k", "--format", "jsonl")
    assert (status, out, err) == (2, "", f"{path}:3: not valid UTF-8\n")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("output", ["jsonl", "table"])
def test_full_disk_is_one_line_and_exit_1(output: str) -> None:
    for command in ("shortlog", "replay"):
        with open("/dev/full", "w") as full:
            done = subprocess.run(
                [*COMMAND, command, str(DATA / "HDFS_2k.jsonl"), "--format", output],
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                timeout=120,
            )
        assert done.returncode == 1, done.stderr
        assert done.stderr == "cowlog: cannot write the output: No space left on device\n"


@pytest.mark.parametrize("output", ["jsonl", "table"])
def test_closed_pipe_ends_quietly_with_exit_1(output: str) -> None:
    """Like `| head -1`: the reader takes one line and goes away; the command stops quietly."""
    process = subprocess.Popen(
        [*COMMAND, "replay", str(DATA / "HDFS_2k.jsonl"), "--format", output],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == 1
    assert err == ""


def test_bench_refuses_an_unwritable_json_path_before_running(
    cowlog_main: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import cowlog.cli.bench

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(cowlog.cli.bench, "run", lambda **options: calls.append(options) or 0)
    for path, reason in [
        (tmp_path / "missing" / "x.json", "No such file or directory"),
        (tmp_path, "Is a directory"),
    ]:
        status, out, err = cowlog_main("bench", "--json", path)
        assert (status, out, err) == (2, "", f"cowlog: --json {path}: {reason}\n")
    assert calls == []
    fresh = tmp_path / "figures.json"
    assert cowlog_main("bench", "--quick", "--json", fresh)[0] == 0
    assert calls == [{"quick": True, "json_path": str(fresh)}]
    assert not fresh.exists()  # the check leaves nothing behind for the run to find


def _wide_table() -> Any:
    from rich.table import Table

    table = Table(title="nine wide columns")
    for i in range(9):
        table.add_column(f"column {i}", justify="right")
    table.add_row(*[f"{i * 123_456_789:,}" for i in range(9)])
    return table


def test_bench_tables_redirected_are_printed_whole_at_their_natural_width() -> None:
    import io

    from cowlog.cli.render import whole_tables_console

    out = io.StringIO()
    console = whole_tables_console(file=out)  # not a terminal: rich would assume 80 columns
    assert console.width == 80
    console.print(_wide_table())
    text = out.getvalue()
    assert "…" not in text
    assert max(map(len, text.splitlines())) > 80
    for i in range(9):
        assert f"{i * 123_456_789:,}" in text and f"column {i}" in text


def test_bench_tables_on_a_narrow_terminal_wrap_their_cells_and_cut_nothing() -> None:
    import io

    from cowlog.cli.render import whole_tables_console

    out = io.StringIO()
    console = whole_tables_console(file=out, force_terminal=True, width=60, color_system=None)
    console.print(_wide_table())
    lines = out.getvalue().splitlines()
    assert max(map(len, lines)) <= 60
    assert "…" not in out.getvalue()
    digits = sorted(ch for line in lines for ch in line if ch.isdigit())
    numbers = "".join(f"{i * 123_456_789}" for i in range(9)) + "012345678"  # cells, headers
    assert digits == sorted(numbers)  # every digit of every cell is there, folded over lines


@pytest.mark.parametrize("command", ["shortlog", "replay"])
def test_help_wraps_to_the_terminal_and_stands_on_its_own(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    texts = {}
    for columns in (60, 140):
        monkeypatch.setenv("COLUMNS", str(columns))
        assert main([command, "--help"]) == 0
        texts[columns] = capsys.readouterr().out
    assert max(map(len, texts[60].splitlines())) <= 60
    assert max(map(len, texts[140].splitlines())) > 100  # not hard-wrapped at 80
    text = " ".join(texts[140].split())
    assert "docs/cli.md" not in text
    for needed in (
        "--input-format csv",
        "epoch milliseconds",
        "ISO 8601",
        "--skip-bad",
        "Exit status: 0 success; 2 bad input or arguments",
        "--time-unit",
        "shown escaped",
        "cowlog " + command,
    ):
        assert needed in text, needed


def test_top_level_help_lists_the_commands_and_exit_statuses(cowlog_main: Run) -> None:
    status, out, _ = cowlog_main("--help")
    text = " ".join(out.split())
    assert status == 0
    for needed in ("shortlog", "replay", "demo", "bench", "Exit status: 0 success, 2 bad input"):
        assert needed in text


def table_times(out: str) -> list[str]:
    """The time column of a table: the text between the line number and the type."""
    rows = [line for line in out.splitlines() if line.split()[:1] and line.split()[0].isdigit()]
    return [" ".join(row.split()[2:-2]) for row in rows]


def test_time_column_is_utc_when_the_unit_is_given_and_raw_otherwise(cowlog_main: Run) -> None:
    path = DATA / "HDFS_2k.jsonl"  # integer times in epoch ms
    survivors = shortlog_by_rule(jsonl_records(path))
    args = ("shortlog", path, "--format", "table")
    status, raw, _ = cowlog_main(*args)
    assert status == 0 and " time " in raw.splitlines()[1]
    assert [int(row.split()[2]) for row in raw.splitlines() if row.split()[:1]
            and row.split()[0].isdigit()] == [ts for ts, _, _ in survivors]  # fmt: skip
    status, dated, _ = cowlog_main(*args, "--time-unit", "ms")
    assert status == 0 and "time (UTC)" in dated
    expected = [
        datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        for ts, _, _ in survivors
    ]
    assert [line.split()[2] + " " + line.split()[3] for line in dated.splitlines()
            if line.split()[:1] and line.split()[0].isdigit()] == expected  # fmt: skip


def test_time_column_is_utc_when_every_time_was_read_from_a_date(cowlog_main: Run) -> None:
    path = DATA / "HDFS_2k.log_structured.csv"
    args = ("shortlog", path, "--key", "EventId", "--time", "Date+Time")
    status, out, _ = cowlog_main(*args, "--time-format", "%y%m%d %H%M%S", "--format", "table")
    assert status == 0 and "time (UTC)" in out
    rows = [line.split() for line in out.splitlines() if line.split()[:1]
            and line.split()[0].isdigit()]  # fmt: skip
    assert rows and all(row[2].startswith("2008-11-") and row[3].endswith(".000") for row in rows)
    status, out, _ = cowlog_main(*args, "--time-format", "%y%m%d %H%M%S", "--format", "table",
                                 "--time-unit", "raw")  # fmt: skip
    assert status == 0 and "time (UTC)" not in out
    status, out, _ = cowlog_main(*args[:3], "EventId", "--time", "LineId", "--format", "table")
    assert status == 0 and "time (UTC)" not in out  # line ids: no unit


def test_csv_on_stdin_without_input_format_says_what_to_do() -> None:
    text = (DATA / "Apache_2k.log_structured.csv").read_text(encoding="utf-8")
    done = cowlog_process("shortlog", "-", "--key", "EventId", "--skip-bad", stdin=text)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("<stdin>:1: not valid JSON")
    assert done.stderr.endswith("stdin is read as JSON lines: for CSV, add --input-format csv\n")
    assert done.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('k,ts\na,1\nb,"never closed\nc,3\n', ":3: not valid CSV: a quoted field opens on this"),
        ("k,ts\na,1\n\ufeffk,ts\nb,2\n", ":3: a byte-order mark (U+FEFF) in mid-file"),
    ],
)
def test_hostile_csv_is_one_located_line_and_exit_2(
    cowlog_main: Run, tmp_path: Path, text: str, says: str
) -> None:
    path = tmp_path / "x.csv"
    path.write_text(text, encoding="utf-8", newline="")
    status, out, err = cowlog_main("replay", path, "--key", "k")
    assert (status, out) == (2, "")
    assert err.startswith(f"{path}{says}") and err.count("\n") == 1


def test_year_less_feb_29_is_one_line_that_says_so(cowlog_main: Run, tmp_path: Path) -> None:
    path = tmp_path / "auth.csv"
    path.write_text("k,Time\na,Feb 28 23:59:59\na,Feb 29 00:00:01\n", encoding="utf-8")
    status, _, err = cowlog_main(
        "shortlog", path, "--key", "k", "--time", "Time", "--time-format", "%b %d %H:%M:%S"
    )
    assert status == 2 and err.count("\n") == 1
    assert err.startswith(f"{path}:3: time field 'Time': 'Feb 29 00:00:01' is Feb 29, but")


def test_csv_field_over_the_default_limit_prints_whole(cowlog_main: Run, tmp_path: Path) -> None:
    big = "y" * 200_000  # the csv module's default limit is 131,072
    path = tmp_path / "x.csv"
    path.write_text(f'k,ts,msg\na,1,"{big}"\n', encoding="utf-8")
    status, out, _ = cowlog_main("shortlog", path, "--key", "k", "--format", "jsonl")
    assert status == 0 and json.loads(out)["msg"] == big


def test_demo_shows_no_rate_before_half_a_second_then_events_per_second() -> None:
    from cowlog.cli.main import _demo_rate

    first_frame = _demo_rate(4_000, 0.0004)  # 4,000 events in thread start-up: not 10M/s
    assert not any(ch.isdigit() for ch in first_frame.replace("0.5", ""))
    assert _demo_rate(1_000_000, 2.0) == "500,000/s"


def test_shortlog_memory_grows_with_the_event_types_not_the_lines(
    cowlog_main: Run, tmp_path: Path
) -> None:
    """200,000 lines of 3 event types (14 MB): the shortlog's peak of traced memory stays far
    below what holding every line would take (200,000 strings of about 70 bytes: 20 MB).
    Loading the file into an EventLog, as 0.1's shortlog did (and replay still does), peaked at
    61 MB here; the fold peaked at 0.74 MB."""
    import tracemalloc

    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for i in range(200_000):
            out.write(f'{{"key": "k{i % 3}", "ts": {i}, "message": "request {i:08d} served"}}\n')
    tracemalloc.start()
    try:
        status, out_text, _ = cowlog_main("shortlog", path, "--format", "jsonl")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert status == 0
    assert [json.loads(line)["ts"] for line in out_text.splitlines()] == [
        199_997,
        199_998,
        199_999,
    ]
    assert peak < 4_000_000, f"peak {peak:,} bytes"


def test_bench_prints_on_a_console_that_never_cuts_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """cowlog bench draws every table on render.whole_tables_console (tested above)."""
    import cowlog.cli.bench
    import cowlog.cli.render

    class Drawn(Exception):
        pass

    def console(**options: Any) -> Any:
        raise Drawn

    monkeypatch.setattr(cowlog.cli.render, "whole_tables_console", console)
    with pytest.raises(Drawn):
        cowlog.cli.bench.run(quick=True)


def test_demo_of_a_file_with_dates_shows_utc_times_and_escapes_its_name(
    cowlog_main: Run, tmp_path: Path
) -> None:
    path = tmp_path / "we\x1bird[b].jsonl"
    path.write_text('{"key": "a\\u001b", "ts": "2024-02-29T10:00:00Z"}\n', encoding="utf-8")
    status, out, _ = cowlog_main("demo", path, "--seconds", "0.2", "--writers", "1",
                                 "--readers", "1")  # fmt: skip
    assert status == 0, out
    # the name may be wrapped anywhere (a long temporary path): compare without white space
    assert "\x1b" not in out and "we\\x1bird[b].jsonl" in "".join(out.split())
    assert "time (UTC)" in out and "a\\x1b" in out


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["replay", "--help"]])
def test_help_and_version_to_a_full_disk_fail_with_one_line(argv: list[str]) -> None:
    """argparse swallows a failed write of its help; the command reports it instead."""
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [*COMMAND, *argv], stdout=full, stderr=subprocess.PIPE, text=True, timeout=120
        )
    assert (done.returncode, done.stderr) == (
        1,
        "cowlog: cannot write the output: No space left on device\n",
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_demo_to_a_full_disk_fails_with_one_line() -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [*COMMAND, "demo", "--seconds", "0.2", "--writers", "1", "--readers", "1"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1
    assert (
        done.stderr.splitlines()[-1] == "cowlog: cannot write the output: No space left on device"
    )
    assert "Traceback" not in done.stderr


def test_replay_tail_holds_only_the_last_events_in_memory(cowlog_main: Run, tmp_path: Path) -> None:
    """200,000 lines through ``replay --tail 100`` (retention inside the CLI, issue 15): the output
    is the last 100 records, and the peak of traced memory stays far below what holding every
    line would take (about 20 MB): the log keeps 100 events plus the retention slack."""
    import tracemalloc

    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for i in range(200_000):
            out.write(f'{{"key": "k{i % 3}", "ts": {i}, "message": "request {i:08d} served"}}\n')
    tracemalloc.start()
    try:
        status, out_text, _ = cowlog_main("replay", path, "--tail", "100", "--format", "jsonl")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert status == 0
    assert [json.loads(line)["ts"] for line in out_text.splitlines()] == list(
        range(199_900, 200_000)
    )
    assert peak < 8_000_000, f"peak {peak:,} bytes"


def test_replay_tail_and_since_do_not_go_together(cowlog_main: Run, tmp_path: Path) -> None:
    path = tmp_path / "small.jsonl"
    path.write_text('{"key": "a", "ts": 1}\n')
    status, _, err = cowlog_main("replay", path, "--tail", "5", "--since", "1")
    assert status == 2 and "--tail and --since" in err
    assert cowlog_main("replay", path, "--tail", "0")[0] == 2
