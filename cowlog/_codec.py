"""Codecs: how a log that leaves the process (a journal file, a Redis stream) stores its data.

One rule for every backend and every codec but pickle: **what `Codec.encode` accepts comes back
equal, type for type**; anything else is refused with a ``TypeError`` naming the codec and where in
the value the problem is, before anything is written. So a tuple (JSON and msgpack bring back a
list), a ``str`` or ``int`` subclass such as an enum (it would come back as its base type), a
``dict`` key JSON would turn into a string, NaN (equal to nothing), an infinity in JSON (orjson
writes ``null``) and an ``int`` past 64 bits (orjson reads it back as a float) are refused, never
silently changed. This is the equality `cowlog.testing` checks with ``values="equal"``.

The codecs, by the name stored beside the data (a journal's header, a stream's metadata):

* ``json``: ``None``, ``bool``, ``int`` (64 bits), finite ``float``, ``str``, and ``list`` and
  ``dict`` (``str`` keys) of those. orjson if installed, else the standard library made to write
  the same format and refuse the same values, so each reads what the other wrote (the bytes can
  differ where JSON allows two spellings: orjson writes ``1e-7``, the stdlib ``1e-07``).
* ``msgpack`` (needs msgspec): the same, plus ``bytes``, infinities, and ``dict`` keys that are
  ``str``, ``int``, ``bytes``, ``bool``, ``None`` or ``float``.
* ``pickle``: anything picklable, brought back as a copy (equal if its class says so; not
  checked). **Decoding runs code chosen by whoever wrote the data**: only on explicit request, and
  choosing it warns (`UnsafeCodecWarning`).

Optional libraries (orjson, msgspec) are imported by `get_codec`, never by ``import cowlog``; this
module is imported only by the backends that need it. Codecs keep no state between calls:
thread-safe.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, NoReturn

__all__ = ["CODECS", "Codec", "UnsafeCodecWarning", "get_codec"]

#: The names `get_codec` accepts, in the order the docs list them.
CODECS: Final = ("json", "msgpack", "pickle")

INT_MIN: Final = -(1 << 63)
INT_MAX: Final = (1 << 64) - 1  # what orjson and msgpack store exactly
_DEPTH: Final = 200  # levels of lists and dicts a value may nest; orjson's own limit is 254
_NONE: Final[type] = type(None)
_INF: Final = math.inf


class UnsafeCodecWarning(UserWarning):
    """Warned when a codec that runs code on decoding (pickle) is chosen."""


@dataclass(frozen=True, eq=False)
class Codec:
    """A named way to turn values into bytes and back (see the module's rule).

    `encode` checks; ``dumps`` and ``loads`` are the library's own functions, unchecked, for
    callers that have checked already (a journal's hot path: see ``plain``).
    """

    name: str
    dumps: Callable[[Any], bytes]
    loads: Callable[[bytes], Any]
    #: ``"orjson"``, ``"json"``, ``"msgspec"`` or ``"pickle"``: the library doing the work.
    library: str
    #: Exact types whose values `dumps` either refuses or stores so that they come back equal and
    #: of the same type: a value of one of them needs no check beyond `dumps` succeeding.
    plain: frozenset[type]
    #: Exact types a value may hold anywhere (``list`` and ``dict`` included).
    allowed: frozenset[type] = frozenset()
    #: Exact types a ``dict`` key may have.
    keys: frozenset[type] = frozenset()
    #: Whether infinities come back (msgpack: yes; JSON has no spelling for them).
    infinities: bool = False
    #: False for pickle: what it accepts is not checked (it brings back copies).
    exact: bool = True

    def encode(self, obj: Any, what: str = "value", wrapping: int = 0) -> bytes:
        """Return *obj* encoded, or raise TypeError if it would not come back equal, type for type.

        O(size of obj). The message names *what* (``"value"``, ``"items[3] key"``), the codec,
        and the part of *obj* at fault (``value[1]['a']``). *wrapping*: how many levels of
        containers the caller's own structure puts around the values in *obj* (a journal's
        records array: 1); they do not count against a value's 200 levels, so a value is
        accepted or refused alike wherever it is stored.
        """
        try:
            data = self.dumps(obj)
        except Exception as exc:  # each library has its own errors: one message for all
            if self.exact:
                self._refuse_lossy(obj, what, -wrapping)  # a precise reason if there is one
            raise TypeError(
                f"{what} cannot be stored by the {self.name!r} codec ({type(exc).__name__}: {exc})"
            ) from exc
        if self.exact and type(obj) not in self.plain and not self.fits(obj, -wrapping):
            self._refuse_lossy(obj, what, -wrapping)
            msg = f"{what} cannot be stored by the {self.name!r} codec"
            raise TypeError(msg)  # pragma: no cover - _refuse_lossy names the fault first
        return data

    def decode(self, data: bytes) -> Any:
        """Return the object *data* encodes. With pickle, **runs code chosen by the writer**."""
        return self.loads(data)

    def fits(self, obj: Any, depth: int = 0) -> bool:
        """Whether *obj* is made only of what this codec brings back equal, type for type.

        O(size), one Python call per container (and per float a container holds, if the codec
        stores infinities). A value nested more than 200 levels deep (a list or dict at *depth*
        200, counting *obj* as *depth*) is refused, so a cycle ends the walk too.
        """
        kind = type(obj)
        plain = self.plain
        if kind in plain:
            return True
        if kind is float:
            return -_INF < obj < _INF or (self.infinities and obj == obj)
        if kind is list:
            items = obj
        elif kind is dict and dict in self.allowed:
            keys = self.keys
            for key in obj:
                kind = type(key)
                if kind not in keys or (kind is not str and not self.fits(key)):
                    return False
            items = obj.values()
        elif kind is int:
            return bool(INT_MIN <= obj <= INT_MAX)
        else:  # a scalar the library stores exactly (bytes in msgpack), or a refused type
            return kind in self.allowed
        if depth >= _DEPTH or list not in self.allowed:
            return False
        depth += 1
        for item in items:
            kind = type(item)
            if kind in plain or (kind is float and -_INF < item < _INF):
                continue
            if not self.fits(item, depth):
                return False
        return True

    def _refuse_lossy(self, obj: Any, what: str, depth: int = 0) -> None:
        """Raise TypeError at the first part of *obj* (depth first, in order) that would not come
        back, by the rules of `fits` (*obj* at *depth*); else return.

        Only for error messages: it builds the path of each part it visits.
        """
        stack: list[tuple[Any, str, int]] = [(obj, what, depth)]
        while stack:
            item, path, depth = stack.pop()
            kind = type(item)
            if kind is int:
                if not INT_MIN <= item <= INT_MAX:
                    self._refuse(path, "an int past 64 bits would not come back exactly")
                continue
            if kind is float:
                if item != item:
                    self._refuse(path, "NaN never compares equal, so it cannot come back equal")
                if not (self.infinities or math.isfinite(item)):
                    self._refuse(path, f"{item!r} has no JSON spelling (it would come back None)")
                continue
            if kind in self.plain or (kind is bytes and kind in self.allowed):
                continue
            if kind in (list, dict) and depth >= _DEPTH:
                self._refuse(path, f"nested more than {_DEPTH} levels deep")
            children: list[tuple[Any, str, int]] = []
            if kind is list and list in self.allowed:
                children = [(element, f"{path}[{i}]", depth + 1) for i, element in enumerate(item)]
            elif kind is dict and dict in self.allowed:
                for key, element in item.items():
                    if type(key) not in self.keys:
                        self._refuse(
                            path,
                            f"a dict key of type {type(key).__name__} ({key!r:.40}) would not "
                            f"come back as itself (keys: {_names(self.keys)})",
                        )
                    children.append((key, f"{path} key {key!r:.40}", depth + 1))
                    children.append((element, f"{path}[{key!r:.40}]", depth + 1))
            elif kind is tuple:
                advice = "" if path.endswith("key") else " (store a list instead)"
                self._refuse(path, f"a tuple would come back a list{advice}")
            elif kind is not _base_type(item) and isinstance(
                item, (str, int, float, bytes, list, dict)
            ):
                self._refuse(
                    path,
                    f"{kind.__name__} is a subclass of {_base(item)}: it would come back as a "
                    f"plain {_base(item)}",
                )
            else:
                self._refuse(
                    path,
                    f"{kind.__name__} is not one of {_names(self.allowed | self.plain)} "
                    "(exact types)",
                )
            stack.extend(reversed(children))  # popped in order: the first fault is named

    def _refuse(self, path: str, why: str) -> NoReturn:
        raise TypeError(f"{path} cannot be stored by the {self.name!r} codec: {why}")


def _base_type(item: Any) -> type:
    for base in (bool, int, float, str, bytes, list, dict):
        if isinstance(item, base):
            return base
    return type(item)


def _base(item: Any) -> str:
    return _base_type(item).__name__


def _names(types: frozenset[type]) -> str:
    order = [_NONE, bool, int, float, str, bytes, list, dict]
    return ", ".join("None" if t is _NONE else t.__name__ for t in order if t in types)


# -- json ------------------------------------------------------------------------------------------

_JSON_SCALARS: Final[frozenset[type]] = frozenset({str, bool, _NONE})
_JSON_ALLOWED: Final[frozenset[type]] = frozenset({_NONE, bool, int, float, str, list, dict})


def _json_codec() -> Codec:
    """JSON as UTF-8 without spaces: orjson if installed, else the standard library."""
    try:
        import orjson
    except ImportError:
        # ints are range-checked by `fits` (the stdlib would write any size)
        return Codec(
            "json",
            _stdlib_dumps,
            _stdlib_loads,
            "json",
            plain=_JSON_SCALARS,
            allowed=_JSON_ALLOWED,
            keys=frozenset({str}),
        )
    return Codec(
        "json",
        orjson.dumps,
        orjson.loads,
        "orjson",
        plain=_JSON_SCALARS | {int},  # orjson refuses ints past 64 bits and lone surrogates
        allowed=_JSON_ALLOWED,
        keys=frozenset({str}),
    )


# The stdlib made to write what orjson writes (no spaces, raw UTF-8; refusing NaN, and cycles) and
# to refuse what it refuses; `Codec.fits` refuses the rest (non-str keys, ints past 64 bits).
_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_scan: Final[Callable[[str, int], tuple[Any, int]]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _stdlib_dumps(obj: Any) -> bytes:
    return _encoder.encode(obj).encode("utf-8")  # a lone surrogate raises here, as in orjson


def _stdlib_loads(data: bytes) -> Any:
    text = data.decode("utf-8")
    try:
        obj, end = _scan(text, 0)  # the C scanner alone: several times json.loads on small values
    except StopIteration:
        end = -1
    if end != len(text):
        return json.loads(text)  # raises a clear error (or handles white space)
    return obj


# -- msgpack ---------------------------------------------------------------------------------------


def _msgpack_codec() -> Codec:
    try:
        import msgspec
    except ImportError:
        raise ValueError(
            "codec 'msgpack' needs msgspec: pip install 'cowlog[journal]' (or msgspec)"
        ) from None
    return Codec(
        "msgpack",
        msgspec.msgpack.Encoder().encode,
        msgspec.msgpack.Decoder().decode,
        "msgspec",
        plain=frozenset({str, int, bool, _NONE, bytes}),  # msgspec refuses ints past 64 bits
        allowed=frozenset({_NONE, bool, int, float, str, bytes, list, dict}),
        keys=frozenset({str, int, bytes, bool, _NONE, float}),
        infinities=True,
    )


# -- pickle ----------------------------------------------------------------------------------------


def _pickle_dumps(obj: Any) -> bytes:
    return pickle.dumps(obj, protocol=5)


def _pickle_codec() -> Codec:
    return Codec("pickle", _pickle_dumps, pickle.loads, "pickle", plain=frozenset(), exact=False)


_MAKERS: Final[dict[str, Callable[[], Codec]]] = {
    "json": _json_codec,
    "msgpack": _msgpack_codec,
    "pickle": _pickle_codec,
}


def get_codec(name: object) -> Codec:
    """Return the codec called *name*, importing its library now.

    Choosing ``"pickle"`` warns (`UnsafeCodecWarning`, at the first caller outside cowlog: the
    user's line that chose it): whoever can write the stored data can run code in every process
    that reads it.

    Raises:
        TypeError: *name* is not a string.
        ValueError: no codec has that name (the message lists the choices), or its library is
            not installed.
    """
    if not isinstance(name, str):
        raise TypeError(
            f"codec must be a str, one of {', '.join(map(repr, CODECS))}; got {type(name).__name__}"
        )
    maker = _MAKERS.get(name)
    if maker is None:
        raise ValueError(f"codec must be one of {', '.join(map(repr, CODECS))}; got {name!r}")
    if name == "pickle":
        warnings.warn(
            "codec='pickle': reading the data unpickles it, which runs code chosen by whoever "
            "wrote it; use it only for data nobody else can write",
            UnsafeCodecWarning,
            stacklevel=_first_caller_outside(),
        )
    return maker()


_PACKAGE: Final = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _first_caller_outside() -> int:
    """The ``stacklevel`` for a warning raised by `get_codec` that names the first frame outside
    this package (Python 3.12's ``skip_file_prefixes``, on every version)."""
    level, frame = 1, sys._getframe(1)  # level 1: get_codec, which warns
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        level, frame = level + 1, frame.f_back
    return level
