"""Codecs: how a backend that leaves the process turns values into bytes and back.

A codec has a ``name`` (stored beside the data, so a log written with one codec is never read with
another), ``encode(obj) -> bytes``, ``decode(data) -> obj`` and ``check_roundtrip(obj)``. The rule
every codec keeps: **what ``encode`` accepts comes back equal, type for type**, or ``encode`` raises
``TypeError`` naming the codec before anything is written. No codec here is ever chosen silently:
JSON is the default, pickle is used only when asked for by name, and warns when it is.

* ``json``: ``None``, ``bool``, ``int``, finite ``float``, ``str``, and ``list`` / ``dict`` (with
  ``str`` keys) of those, exact types only. A tuple (it would come back a list), a dict with an
  ``int`` key (it would come back a ``str``), NaN (never equal to itself), a ``str`` or ``int``
  subclass (it would come back as the base type) are refused, not silently changed.
* ``pickle``: anything pickle can store. **Decoding pickle data runs code chosen by whoever wrote
  it**: use it only for data only you can write.

Nothing in this module imports anything outside the standard library.
"""

from __future__ import annotations

import json
import pickle
import warnings
from collections.abc import Callable
from typing import Any, Final, NoReturn, Protocol

__all__ = ["JSON", "PICKLE", "Codec", "UnsafeCodecWarning", "get_codec"]


class UnsafeCodecWarning(UserWarning):
    """Warned when a codec that can run code on decoding (pickle) is chosen."""


class Codec(Protocol):
    """What a backend needs of a codec."""

    @property
    def name(self) -> str: ...

    def encode(self, obj: object, what: str = "value") -> bytes: ...

    def decode(self, data: bytes) -> Any: ...

    def check_roundtrip(self, obj: object, what: str = "value") -> None: ...


_SCALARS: Final = frozenset({type(None), bool, int, str})
_scan: Final[Callable[[str, int], tuple[Any, int]]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


class _JsonCodec:
    """JSON, refusing whatever would not come back equal and of the same type."""

    name: Final = "json"

    def __init__(self) -> None:
        # compact and UTF-8: what is stored is what json.loads reads back, byte for byte
        self._dumps = json.JSONEncoder(
            ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode

    def check_roundtrip(self, obj: object, what: str = "value") -> None:
        """Raise TypeError, naming *what* and the codec, unless *obj* comes back equal. O(size)."""
        self.encode(obj, what)

    def encode(self, obj: object, what: str = "value") -> bytes:
        """Return *obj* as JSON bytes; O(size). Raises TypeError if it would not come back equal."""
        try:
            data = self._dumps(obj)
        except (TypeError, ValueError, RecursionError) as exc:  # a set, a cycle, NaN, ...
            raise TypeError(f"{what} cannot be stored by the json codec: {exc}") from None
        if type(obj) not in _SCALARS:
            _refuse_lossy(obj, what)  # after dumps, which refuses cycles: this walk then ends
        return data.encode()

    def decode(self, data: bytes) -> Any:
        """Return the object *data* encodes (as ``encode`` wrote it: no surrounding space)."""
        try:
            return _scan(data.decode(), 0)[0]  # the C scanner alone: 4x json.loads on small values
        except StopIteration:
            raise ValueError(f"not what the json codec writes: {bytes(data[:60])!r}") from None


def _refuse_lossy(obj: object, what: str) -> None:
    """Raise TypeError at the first part of *obj* JSON would give back changed. O(size).

    Only exact types count: a subclass would come back as its base type. *obj* has no cycles
    (``json`` refused them first), so the walk ends.
    """
    stack: list[tuple[Any, str]] = [(obj, what)]
    pop, push = stack.pop, stack.append
    while stack:
        item, path = pop()
        kind = type(item)
        if kind in _SCALARS or kind is float:  # json refused NaN and infinity already
            continue
        if kind is list:
            for i, element in enumerate(item):
                push((element, f"{path}[{i}]"))
            continue
        if kind is dict:
            for key, element in item.items():
                if type(key) is not str:
                    _refuse(
                        path,
                        f"a dict key of type {type(key).__name__} ({key!r}) would come back a str",
                    )
                push((element, f"{path}[{key!r}]"))
            continue
        if kind is tuple:
            _refuse(path, "a tuple would come back a list (store a list, or use codec='pickle')")
        _refuse(
            path,
            f"{kind.__name__} is not one of None, bool, int, float, str, list, dict (exact types: "
            f"a subclass would come back as its base type)",
        )


def _refuse(path: str, why: str) -> NoReturn:
    raise TypeError(f"{path} cannot be stored by the json codec: {why}")


class _PickleCodec:
    """pickle, protocol 5. Decoding runs code chosen by the writer: trusted data only."""

    name: Final = "pickle"

    def check_roundtrip(self, obj: object, what: str = "value") -> None:
        """Raise TypeError, naming *what*, if pickle cannot store *obj*."""
        self.encode(obj, what)

    def encode(self, obj: object, what: str = "value") -> bytes:
        """Return *obj* pickled (protocol 5)."""
        try:
            return pickle.dumps(obj, protocol=5)
        except Exception as exc:  # pickle raises many kinds: PicklingError, TypeError, ...
            raise TypeError(f"{what} cannot be stored by the pickle codec: {exc}") from exc

    def decode(self, data: bytes) -> Any:
        """Return the object *data* encodes. **Runs code chosen by whoever wrote *data*.**"""
        return pickle.loads(data)  # documented; only on explicit request


JSON: Final[Codec] = _JsonCodec()
PICKLE: Final[Codec] = _PickleCodec()
_BY_NAME: Final = {"json": JSON, "pickle": PICKLE}


def get_codec(codec: str | Codec) -> Codec:
    """Return the codec named *codec* (``"json"`` or ``"pickle"``), or *codec* itself.

    Choosing pickle warns (`UnsafeCodecWarning`): whoever can write the stored data can run code in
    every process that reads it.

    Raises:
        ValueError: *codec* is a name no codec has.
        TypeError: *codec* is neither a name nor an object with a codec's methods.
    """
    if isinstance(codec, str):
        try:
            found = _BY_NAME[codec]
        except KeyError:
            raise ValueError(
                f"codec must be one of {sorted(_BY_NAME)} or a codec object, got {codec!r}"
            ) from None
    else:
        if not all(callable(getattr(codec, m, None)) for m in ("encode", "decode")):
            raise TypeError(f"codec must be a name or a codec object, got {type(codec).__name__}")
        if not isinstance(getattr(codec, "name", None), str):
            raise TypeError("a codec object needs a str name (it is stored beside the data)")
        found = codec
    if found.name == "pickle":
        warnings.warn(
            "codec='pickle': reading the log unpickles its values, which runs code chosen by "
            "whoever wrote them; use it only for data nobody else can write",
            UnsafeCodecWarning,
            stacklevel=3,
        )
    return found
