"""Serializers between handler values and the bytes Perdure journals.

Rules (mirroring restate-sdk 1.2, plus dataclass support without dacite):
empty bytes <-> ``None``; with a type hint, a msgspec ``Struct`` uses msgspec JSON, a pydantic model
uses pydantic JSON, a dataclass (or a generic over one) is rebuilt from JSON with its type hints;
otherwise the stdlib ``json`` module. Dataclasses, pydantic and msgspec objects are also accepted
when serializing without a hint. With a hint, decoded input is first checked against it
(``perdure._input_check``): a mismatch raises TypeError naming it, which ends the invocation with
a terminal 400 before the handler runs.
"""

from __future__ import annotations

import abc
import json
import sys
import typing
from typing import Any, Generic, TypeVar

from perdure._input_check import check_input
from perdure._typed_json import contains_dataclass, from_jsonable, to_jsonable

__all__ = [
    "BytesSerde",
    "DefaultSerde",
    "JsonSerde",
    "MsgspecJsonSerde",
    "PydanticJsonSerde",
    "Serde",
    "is_msgspec",
    "is_pydantic",
    "serde_for_type",
]

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741


def is_pydantic(tp: Any) -> bool:
    """True when ``tp`` is a pydantic model class (pydantic is never imported just for this)."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)


def is_msgspec(tp: Any) -> bool:
    """True when ``tp`` is a msgspec ``Struct`` class."""
    msgspec = sys.modules.get("msgspec")
    return msgspec is not None and isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, default=to_jsonable).encode("utf-8")


class Serde(Generic[T], abc.ABC):
    """Converts values of type ``T`` to bytes and back."""

    @abc.abstractmethod
    def deserialize(self, buf: bytes) -> T | None:
        """Bytes -> value."""

    @abc.abstractmethod
    def serialize(self, obj: T | None) -> bytes:
        """Value -> bytes."""


class BytesSerde(Serde[bytes]):
    """Pass-through: the handler sees the raw bytes."""

    def deserialize(self, buf: bytes) -> bytes | None:
        return buf

    def serialize(self, obj: bytes | None) -> bytes:
        return b"" if obj is None else bytes(obj)


class JsonSerde(Serde[I]):
    """Plain ``json``; empty bytes <-> ``None``."""

    def deserialize(self, buf: bytes) -> I | None:
        if not buf:
            return None
        return typing.cast(I, json.loads(buf))

    def serialize(self, obj: I | None) -> bytes:
        if obj is None:
            return b""
        return _dumps(obj)


class PydanticJsonSerde(Serde[I]):
    """JSON through a pydantic model (``model_validate_json`` / ``model_dump_json``)."""

    def __init__(self, model: type[I]) -> None:
        self.model = model

    def deserialize(self, buf: bytes) -> I | None:
        if not buf:
            return None
        return typing.cast(I, self.model.model_validate_json(buf))  # type: ignore[attr-defined]

    def serialize(self, obj: I | None) -> bytes:
        if obj is None:
            return b""
        return typing.cast(bytes, obj.model_dump_json().encode("utf-8"))  # type: ignore[attr-defined]


class MsgspecJsonSerde(Serde[I]):
    """JSON through msgspec for a ``msgspec.Struct`` type."""

    def __init__(self, model: type[I]) -> None:
        self.model = model

    def deserialize(self, buf: bytes) -> I | None:
        if not buf:
            return None
        import msgspec

        return msgspec.json.decode(buf, type=self.model)

    def serialize(self, obj: I | None) -> bytes:
        if obj is None:
            return b""
        import msgspec

        return msgspec.json.encode(obj)


class DefaultSerde(Serde[I]):
    """The serde used when none is given: picks the encoding from the optional type hint."""

    def __init__(self, type_hint: type[I] | None = None) -> None:
        self.type_hint = type_hint

    def with_maybe_type(self, type_hint: type[I] | None = None) -> DefaultSerde[I]:
        """A copy that uses ``type_hint`` (or this serde itself when no hint is given)."""
        if type_hint is None:
            return self
        return DefaultSerde(type_hint)

    def deserialize(self, buf: bytes) -> I | None:
        if not buf:
            return None
        hint = self.type_hint
        if hint is not None:
            if is_msgspec(hint):
                return MsgspecJsonSerde(hint).deserialize(buf)
            if is_pydantic(hint):
                return PydanticJsonSerde(hint).deserialize(buf)
        value = json.loads(buf)
        if hint is not None:
            # Input that does not fit the hint can never succeed: refuse it before the handler.
            # (A top-level null is None, like no input: the handler's Optional decides.)
            if value is not None:
                check_input(hint, value)
            if contains_dataclass(hint):
                return typing.cast(I, from_jsonable(hint, value))
        return typing.cast(I, value)

    def serialize(self, obj: I | None) -> bytes:
        if obj is None:
            return b""
        hint = self.type_hint
        if hint is not None and is_msgspec(hint):
            return MsgspecJsonSerde(hint).serialize(obj)
        if hint is not None and is_pydantic(hint) and is_pydantic(type(obj)):
            return PydanticJsonSerde(hint).serialize(obj)
        return _dumps(obj)


def serde_for_type(hint: Any) -> Serde[Any]:
    """The serde a type hint selects: pydantic, msgspec, dataclass-aware or plain JSON (which
    checks a plain hint: int, float, str, bool, list, dict)."""
    if is_pydantic(hint):
        return PydanticJsonSerde(hint)
    if is_msgspec(hint):
        return MsgspecJsonSerde(hint)
    return DefaultSerde(hint)
