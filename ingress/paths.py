"""Ingress path parsing: which route a request path names (pure; no I/O).

Whether `/A/B/C` is `/{Service}/{handler}/send` or `/{Object}/{key}/{handler}` depends on the
kind of service A, which only the registered services know: `parse_route` asks a `Catalog`
(the `IngressBackend` is one) for the handlers it probes, and returns the resolved `HandlerInfo`
so the caller does not look it up again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import unquote

from ingress.api import ById, ByIdempotencyKey, ByWorkflow, HandlerInfo, InvocationRef

Action = Literal["attach", "output"]
BodyAction = Literal["attach", "output", "lookup"]


class Catalog(Protocol):
    def service_exists(self, service: str) -> bool: ...

    def handler(self, service: str, handler: str) -> HandlerInfo | None: ...


@dataclass(frozen=True, slots=True)
class Invoke:
    target: HandlerInfo
    key: str | None
    send: bool


@dataclass(frozen=True, slots=True)
class Lookup:
    """attach/output addressed by the path."""

    ref: InvocationRef
    action: Action


@dataclass(frozen=True, slots=True)
class LookupByBody:
    """`POST /restate/attach|output|lookup` with the target in a JSON body."""

    action: BodyAction


@dataclass(frozen=True, slots=True)
class Awakeable:
    awakeable_id: str
    action: Literal["resolve", "reject"]


@dataclass(frozen=True, slots=True)
class Health:
    pass


@dataclass(frozen=True, slots=True)
class OpenApi:
    pass


@dataclass(frozen=True, slots=True)
class PathError:
    status: int
    message: str


Route = Invoke | Lookup | LookupByBody | Awakeable | Health | OpenApi

BAD_SERVICE_PATH = (
    "bad path, expected either /:service-name/:handler or /:object-name/:object-key/:handler"
)
BAD_INVOCATION_PATH = (
    "bad path, expected /restate/invocation/:invocation_id/output|attach or "
    "/restate/invocation/:service/[:key/]:handler/:idempotency_key/output|attach"
)
BAD_WORKFLOW_PATH = (
    "bad path, expected /restate/workflow/:workflow_name/:workflow_key/output|attach"
)
BAD_AWAKEABLE_PATH = "bad path, expected /restate/awakeables/:id/resolve or .../reject"
NOT_FOUND = PathError(404, "not found")


def service_not_found(service: str) -> PathError:
    return PathError(
        404, f"service '{service}' not found, make sure to register the service before calling it."
    )


def handler_not_found(service: str, handler: str) -> PathError:
    return PathError(
        404,
        f"the service '{service}' exists, but the handler '{handler}' was not found, check that "
        "the handler exists in the latest registered service version.",
    )


def decode_segment(segment: str, what: str) -> str | PathError:
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        return PathError(400, f"bad path, cannot decode the {what} '{segment}' as UTF-8")


def valid_invocation_id(invocation_id: str) -> bool:
    return invocation_id.startswith("inv_") and invocation_id[4:].isalnum()


def bad_invocation_id(invocation_id: str) -> PathError:
    return PathError(400, f"bad invocation id '{invocation_id}': expected an id like inv_1abc... ")


def parse_route(path: str, catalog: Catalog) -> Route | PathError:
    segments = path.split("/")
    if segments[0] != "" or len(segments) < 2 or segments[1] == "":
        return NOT_FOUND
    segments = segments[1:]
    if len(segments) > 1 and segments[-1] == "":
        segments.pop()  # tolerate one trailing slash
    first = segments[0]
    if first == "restate":
        return _restate(segments[1:], catalog)
    if first == "openapi":
        return OpenApi()
    return _legacy_invoke(segments, catalog)


def _legacy_invoke(segments: list[str], catalog: Catalog) -> Route | PathError:
    """`/{S}/{h}`, `/{S}/{h}/send`, `/{O}/{key}/{h}`, `/{O}/{key}/{h}/send`."""
    service = segments[0]
    n = len(segments)
    if n == 2:
        return _resolve(catalog, service, None, segments[1], send=False)
    if n == 3:
        first = catalog.handler(service, segments[1])
        if first is not None and first.service_kind == "service":
            if segments[2] != "send":
                return PathError(400, BAD_SERVICE_PATH)
            return Invoke(first, None, send=True)
        if first is None and segments[2] == "send" and catalog.handler(service, "send") is None:
            if not catalog.service_exists(service):
                return service_not_found(service)
            return handler_not_found(service, segments[1])
        return _resolve(catalog, service, segments[1], segments[2], send=False)
    if n == 4:
        if segments[3] != "send":
            return (
                PathError(400, BAD_SERVICE_PATH)
                if catalog.service_exists(service)
                else (service_not_found(service))
            )
        return _resolve(catalog, service, segments[1], segments[2], send=True)
    if not catalog.service_exists(service):
        return service_not_found(service)
    return PathError(400, BAD_SERVICE_PATH)


def _resolve(
    catalog: Catalog, service: str, raw_key: str | None, handler: str, *, send: bool
) -> Invoke | PathError:
    """A target whose segments are known: check it exists and that the key fits its kind."""
    info = catalog.handler(service, handler)
    if info is None:
        if not catalog.service_exists(service):
            return service_not_found(service)
        return handler_not_found(service, handler)
    keyed = info.service_kind != "service"
    if keyed != (raw_key is not None):
        return PathError(400, BAD_SERVICE_PATH)
    if raw_key is None:
        return Invoke(info, None, send)
    key = decode_segment(raw_key, "key")
    if isinstance(key, PathError):
        return key
    return Invoke(info, key, send)


def _restate(rest: list[str], catalog: Catalog) -> Route | PathError:
    if not rest:
        return NOT_FOUND
    verb, args = rest[0], rest[1:]
    if verb == "health" and not args:
        return Health()
    if verb in ("call", "send"):
        return _new_invoke(args, catalog, send=verb == "send")
    if verb in ("awakeables", "a"):
        if len(args) != 2 or not args[0]:
            return PathError(400, BAD_AWAKEABLE_PATH)
        if args[1] not in ("resolve", "reject"):
            return NOT_FOUND
        return Awakeable(args[0], "resolve" if args[1] == "resolve" else "reject")
    if verb == "invocation":
        return _invocation(args, catalog)
    if verb == "workflow":
        return _workflow(args)
    if verb in ("attach", "output", "lookup"):
        action: BodyAction = (
            "attach" if verb == "attach" else ("output" if verb == "output" else "lookup")
        )
        if not args:
            return LookupByBody(action)
        if len(args) == 1 and action != "lookup":
            if not valid_invocation_id(args[0]):
                return bad_invocation_id(args[0])
            return Lookup(ById(args[0]), "attach" if action == "attach" else "output")
        return NOT_FOUND
    if verb == "scope":
        return PathError(400, "scoped invocations are not supported by Perdure")
    return NOT_FOUND


def _new_invoke(args: list[str], catalog: Catalog, *, send: bool) -> Route | PathError:
    """`/restate/call|send/{S}/{h}` and `/restate/call|send/{O}/{key}/{h}`."""
    if len(args) == 2:
        return _resolve(catalog, args[0], None, args[1], send=send)
    if len(args) == 3:
        return _resolve(catalog, args[0], args[1], args[2], send=send)
    return PathError(400, "bad path, expected /restate/call|send/:service/[:key/]:handler")


def _action(segment: str) -> Action | None:
    if segment == "attach":
        return "attach"
    if segment == "output":
        return "output"
    return None


def _invocation(args: list[str], catalog: Catalog) -> Route | PathError:
    if len(args) not in (2, 4, 5):
        return PathError(400, BAD_INVOCATION_PATH)
    action = _action(args[-1])
    if action is None:
        return NOT_FOUND
    if len(args) == 2:
        if not valid_invocation_id(args[0]):
            return bad_invocation_id(args[0])
        return Lookup(ById(args[0]), action)
    service = args[0]
    if not catalog.service_exists(service):
        return service_not_found(service)
    idem = decode_segment(args[-2], "idempotency key")
    if isinstance(idem, PathError):
        return idem
    if len(args) == 4:
        return Lookup(ByIdempotencyKey(service, None, args[1], idem), action)
    key = decode_segment(args[1], "key")
    if isinstance(key, PathError):
        return key
    return Lookup(ByIdempotencyKey(service, key, args[2], idem), action)


def _workflow(args: list[str]) -> Route | PathError:
    if len(args) != 3:
        return PathError(400, BAD_WORKFLOW_PATH)
    action = _action(args[2])
    if action is None:
        return NOT_FOUND
    key = decode_segment(args[1], "workflow key")
    if isinstance(key, PathError):
        return key
    return Lookup(ByWorkflow(args[0], key), action)
