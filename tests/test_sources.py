"""cowlog.cli.sources: time parsing, field access, streaming JSON lines and CSV, located errors."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from cowlog.cli.sources import BadRecord, Fields, Source, SourceError, open_source, parse_time

DATA = Path(__file__).parent / "data" / "loghub"


DEFAULT = Fields()


def load(path: Path, fields: Fields = DEFAULT, **options: Any) -> tuple[list[Any], Source]:
    """Load *path*; return the (key, raw, timestamp) triples ingested, and the source."""
    got, source, _ = load_with_lines(path, fields, **options)
    return got, source


def load_with_lines(
    path: Path, fields: Fields = DEFAULT, **options: Any
) -> tuple[list[Any], Source, list[int]]:
    """Load *path*; return the triples ingested, the source, and each record's line."""
    got: list[Any] = []
    with open_source(str(path), options.pop("input_format", None)) as source:
        loaded = source.load(got.extend, fields, **options)
    return got, source, [loaded.line_of(offset) for offset in range(len(got))]


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


# -- time ----------------------------------------------------------------------------------------


def test_integer_time_is_used_as_it_is() -> None:
    assert parse_time(1226262975000) == 1226262975000
    assert parse_time(-5) == -5


def test_string_of_digits_is_that_integer() -> None:
    assert parse_time("0042") == 42
    assert parse_time("-17") == -17


def test_iso_8601_without_zone_is_utc_epoch_milliseconds() -> None:
    assert parse_time("1970-01-01T00:00:01.5") == 1500
    assert parse_time("2015-07-29 17:41:44,747") == 1438191704747


def test_iso_8601_with_zone_is_converted_to_utc() -> None:
    assert parse_time("1970-01-01T01:00:00+01:00") == 0
    assert parse_time("1970-01-01T00:00:00Z") == 0


def test_times_before_1970_are_negative_and_floored() -> None:
    assert parse_time("1969-12-31T23:59:59.9995") == -1  # floor, not toward zero


def test_time_format_parses_every_string_even_digits() -> None:
    assert parse_time("203615", "%H%M%S") == (20 * 3600 + 36 * 60 + 15) * 1000 - 2208988800000
    assert parse_time("081109 203615", "%y%m%d %H%M%S") == 1226262975000


def test_time_format_with_zone_directive_is_converted_to_utc() -> None:
    assert parse_time("1970-01-01 02:00 +0200", "%Y-%m-%d %H:%M %z") == 0


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (True, "a boolean (true)"),
        (1.5, "a float (1.5)"),
        (1e12, "a float"),
        (None, "null"),
        ([1], "an array"),
        ({"a": 1}, "an object"),
        ("", "is empty"),
        ("yesterday", "cannot read 'yesterday'"),
        ("9" * 5000, "integer too long"),
    ],
)
def test_time_that_is_not_an_integer_or_a_date_is_refused_by_name(value: object, says: str) -> None:
    with pytest.raises(BadRecord, match="time field 'when'") as caught:
        parse_time(value, name="when")
    assert says in str(caught.value)


def test_time_not_matching_time_format_is_refused_with_the_format() -> None:
    with pytest.raises(BadRecord, match="does not match --time-format '%H:%M'"):
        parse_time("12-30", "%H:%M")


# -- JSON lines ----------------------------------------------------------------------------------


def test_jsonl_record_is_ingested_whole_as_read_with_its_line(tmp_path: Path) -> None:
    text = '{"key": "a", "ts": 5, "x": [1, 2]}\n\n  {"ts":7,"key":"b"}  \n'
    got, source, lines = load_with_lines(write(tmp_path, "x.jsonl", text))
    assert got == [
        ("a", '{"key": "a", "ts": 5, "x": [1, 2]}\n', 5),
        ("b", '  {"ts":7,"key":"b"}  \n', 7),
    ]
    assert lines == [1, 3]
    assert source.to_json(got[1][1]) == '{"ts":7,"key":"b"}'
    assert source.to_object(got[0][1]) == {"key": "a", "ts": 5, "x": [1, 2]}


def test_jsonl_nested_and_joined_fields(tmp_path: Path) -> None:
    text = '{"v": {"level": "INFO"}, "d": "2015-07-29", "t": "17:41:44"}\n'
    got, _ = load(write(tmp_path, "x.ndjson", text), Fields(key="v.level", time="d+t"))
    assert [(key, stamp) for key, _, stamp in got] == [("INFO", 1438191704000)]


def test_a_field_named_with_a_dot_is_found_as_written_first(tmp_path: Path) -> None:
    text = '{"a.b": "flat", "a": {"b": "nested"}, "ts": 1}\n'
    got, _ = load(write(tmp_path, "x.jsonl", text), Fields(key="a.b"))
    assert got[0][0] == "flat"


def test_no_time_uses_the_line_number(tmp_path: Path) -> None:
    got, _ = load(write(tmp_path, "x.jsonl", '{"key": "a"}\n{"key": "a"}\n'), Fields(time=None))
    assert [stamp for _, _, stamp in got] == [1, 2]


def test_integer_keys_are_kept_apart_from_string_keys(tmp_path: Path) -> None:
    got, _ = load(write(tmp_path, "x.jsonl", '{"key": 1, "ts": 1}\n{"key": "1", "ts": 1}\n'))
    assert [key for key, _, _ in got] == [1, "1"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"key": "a", "ts": 1', "not valid JSON: Expecting ',' delimiter (column 21)"),
        ('{"key": "a", "ts": NaN}', "not valid JSON: NaN is not valid JSON"),
        ("[1, 2]", "not a JSON object but an array"),
        (
            '{"key": "a", "ts": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
            "JSON nested too deeply to read",
        ),
        ('"text"', "not a JSON object but a str"),
        ('{"ts": 1}', "no field 'key'"),
        ('{"key": "a"}', "no field 'ts'"),
        ('{"key": "", "ts": 1}', "key field 'key' is empty"),
        ('{"key": null, "ts": 1}', "key field 'key' is null"),
        ('{"key": ["a"], "ts": 1}', "key field 'key' is an array"),
        ('{"key": true, "ts": 1}', "key field 'key' is a boolean (true)"),
        ('{"key": "a", "ts": "soon"}', "time field 'ts': cannot read 'soon'"),
        ('{"key": "a", "ts": false}', "time field 'ts' is a boolean (false)"),
        ('{"key": "a", "ts": 2.0}', "time field 'ts' is a float (2.0)"),
    ],
)
def test_bad_jsonl_record_is_located_by_file_and_line(
    tmp_path: Path, line: str, message: str
) -> None:
    path = write(tmp_path, "x.jsonl", '{"key": "ok", "ts": 1}\n' + line + "\n")
    with pytest.raises(SourceError) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}:2: {message}")
    assert (caught.value.name, caught.value.line) == (str(path), 2)


def test_bytes_that_are_not_utf8_make_that_record_bad_not_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "x.jsonl", b'{"key": "a", "ts": 1}\n{"key": "\xff", "ts": 2}\n')
    with pytest.raises(SourceError, match=r":2: not valid UTF-8$"):
        load(path)
    got, _ = load(path, skip_bad=True)
    assert [key for key, _, _ in got] == ["a"]


def test_utf8_text_and_a_byte_order_mark_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, "x.jsonl", '\ufeff{"key": "é", "ts": 1}\n'.encode())
    got, source = load(path)
    assert got[0][0] == "é"
    assert source.to_json(got[0][1]) == '{"key": "é", "ts": 1}'


def test_skip_bad_counts_every_bad_record_and_keeps_the_first(tmp_path: Path) -> None:
    path = write(tmp_path, "x.jsonl", '{"key": "a", "ts": 1}\nnope\n[]\n{"key": "b", "ts": 2}\n')
    got: list[Any] = []
    with open_source(str(path)) as source:
        loaded = source.load(got.extend, Fields(), skip_bad=True)
    assert [key for key, _, _ in got] == ["a", "b"]
    assert (loaded.ingested, loaded.skipped, loaded.skipped_lines) == (2, 2, [2, 3])
    assert loaded.first_skipped is not None and loaded.first_skipped.startswith(f"{path}:2: ")


def test_line_of_follows_blank_skipped_and_multiline_records(tmp_path: Path) -> None:
    text = '\n{"key": "a", "ts": 1}\n{"key": "b", "ts": 2}\nbad\n\n{"key": "c", "ts": 3}\n'
    got, _, lines = load_with_lines(write(tmp_path, "x.jsonl", text * 3), skip_bad=True)
    assert [key for key, _, _ in got] == ["a", "b", "c"] * 3
    assert lines == [2, 3, 6, 8, 9, 12, 14, 15, 18]
    csv_text = 'k,ts\na,1\n"b\nb",2\nc,3\n\nd,4\n'
    _, _, lines = load_with_lines(write(tmp_path, "x.csv", csv_text), Fields(key="k"))
    assert lines == [2, 3, 5, 7]


def test_gzipped_jsonl_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "x.jsonl.gz", gzip.compress(b'{"key": "a", "ts": 1}\n'))
    got, _ = load(path)
    assert [(key, stamp) for key, _, stamp in got] == [("a", 1)]


def test_truncated_gzip_is_a_located_read_error(tmp_path: Path) -> None:
    data = gzip.compress(b'{"key": "a", "ts": 1}\n' * 1000)
    path = write(tmp_path, "x.jsonl.gz", data[: len(data) // 2])
    with pytest.raises(SourceError, match=r"x\.jsonl\.gz:\d+: cannot read"):
        load(path)


# -- CSV -----------------------------------------------------------------------------------------


def test_csv_row_is_ingested_as_a_tuple_of_strings_and_printed_as_an_object(
    tmp_path: Path,
) -> None:
    text = 'LineId,Content,EventId\n1,"a, b",E1\n2,"two\nlines",E2\n3,c,E1\n'
    got, source, lines = load_with_lines(
        write(tmp_path, "x.csv", text), Fields(key="EventId", time="LineId")
    )
    assert got == [
        ("E1", ("1", "a, b", "E1"), 1),
        ("E2", ("2", "two\nlines", "E2"), 2),
        ("E1", ("3", "c", "E1"), 3),
    ]
    assert lines == [2, 3, 5]  # the row after a two-line row starts on line 5
    assert json.loads(source.to_json(got[1][1])) == {
        "LineId": "2",
        "Content": "two\nlines",
        "EventId": "E2",
    }


def test_csv_date_and_time_columns_joined_with_a_format(tmp_path: Path) -> None:
    text = "Date,Time,EventId\n081109,203615,E1\n"
    fields = Fields(key="EventId", time="Date+Time", time_format="%y%m%d %H%M%S")
    got, _ = load(write(tmp_path, "x.csv", text), fields)
    assert got[0][2] == 1226262975000


def test_csv_equal_times_in_a_row_reuse_the_parse_and_stay_right(tmp_path: Path) -> None:
    text = "T,EventId\n2015-01-01,E1\n2015-01-01,E2\n2015-01-02,E1\n"
    got, _ = load(write(tmp_path, "x.csv", text), Fields(key="EventId", time="T"))
    day = 86_400_000
    assert [stamp for _, _, stamp in got] == [16436 * day, 16436 * day, 16437 * day]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("1,E1", "2 fields where the header has 3"),
        ("1,E1,x,y", "4 fields where the header has 3"),
        (",E1,x", "time field 'LineId' is empty"),
        ("1,,x", "key field 'EventId' is empty"),
        ("soon,E1,x", "time field 'LineId': cannot read 'soon'"),
        ("9" * 5000 + ",E1,x", "time field 'LineId': integer too long"),
    ],
)
def test_bad_csv_row_is_located_by_file_and_line(tmp_path: Path, row: str, message: str) -> None:
    path = write(tmp_path, "x.csv", f"LineId,EventId,Content\n1,E1,ok\n{row}\n")
    with pytest.raises(SourceError) as caught:
        load(path, Fields(key="EventId", time="LineId"))
    assert str(caught.value).startswith(f"{path}:3: {message}")


def test_csv_header_without_the_key_column_stops_even_with_skip_bad(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "LineId,EventId\n1,E1\n")
    with pytest.raises(SourceError, match=r"x\.csv:1: no column 'key' in the header .*EventId"):
        load(path, skip_bad=True)


def test_csv_header_with_duplicate_columns_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "key,ts,key\na,1,b\n")
    with pytest.raises(SourceError, match=r":1: duplicate column\(s\) in the header: \['key'\]"):
        load(path)


def test_empty_csv_has_no_records(tmp_path: Path) -> None:
    got, _ = load(write(tmp_path, "x.csv", ""))
    assert got == []


def test_loghub_csv_rows_come_out_as_published(tmp_path: Path) -> None:
    import csv

    path = DATA / "Spark_2k.log_structured.csv"
    got, source = load(path, Fields(key="EventId", time="LineId"))
    with path.open(newline="", encoding="utf-8") as rows:
        expected = list(csv.DictReader(rows))
    assert [source.to_object(raw) for _, raw, _ in got] == expected
    assert [key for key, _, _ in got] == [row["EventId"] for row in expected]


# -- opening -------------------------------------------------------------------------------------


def test_missing_file_is_one_located_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught, open_source(str(tmp_path / "gone.jsonl")):
        pass
    assert str(caught.value) == f"{tmp_path / 'gone.jsonl'}: No such file or directory"


def test_unknown_extension_asks_for_input_format(tmp_path: Path) -> None:
    path = write(tmp_path, "x.log", '{"key": "a", "ts": 1}\n')
    with pytest.raises(SourceError, match="--input-format"), open_source(str(path)):
        pass
    got, _ = load(path, input_format="jsonl")
    assert len(got) == 1


# -- hostile CSV and dates (issue 13) ------------------------------------------------------------


def test_csv_field_larger_than_the_csv_modules_default_limit_is_read(tmp_path: Path) -> None:
    import csv

    limit = csv.field_size_limit()
    huge = "x" * (limit + 10)  # a stack trace pasted whole, say
    path = write(tmp_path, "x.csv", f'k,ts,msg\na,1,"{huge}"\nb,2,small\n')
    got, _ = load(path, Fields(key="k"))
    assert [(key, cells[2], ts) for key, cells, ts in got] == [("a", huge, 1), ("b", "small", 2)]
    assert csv.field_size_limit() == limit  # the process-wide limit is given back


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('k,ts,msg\na,1,ok\nb,2,"never closed\nc,3,x\nd,4,y\n', 3),
        ('k,ts,msg\na,1,"two\nlines"\nb,2,"x\ny","open\nc,3,z\n', 5),  # after a closed one
        ('k,ts,msg\na,1,ok\nb,2,"open at the end', 3),
    ],
)
def test_csv_unclosed_quote_names_the_line_where_the_quoted_field_began(
    tmp_path: Path, text: str, line: int
) -> None:
    """The csv module hands the rest of the file over as one field when a quote is never closed;
    the reader says so, at the line where the field opens."""
    path = write(tmp_path, "x.csv", text)
    with pytest.raises(SourceError) as caught:
        load(path, Fields(key="k"))
    assert str(caught.value) == (
        f"{path}:{line}: not valid CSV: a quoted field opens on this line and is never closed"
    )
    got, _ = load(path, Fields(key="k"), skip_bad=True)  # the rows before it are kept
    assert [key for key, _, _ in got] == ["a"]


def test_csv_unclosed_quote_in_the_header_stops_even_with_skip_bad(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", 'k,ts,"msg\na,1,x\n')
    with pytest.raises(SourceError, match=r":1: not valid CSV: a quoted field opens on this line"):
        load(path, Fields(key="k"), skip_bad=True)


def test_csv_closed_quotes_across_lines_are_still_read(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", 'k,ts,msg\na,1,"two\nlines"\nb,2,"last\none"\n')
    got, _ = load(path, Fields(key="k"))
    assert [cells[2] for _, cells, _ in got] == ["two\nlines", "last\none"]


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("x.csv", "k,ts\na,1\n\ufeffk,ts\nb,2\n", 3),
        ("x.jsonl", '{"key": "a", "ts": 1}\n\ufeff{"key": "b", "ts": 2}\n', 2),
    ],
)
def test_byte_order_mark_in_mid_file_says_what_to_do(
    tmp_path: Path, name: str, text: str, line: int
) -> None:
    """Two files joined with cat: the second one's BOM is in mid-file. The first byte of the
    file may be one (it is dropped); anywhere else, the message names it and says what to do."""
    path = write(tmp_path, name, "\ufeff" + text)
    with pytest.raises(SourceError) as caught:
        load(path, Fields(key="k") if name.endswith(".csv") else DEFAULT)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: a byte-order mark (U+FEFF) in mid-file")
    assert "read them one at a time, or strip it first" in message


def test_year_less_format_says_it_cannot_read_feb_29() -> None:
    with pytest.raises(BadRecord) as caught:
        parse_time("Feb 29 10:00:00", "%b %d %H:%M:%S", "Time")
    message = str(caught.value)
    assert "'Feb 29 10:00:00' is Feb 29, but --time-format '%b %d %H:%M:%S' has no year" in message
    assert "1900" in message and "%Y" in message
    assert parse_time("2024 Feb 29 10:00:00", "%Y %b %d %H:%M:%S") == 1709200800000
    with pytest.raises(BadRecord, match="does not match --time-format"):  # not a leap-day problem
        parse_time("Feb 30 10:00:00", "%b %d %H:%M:%S")


@pytest.mark.parametrize(
    ("text", "fields", "unit"),
    [
        ('{"key": "a", "ts": "2024-01-01T00:00:00Z"}\n', DEFAULT, "ms"),
        ('{"key": "a", "ts": 1}\n', DEFAULT, None),
        ('{"key": "a", "ts": "2024-01-01"}\n{"key": "a", "ts": 5}\n', DEFAULT, None),  # mixed
        ('{"key": "a", "ts": "7"}\n', DEFAULT, None),  # digits: an integer
        ('{"key": "a", "ts": "10:00:00"}\n', Fields(time_format="%H:%M:%S"), "ms"),
    ],
)
def test_time_unit_is_ms_only_when_every_time_was_read_from_a_date(
    tmp_path: Path, text: str, fields: Fields, unit: str | None
) -> None:
    with open_source(str(write(tmp_path, "x.jsonl", text))) as source:
        loaded = source.load(lambda batch: None, fields)
    assert loaded.time_unit == unit


def test_csv_time_unit_counts_repeated_and_digit_times(tmp_path: Path) -> None:
    dated = "k,ts\na,2024-01-01 10:00:00\nb,2024-01-01 10:00:00\nc,2024-01-01 10:00:01\n"
    for text, unit in [(dated, "ms"), (dated + "d,17\n", None), ("k,ts\na,1\nb,1\n", None)]:
        with open_source(str(write(tmp_path, "x.csv", text))) as source:
            loaded = source.load(lambda batch: None, Fields(key="k"))
        assert loaded.time_unit == unit, text
