"""Checking a JSON value against a handler's input type hint, before the handler runs.

Input that does not match the hint can never succeed, so it must end the invocation at once
(a terminal 400 naming the mismatch) rather than reach user code and fail there on every retry.

Checked: the JSON primitives (``int`` refuses ``true`` and ``1.5``; ``float`` takes an int),
``None``, ``Any``, ``Optional``/unions, ``Literal``, ``Enum`` (by value), ``list``/``set``/
``frozenset``/``tuple`` and ``dict`` generics, dataclasses (required fields present, every field
checked; unknown fields are ignored, as the decoder ignores them), pydantic models and msgspec
Structs (nested anywhere, validated by their own library), and ``TypedDict``-free plain ``dict``.
Hints it does not know (a ``NewType``, a ``Protocol``, ...) are accepted: the handler decides.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
import types
import typing
from typing import Any

_NONE_TYPE = type(None)
_PRIMITIVES: dict[Any, tuple[type, ...]] = {
    int: (int,),
    float: (int, float),
    str: (str,),
    bool: (bool,),
    list: (list,),
    dict: (dict,),
    tuple: (list,),
    set: (list,),
    frozenset: (list,),
}


def check_input(hint: Any, value: Any) -> None:
    """Raise TypeError naming where and how ``value`` (decoded JSON) does not fit ``hint``."""
    problem = _problem(hint, value, "input")
    if problem is not None:
        where, message = problem
        raise TypeError(f"{where}: {message}")


Problem = tuple[str, str] | None


def _problem(hint: Any, value: Any, where: str) -> Problem:
    if hint is Any or hint is object or isinstance(hint, typing.TypeVar):
        return None
    if hint is None or hint is _NONE_TYPE:
        return None if value is None else _expected(where, "null", value)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        return _problem(args[0], value, where)
    if origin is typing.Union or origin is types.UnionType:
        return _union(args, value, where)
    if origin is typing.Literal:
        return None if value in args else _expected(where, f"one of {list(args)!r}", value)
    if origin is not None:
        return _generic(origin, args, value, where)
    if not isinstance(hint, type):
        return None
    model = _model_problem(hint, value, where)
    if not isinstance(model, bool):
        return model
    if dataclasses.is_dataclass(hint):
        return _dataclass(hint, value, where)
    if issubclass(hint, enum.Enum):
        if any(value == member.value for member in hint):
            return None
        return _expected(where, f"one of {[m.value for m in hint]!r}", value)
    return _primitive(hint, value, where)


def _primitive(hint: type, value: Any, where: str) -> Problem:
    expected = _PRIMITIVES.get(hint)
    if expected is None:
        return None  # a class we cannot judge from JSON: the handler decides
    if value is None:
        return _expected(where, hint.__name__, value)
    if isinstance(value, bool) and hint is not bool:
        return _expected(where, hint.__name__, value)
    if isinstance(value, expected):
        return None
    return _expected(where, hint.__name__, value)


def _union(args: tuple[Any, ...], value: Any, where: str) -> Problem:
    if value is None and _NONE_TYPE in args:
        return None
    candidates = [a for a in args if a is not _NONE_TYPE]
    if len(candidates) == 1:  # Optional[X]: say what is wrong with it as an X
        return _problem(candidates[0], value, where)
    for candidate in candidates:
        if _problem(candidate, value, where) is None:
            return None
    return _expected(where, " | ".join(_name(a) for a in args), value)


def _generic(origin: Any, args: tuple[Any, ...], value: Any, where: str) -> Problem:
    if origin in (list, set, frozenset):
        if not isinstance(value, list):
            return _expected(where, _name(origin), value)
        item = args[0] if args else Any
        return _first(_problem(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is tuple:
        if not isinstance(value, list):
            return _expected(where, "tuple (a JSON array)", value)
        if len(args) == 2 and args[1] is Ellipsis:
            return _first(_problem(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if args and len(args) != len(value):
            return _expected(where, f"an array of {len(args)} items", value)
        pairs = enumerate(zip(args, value, strict=False))
        return _first(_problem(a, v, f"{where}[{i}]") for i, (a, v) in pairs)
    if origin is dict or (isinstance(origin, type) and issubclass(origin, dict)):
        if not isinstance(value, dict):
            return _expected(where, "dict (a JSON object)", value)
        item = args[1] if len(args) == 2 else Any
        return _first(_problem(item, v, f"{where}.{k}") for k, v in value.items())
    return None


def _dataclass(cls: type, value: Any, where: str) -> Problem:
    if not isinstance(value, dict):
        return _expected(where, f"{cls.__name__} (a JSON object)", value)
    try:
        hints = typing.get_type_hints(cls)
    except Exception:
        hints = {}
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        path = f"{where}.{field.name}"
        if field.name not in value:
            required = (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            )
            if required:
                return path, f"the required field '{field.name}' of {cls.__name__} is missing"
            continue
        problem = _problem(hints.get(field.name, Any), value[field.name], path)
        if problem is not None:
            return problem
    return None


def _model_problem(hint: type, value: Any, where: str) -> Problem | bool:
    """A pydantic model or msgspec Struct validated by its library (None: valid); False: the
    hint is neither."""
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and issubclass(hint, pydantic.BaseModel):
        try:
            typing.cast(Any, hint).model_validate(value)
        except pydantic.ValidationError as exc:
            return where, _pydantic_message(hint, exc)
        return None
    msgspec = sys.modules.get("msgspec")
    if msgspec is not None and issubclass(hint, msgspec.Struct):
        try:
            msgspec.convert(value, type=hint)
        except msgspec.ValidationError as exc:
            return where, f"not a valid {hint.__name__}: {exc}"
        return None
    return False


def _pydantic_message(model: type, exc: Any) -> str:
    errors = exc.errors()
    if not errors:
        return f"not a valid {model.__name__}"
    first = errors[0]
    loc = ".".join(str(part) for part in first.get("loc", ()))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"not a valid {model.__name__}: {loc or 'value'}: {first.get('msg')}{more}"


def _first(problems: typing.Iterable[Problem]) -> Problem:
    for problem in problems:
        if problem is not None:
            return problem
    return None


def _name(hint: Any) -> str:
    if hint is _NONE_TYPE:
        return "None"
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _expected(where: str, what: str, value: Any) -> tuple[str, str]:
    shown = json.dumps(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return where, f"expected {what}, got {shown}"
