"""Turning plain JSON values into typed Python values (dataclasses without dacite) and back.

Only the stdlib is needed. Supported hints: dataclasses (nested), ``Optional``/unions with ``None``,
``list``/``set``/``frozenset``/``tuple``/``dict`` generics, ``Enum``, ``Literal`` and the JSON
primitives. Anything else is passed through untouched.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any

_NONE_TYPE = type(None)


def contains_dataclass(hint: Any) -> bool:
    """True when ``hint`` is, or is a generic over, a dataclass type."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return True
    return any(contains_dataclass(arg) for arg in typing.get_args(hint))


def from_jsonable(hint: Any, value: Any) -> Any:
    """Convert the JSON value ``value`` into an instance described by ``hint``."""
    if value is None or hint is Any or hint is None:
        return value
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        return _from_union(args, value)
    if origin is typing.Literal:
        return value
    if origin in (list, set, frozenset) and isinstance(value, list):
        item = args[0] if args else Any
        return origin(from_jsonable(item, v) for v in value)
    if origin is tuple and isinstance(value, list):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_jsonable(args[0], v) for v in value)
        return tuple(from_jsonable(a, v) for a, v in zip(args, value, strict=False))
    if origin is dict and isinstance(value, dict):
        val_hint = args[1] if len(args) == 2 else Any
        return {k: from_jsonable(val_hint, v) for k, v in value.items()}
    if isinstance(hint, type):
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            return _from_dict(hint, value)
        if issubclass(hint, enum.Enum):
            return hint(value)
        if hint is float and isinstance(value, int):
            return float(value)
    return value


def _from_union(args: tuple[Any, ...], value: Any) -> Any:
    candidates = [a for a in args if a is not _NONE_TYPE]
    if len(candidates) == 1:
        return from_jsonable(candidates[0], value)
    for candidate in candidates:
        if isinstance(candidate, type) and dataclasses.is_dataclass(candidate):
            if isinstance(value, dict) and _fits(candidate, value):
                return _from_dict(candidate, value)
        elif isinstance(candidate, type) and isinstance(value, candidate):
            return value
    return value


def _fits(cls: type, value: dict[str, Any]) -> bool:
    names = {f.name for f in dataclasses.fields(cls)}
    return set(value) <= names


def _from_dict(cls: type, value: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if field.name in value and field.init:
            kwargs[field.name] = from_jsonable(hints.get(field.name, Any), value[field.name])
    return cls(**kwargs)


def to_jsonable(obj: Any) -> Any:
    """``json.dumps`` ``default=`` hook: dataclasses, enums, sets, pydantic and msgspec objects."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    to_builtins = _msgspec_to_builtins()
    if to_builtins is not None and _is_msgspec_struct(type(obj)):
        return to_builtins(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _msgspec_to_builtins() -> Any:
    try:
        import msgspec
    except ImportError:
        return None
    return msgspec.to_builtins


def _is_msgspec_struct(tp: Any) -> bool:
    try:
        import msgspec
    except ImportError:
        return False
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)
