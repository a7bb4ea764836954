"""The ingress's request rules, shared by its front ends (HTTP on 8080, gRPC on 9090): what an
invocation request must satisfy before it reaches the backend, each refusal with Restate's HTTP
status (the gRPC ingress maps it to a gRPC code). Pure: no I/O.

In the order checked: the handler is public (400), a delay only on sends (400), parseable and
within a century (400), no idempotency key on a workflow's run handler (400) nor an empty or
overlong one (400), the body's content type against the handler's `accept` (415), a required
input present (400), and a JSON body well-formed when the handler takes JSON (400; Restate lets
the handler fail with 500).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import orjson

from ingress.api import HandlerInfo, InvokeRequest
from ingress.durations import parse_delay_ms
from ingress.paths import Catalog, service_not_found


@dataclass(frozen=True, slots=True)
class Refused:
    """The request breaks a rule: `status` is the HTTP status the ingress answers with."""

    status: int
    message: str


Headers = tuple[tuple[str, str], ...]

# Longer keys are refused before anything is journaled: a key is stored in the index rows and
# in every record of the invocation, and no client needs more to name a request uniquely.
MAX_IDEMPOTENCY_KEY_CHARS = 1024


def invoke_request(
    target: HandlerInfo,
    key: str | None,
    *,
    send: bool,
    body: bytes,
    content_type: str | None,
    headers: Headers,
    idempotency_key: str | None,
    delay: str | None,
) -> InvokeRequest | Refused:
    """The backend request for invoking `target`, or why it is refused. `headers` are those
    forwarded to the handler; `delay` is the text of HTTP's `?delay=` (None: not given)."""
    if not target.public:
        return Refused(400, "the invoked service is not public")
    delay_ms: int | None = None
    if delay is not None:
        if not send:
            return Refused(
                400,
                "cannot use the delay query parameter with calls. The delay is supported "
                "only with sends (append /send to the path)",
            )
        try:
            delay_ms = parse_delay_ms(delay)
        except ValueError as exc:
            return Refused(400, f"bad delay query parameter: {exc}")
    if idempotency_key is not None:
        if target.handler_kind == "workflow":
            return Refused(
                400,
                "cannot use the idempotency key with workflow handlers. The handler "
                "invocation will already be idempotent by the workflow key itself.",
            )
        if not idempotency_key:
            return Refused(400, "the idempotency-key header is empty")
        if len(idempotency_key) > MAX_IDEMPOTENCY_KEY_CHARS:
            return Refused(
                400,
                f"the idempotency-key header is {len(idempotency_key)} characters long; the "
                f"maximum is {MAX_IDEMPOTENCY_KEY_CHARS}",
            )
    if target.input_present:
        if body:
            refused = check_input(target.accept, content_type, body)
            if refused is not None:
                return refused
        elif target.input_required:
            return Refused(
                400,
                f"the handler {target.service}/{target.handler} requires an input "
                f"({target.accept}), but the request has no body",
            )
    else:
        body = b""
    return InvokeRequest(
        service=target.service,
        handler=target.handler,
        key=key,
        body=body,
        headers=headers,
        idempotency_key=idempotency_key,
        send=send,
        delay_ms=delay_ms,
    )


def resolve_target(
    catalog: Catalog, service: str, handler: str, key: str | None
) -> HandlerInfo | Refused:
    """The handler a request names by fields (not by a path), checking that it exists and that
    a key is given exactly when its service is keyed."""
    info = catalog.handler(service, handler)
    if info is None:
        if not catalog.service_exists(service):
            missing = service_not_found(service)
            return Refused(missing.status, missing.message)
        return Refused(
            404,
            f"the service '{service}' exists, but the handler '{handler}' was not found, check "
            "that the handler exists in the latest registered service version.",
        )
    keyed = info.service_kind != "service"
    if keyed and key is None:
        kind = "virtual object" if info.service_kind == "virtual_object" else "workflow"
        return Refused(400, f"'{service}' is a {kind}: the request needs its key")
    if not keyed and key is not None:
        return Refused(400, f"'{service}' is a service, not keyed: the request takes no key")
    return info


def default_content_type(accept: str) -> str:
    """The content type of a body sent without one by a front end that has no header for it
    (gRPC): the handler's accepted type when it names one, else JSON."""
    first = media_type(accept.split(",")[0])
    return first if first and "*" not in first else "application/json"


def check_input(accept: str, content_type: str | None, body: bytes) -> Refused | None:
    """Why a non-empty body is refused by a handler accepting `accept`, None if it is not."""
    media = media_type(content_type) if content_type else None
    if not _accepts(accept, media):
        return Refused(
            415,
            f"the request content-type '{content_type or '(none)'}' is not accepted by this "
            f"handler, which accepts '{accept}'; set the content-type header accordingly",
        )
    if media is not None and is_json(media) and _accepts_json(accept):
        try:
            orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return Refused(400, f"the request body is not valid JSON: {exc}")
    return None


def media_type(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


def is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


@lru_cache(maxsize=512)
def _accepts(accept: str, media: str | None) -> bool:
    for pattern in (media_type(p) for p in accept.split(",")):
        if pattern in ("*/*", "*", ""):
            return True
        if media is None:
            continue
        if pattern.endswith("/*"):
            if media.startswith(pattern[:-1]):
                return True
        elif pattern == media:
            return True
    return False


@lru_cache(maxsize=512)
def _accepts_json(accept: str) -> bool:
    return any(is_json(media_type(p)) for p in accept.split(","))
