"""The fabric: how the partition processes of one node reach each other.

Each process serves a private port on 127.0.0.1 (`FabricHandler`) and keeps one multiplexed
connection to every other process (`FabricClient`; the transport is node/fabric_wire.py: numbered
requests, a loop turn's messages in one write). A process forwards to the
process running the owning group: ingress requests for keys or invocations of another group
(one internal hop), admin commands on invocations, deployment registrations (every group applies
them), and its shuffle's deliveries. Bodies are protobuf (`perdure_proto/fabric.proto`).

Guarantees: a forwarded request is carried out at most once by the fabric (no retries here);
when the connection breaks before the answer, the caller gets `Unavailable` and, like any
request whose journaling is unknown, may retry with an idempotency key. Deliveries are retried
by the shuffle, and deduplicated by their receiver.
"""

from __future__ import annotations

import enum
import logging
from typing import Protocol

import orjson
from prometheus_client import generate_latest

from ingress import api
from node.fabric_wire import MuxClient, Unavailable, UnknownMethod
from perdure_proto import fabric_pb2 as fb
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec

log = logging.getLogger(__name__)

__all__ = ["FabricClient", "FabricHandler", "Method", "Unavailable"]

# ---------------------------------------------------------------------------------- codec


def outcome_to_pb(outcome: api.Outcome) -> fb.Outcome:
    out = fb.Outcome()
    match outcome:
        case api.Completed():
            c = out.completed
            c.invocation_id = outcome.invocation_id
            c.result.CopyFrom(outcome.result)
            c.content_type = outcome.content_type or ""
            c.idempotency_expires_ms = outcome.idempotency_expires_ms or 0
        case api.Accepted():
            a = out.accepted
            a.invocation_id = outcome.invocation_id
            a.previously = outcome.previously
            a.execution_time_ms = outcome.execution_time_ms or 0
        case api.NotReady():
            out.not_ready = outcome.invocation_id
        case api.Rejected():
            r = out.rejected
            r.code = outcome.code
            r.message = outcome.message
            r.invocation_id = outcome.invocation_id or ""
    return out


def outcome_from_pb(out: fb.Outcome) -> api.Outcome:
    kind = out.WhichOneof("kind")
    if kind == "completed":
        c = out.completed
        return api.Completed(
            c.invocation_id, c.result, c.content_type or None, c.idempotency_expires_ms or None
        )
    if kind == "accepted":
        a = out.accepted
        return api.Accepted(a.invocation_id, a.previously, a.execution_time_ms or None)
    if kind == "not_ready":
        return api.NotReady(out.not_ready)
    if kind == "rejected":
        r = out.rejected
        return api.Rejected(r.code, r.message, r.invocation_id or None)
    return api.Rejected(500, f"the partition process answered a {kind!r} to a request")


def invoke_to_pb(request: api.InvokeRequest, invocation_id: str) -> fb.InvokeRequest:
    m = fb.InvokeRequest(
        invocation_id=invocation_id,
        service=request.service,
        handler=request.handler,
        body=request.body,
        send=request.send,
        delay_ms=request.delay_ms or 0,
    )
    if request.key is not None:
        m.has_key, m.key = True, request.key
    if request.idempotency_key is not None:
        m.has_idempotency_key, m.idempotency_key = True, request.idempotency_key
    m.headers.extend(pb.Header(key=k, value=v) for k, v in request.headers)
    return m


def invoke_from_pb(m: fb.InvokeRequest) -> api.InvokeRequest:
    return api.InvokeRequest(
        service=m.service,
        handler=m.handler,
        key=m.key if m.has_key else None,
        body=m.body,
        headers=tuple((h.key, h.value) for h in m.headers),
        idempotency_key=m.idempotency_key if m.has_idempotency_key else None,
        send=m.send,
        delay_ms=m.delay_ms or None,
    )


# ---------------------------------------------------------------------------------- client


class Method(enum.IntEnum):
    INVOKE = 1
    ATTACH = 2
    OUTPUT = 3
    AWAKEABLE = 4
    COMMAND = 5
    DELIVER = 6
    PROPOSE = 7
    STATUS = 8
    METRICS = 9
    HEALTH = 10
    SNAPSHOT_BEGIN = 11
    SNAPSHOT_PAGE = 12
    MEMBERSHIP = 13
    BULK = 14  # a bulk invocation command for the peer's group (node.backend.bulk_local)
    QUERY = 20  # SQL introspection: a group's system-table rows (node/query)


class FabricClient:
    """Requests to one peer process, multiplexed over one connection (node/fabric_wire.py)."""

    def __init__(self, host: str, port: int, secret: bytes | None = None) -> None:
        self.host = host
        self.port = port
        self._mux = MuxClient(host, port, secret=secret)

    async def _outcome(self, method: Method, body: bytes) -> fb.Outcome:
        out = fb.Outcome()
        out.ParseFromString(await self._mux.call(method, body))
        return out

    async def invoke(self, request: api.InvokeRequest, invocation_id: str) -> api.Outcome:
        body = invoke_to_pb(request, invocation_id).SerializeToString()
        return outcome_from_pb(await self._outcome(Method.INVOKE, body))

    async def attach(self, invocation_id: str) -> api.Outcome:
        body = fb.InvocationRequest(invocation_id=invocation_id).SerializeToString()
        return outcome_from_pb(await self._outcome(Method.ATTACH, body))

    async def output(self, invocation_id: str) -> api.Outcome:
        body = fb.InvocationRequest(invocation_id=invocation_id).SerializeToString()
        return outcome_from_pb(await self._outcome(Method.OUTPUT, body))

    async def complete_awakeable(self, awakeable_id: str, result: pb.Result) -> api.Rejected | None:
        body = fb.AwakeableRequest(awakeable_id=awakeable_id, result=result).SerializeToString()
        out = await self._outcome(Method.AWAKEABLE, body)
        if out.WhichOneof("kind") == "done":
            return None
        outcome = outcome_from_pb(out)
        return outcome if isinstance(outcome, api.Rejected) else api.Rejected(500, str(outcome))

    async def command(
        self, invocation_id: str, command: str, deployment: str | None
    ) -> api.CommandResult:
        body = fb.CommandRequest(
            invocation_id=invocation_id, command=command, deployment=deployment or ""
        ).SerializeToString()
        out = await self._outcome(Method.COMMAND, body)
        if out.WhichOneof("kind") == "rejected":
            raise api.AdminError(out.rejected.code, out.rejected.message)
        result = out.command
        parsed = orjson.loads(result.body_json) if result.body_json else None
        return api.CommandResult(result.code, parsed)

    async def bulk(self, command: rec.BulkInvocationCommand) -> int:
        """How many invocations of the peer's group `command` changed; `AdminError` if refused."""
        out = await self._outcome(Method.BULK, command.SerializeToString())
        if out.WhichOneof("kind") == "rejected":
            raise api.AdminError(out.rejected.code, out.rejected.message)
        return int(orjson.loads(out.command.body_json)["affected"])

    async def deliver(self, records: list[rec.Envelope]) -> None:
        body = fb.DeliverRequest(records=records).SerializeToString()
        await self._outcome(Method.DELIVER, body)

    async def propose(self, record: rec.Envelope) -> None:
        await self._outcome(Method.PROPOSE, fb.ProposeRequest(record=record).SerializeToString())

    async def status(self) -> fb.GroupStatus:
        out = await self._outcome(Method.STATUS, b"")
        return out.status

    async def metrics(self) -> bytes:
        """The process's Prometheus exposition (text)."""
        return await self._mux.call(Method.METRICS, b"")

    async def health(self) -> None:
        await self._mux.call(Method.HEALTH, b"")

    async def snapshot_begin(self, request: fb.SnapshotRequest) -> fb.SnapshotBegun:
        """A checkpoint of the peer's store to fetch (node/snapshot.py); `AdminError` if it
        cannot send one."""
        return self._answer(
            await self._outcome(Method.SNAPSHOT_BEGIN, request.SerializeToString()),
            "snapshot_begun",
        ).snapshot_begun

    async def snapshot_page(self, request: fb.SnapshotPageRequest) -> fb.SnapshotPage:
        return self._answer(
            await self._outcome(Method.SNAPSHOT_PAGE, request.SerializeToString()), "snapshot_page"
        ).snapshot_page

    async def membership(self, request: fb.MembershipRequest) -> fb.Outcome:
        """A configuration change for the peer's group (node/membership_changes.py): `done`, or
        `rejected` (503 while it does not lead)."""
        return await self._outcome(Method.MEMBERSHIP, request.SerializeToString())

    @staticmethod
    def _answer(out: fb.Outcome, kind: str) -> fb.Outcome:
        got = out.WhichOneof("kind")
        if got == "rejected":
            raise api.AdminError(out.rejected.code, out.rejected.message)
        if got != kind:
            raise api.AdminError(500, f"the peer answered a {got!r} instead of a {kind!r}")
        return out

    async def query(self, body: bytes) -> bytes:
        """The peer's rows of system tables (node.query.service: the wire and its errors)."""
        return await self._mux.call(Method.QUERY, body)

    async def close(self) -> None:
        await self._mux.close()


# ---------------------------------------------------------------------------------- server


class Local(Protocol):
    """What a process does for requests forwarded to it (node.backend.Backend)."""

    async def invoke_local(self, request: api.InvokeRequest, invocation_id: str) -> api.Outcome: ...

    async def attach_local(self, invocation_id: str) -> api.Outcome: ...

    async def output_local(self, invocation_id: str) -> api.Outcome: ...

    async def complete_awakeable_local(
        self, awakeable_id: str, result: pb.Result
    ) -> api.Rejected | None: ...

    async def command_local(
        self, invocation_id: str, command: api.InvocationCommand, deployment: str | None
    ) -> api.CommandResult: ...

    async def bulk_local(self, command: rec.BulkInvocationCommand) -> int: ...

    async def append_all(self, records: list[rec.Envelope]) -> None: ...

    async def propose_applied(self, record: rec.Envelope) -> None: ...

    async def query_local(self, body: bytes) -> bytes: ...


class Status(Protocol):
    def group_status(self) -> fb.GroupStatus: ...


class Changes(Protocol):
    """Changes the group's configuration (node.membership_changes.GroupMembership)."""

    async def change(self, request: fb.MembershipRequest) -> fb.Outcome: ...


class Snapshots(Protocol):
    """Sends checkpoints of the process's store (node.snapshot.SnapshotSource)."""

    async def begin(self, request: fb.SnapshotRequest) -> fb.SnapshotBegun: ...

    async def page(self, request: fb.SnapshotPageRequest) -> fb.SnapshotPage: ...


class FabricHandler:
    """Serves the fabric on a process's private port (a `node.fabric_wire.Serve`)."""

    def __init__(
        self,
        local: Local,
        status: Status,
        snapshots: Snapshots | None = None,
        changes: Changes | None = None,
    ) -> None:
        self._local = local
        self._status = status
        self._snapshots = snapshots
        self._changes = changes

    async def __call__(self, method: int, body: bytes) -> bytes:
        if method == Method.METRICS:
            return generate_latest()
        if method == Method.QUERY:
            return await self._local.query_local(body)
        try:
            out = await self._serve(method, body)
        except api.AdminError as exc:
            out = fb.Outcome(rejected=fb.Rejected(code=exc.code, message=exc.message))
        return out.SerializeToString()

    async def _serve(self, method: int, body: bytes) -> fb.Outcome:
        local = self._local
        if method == Method.INVOKE:
            m = fb.InvokeRequest()
            m.ParseFromString(body)
            return outcome_to_pb(await local.invoke_local(invoke_from_pb(m), m.invocation_id))
        if method in (Method.ATTACH, Method.OUTPUT):
            r = fb.InvocationRequest()
            r.ParseFromString(body)
            serve = local.attach_local if method == Method.ATTACH else local.output_local
            return outcome_to_pb(await serve(r.invocation_id))
        if method == Method.AWAKEABLE:
            a = fb.AwakeableRequest()
            a.ParseFromString(body)
            rejected = await local.complete_awakeable_local(a.awakeable_id, a.result)
            return fb.Outcome(done=True) if rejected is None else outcome_to_pb(rejected)
        if method == Method.COMMAND:
            c = fb.CommandRequest()
            c.ParseFromString(body)
            result = await local.command_local(
                c.invocation_id,
                c.command,  # type: ignore[arg-type]  # validated by the admin API that sent it
                c.deployment or None,
            )
            payload = orjson.dumps(result.body).decode() if result.body is not None else ""
            return fb.Outcome(command=fb.CommandResult(code=result.status, body_json=payload))
        if method == Method.BULK:
            affected = await local.bulk_local(rec.BulkInvocationCommand.FromString(body))
            body_json = orjson.dumps({"affected": affected}).decode()
            return fb.Outcome(command=fb.CommandResult(code=200, body_json=body_json))
        if method == Method.DELIVER:
            d = fb.DeliverRequest()
            d.ParseFromString(body)
            await local.append_all(list(d.records))
            return fb.Outcome(done=True)
        if method == Method.PROPOSE:
            p = fb.ProposeRequest()
            p.ParseFromString(body)
            await local.propose_applied(p.record)
            return fb.Outcome(done=True)
        if method == Method.HEALTH:
            return fb.Outcome(done=True)
        if method == Method.STATUS:
            return fb.Outcome(status=self._status.group_status())
        if method == Method.SNAPSHOT_BEGIN and self._snapshots is not None:
            return fb.Outcome(
                snapshot_begun=await self._snapshots.begin(fb.SnapshotRequest.FromString(body))
            )
        if method == Method.SNAPSHOT_PAGE and self._snapshots is not None:
            return fb.Outcome(
                snapshot_page=await self._snapshots.page(fb.SnapshotPageRequest.FromString(body))
            )
        if method == Method.MEMBERSHIP and self._changes is not None:
            return await self._changes.change(fb.MembershipRequest.FromString(body))
        raise UnknownMethod(method)
