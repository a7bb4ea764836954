"""How the ingress answers: outcomes of invocations and its own errors, in Restate's shapes."""

from __future__ import annotations

from typing import assert_never

import orjson

from ingress.api import Accepted, Completed, NotReady, Outcome, Rejected
from ingress.durations import rfc3339_ms
from ingress.http_types import JSON_CONTENT_TYPE, Response

Headers = tuple[tuple[str, str], ...]

_INGRESS_SOURCE = ("x-restate-error-source", "ingress")
_INVOCATION_SOURCE = ("x-restate-error-source", "invocation")
NOT_READY_MESSAGE = "the invocation exists but has not completed yet"


def id_headers(invocation_id: str | None) -> Headers:
    """Both names: clients written for Restate read `x-restate-id`."""
    if not invocation_id:
        return ()
    return (("x-restate-id", invocation_id), ("x-perdure-id", invocation_id))


RETRY_SOON = ("retry-after", "1")


def ingress_error(status: int, message: str, headers: Headers = ()) -> Response:
    """An error found by the ingress itself (not by the invoked handler)."""
    body = orjson.dumps({"code": status, "message": message, "source": "ingress"})
    return Response(status, body, (JSON_CONTENT_TYPE, _INGRESS_SOURCE, *headers))


def method_not_allowed(*allowed: str) -> Response:
    return ingress_error(405, "method not allowed", (("allow", ", ".join(allowed)),))


def failure_status(code: int) -> int:
    """The HTTP status for a terminal failure code (codes outside 400-999 become 500)."""
    return code if 400 <= code <= 999 else 500


def render_outcome(
    outcome: Outcome,
    *,
    output_content_type: str | None = None,
    set_content_type_if_empty: bool = False,
) -> Response:
    """The HTTP answer for an outcome of invoke/attach/output."""
    if isinstance(outcome, Completed):
        return _completed(outcome, output_content_type, set_content_type_if_empty)
    if isinstance(outcome, Accepted):
        return accepted(outcome)
    if isinstance(outcome, NotReady):
        return ingress_error(470, NOT_READY_MESSAGE, id_headers(outcome.invocation_id))
    if isinstance(outcome, Rejected):
        headers = id_headers(outcome.invocation_id)
        if outcome.code == 503:  # transient (no leader yet, the log, a full disk): say when
            headers += (RETRY_SOON,)
        return ingress_error(outcome.code, outcome.message, headers)
    assert_never(outcome)


def accepted(outcome: Accepted) -> Response:
    payload: dict[str, str] = {
        "invocationId": outcome.invocation_id,
        "status": "PreviouslyAccepted" if outcome.previously else "Accepted",
    }
    if outcome.execution_time_ms is not None:
        payload["executionTime"] = rfc3339_ms(outcome.execution_time_ms)
    return Response(
        202, orjson.dumps(payload), (JSON_CONTENT_TYPE, *id_headers(outcome.invocation_id))
    )


def _completed(
    outcome: Completed, output_content_type: str | None, set_content_type_if_empty: bool
) -> Response:
    headers = id_headers(outcome.invocation_id)
    if outcome.idempotency_expires_ms is not None:
        headers += (("idempotency-expires", rfc3339_ms(outcome.idempotency_expires_ms)),)
    result = outcome.result
    kind = result.WhichOneof("result")
    if kind == "failure":
        failure = result.failure
        status = failure_status(failure.code)
        payload: dict[str, object] = {"code": status, "message": failure.message}
        if failure.metadata:
            payload["metadata"] = dict(failure.metadata)
        payload["source"] = "invocation"
        return Response(
            status, orjson.dumps(payload), (JSON_CONTENT_TYPE, _INVOCATION_SOURCE, *headers)
        )
    value = result.value if kind == "value" else b""
    content_type = outcome.content_type or output_content_type
    if content_type and (value or set_content_type_if_empty):
        headers += (("content-type", content_type),)
    return Response(200, value, headers)
