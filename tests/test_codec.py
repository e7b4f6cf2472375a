"""cowlog._codec: the one rule every backend's codec keeps (comes back equal, type for type).

The journal and the Redis log store values through these codecs; their own tests check that a
refused value writes nothing. Here: each codec, and both JSON libraries, against that rule.
"""

from __future__ import annotations

import enum
import math
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cowlog._codec import CODECS, INT_MAX, INT_MIN, Codec, UnsafeCodecWarning, get_codec


@pytest.fixture(params=["orjson", "json", "msgspec"])
def codec(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Codec]:
    """Each exact codec: json with orjson, json with the standard library, msgpack."""
    if request.param == "msgspec":
        pytest.importorskip("msgspec")
        yield get_codec("msgpack")
        return
    pytest.importorskip("orjson")
    if request.param == "json":
        monkeypatch.setitem(sys.modules, "orjson", None)  # import orjson now raises ImportError
    got = get_codec("json")
    assert got.library == request.param
    yield got


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same exact type all the way down (floats: the same bits but NaN)."""
    if type(a) is not type(b):
        return False
    if type(a) is list:
        return len(a) == len(b) and all(map(same, a, b))
    if type(a) is dict:
        return (
            list(map(type, a)) == list(map(type, b))
            and a == b
            and all(map(same, a.values(), b.values()))
        )
    if type(a) is float:
        return math.copysign(1, a) == math.copysign(1, b) and a == b
    return bool(a == b)


class Color(enum.IntEnum):
    RED = 1


class Name(str):
    pass


_anything = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(INT_MIN - 2, INT_MAX + 2)
    | st.integers()
    | st.floats()
    | st.text()
    | st.binary(max_size=4)
    | st.sampled_from([Color.RED, Name("x"), (1, 2), frozenset({1})]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner)
        | st.dictionaries(
            st.text() | st.integers() | st.booleans() | st.none() | st.binary(max_size=2),
            inner,
            max_size=3,
        )
    ),
    max_leaves=10,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # a codec keeps no state
@given(value=_anything)
def test_what_encode_accepts_comes_back_equal_type_for_type(codec: Codec, value: Any) -> None:
    try:
        data = codec.encode(value)
    except TypeError as exc:
        assert f"{codec.name!r} codec" in str(exc)
        assert not codec.fits(value) or not _dumps_ok(codec, value)
        return
    back = codec.decode(data)
    assert same(back, value), (value, back)
    assert codec.fits(value)


def _dumps_ok(codec: Codec, value: Any) -> bool:
    try:
        codec.dumps(value)
    except Exception:
        return False
    return True


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ((1, 2), "a tuple would come back a list"),
        ([1, {"a": (1,)}], "value[1]['a']"),
        ({"a": {(2,): 1}}, "value['a'] cannot"),
        (math.nan, "NaN"),
        ([0, 1 << 64], "value[1] cannot"),
        (-(1 << 63) - 1, "64 bits"),
        (Color.RED, "Color is a subclass of int"),
        ([Name("x")], "Name is a subclass of str"),
        ({1, 2}, "set is not one of"),
        ("\ud800", "surrogates"),
    ],
)
def test_a_refusal_says_where_and_why(codec: Codec, value: Any, why: str) -> None:
    with pytest.raises(TypeError, match=f"'{codec.name}' codec") as error:
        codec.encode(value)
    assert why in str(error.value)


def test_a_refusal_names_the_first_fault_and_fits_the_case(codec: Codec) -> None:
    """The first bad part in order is named; a tuple key gets no advice to use a list (a list
    is no key); an exact type the codec lacks is not called a subclass."""
    with pytest.raises(TypeError, match=r"value\[0\] cannot"):
        codec.encode([(1,), (2,)])
    with pytest.raises(TypeError, match=r"come back a list$"):
        codec.encode((1, 2), "key")
    if codec.name == "json":
        with pytest.raises(TypeError, match="bytes is not one of") as error:
            codec.encode(b"x")
        assert "subclass" not in str(error.value)


def test_the_depth_limit_is_200_levels(codec: Codec) -> None:
    deep: Any = 0
    for _ in range(200):
        deep = [deep]
    assert same(codec.decode(codec.encode(deep)), deep)
    assert codec.fits(deep) and not codec.fits([deep])
    with pytest.raises(TypeError, match="nested more than 200 levels deep"):
        codec.encode([deep])
    assert same(codec.decode(codec.encode([[deep]], wrapping=2)), [[deep]])  # a caller's arrays


def test_json_and_msgpack_differ_where_the_docs_say(codec: Codec) -> None:
    """msgpack stores bytes, infinities and non-str keys; JSON refuses them."""
    for value in (b"\x00", math.inf, {1: "one"}, {None: 0}):
        if codec.name == "msgpack":
            assert same(codec.decode(codec.encode(value)), value)
        else:
            with pytest.raises(TypeError, match="'json' codec"):
                codec.encode(value)


def test_a_cycle_is_refused(codec: Codec) -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(TypeError, match=f"'{codec.name}' codec"):
        codec.encode(cycle)


def test_a_deep_value_is_refused_not_a_crash(codec: Codec) -> None:
    deep: list[Any] = []
    for _ in range(1_000):
        deep = [deep]
    with pytest.raises(TypeError, match=f"'{codec.name}' codec"):
        codec.encode(deep)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        INT_MIN,
        INT_MAX,
        1.5,
        -0.0,
        1e308,
        "",
        "snow ☃",
        [],
        {},
        {"a": [1, None, 2.5]},
    ],
)
def test_plain_values_round_trip(codec: Codec, value: Any) -> None:
    assert same(codec.decode(codec.encode(value)), value)
    assert repr(codec.decode(codec.encode(value))) == repr(value)  # -0.0 stays -0.0


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(INT_MIN, INT_MAX)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(_json_values)
def test_orjson_and_the_stdlib_read_each_other(value: Any) -> None:
    """What either writes, the other reads back equal: one format whichever is installed."""
    orjson = pytest.importorskip("orjson")
    from cowlog._codec import _stdlib_dumps, _stdlib_loads

    assert same(orjson.loads(_stdlib_dumps(value)), value)
    assert same(_stdlib_loads(orjson.dumps(value)), value)
    if not _has_float(value):  # the same bytes, but for how each spells some floats
        assert _stdlib_dumps(value) == orjson.dumps(value)


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(map(_has_float, value.values()))
    if isinstance(value, list):
        return any(map(_has_float, value))
    return False


def test_pickle_only_on_request_and_with_a_warning() -> None:
    with pytest.warns(UnsafeCodecWarning, match="runs code"):
        codec = get_codec("pickle")
    value = {(1, 2): frozenset({3}), "color": Color.RED}
    assert codec.decode(codec.encode(value)) == value
    with pytest.raises(TypeError, match="'pickle' codec"):
        codec.encode(lambda: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_codec("json")  # no warning for the others
        if "msgpack" in CODECS:
            pytest.importorskip("msgspec")
            get_codec("msgpack")


def test_a_bad_name_lists_the_choices() -> None:
    with pytest.raises(
        ValueError, match="codec must be one of 'json', 'msgpack', 'pickle'; got 'yaml'"
    ):
        get_codec("yaml")
    with pytest.raises(TypeError, match="codec must be a str"):
        get_codec(b"json")


def test_msgpack_without_msgspec_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "msgspec", None)
    with pytest.raises(ValueError, match="needs msgspec"):
        get_codec("msgpack")
