"""JSON schemas for handler inputs and outputs, derived from type hints (published at discovery)."""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any

from perdure.serde import is_msgspec, is_pydantic

JsonSchema = dict[str, Any] | bool

_PRIMITIVES: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    bytes: {"type": "string"},
    type(None): {"type": "null"},
}


def json_schema_for(hint: Any) -> JsonSchema:
    """The JSON schema of ``hint``; ``True`` (anything) when unknown."""
    if hint in _PRIMITIVES:
        return dict(_PRIMITIVES[hint])
    if is_pydantic(hint):
        return typing.cast(dict[str, Any], hint.model_json_schema())
    if is_msgspec(hint):
        import msgspec

        return msgspec.json.schema(hint)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        return {"anyOf": [json_schema_for(a) for a in args]}
    if origin in (list, set, frozenset, tuple) or hint in (list, set, frozenset, tuple):
        schema: dict[str, Any] = {"type": "array"}
        if args and not (origin is tuple and len(args) != 2):
            schema["items"] = json_schema_for(args[0])
        return schema
    if origin is dict or hint is dict:
        return {"type": "object"}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return {"enum": [m.value for m in hint]}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass_schema(hint)
    return True


def _dataclass_schema(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    props: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        props[f.name] = json_schema_for(hints.get(f.name, Any))
        no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if no_default:
            required.append(f.name)
    schema: dict[str, Any] = {"type": "object", "title": cls.__name__, "properties": props}
    if required:
        schema["required"] = required
    return schema
