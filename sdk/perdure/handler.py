"""Handler records: what a decorated function is, its I/O serdes, kind and options.

A decorator (``@svc.handler()``) returns a plain wrapper around the user's ``async def``; the
wrapper carries its ``Handler`` record, so the function itself is the typed handle passed to
``ctx.service_call(fn, ...)`` and to the client.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from perdure._schema import JsonSchema, json_schema_for
from perdure.retry_policy import InvocationRetryPolicy
from perdure.serde import DefaultSerde, Serde, serde_for_type

__all__ = [
    "Handler",
    "HandlerIO",
    "ServiceOptions",
    "ServiceTag",
    "handler_from_callable",
    "make_handler",
]

HANDLER_ATTR = "__restate_handler__"

ServiceKind = Literal["service", "object", "workflow"]
HandlerKind = Literal["exclusive", "shared", "workflow"]
ContextManagerFactory = Callable[[], AbstractAsyncContextManager[None]]


@dataclass(frozen=True, slots=True)
class ServiceTag:
    """The service a handler belongs to."""

    kind: ServiceKind
    name: str
    description: str | None = None
    metadata: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    """Options of a service or a handler; unset fields inherit (handler -> service -> server)."""

    inactivity_timeout: timedelta | None = None
    abort_timeout: timedelta | None = None
    journal_retention: timedelta | None = None
    idempotency_retention: timedelta | None = None
    workflow_retention: timedelta | None = None
    enable_lazy_state: bool | None = None
    ingress_private: bool | None = None
    invocation_retry_policy: InvocationRetryPolicy | None = None


@dataclass(frozen=True, slots=True)
class HandlerIO:
    """Content types, serdes and schemas of a handler's input and output."""

    accept: str
    content_type: str
    input_serde: Serde[Any]
    output_serde: Serde[Any]
    has_input: bool
    has_output: bool
    input_schema: JsonSchema | None = None
    output_schema: JsonSchema | None = None
    # False: the input's type hint does not admit None (``n: int``), so a request without input
    # (or with JSON null) can never succeed and ends with a terminal 400 before the handler runs.
    input_optional: bool = True


@dataclass(frozen=True, slots=True)
class Handler:
    """A registered handler."""

    service_tag: ServiceTag
    name: str
    kind: HandlerKind | None
    fn: Callable[..., Awaitable[Any]]
    arity: int
    io: HandlerIO
    documentation: str | None = None
    metadata: dict[str, str] | None = None
    options: ServiceOptions = field(default_factory=ServiceOptions)
    context_managers: tuple[ContextManagerFactory, ...] = ()


def handler_from_callable(fn: Any) -> Handler:
    """The ``Handler`` record of a decorated handler function."""
    handler = getattr(fn, HANDLER_ATTR, None)
    if not isinstance(handler, Handler):
        raise ValueError(
            f"{fn!r} is not a Perdure handler: pass a function decorated with "
            "@service.handler(), @object.handler(), @workflow.main() or @workflow.handler()"
        )
    return handler


def _unwrap_optional(hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def _admits_none(hint: Any) -> bool:
    if hint in (Any, object, None, type(None)) or isinstance(hint, typing.TypeVar | str):
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _admits_none(typing.get_args(hint)[0])
    if origin is typing.Union or origin is types.UnionType:
        return any(_admits_none(a) for a in typing.get_args(hint))
    return False


def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(fn, eval_str=True)
    except (NameError, TypeError, SyntaxError):
        return inspect.signature(fn)


def _pick_serde(given: Serde[Any], hint: Any) -> Serde[Any]:
    if type(given) is DefaultSerde and given.type_hint is None and hint is not None:
        return serde_for_type(hint)
    return given


def _io(
    fn: Callable[..., Any],
    accept: str,
    content_type: str,
    input_serde: Serde[Any],
    output_serde: Serde[Any],
) -> tuple[int, HandlerIO]:
    sig = _signature(fn)
    params = list(sig.parameters.values())
    if not params:
        raise ValueError(
            f"Handler {fn.__qualname__} must take the context as its first parameter, "
            "e.g. `async def handler(ctx: Context) -> ...`"
        )
    empty = inspect.Signature.empty
    has_input = len(params) >= 2
    in_hint = params[1].annotation if has_input and params[1].annotation is not empty else None
    picked_serde = type(input_serde) is DefaultSerde and input_serde.type_hint is None
    input_optional = in_hint is None or not picked_serde or _admits_none(in_hint)
    ret = sig.return_annotation
    has_output = ret is not empty and ret is not None and ret is not type(None)
    out_hint = ret if has_output else None
    in_hint = _unwrap_optional(in_hint) if in_hint is not None else None
    out_hint = _unwrap_optional(out_hint) if out_hint is not None else None
    io = HandlerIO(
        accept=accept,
        content_type=content_type,
        input_serde=_pick_serde(input_serde, in_hint),
        output_serde=_pick_serde(output_serde, out_hint),
        has_input=has_input,
        has_output=has_output,
        input_schema=json_schema_for(in_hint) if has_input else None,
        output_schema=json_schema_for(out_hint) if has_output else None,
        input_optional=input_optional,
    )
    return len(params), io


def make_handler(
    tag: ServiceTag,
    handlers: dict[str, Handler],
    fn: Callable[..., Awaitable[Any]],
    *,
    name: str | None,
    kind: HandlerKind | None,
    accept: str,
    content_type: str,
    input_serde: Serde[Any],
    output_serde: Serde[Any],
    metadata: dict[str, str] | None,
    options: ServiceOptions,
    context_managers: tuple[ContextManagerFactory, ...],
) -> Callable[..., Awaitable[Any]]:
    """Build and register the ``Handler`` of ``fn``; returns the wrapper carrying it."""
    handler_name = name or fn.__name__
    if handler_name in handlers:
        raise ValueError(
            f"Handler {tag.name}/{handler_name} is defined twice: names must be unique"
        )
    arity, io = _io(fn, accept, content_type, input_serde, output_serde)
    handler = Handler(
        service_tag=tag,
        name=handler_name,
        kind=kind,
        fn=fn,
        arity=arity,
        io=io,
        documentation=inspect.getdoc(fn),
        metadata=metadata,
        options=options,
        context_managers=context_managers,
    )
    handlers[handler_name] = handler

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        return await fn(*args, **kwargs)

    setattr(wrapper, HANDLER_ATTR, handler)
    return wrapper
