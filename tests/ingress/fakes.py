"""In-memory fakes of the two backend protocols (our own seam, see ingress/api.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ingress.api import (
    AdminError,
    CommandResult,
    Completed,
    DeploymentInfo,
    HandlerInfo,
    HandlerKind,
    InvocationCommand,
    InvocationRef,
    InvokeRequest,
    Outcome,
    RegisterResult,
    Rejected,
    ServiceInfo,
    ServiceKind,
)
from perdure_proto import protocol_pb2 as pb


def handler_info(
    service: str,
    handler: str,
    kind: ServiceKind = "service",
    handler_kind: HandlerKind | None = None,
    *,
    accept: str = "application/json",
    input_present: bool = True,
    input_required: bool = False,
    output_content_type: str | None = "application/json",
    set_content_type_if_empty: bool = False,
    public: bool = True,
) -> HandlerInfo:
    return HandlerInfo(
        service=service,
        handler=handler,
        service_kind=kind,
        handler_kind=handler_kind,
        input_present=input_present,
        input_required=input_required,
        accept=accept,
        output_present=output_content_type is not None,
        output_content_type=output_content_type,
        set_content_type_if_empty=set_content_type_if_empty,
        public=public,
    )


def value(data: bytes) -> pb.Result:
    return pb.Result(value=data)


def failure(code: int, message: str, **metadata: str) -> pb.Result:
    return pb.Result(failure=pb.Failure(code=code, message=message, metadata=metadata))


def echo_outcome(request: InvokeRequest) -> Outcome:
    return Completed("inv_1echo", value(request.body))


@dataclass
class FakeIngress:
    handlers: dict[tuple[str, str], HandlerInfo] = field(default_factory=dict)
    on_invoke: Callable[[InvokeRequest], Outcome] = echo_outcome
    attached: dict[InvocationRef, Outcome] = field(default_factory=dict)
    outputs: dict[InvocationRef, Outcome] = field(default_factory=dict)
    invoked: list[InvokeRequest] = field(default_factory=list)
    awakeables: dict[str, Rejected | None] = field(default_factory=dict)  # id -> answer
    completed_awakeables: list[tuple[str, pb.Result]] = field(default_factory=list)

    def add(self, info: HandlerInfo) -> FakeIngress:
        self.handlers[(info.service, info.handler)] = info
        return self

    def service_exists(self, service: str) -> bool:
        return any(s == service for s, _ in self.handlers)

    def handler(self, service: str, handler: str) -> HandlerInfo | None:
        return self.handlers.get((service, handler))

    async def invoke(self, request: InvokeRequest) -> Outcome:
        self.invoked.append(request)
        return self.on_invoke(request)

    async def attach(self, ref: InvocationRef) -> Outcome:
        return self.attached.get(ref, Rejected(404, "invocation not found"))

    async def output(self, ref: InvocationRef) -> Outcome:
        return self.outputs.get(ref, Rejected(404, "invocation not found"))

    async def complete_awakeable(self, awakeable_id: str, result: pb.Result) -> Rejected | None:
        if awakeable_id not in self.awakeables:
            return Rejected(404, f"awakeable {awakeable_id} not found")
        answer = self.awakeables[awakeable_id]
        if answer is None:
            self.completed_awakeables.append((awakeable_id, result))
        return answer


@dataclass
class FakeAdmin:
    deployments_by_id: dict[str, DeploymentInfo] = field(default_factory=dict)
    services_by_name: dict[str, ServiceInfo] = field(default_factory=dict)
    discovered: dict[str, pb.Manifest] = field(default_factory=dict)  # uri -> manifest
    calls: list[tuple[str, dict[str, str], bool, bool]] = field(default_factory=list)
    # invocation id -> what every command on it returns (or raises); unknown ids are a 404
    invocations: dict[str, CommandResult | AdminError] = field(default_factory=dict)
    commands: list[tuple[str, InvocationCommand, str | None]] = field(default_factory=list)
    removed: list[tuple[str, bool]] = field(default_factory=list)
    state_edits: list[tuple[str, str, str | None, dict[str, bytes]]] = field(default_factory=list)

    async def remove_deployment(self, deployment_id: str, force: bool) -> None:
        if deployment_id not in self.deployments_by_id:
            raise AdminError(404, f"The requested deployment '{deployment_id}' does not exist")
        self.removed.append((deployment_id, force))

    async def modify_state(
        self, service: str, key: str, version: str | None, new_state: dict[str, bytes]
    ) -> None:
        self.state_edits.append((service, key, version, new_state))

    async def register_deployment(
        self, uri: str, additional_headers: dict[str, str], force: bool, dry_run: bool
    ) -> RegisterResult:
        self.calls.append((uri, additional_headers, force, dry_run))
        manifest = self.discovered.get(uri)
        if manifest is None:
            raise AdminError(400, f"cannot reach the deployment at {uri}: connection refused")
        for existing in self.deployments_by_id.values():
            if existing.uri == uri:
                if existing.manifest == manifest or force:
                    return RegisterResult(False, existing)
                raise AdminError(409, f"the deployment {uri} changed incompatibly; use force")
        dep = DeploymentInfo(
            f"dp_{len(self.deployments_by_id) + 1}",
            uri,
            manifest,
            1_700_000_000_000,
            additional_headers,
        )
        if not dry_run:
            self.deployments_by_id[dep.id] = dep
            for spec in manifest.services:
                previous = self.services_by_name.get(spec.name)
                revision = previous.revision + 1 if previous else 1
                public = not spec.options.ingress_private
                self.services_by_name[spec.name] = ServiceInfo(spec, revision, dep.id, public)
        return RegisterResult(True, dep)

    def deployments(self) -> list[DeploymentInfo]:
        return list(self.deployments_by_id.values())

    def deployment(self, deployment_id: str) -> DeploymentInfo | None:
        return self.deployments_by_id.get(deployment_id)

    def services(self) -> list[ServiceInfo]:
        return list(self.services_by_name.values())

    def service(self, name: str) -> ServiceInfo | None:
        return self.services_by_name.get(name)

    async def invocation_command(
        self, invocation_id: str, command: InvocationCommand, deployment: str | None
    ) -> CommandResult:
        self.commands.append((invocation_id, command, deployment))
        answer = self.invocations.get(invocation_id)
        if answer is None:
            raise AdminError(404, f"The requested invocation '{invocation_id}' does not exist")
        if isinstance(answer, AdminError):
            raise answer
        return answer
