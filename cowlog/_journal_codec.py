"""The journal's codecs: how a journal turns records into bytes and back.

A codec has a ``name`` (stored in a journal's header), ``encode(obj) -> bytes`` and
``decode(data) -> obj``, and ``check_round_trip(obj)``, which refuses with a ``TypeError`` naming
the codec whatever would not come back *equal* (a tuple that JSON or msgpack turns into a list, a
``datetime`` that orjson turns into a string, a NaN, which equals nothing, an int past 64 bits).
Optional dependencies (orjson, msgspec) are imported the first time a codec is asked for by name,
never by ``import cowlog``. Nothing here keeps state between calls: thread-safe.
"""

from __future__ import annotations

import json
import pickle
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["CODECS", "Codec", "PickleWarning", "check_round_trip", "get_codec"]

#: The names `get_codec` accepts, in the order the docs list them.
CODECS = ("json", "msgpack", "pickle")

_INT_MIN, _INT_MAX = -(1 << 63), (1 << 64) - 1  # what orjson and msgpack encode exactly
_PLAIN: frozenset[type] = frozenset({str, int, bool, type(None)})


class PickleWarning(UserWarning):
    """Warns that a pickle journal runs code from the file when it is loaded."""


@dataclass(frozen=True)
class Codec:
    """A named pair of functions: ``encode(obj) -> bytes`` and ``decode(bytes) -> obj``.

    ``exact`` is False for pickle, whose round trip is not checked (it brings back copies, equal
    only if their class says so).
    """

    name: str
    encode: Callable[[Any], bytes]
    decode: Callable[[bytes], Any]
    exact: bool = True
    #: ``"orjson"``, ``"json"``, ``"msgspec"`` or ``"pickle"``: the library doing the work.
    library: str = ""
    #: Types whose values this codec either refuses or brings back equal, so a record made only
    #: of them needs no decoding to be checked (a journal's fast path).
    plain: frozenset[type] = frozenset()

    def check_round_trip(self, obj: Any, what: str = "value") -> bytes:
        """Return ``encode(obj)``, or raise TypeError if *obj* would not come back equal.

        O(size of obj). The message names the codec and *what*.
        """
        return check_round_trip(self, obj, what)


def check_round_trip(codec: Codec, obj: Any, what: str = "value") -> bytes:
    """Return ``codec.encode(obj)``; raise TypeError naming the codec if it does not round-trip."""
    try:
        data = codec.encode(obj)
    except Exception as exc:  # each library has its own error types: one message for all
        hint = _why(obj, codec.name, "")
        raise TypeError(
            f"{what} cannot be encoded by the {codec.name!r} codec "
            f"({hint + '; ' if hint else ''}{type(exc).__name__}: {exc})"
        ) from exc
    if codec.exact:
        try:
            same = codec.decode(data) == obj
        except Exception as exc:
            raise TypeError(
                f"{what} does not come back from the {codec.name!r} codec: {exc}"
            ) from exc
        if not same:
            raise TypeError(
                f"{what} would not come back equal from the {codec.name!r} codec "
                f"({_why(obj, codec.name)})"
            )
    return data


def _why(obj: Any, name: str, otherwise: str = "it decodes to a different value") -> str:
    """A hint for the commonest reasons a value does not round-trip (for error messages only)."""
    seen: list[str] = []

    def walk(item: Any) -> None:
        if len(seen) > 2:
            return
        if isinstance(item, tuple):
            seen.append(f"a tuple comes back as a list in {name}")
        elif isinstance(item, float) and item != item:
            seen.append("NaN never compares equal")
        elif (
            isinstance(item, int)
            and not isinstance(item, bool)
            and not (_INT_MIN <= item <= _INT_MAX)
        ):
            seen.append("an int past 64 bits")
        elif isinstance(item, dict):
            for key, value in item.items():
                if name == "json" and not isinstance(key, str):
                    seen.append("a JSON object's keys are strings")
                walk(value)
            return
        elif isinstance(item, list):
            for value in item:
                walk(value)
            return
        elif type(item) not in (str, int, float, bool, type(None), bytes):
            seen.append(f"a {type(item).__name__} comes back as something else")

    walk(obj)
    return "; ".join(dict.fromkeys(seen)) or otherwise


# -- json ------------------------------------------------------------------------------------------


def _json_codec() -> Codec:
    """JSON as UTF-8 without spaces: orjson if installed, else the stdlib, same format either way.

    The stdlib is made to write what orjson writes (no spaces, raw UTF-8) and to refuse what orjson
    would refuse or change (NaN and infinities, ints past 64 bits, non-string object keys), so a
    journal written with one is read back equal by the other.
    """
    try:
        import orjson
    except ImportError:
        return Codec("json", _stdlib_encode, _stdlib_decode, library="json")
    # orjson refuses ints past 64 bits and lone surrogates, and brings back the rest of these
    # equal (not floats: it writes NaN as null)
    return Codec("json", orjson.dumps, orjson.loads, library="orjson", plain=_PLAIN)


_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _stdlib_encode(obj: Any) -> bytes:
    if isinstance(obj, dict) or (isinstance(obj, list) and any(isinstance(x, dict) for x in obj)):
        _refuse_non_str_keys(obj)
    return _encoder.encode(obj).encode("utf-8")  # a lone surrogate raises here, as in orjson


def _refuse_non_str_keys(obj: Any) -> None:
    # the stdlib would write 1 as "1"; orjson refuses it: refuse it here too
    if isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"a JSON object's keys must be strings, got {type(key).__name__}")
            _refuse_non_str_keys(value)
    elif isinstance(obj, list):
        for value in obj:
            _refuse_non_str_keys(value)


def _parse_int(text: str) -> int:
    value = int(text)
    if not _INT_MIN <= value <= _INT_MAX:
        raise ValueError(f"an int past 64 bits: {text[:30]}")
    return value


def _stdlib_decode(data: bytes) -> Any:
    return json.loads(data, parse_int=_parse_int)


# -- msgpack ---------------------------------------------------------------------------------------


def _msgpack_codec() -> Codec:
    try:
        import msgspec
    except ImportError:
        raise ValueError(
            "codec 'msgpack' needs msgspec: pip install 'cowlog[journal]' (or msgspec)"
        ) from None
    encoder = msgspec.msgpack.Encoder()
    decoder = msgspec.msgpack.Decoder()
    plain = _PLAIN | {bytes}  # not float: msgpack keeps NaN, but NaN equals nothing
    return Codec("msgpack", encoder.encode, decoder.decode, library="msgspec", plain=plain)


# -- pickle ----------------------------------------------------------------------------------------


def _pickle_codec() -> Codec:
    warnings.warn(
        "the 'pickle' codec runs code from the file when a journal is loaded: open only journals "
        "you wrote yourself",
        PickleWarning,
        stacklevel=4,
    )
    return Codec(
        "pickle",
        lambda obj: pickle.dumps(obj, protocol=5),
        pickle.loads,
        exact=False,
        library="pickle",
    )


_MAKERS: dict[str, Callable[[], Codec]] = {
    "json": _json_codec,
    "msgpack": _msgpack_codec,
    "pickle": _pickle_codec,
}


def get_codec(name: object) -> Codec:
    """Return the codec called *name*, importing its library now.

    Raises:
        TypeError: *name* is not a string.
        ValueError: no codec has that name (the message lists the choices), or its library is
            not installed.
    """
    if not isinstance(name, str):
        raise TypeError(
            f"codec must be a str, one of {', '.join(CODECS)}; got {type(name).__name__}"
        )
    maker = _MAKERS.get(name)
    if maker is None:
        raise ValueError(f"codec must be one of {', '.join(map(repr, CODECS))}; got {name!r}")
    return maker()
