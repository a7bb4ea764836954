"""The node's side of the ingress and admin contracts (ingress.api): turns requests into log
records and the partition's replies into outcomes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Protocol, TypeVar

from ingress import api
from log.api import Error as LogError
from node import discovery
from node.directory import Directory
from node.disk import DiskGuard
from node.fabric import FabricClient, Unavailable
from node.processor import PartitionProcessor
from node.proposer import Proposer, now_ms
from partition import actions as act
from partition import ids, tables
from partition.routing import Partitioning
from partition.schema import Schema
from partition.store import Store
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st

log = logging.getLogger(__name__)


class PeerQueries(Protocol):
    """Answers other processes' QUERY requests (node.query.service.QueryService)."""

    async def serve_peer(self, body: bytes) -> bytes: ...


_SERVICE_KIND: dict[int, api.ServiceKind] = {
    pb.SERVICE: "service",
    pb.VIRTUAL_OBJECT: "virtual_object",
    pb.WORKFLOW: "workflow",
}
_HANDLER_KIND: dict[int, api.HandlerKind] = {
    pb.EXCLUSIVE: "exclusive",
    pb.SHARED: "shared",
    pb.WORKFLOW_RUN: "workflow",
}
_COMMANDS: dict[str, rec.Command] = {
    "cancel": rec.CANCEL,
    "kill": rec.KILL,
    "pause": rec.PAUSE,
    "resume": rec.RESUME,
    "purge": rec.PURGE,
    "purge-journal": rec.PURGE_JOURNAL,
    "restart-as-new": rec.RESTART_AS_NEW,
}
Forwarded = TypeVar("Forwarded", api.Outcome, api.Rejected | None)
UNAVAILABLE = (
    "the request could not be made durable ({}); it may or may not have been accepted: "
    "retry with an Idempotency-Key to be safe"
)


def handler_info(row: st.ServiceRow, h: pb.HandlerSpec) -> api.HandlerInfo:
    private = h.options.ingress_private if h.options.HasField("ingress_private") else False
    private = private or (
        row.spec.options.HasField("ingress_private") and row.spec.options.ingress_private
    )
    return api.HandlerInfo(
        service=row.spec.name,
        handler=h.name,
        service_kind=_SERVICE_KIND.get(row.spec.ty, "service"),
        handler_kind=_HANDLER_KIND.get(h.ty),
        input_present=h.input.present,
        input_required=h.input.required,
        accept=h.input.content_type or "*/*",
        output_present=h.output.present,
        output_content_type=h.output.content_type or None,
        set_content_type_if_empty=h.output.set_content_type_if_empty,
        public=not private,
    )


def _outcome(reply: act.Reply) -> api.Outcome:
    match reply:
        case act.ReplyCompleted():
            return api.Completed(
                reply.invocation_id,
                reply.result,
                reply.content_type or None,
                reply.expires_at_ms or None,
            )
        case act.ReplyAccepted():
            return api.Accepted(reply.invocation_id, reply.previously)
        case act.ReplyRejected():
            return api.Rejected(reply.code, reply.message, reply.invocation_id)
        case act.ReplyDone():
            return api.Rejected(500, "unexpected command reply to an ingress request")


REGISTER_ATTEMPTS = 50  # x REGISTER_RETRY_S: how long a group's leader change is waited out
REGISTER_RETRY_S = 0.1
SEE_CHANGE_ATTEMPTS = 250  # x REGISTER_RETRY_S / 5: how long a replica here is waited for


class Backend:
    """Implements ingress.api.IngressBackend and ingress.api.AdminBackend, forwarding what
    belongs to another group's process over the fabric, and serves what the fabric forwards
    here (node.fabric.Local)."""

    def __init__(
        self,
        proposer: Proposer,
        store: Store,
        schema: Schema,
        processor: PartitionProcessor,
        *,
        partitioning: Partitioning | None = None,
        group: int = 0,
        directory: Directory | None = None,
    ) -> None:
        """`directory` says where each group's requests go (node.directory; None: one group,
        this process)."""
        self._partitioning = partitioning or Partitioning()
        self._group = group
        self._directory = directory
        self._proposer = proposer
        self._store = store
        self._schema = schema
        self._processor = processor
        self._handlers: dict[tuple[str, str], api.HandlerInfo] = {}
        self.queries: PeerQueries | None = None  # set by the node once it answers queries
        # Set by the node: while its disk is full, new work is refused before it is journaled.
        self.disk: DiskGuard | None = None
        self.refresh()

    async def query_local(self, body: bytes) -> bytes:
        """This process's rows of system tables for another process's query."""
        if self.queries is None:
            raise Unavailable("this partition process does not answer queries yet")
        return await self.queries.serve_peer(body)

    def refresh(self) -> None:
        """Rebuild the handler cache after the schema changed."""
        self._handlers = {
            (row.spec.name, h.name): handler_info(row, h)
            for row in self._schema.services.values()
            for h in row.spec.handlers
        }

    # ------------------------------------------------------------------ ingress

    def service_exists(self, service: str) -> bool:
        return service in self._schema.services

    def handler(self, service: str, handler: str) -> api.HandlerInfo | None:
        return self._handlers.get((service, handler))

    def _peer(self, invocation_id: str) -> FabricClient | None:
        """The process to forward to, None when this one runs the invocation's group."""
        if self._directory is None:
            return None
        return self._directory.route(self._partitioning.group_of_invocation(invocation_id))

    def _invocation_id(self, request: api.InvokeRequest, info: api.HandlerInfo) -> str:
        key = request.key or ""
        if request.idempotency_key:
            return ids.deterministic_invocation_id(
                request.service, key, request.handler, request.idempotency_key
            )
        if info.handler_kind == "workflow":
            return ids.deterministic_invocation_id(request.service, key, request.handler, None)
        if request.key or self._partitioning.groups == 1:
            return ids.random_invocation_id(request.key)
        # Keyless: anywhere will do, so here (no hop).
        return ids.random_invocation_id(pkey=self._partitioning.random_key_in_group(self._group))

    def _disk_full(self) -> api.Rejected | None:
        if self.disk is not None and self.disk.full:
            return api.Rejected(503, self.disk.message())
        return None

    def _refuse_growth(self) -> None:
        """An admin write that adds data (a registration, a state edit, a restart as a new
        invocation) is refused like a new invocation while the disk is full. Cancel, kill,
        purge, pause, resume, clearing state, service changes and deployment removal go on:
        they are small, and they are how an operator frees space."""
        full = self._disk_full()
        if full is not None:
            raise api.AdminError(503, full.message)

    async def invoke(self, request: api.InvokeRequest) -> api.Outcome:
        full = self._disk_full()
        if full is not None:
            return full
        info = self.handler(request.service, request.handler)
        if info is None:
            return api.Rejected(404, f"handler {request.service}/{request.handler} not found")
        invocation_id = self._invocation_id(request, info)
        peer = self._peer(invocation_id)
        if peer is not None:
            return await _forwarded(peer.invoke(request, invocation_id))
        return await self.invoke_local(request, invocation_id)

    async def invoke_local(self, request: api.InvokeRequest, invocation_id: str) -> api.Outcome:
        key = request.key or ""
        request_id, fut = self._proposer.new_request()
        # Filled in place: passing a message to a constructor copies it (this is per request).
        envelope = rec.Envelope()
        invoke = envelope.invoke
        invoke.invocation_id = invocation_id
        invoke.service = request.service
        invoke.handler = request.handler
        invoke.key = key
        invoke.input = request.body
        if request.idempotency_key:
            invoke.idempotency_key = request.idempotency_key
        invoke.mode = rec.SEND if request.send else rec.CALL
        invoke.reply.request_id = request_id
        if request.delay_ms:
            invoke.execution_time_ms = now_ms() + request.delay_ms
        add_header = invoke.headers.add
        for k, v in request.headers:
            add_header(key=k, value=v)
        outcome = await self._ask(envelope, request_id, fut)
        if (
            isinstance(outcome, api.Accepted)
            and invoke.execution_time_ms
            and not outcome.previously
        ):
            return api.Accepted(outcome.invocation_id, False, invoke.execution_time_ms)
        return outcome

    async def attach(self, ref: api.InvocationRef) -> api.Outcome:
        invocation_id = self._resolve(ref)
        if isinstance(invocation_id, api.Rejected):
            return invocation_id
        peer = self._peer(invocation_id)
        if peer is not None:
            return await _forwarded(peer.attach(invocation_id))
        return await self.attach_local(invocation_id)

    async def attach_local(self, invocation_id: str) -> api.Outcome:
        request_id, fut = self._proposer.new_request()
        envelope = rec.Envelope(
            attach=rec.Attach(invocation_id=invocation_id, reply=rec.Reply(request_id=request_id))
        )
        return await self._ask(envelope, request_id, fut)

    async def output(self, ref: api.InvocationRef) -> api.Outcome:
        invocation_id = self._resolve(ref)
        if isinstance(invocation_id, api.Rejected):
            return invocation_id
        peer = self._peer(invocation_id)
        if peer is not None:
            return await _forwarded(peer.output(invocation_id))
        return await self.output_local(invocation_id)

    async def output_local(self, invocation_id: str) -> api.Outcome:
        status = tables.get_status(self._store, invocation_id)
        if status is None:
            return api.Rejected(404, "invocation not found", invocation_id)
        if status.phase != st.COMPLETED:
            return api.NotReady(invocation_id)
        return api.Completed(
            invocation_id,
            status.result,
            status.output_content_type or None,
            status.expires_at_ms or None,
        )

    async def complete_awakeable(self, awakeable_id: str, result: pb.Result) -> api.Rejected | None:
        full = self._disk_full()
        if full is not None:
            return full
        try:
            target, _ = ids.parse_awakeable_id(awakeable_id)
            peer = self._peer(target)
        except ids.Error as exc:
            return api.Rejected(400, str(exc))
        if peer is not None:
            return await _forwarded(peer.complete_awakeable(awakeable_id, result))
        return await self.complete_awakeable_local(awakeable_id, result)

    async def complete_awakeable_local(
        self, awakeable_id: str, result: pb.Result
    ) -> api.Rejected | None:
        request_id, fut = self._proposer.new_request()
        envelope = rec.Envelope(
            resolve_awakeable=rec.ResolveAwakeable(
                awakeable_id=awakeable_id, result=result, reply=rec.Reply(request_id=request_id)
            )
        )
        outcome = await self._ask(envelope, request_id, fut)
        return outcome if isinstance(outcome, api.Rejected) else None

    def _resolve(self, ref: api.InvocationRef) -> str | api.Rejected:
        match ref:
            case api.ById(invocation_id=invocation_id):
                try:
                    ids.parse_invocation_id(invocation_id)
                except ids.Error as exc:
                    return api.Rejected(400, str(exc))
                return invocation_id
            case api.ByIdempotencyKey():
                return ids.deterministic_invocation_id(
                    ref.service, ref.key or "", ref.handler, ref.idempotency_key
                )
            case api.ByWorkflow(name=name, key=key):
                row = self._schema.services.get(name)
                run = [h for h in (row.spec.handlers if row else []) if h.ty == pb.WORKFLOW_RUN]
                if row is None or row.spec.ty != pb.WORKFLOW or not run:
                    return api.Rejected(404, f"workflow {name} not found")
                return ids.deterministic_invocation_id(name, key, run[0].name, None)

    async def _ask(
        self, envelope: rec.Envelope, request_id: int, fut: asyncio.Future[act.Reply]
    ) -> api.Outcome:
        try:
            reply = await self._proposer.propose_and_wait(envelope, request_id, fut)
        except LogError as exc:
            log.warning("ingress request not journaled: %s", exc)
            return api.Rejected(503, UNAVAILABLE.format(exc))
        return _outcome(reply)

    # ------------------------------------------------------------------ admin

    async def register_deployment(
        self, uri: str, additional_headers: dict[str, str], force: bool, dry_run: bool
    ) -> api.RegisterResult:
        if not dry_run:
            self._refuse_growth()
        manifest = await discovery.discover(uri, additional_headers)
        deployment_id = ids.deployment_id(uri)
        existing = self._schema.deployments.get(deployment_id)
        if existing is not None and existing.manifest == manifest:
            if not dry_run:  # a group that missed it (down then) gets it now
                await self._broadcast(_registration(existing, force))
            return api.RegisterResult(False, self._deployment_info(existing))
        if existing is not None and not force:
            raise api.AdminError(
                409,
                f"a deployment is already registered at {uri} with different services; "
                "register it again with force=true to overwrite it",
            )
        problems = discovery.breaking_changes(self._schema, manifest)
        if problems and not force:
            raise api.AdminError(
                409,
                "the new deployment makes breaking changes: "
                + "; ".join(problems)
                + ". Register with force=true to accept them.",
            )
        row = st.DeploymentRow(id=deployment_id, uri=uri)
        row.manifest.CopyFrom(manifest)
        row.additional_headers.extend(
            pb.Header(key=k, value=v) for k, v in additional_headers.items()
        )
        if not dry_run:
            envelope = _registration(row, force)
            await self._broadcast(envelope)
            row = self._schema.deployments.get(deployment_id, row)
        return api.RegisterResult(existing is None, self._deployment_info(row))

    async def invocation_command(
        self, invocation_id: str, command: api.InvocationCommand, deployment: str | None
    ) -> api.CommandResult:
        try:
            ids.parse_invocation_id(invocation_id)
        except ids.Error as exc:
            raise api.AdminError(400, str(exc)) from exc
        if command == "restart-as-new":
            self._refuse_growth()
        peer = self._peer(invocation_id)
        if peer is not None:
            try:
                return await peer.command(invocation_id, command, deployment)
            except Unavailable as exc:
                raise api.AdminError(503, UNAVAILABLE.format(exc)) from exc
        return await self.command_local(invocation_id, command, deployment)

    async def command_local(
        self, invocation_id: str, command: api.InvocationCommand, deployment: str | None
    ) -> api.CommandResult:
        request_id, fut = self._proposer.new_request()
        cmd = rec.InvocationCommand(
            invocation_id=invocation_id,
            command=_COMMANDS[command],
            reply=rec.Reply(request_id=request_id),
            deployment=deployment or "",
        )
        if command == "restart-as-new":
            cmd.new_invocation_id = ids.random_invocation_id()
        envelope = rec.Envelope(invocation_command=cmd)
        reply = await self._command(envelope, request_id, fut, "an invocation command")
        body: dict[str, object] | None = None
        if reply.new_invocation_id:
            body = {"new_invocation_id": reply.new_invocation_id}
        return api.CommandResult(reply.code, body)

    async def bulk_command(self, command: rec.BulkInvocationCommand) -> list[int | api.AdminError]:
        """Run `command` in every group, each through its leader as one log record (in
        parallel); per group, how many invocations it changed, or why it could not run there
        (it may or may not have been applied: a bulk command is safe to repeat)."""
        groups = range(self._directory.groups) if self._directory is not None else range(1)
        return list(await asyncio.gather(*(self._bulk_in(g, command) for g in groups)))

    async def _bulk_in(
        self, group: int, command: rec.BulkInvocationCommand
    ) -> int | api.AdminError:
        route = self._directory.route(group) if self._directory is not None else None
        try:
            if route is None:
                return await self.bulk_local(command)
            return await route.bulk(command)
        except Unavailable as exc:
            return api.AdminError(503, UNAVAILABLE.format(exc))
        except api.AdminError as exc:
            return exc

    async def bulk_local(self, command: rec.BulkInvocationCommand) -> int:
        """Append `command` to this group's log; how many invocations it changed once applied."""
        request_id, fut = self._proposer.new_request()
        cmd = rec.BulkInvocationCommand()
        cmd.CopyFrom(command)
        cmd.reply.request_id = request_id
        envelope = rec.Envelope(bulk_invocation_command=cmd)
        reply = await self._command(envelope, request_id, fut, "a bulk invocation command")
        return reply.affected

    async def _command(
        self,
        envelope: rec.Envelope,
        request_id: int,
        fut: asyncio.Future[act.Reply],
        what: str,
    ) -> act.ReplyDone:
        """Propose an admin command carrying `request_id` and wait until it is applied: a log
        failure is 503, a refusal its own code, any other reply than done 500."""
        try:
            reply = await self._proposer.propose_and_wait(envelope, request_id, fut)
        except LogError as exc:
            raise api.AdminError(503, UNAVAILABLE.format(exc)) from exc
        if isinstance(reply, act.ReplyRejected):
            raise api.AdminError(reply.code, reply.message)
        if not isinstance(reply, act.ReplyDone):
            raise api.AdminError(500, f"unexpected reply to {what}")
        return reply

    async def modify_service(self, name: str, options: pb.Options) -> None:
        """PATCH /services/{name}: every group applies the change (like a registration)."""
        row = self._schema.services.get(name)
        if row is None:
            raise api.AdminError(404, f"The requested service '{name}' does not exist")
        if options.HasField("workflow_retention_ms") and row.spec.ty != pb.WORKFLOW:
            raise api.AdminError(
                400,
                "The request field 'workflow_completion_retention' is invalid. Reason: "
                f"{name} is not a workflow; only workflows have a completion retention",
            )
        envelope = rec.Envelope(modify_service=rec.ModifyService(service=name, options=options))
        await self._broadcast(envelope, "change the service")
        # Every group's leader applied it; this process's replica (a follower, on a node that
        # leads no group) may apply it a heartbeat later: wait, so the answer shows the change.
        for _ in range(SEE_CHANGE_ATTEMPTS):
            if _shows(self._schema.services.get(name), options):
                return
            await asyncio.sleep(REGISTER_RETRY_S / 5)

    async def remove_deployment(self, deployment_id: str, force: bool) -> None:
        if deployment_id not in self._schema.deployments:
            raise api.AdminError(404, f"The requested deployment '{deployment_id}' does not exist")
        serving = sorted(
            name
            for name, row in self._schema.services.items()
            if row.deployment_id == deployment_id
        )
        if serving and not force:
            raise api.AdminError(
                409,
                f"deployment {deployment_id} serves the latest revision of "
                f"{', '.join(serving)}: register a deployment that takes them over first, "
                "or remove it with force=true (the services go with it)",
            )
        await self._broadcast(
            rec.Envelope(remove_deployment=rec.RemoveDeployment(deployment_id=deployment_id)),
            "remove the deployment",
        )

    async def modify_state(
        self, service: str, key: str, version: str | None, new_state: dict[str, bytes]
    ) -> None:
        if new_state:
            self._refuse_growth()
        row = self._schema.services.get(service)
        if row is None and new_state:
            raise api.AdminError(404, f"The requested service '{service}' does not exist")
        if row is not None and row.spec.ty == pb.SERVICE:
            raise api.AdminError(
                400,
                f"Unsupported operation: service {service} has no keys, so it has no state "
                "(only Virtual Objects and Workflows have)",
            )
        mutation = rec.ModifyState(
            service=service, key=key, check_version=version is not None, version=version or ""
        )
        mutation.new_state.extend(pb.StateEntry(key=k, value=v) for k, v in new_state.items())
        envelope = rec.Envelope(modify_state=mutation)
        group = self._partitioning.group_of_key(ids.partition_key(key))
        route = self._directory.route(group) if self._directory is not None else None
        try:
            if route is None:
                await self.propose_applied(envelope)
            else:
                await route.propose(envelope)
        except (LogError, Unavailable) as exc:
            raise api.AdminError(503, UNAVAILABLE.format(exc)) from exc

    async def _broadcast(self, envelope: rec.Envelope, what: str = "store the deployment") -> None:
        """Every group applies registrations and removals (each runs handlers of every
        service), through its leader; a group whose leader is changing is asked again for a
        few seconds (both are idempotent)."""
        groups = range(self._directory.groups) if self._directory is not None else range(1)
        results = await asyncio.gather(
            *(self._register_in(group, envelope) for group in groups), return_exceptions=True
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if len(failed) == len(results):
            raise api.AdminError(503, f"could not {what}: {failed[0]}")
        if failed:
            raise api.AdminError(
                503,
                f"could not {what} in every partition group ({failed[0]}); "
                "the others did: ask again to complete it",
            )

    async def _register_in(self, group: int, command: rec.Envelope) -> None:
        for attempt in range(REGISTER_ATTEMPTS):
            route = self._directory.route(group) if self._directory is not None else None
            envelope = _unstamped(command)  # each proposer stamps its own copy
            try:
                if route is None:
                    await self.propose_applied(envelope)
                else:
                    await route.propose(envelope)
                return
            except (LogError, Unavailable):
                if attempt == REGISTER_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(REGISTER_RETRY_S)

    async def append_all(self, records: list[rec.Envelope]) -> None:
        """Append `records` one after the other; return once all are durable (shuffle
        deliveries). Never a record after one whose append failed: a receiver that applied a
        later message would drop the earlier one's retry as a duplicate."""
        for record in records:
            await self._proposer.propose(record)

    async def propose_applied(self, record: rec.Envelope) -> None:
        """Append `record`; return once it is applied here."""
        lsn = await self._proposer.propose(record)
        await self._processor.wait_applied(lsn)

    def _deployment_info(self, row: st.DeploymentRow) -> api.DeploymentInfo:
        return api.DeploymentInfo(
            id=row.id,
            uri=row.uri,
            manifest=row.manifest,
            created_at_ms=row.created_at_ms,
            additional_headers={h.key: h.value for h in row.additional_headers},
        )

    def deployments(self) -> list[api.DeploymentInfo]:
        return [self._deployment_info(d) for d in self._schema.deployments.values()]

    def deployment(self, deployment_id: str) -> api.DeploymentInfo | None:
        row = self._schema.deployments.get(deployment_id)
        return None if row is None else self._deployment_info(row)

    def services(self) -> list[api.ServiceInfo]:
        return [self._service_info(row) for row in self._schema.services.values()]

    def service(self, name: str) -> api.ServiceInfo | None:
        row = self._schema.services.get(name)
        return None if row is None else self._service_info(row)

    def _service_info(self, row: st.ServiceRow) -> api.ServiceInfo:
        public = not (
            row.spec.options.HasField("ingress_private") and row.spec.options.ingress_private
        )
        return api.ServiceInfo(
            spec=row.spec, revision=row.revision, deployment_id=row.deployment_id, public=public
        )


async def _forwarded(call: Awaitable[Forwarded]) -> Forwarded | api.Rejected:
    """The answer of the group's process, or 503 when it could not be had (the request may or
    may not have been taken: a retry with an idempotency key is safe)."""
    try:
        return await call
    except Unavailable as exc:
        return api.Rejected(503, UNAVAILABLE.format(exc))


def _shows(row: st.ServiceRow | None, options: pb.Options) -> bool:
    """Whether `row` already has `options` (applying them again would change nothing)."""
    if row is None:
        return True  # removed meanwhile: nothing more to wait for
    merged = pb.Options()
    merged.CopyFrom(row.spec.options)
    merged.MergeFrom(options)
    return merged == row.spec.options


def _unstamped(envelope: rec.Envelope) -> rec.Envelope:
    copy = rec.Envelope()
    copy.CopyFrom(envelope)
    copy.ClearField("timestamp_ms")
    copy.ClearField("leadership")
    return copy


def _registration(row: st.DeploymentRow, force: bool) -> rec.Envelope:
    register = rec.RegisterDeployment(
        deployment_id=row.id, uri=row.uri, manifest=row.manifest, force=force
    )
    register.additional_headers.extend(row.additional_headers)
    return rec.Envelope(register_deployment=register)
