"""The contract between the HTTP front ends (ingress on 8080, admin on 9070) and the node.

The HTTP layer parses paths, headers and bodies, enforces Restate's request rules and shapes
responses; everything durable happens behind these two protocols, implemented by the node.
Tests of the HTTP layer may implement them with fakes (our own narrow seam).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from perdure_proto import protocol_pb2 as pb

ServiceKind = Literal["service", "virtual_object", "workflow"]
HandlerKind = Literal["exclusive", "shared", "workflow"]


@dataclass(frozen=True, slots=True)
class HandlerInfo:
    """What the ingress needs to know about one registered handler."""

    service: str
    handler: str
    service_kind: ServiceKind
    handler_kind: HandlerKind | None  # None for plain Service handlers
    input_present: bool  # False: the handler takes no input (a body is ignored)
    input_required: bool
    accept: str  # accepted request content type, may hold wildcards ("*/*", "application/*")
    output_present: bool
    output_content_type: str | None
    set_content_type_if_empty: bool
    public: bool  # False: ingress_private, callable only from other handlers


@dataclass(frozen=True, slots=True)
class InvokeRequest:
    service: str
    handler: str
    key: str | None  # VO / workflow key, None for a Service
    body: bytes
    headers: tuple[tuple[str, str], ...]  # lower-cased names, hop/idempotency headers removed
    idempotency_key: str | None
    send: bool  # True: one-way (answer 202 once accepted)
    delay_ms: int | None = None  # delayed send


@dataclass(frozen=True, slots=True)
class ById:
    invocation_id: str


@dataclass(frozen=True, slots=True)
class ByIdempotencyKey:
    service: str
    key: str | None
    handler: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class ByWorkflow:
    name: str
    key: str


InvocationRef = ById | ByIdempotencyKey | ByWorkflow


@dataclass(frozen=True, slots=True)
class Completed:
    """The invocation finished: `result` holds its value, its terminal failure, or void."""

    invocation_id: str
    result: pb.Result
    content_type: str | None = None  # output content type of the handler that produced it
    idempotency_expires_ms: int | None = None  # set when served from a stored completion


@dataclass(frozen=True, slots=True)
class Accepted:
    invocation_id: str
    previously: bool  # True: an earlier request already created it ("PreviouslyAccepted")
    execution_time_ms: int | None = None  # delayed sends only


@dataclass(frozen=True, slots=True)
class NotReady:
    """The invocation exists but has not completed yet (HTTP 470)."""

    invocation_id: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """The request was refused; `code` is the HTTP status (404, 409, 503, ...)."""

    code: int
    message: str
    invocation_id: str | None = None


Outcome = Completed | Accepted | NotReady | Rejected


class IngressBackend(Protocol):
    """Durable side of the ingress.

    Guarantees: `invoke` returns `Accepted` only once the invocation is durable (survives kill -9);
    for a call it returns `Completed` once the result is durable. Requests with the same
    idempotency key and target address the same invocation and get its stored response.
    """

    def service_exists(self, service: str) -> bool: ...

    def handler(self, service: str, handler: str) -> HandlerInfo | None: ...

    async def invoke(self, request: InvokeRequest) -> Outcome: ...

    async def attach(self, ref: InvocationRef) -> Outcome:
        """Wait for the invocation's result (Completed), or Rejected(404) if unknown."""
        ...

    async def output(self, ref: InvocationRef) -> Outcome:
        """Completed if done, NotReady if still running, Rejected(404) if unknown."""
        ...

    async def complete_awakeable(self, awakeable_id: str, result: pb.Result) -> Rejected | None:
        """Resolve (result.value) or reject (result.failure) an awakeable; None once durable
        (HTTP 202), Rejected(400) for a malformed id, Rejected(404) for an unknown one."""
        ...


@dataclass(frozen=True, slots=True)
class DeploymentInfo:
    id: str  # "dp_..."
    uri: str
    manifest: pb.Manifest
    created_at_ms: int
    additional_headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    """The current revision of a registered service."""

    spec: pb.ServiceSpec
    revision: int
    deployment_id: str
    public: bool


@dataclass(frozen=True, slots=True)
class RegisterResult:
    created: bool  # True -> 201, False -> 200 (unchanged, or overwritten with force)
    deployment: DeploymentInfo


class AdminError(Exception):
    """A refused admin request; `code` is the HTTP status to answer with."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


InvocationCommand = Literal[
    "cancel", "kill", "pause", "resume", "purge", "purge-journal", "restart-as-new"
]


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What an invocation command did: the HTTP status to answer and an optional JSON body."""

    status: int
    body: dict[str, object] | None = None


class AdminBackend(Protocol):
    """Durable side of the admin API. Raises AdminError for refusals."""

    async def register_deployment(
        self, uri: str, additional_headers: dict[str, str], force: bool, dry_run: bool
    ) -> RegisterResult:
        """Discover `uri` over gRPC and register its services (durable when it returns).

        Refuses (AdminError 400/409) a registration that changes an existing service
        incompatibly (service type, removed handlers, handler kind) unless `force`.
        An unreachable deployment or a failed discovery is AdminError 400 naming the cause.
        """
        ...

    def deployments(self) -> list[DeploymentInfo]: ...

    def deployment(self, deployment_id: str) -> DeploymentInfo | None: ...

    def services(self) -> list[ServiceInfo]: ...

    def service(self, name: str) -> ServiceInfo | None: ...

    async def invocation_command(
        self, invocation_id: str, command: InvocationCommand, deployment: str | None
    ) -> CommandResult:
        """Run an invocation command (durable when it returns), with Restate's status codes:
        cancel 202 (200 if already completed), kill 200, pause 202 (200 if already paused),
        resume 200 (`deployment`: "latest", "keep" or a deployment id), purge 200 (409 if not
        completed), purge-journal 200, restart-as-new 200 {"new_invocation_id": ...}.
        Raises AdminError(404) for an unknown invocation, AdminError(400) for a malformed id
        or a command that does not apply in the invocation's state (message says why)."""
        ...

    async def remove_deployment(self, deployment_id: str, force: bool) -> None:
        """Forget a deployment and the services whose current revision it serves, in every
        partition group (durable when it returns). AdminError 404 if unknown; 409 unless
        `force` while a service's current revision is served by it."""
        ...

    async def modify_state(
        self, service: str, key: str, version: str | None, new_state: dict[str, bytes]
    ) -> None:
        """Replace the state of `service`/`key` by `new_state` once no exclusive invocation
        holds the key, only if `version` (Restate's content hash; None: any) still matches
        then (durable when it returns; applied asynchronously, a version mismatch drops it).
        AdminError 404 for an unknown service (unless `new_state` is empty), 400 for a service
        without keys."""
        ...


@dataclass(frozen=True, slots=True)
class ProcessStatus:
    """One partition process of a node: it runs one Raft group (its partitions)."""

    raft_group: int
    pid: int | None
    alive: bool  # answered the node's last status poll (its own process: always)
    address: str  # its Raft member address


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """One node of the cluster as the answering node sees it."""

    name: str
    address: str  # advertised 'host:port' of its raft/internal port
    pid: int | None  # None when the answering node does not know it
    alive: bool
    ingress: str | None  # ingress base URL
    admin: str | None  # admin API base URL
    processes: tuple[ProcessStatus, ...] = ()  # its partition processes, by group


@dataclass(frozen=True, slots=True)
class ReplicaStatus:
    """One node's replica of a partition: positions are log LSNs, None when unknown."""

    node: str
    mode: Literal["leader", "follower"]  # leader: its processor carries out the actions
    applied: int | None  # last record applied to this replica's store
    committed: int | None  # newest committed record this replica has taken in


@dataclass(frozen=True, slots=True)
class PartitionStatus:
    id: int
    raft_group: int  # the Raft group whose log holds this partition's records
    leader: str | None  # name of the node leading the group, None when there is none or unknown
    term: int  # the group's Raft term as the answering node knows it
    applied: int | None  # the answering node's replica (see ReplicaStatus)
    committed: int | None
    replicas: tuple[ReplicaStatus, ...]


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    cluster_name: str | None
    partition_count: int  # partitions the cluster is configured with
    this_node: str  # name of the node that answered (figures are its view)
    nodes: tuple[NodeStatus, ...]
    partitions: tuple[PartitionStatus, ...]


class ClusterView(Protocol):
    """Who is in the cluster and where each partition stands, for operators (GET /cluster)."""

    def cluster(self) -> ClusterStatus:
        """A snapshot taken now, without I/O; figures of other nodes may be stale or None."""
        ...
