"""Admin operations that run inside the partitions: bulk invocation commands and service
changes, as the admin API reads them from HTTP (node.admin_api routes here).

POST /invocations/bulk/{cancel|kill|purge|pause|resume}, with a JSON filter (every field set
must hold; at least one is required, so an empty body never kills everything):

    {"service": "Sleeper", "handler": "nap", "key": "alice",
     "status": ["scheduled", "suspended"],       # or one name; sys_invocation's names
     "created_after": "2026-12-01T00:00:00Z",    # RFC 3339 or epoch milliseconds
     "created_before": 1764547200000,
     "deployment": "dp_...",                     # pinned to this deployment
     "limit": 1000}                              # at most this many per partition group

answers 200 {"command", "affected", "partition_groups", "completed_groups"} once every group
applied it (one log record per group: it selects the matching invocations from its store and
changes them in the same write), or 503 with the same counts and a message naming the groups
that could not be reached (repeating the request is safe: what was changed no longer matches).

PATCH /services/{name} takes Restate's ModifyServiceRequest (public, idempotency_retention,
workflow_completion_retention, journal_retention, inactivity_timeout, abort_timeout: friendly
or ISO-8601 durations) and, as a Perdure extension, `retry_policy` in the shape GET /services
reports it; every group applies it through its log, and GET /services shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import orjson

from ingress.api import AdminError
from ingress.durations import parse_delay_ms
from ingress.http_types import JSON_CONTENT_TYPE, Response
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec

BULK_COMMANDS: dict[str, rec.Command] = {
    "cancel": rec.CANCEL,
    "kill": rec.KILL,
    "purge": rec.PURGE,
    "pause": rec.PAUSE,
    "resume": rec.RESUME,
}
# sys_invocation's status names onto the stored phases a log record can select by
# (running and backing-off differ only in the leader's memory, so both are "invoked").
STATUSES = {
    "pending": "inboxed",
    "inboxed": "inboxed",
    "scheduled": "scheduled",
    "running": "invoked",
    "backing-off": "invoked",
    "invoked": "invoked",
    "suspended": "suspended",
    "paused": "paused",
    "completed": "completed",
}
_DURATIONS = {
    "idempotency_retention": "idempotency_retention_ms",
    "workflow_completion_retention": "workflow_retention_ms",
    "journal_retention": "journal_retention_ms",
    "inactivity_timeout": "inactivity_timeout_ms",
    "abort_timeout": "abort_timeout_ms",
}
_FILTER_FIELDS = ("service", "handler", "key", "status", "created_after", "created_before")


class Operations(Protocol):
    """What runs them (node.backend.Backend)."""

    async def bulk_command(self, command: rec.BulkInvocationCommand) -> list[int | AdminError]: ...

    async def modify_service(self, name: str, options: pb.Options) -> None: ...


class Invalid(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"The request field '{field}' is invalid. Reason: {reason}")


def _error(status: int, message: str, **extra: object) -> Response:
    body = {"message": message, "restate_code": None, **extra}
    return Response(status, orjson.dumps(body), (JSON_CONTENT_TYPE,))


def _object(body: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as exc:
        raise Invalid("body", f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise Invalid("body", "must be a JSON object")
    return doc


async def bulk(ops: Operations, name: str, body: bytes) -> Response:
    command = BULK_COMMANDS.get(name)
    if command is None:
        return _error(404, f"no bulk command '{name}'; use {', '.join(BULK_COMMANDS)}")
    try:
        doc = _object(body)
        cmd = rec.BulkInvocationCommand(command=command, filter=parse_filter(doc))
        limit = doc.get("limit")
        if limit is not None:
            if not isinstance(limit, int) or isinstance(limit, bool) or not 0 < limit < 2**32:
                raise Invalid("limit", "must be a positive whole number")
            cmd.limit = limit
    except Invalid as exc:
        return _error(400, str(exc))
    results = await ops.bulk_command(cmd)
    affected = sum(r for r in results if isinstance(r, int))
    failed = [(g, r) for g, r in enumerate(results) if isinstance(r, AdminError)]
    counts = {
        "command": name,
        "affected": affected,
        "partition_groups": len(results),
        "completed_groups": len(results) - len(failed),
    }
    if not failed:
        return Response(200, orjson.dumps(counts), (JSON_CONTENT_TYPE,))
    status = failed[0][1].code if len(failed) == 1 and failed[0][1].code < 500 else 503
    reasons = "; ".join(f"group {g}: {e.message}" for g, e in failed)
    return _error(
        status,
        f"the {name} ran in {counts['completed_groups']} of {len(results)} partition groups "
        f"({affected} invocations changed); it did not in: {reasons}. Ask again to finish it.",
        **counts,
    )


def parse_filter(doc: dict[str, Any]) -> rec.InvocationFilter:
    f = rec.InvocationFilter()
    unknown = sorted(set(doc) - {*_FILTER_FIELDS, "deployment", "limit"})
    if unknown:
        raise Invalid(unknown[0], f"unknown filter field; use {', '.join(_FILTER_FIELDS)}")
    for field in ("service", "handler", "deployment"):
        value = doc.get(field)
        if value is not None and (not isinstance(value, str) or not value):
            raise Invalid(field, "must be a non-empty string")
    f.service = doc.get("service") or ""
    f.handler = doc.get("handler") or ""
    f.deployment_id = doc.get("deployment") or ""
    if f.handler and not f.service:
        raise Invalid("handler", "give the service too")
    key = doc.get("key")
    if key is not None:
        if not isinstance(key, str):
            raise Invalid("key", "must be a string")
        f.has_key, f.key = True, key
    raw = doc.get("status")
    statuses = [raw] if isinstance(raw, str) else raw
    if statuses is not None:
        if not isinstance(statuses, list) or not statuses:
            raise Invalid("status", "must be a status name or a non-empty list of them")
        for status in statuses:
            if status not in STATUSES:
                raise Invalid("status", f"'{status}' is not one of {', '.join(STATUSES)}")
            f.statuses.append(STATUSES[status])
    f.created_after_ms = _time(doc, "created_after")
    f.created_before_ms = _time(doc, "created_before")
    selective = f.service or f.deployment_id or f.has_key or f.statuses
    if not (selective or f.created_after_ms or f.created_before_ms):
        raise Invalid(
            "body",
            f"a filter is required (one of {', '.join(_FILTER_FIELDS)}, deployment), so "
            "that a mistaken request never acts on every invocation",
        )
    return f


def _time(doc: dict[str, Any], field: str) -> int:
    value = doc.get(field)
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return max(1, int(moment.timestamp() * 1000))
    raise Invalid(field, "must be an RFC 3339 time with an offset or epoch milliseconds")


async def patch_service(
    ops: Operations, name: str, body: bytes, describe: Callable[[], Response]
) -> Response:
    """PATCH /services/{name}: 200 with the service as GET /services/{name} shows it after."""
    try:
        options = parse_modify(_object(body))
    except Invalid as exc:
        return _error(400, str(exc))
    await ops.modify_service(name, options)
    return describe()


def parse_modify(doc: dict[str, Any]) -> pb.Options:
    options = pb.Options()
    public = doc.get("public")
    if public is not None:
        if not isinstance(public, bool):
            raise Invalid("public", "must be true or false")
        options.ingress_private = not public
    for field, option in _DURATIONS.items():
        value = doc.get(field)
        if value is not None:
            setattr(options, option, _duration(field, value))
    policy = doc.get("retry_policy")
    if policy is not None:
        _retry_policy(policy, options.retry_policy)
    return options


def _duration(field: str, value: object) -> int:
    if not isinstance(value, str):
        raise Invalid(field, "must be a duration such as '1 day', '10min' or 'PT1H'")
    try:
        return parse_delay_ms(value)
    except ValueError as exc:
        raise Invalid(field, str(exc).replace("delay", "duration")) from None


def _retry_policy(doc: object, policy: pb.RetryPolicy) -> None:
    if not isinstance(doc, dict):
        raise Invalid("retry_policy", "must be an object")
    for field, option in (
        ("initial_interval", "initial_interval_ms"),
        ("max_interval", "max_interval_ms"),
    ):
        if doc.get(field) is not None:
            setattr(policy, option, _duration(f"retry_policy.{field}", doc[field]))
    factor = doc.get("exponentiation_factor")
    if factor is not None:
        if not isinstance(factor, int | float) or isinstance(factor, bool) or factor < 1:
            raise Invalid("retry_policy.exponentiation_factor", "must be a number >= 1")
        policy.exponentiation_factor = float(factor)
    attempts = doc.get("max_attempts")
    if attempts is not None:
        if not isinstance(attempts, int) or isinstance(attempts, bool) or not 0 < attempts < 2**32:
            raise Invalid("retry_policy.max_attempts", "must be a positive whole number")
        policy.max_attempts = attempts
    on_max = doc.get("on_max_attempts")
    if on_max is not None:
        choice = {"pause": pb.PAUSE, "kill": pb.KILL}.get(str(on_max).lower())
        if choice is None:
            raise Invalid("retry_policy.on_max_attempts", "must be Pause or Kill")
        policy.on_max_attempts = choice
