"""The admin API (port 9070) on top of an `AdminBackend`, in Restate's JSON shapes.

    admin = AdminApi(backend, ingress_endpoint="http://localhost:8080")
    server = HttpServer(admin, HttpServerOptions(port=9070, name="admin"))
    port = await server.start()

Routes (optionally prefixed by /v2../v4, unprefixed = latest; /v1 is refused with 400 as
Restate does): POST /query (SQL over the system tables, node/query), POST/GET /deployments,
GET /deployments/{id}, GET /services, GET /services/{name}, GET /services/{name}/handlers[/{h}],
DELETE /deployments/{id}[?force=true], POST /services/{name}/state, PATCH /services/{name},
POST /invocations/bulk/{cancel|kill|purge|pause|resume} (node/admin_operations.py),
PATCH /invocations/{id}/cancel|kill|pause|resume|purge|purge-journal|restart-as-new
(`?deployment=latest|keep|dp_...` on resume), the deprecated DELETE /invocations/{id}
?mode=cancel|kill|purge (202 on success), GET /health, GET /version, GET /cluster.
Errors are `{"message": ..., "restate_code": null}` like Restate's.

GET /cluster is Perdure's own (Restate shows its cluster over gRPC with `restatectl`); the
answering node's view, the shape `perdure cluster status` reads:

    {
      "cluster_name": "prod" | null,        # null until clusters are named
      "partition_count": 24,
      "this_node": "perdure-1",             # the node that answered: figures are its view
      "nodes": [
        {"name": "perdure-1", "address": "127.0.0.1:5123",   # advertised raft/internal address
         "pid": 4242 | null, "alive": true,
         "ingress": "http://127.0.0.1:8080" | null, "admin": "http://127.0.0.1:9070" | null,
         "processes": [                     # its partition processes, one per Raft group
           {"raft_group": 0, "pid": 4242 | null, "alive": true, "address": "127.0.0.1:5123"}]}
      ],
      "partitions": [
        {"id": 0, "raft_group": 0,          # the Raft group whose log holds the partition
         "leader": "perdure-1" | null,      # node leading that group (null: none known)
         "term": 3,                         # the group's Raft term
         "applied": 5242886 | null,         # log positions (LSNs) on the answering node's
         "committed": 5242886 | null,       #   replica: applied to its store / committed
         "replicas": [
           {"node": "perdure-1", "mode": "leader" | "follower",
            "applied": 5242886 | null, "committed": 5242886 | null}
         ]}
      ]
    }

Lists are ordered (nodes by name, partitions by id). Clients must ignore fields they do not
know: several nodes, many partitions over several Raft groups and more figures per replica only
add rows and fields; a figure the answering node does not know is null, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import Any, Protocol, get_args
from urllib.parse import unquote, urlsplit

import orjson

from ingress.api import (
    AdminBackend,
    AdminError,
    ClusterStatus,
    ClusterView,
    DeploymentInfo,
    InvocationCommand,
    ServiceInfo,
)
from ingress.durations import friendly_ms, rfc3339_ms
from ingress.http_types import JSON_CONTENT_TYPE, Request, Response
from ingress.responses import RETRY_SOON
from node import admin_operations, openapi, ui
from node.invoker import Options as InvokerOptions
from node.query.errors import QueryError
from node.retry import RetryPolicy
from perdure_proto import protocol_pb2 as pb

Json = dict[str, Any]

# Server-side defaults reported when a service does not set its own: what the invoker applies.
DEFAULT_IDEMPOTENCY_RETENTION_MS = 86_400_000
DEFAULT_WORKFLOW_RETENTION_MS = 86_400_000
DEFAULT_INACTIVITY_TIMEOUT_MS = InvokerOptions().inactivity_timeout_ms
DEFAULT_ABORT_TIMEOUT_MS = InvokerOptions().abort_timeout_ms
DEFAULT_RETRY = RetryPolicy()
MIN_ADMIN_API_VERSION = 2
MAX_ADMIN_API_VERSION = 4
# The Restate release whose admin API (v4) and /query this one answers like. `GET /version`
# reports it, with Perdure's own version as build metadata: the restate CLI picks its SQL by
# the server version (1.5 and later: the queries node/query is tested with).
RESTATE_COMPATIBLE_VERSION = "1.7.6"
ARROW_STREAM = "application/vnd.apache.arrow.stream"

_SERVICE_TY = {pb.SERVICE: "Service", pb.VIRTUAL_OBJECT: "VirtualObject", pb.WORKFLOW: "Workflow"}
_HANDLER_TY = {pb.EXCLUSIVE: "Exclusive", pb.SHARED: "Shared", pb.WORKFLOW_RUN: "Workflow"}
_VERSION_PREFIXES = tuple(
    f"/v{v}/" for v in range(MIN_ADMIN_API_VERSION, MAX_ADMIN_API_VERSION + 1)
)
_UNSUPPORTED_VERSION = re.compile(r"^/v(\d+)(/|$)")
_COMMANDS: dict[str, InvocationCommand] = {c: c for c in get_args(InvocationCommand)}
# The deprecated DELETE's `mode` (Restate's serde accepts both spellings); default cancel.
_DELETE_MODES: dict[str, InvocationCommand] = {
    "cancel": "cancel",
    "Cancel": "cancel",
    "kill": "kill",
    "Kill": "kill",
    "purge": "purge",
    "Purge": "purge",
}


def admin_error(status: int, message: str) -> Response:
    """Restate's admin error body; also the `error_response` of the admin HTTP server. A 503
    (no leader, a full disk) says when to retry, as the ingress's do."""
    headers = (JSON_CONTENT_TYPE, RETRY_SOON) if status == 503 else (JSON_CONTENT_TYPE,)
    return Response(status, orjson.dumps({"message": message, "restate_code": None}), headers)


def _json(status: int, payload: object, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, orjson.dumps(payload), (JSON_CONTENT_TYPE, *headers))


class Queries(Protocol):
    """SQL over the system tables (node.query.service.QueryService)."""

    async def run(self, sql: str, *, json: bool) -> bytes:
        """JSON rows or an Arrow IPC stream; raises QueryError to refuse."""
        ...


def _server_version() -> str:
    try:
        return metadata.version("perdure-server")
    except metadata.PackageNotFoundError:
        return "0.0.0"


class ClusterControl(Protocol):
    """Membership changes (node.membership_changes.ClusterChanges); each raises AdminError."""

    async def add_node(self, name: str, host: str) -> Json: ...

    async def remove_node(self, name: str) -> Json: ...

    async def move_partition_leadership(self, partition: int, name: str) -> Json: ...


class AdminApi:
    """The admin API request handler (an `ingress.http.Handler`)."""

    error_response = staticmethod(admin_error)  # picked up by HttpServer for its own errors

    def __init__(
        self,
        backend: AdminBackend,
        *,
        ingress_endpoint: str | None = None,
        version: str | None = None,
        cluster: ClusterView | None = None,
        queries: Queries | None = None,
        changes: ClusterControl | None = None,
        operations: admin_operations.Operations | None = None,
    ) -> None:
        self._backend = backend
        self._operations = operations
        self._cluster = cluster
        self._queries = queries
        self._changes = changes
        self._ingress_endpoint = ingress_endpoint
        self._version = version or _server_version()

    async def __call__(self, request: Request) -> Response:
        path = request.path
        if path.startswith(_VERSION_PREFIXES):
            path = path[3:]
        else:
            unsupported = _UNSUPPORTED_VERSION.match(path)
            if unsupported is not None:
                return admin_error(
                    400,
                    f"Unsupported Admin API version V{unsupported.group(1)}. This server "
                    f"supports versions between V{MIN_ADMIN_API_VERSION} and "
                    f"V{MAX_ADMIN_API_VERSION}.",
                )
        parts = [unquote(p) for p in path.strip("/").split("/")]
        method = "GET" if request.method == "HEAD" else request.method
        try:
            return await self._route(method, parts, request)
        except AdminError as exc:
            return admin_error(exc.code, exc.message)

    async def _route(self, method: str, parts: list[str], request: Request) -> Response:
        head, n = parts[0], len(parts)
        if n == 1 and head == "health":
            return _only(method, "GET") or Response(200)
        if n == 1 and head == "version":
            return _only(method, "GET") or _json(200, self._version_info())
        if n == 1 and head == "cluster":
            return _only(method, "GET") or self._cluster_status()
        if head == "cluster" and n in (2, 3, 4):
            return await self._cluster_change(method, parts, request)
        if head == "ui":
            page = None if method != "GET" else ui.serve(parts[1:])
            return page or _only(method, "GET") or admin_error(404, "no such page of the UI")
        if n == 1 and head == "query":
            return _only(method, "POST") or await self._query(request)
        if head == "deployments":
            if n == 1:
                if method == "POST":
                    return await self._register(request.body)
                return _only(method, "GET", "POST") or _json(
                    200, {"deployments": [self._deployment(d) for d in self._deployments()]}
                )
            if n == 2:
                if method == "DELETE":
                    return await self._remove_deployment(parts[1], request)
                if method in ("PATCH", "PUT"):
                    return admin_error(501, f"{method} /deployments/{{id}} is not implemented yet")
                return _only(method, "GET") or await self._get_deployment(parts[1])
        if head == "invocations" and n == 3 and parts[1] == "bulk":
            return _only(method, "POST") or await self._bulk(parts[2], request.body)
        if head == "invocations" and n in (2, 3):
            return await self._invocation(method, parts, request)
        if head == "services" and n <= 4:
            if n == 1:
                return _only(method, "GET") or _json(
                    200, {"services": [self._service(s) for s in self._backend.services()]}
                )
            if n == 2 and method == "PATCH":
                return await self._patch_service(parts[1], request.body)
            if n == 3 and parts[2] == "state":
                return _only(method, "POST") or await self._modify_state(parts[1], request.body)
            refused = _only(method, "GET")
            if refused is not None:
                return refused
            service = self._backend.service(parts[1])
            if service is None:
                return admin_error(404, f"The requested service '{parts[1]}' does not exist")
            if n == 2:
                return _json(200, self._service(service))
            if n == 3 and parts[2] == "openapi":
                return _json(200, openapi.document(service.spec, service.public))
            if parts[2] == "handlers":
                handlers = _handlers_json(service)
                if n == 3:
                    return _json(200, {"handlers": handlers})
                for handler in handlers:
                    if handler["name"] == parts[3]:
                        return _json(200, handler)
                return admin_error(
                    404,
                    f"The requested handler '{parts[3]}' on service '{parts[1]}' does not exist",
                )
        return admin_error(404, "not found")

    # ------------------------------------------------------------------ deployments

    async def _register(self, body: bytes) -> Response:
        request = _parse_register(body)
        if isinstance(request, Response):
            return request
        uri, headers, force, dry_run = request
        result = await self._backend.register_deployment(uri, headers, force, dry_run)
        deployment = result.deployment
        manifest = deployment.manifest
        payload: Json = {
            "id": deployment.id,
            "services": [
                self._service(self._service_of(spec, deployment.id, dry_run=dry_run))
                for spec in manifest.services
            ],
            "min_protocol_version": manifest.min_protocol_version,
            "max_protocol_version": manifest.max_protocol_version,
        }
        if manifest.sdk_version:
            payload["sdk_version"] = manifest.sdk_version
        status = 201 if result.created else 200
        return _json(status, payload, (("location", f"deployments/{deployment.id}"),))

    async def _remove_deployment(self, deployment_id: str, request: Request) -> Response:
        """DELETE /deployments/{id}[?force=true]: 202 once every group has it (Restate's
        status). Without force, refused with 409 while invocations not completed are pinned to
        it (the backend refuses while a service's latest revision is served by it)."""
        force = request.query.get("force", "false")
        if force not in ("true", "false"):
            return _invalid_query("force", f"'{force}' is neither true nor false")
        if force == "false" and self._queries is not None:
            pinned = await self._pinned_invocations(deployment_id)
            if pinned:
                return admin_error(
                    409,
                    f"deployment {deployment_id} still has {pinned} invocations pinned to it "
                    "that have not completed: let them finish, kill them, or remove it with "
                    "force=true (they then fail until resumed on another deployment)",
                )
        await self._backend.remove_deployment(deployment_id, force == "true")
        return Response(202)

    async def _pinned_invocations(self, deployment_id: str) -> int:
        if self._queries is None or not _ascii_alnum(deployment_id.replace("_", "")):
            return 0
        try:
            body = await self._queries.run(
                "SELECT COUNT(1) AS n FROM sys_invocation_status WHERE pinned_deployment_id = "
                f"'{deployment_id}' AND status != 'completed'",
                json=True,
            )
        except QueryError as exc:
            message = f"could not count the invocations pinned to it: {exc.message}"
            raise AdminError(503, message) from None
        rows = orjson.loads(body)["rows"]
        return int(rows[0]["n"]) if rows else 0

    async def _modify_state(self, service: str, body: bytes) -> Response:
        """POST /services/{name}/state (Restate's ModifyServiceStateRequest): 202 once journaled."""
        doc = _json_object(body)
        if isinstance(doc, Response):
            return doc
        key, version, raw = doc.get("object_key"), doc.get("version"), doc.get("new_state")
        if doc.get("scope") is not None:
            return _invalid_field("scope", "scoped state is not supported by Perdure")
        if not isinstance(key, str):
            return _invalid_field("object_key", "the key of the object is required")
        if version is not None and not isinstance(version, str):
            return _invalid_field("version", "must be a string (or null to skip the check)")
        new_state = _state_values(raw)
        if new_state is None:
            return _invalid_field(
                "new_state", "must be an object of state keys to arrays of byte values"
            )
        await self._backend.modify_state(service, key, version, new_state)
        return Response(202)

    def _deployments(self) -> list[DeploymentInfo]:
        return sorted(self._backend.deployments(), key=lambda d: d.created_at_ms)

    async def _get_deployment(self, deployment_id: str) -> Response:
        deployment = self._backend.deployment(deployment_id)
        if deployment is None:
            return admin_error(404, f"The requested deployment '{deployment_id}' does not exist")
        payload = self._deployment(deployment, detailed=True)
        if self._queries is not None:
            # Drain status: may it go? Not while invocations are pinned to it (or a service's
            # latest revision is served by it).
            try:
                pinned = await self._pinned_invocations(deployment_id)
            except AdminError:
                pinned = None
            latest = any(s["deployment_id"] == deployment_id for s in payload["services"])
            payload["pinned_invocations"] = pinned
            payload["drained"] = pinned == 0 and not latest
        return _json(200, payload)

    def _deployment(self, deployment: DeploymentInfo, *, detailed: bool = False) -> Json:
        manifest = deployment.manifest
        services: list[Json] = []
        for spec in manifest.services:
            info = self._service_of(spec, deployment.id)
            if detailed:
                services.append(self._service(info))
            else:
                services.append({"name": spec.name, "revision": info.revision})
        payload: Json = {
            "id": deployment.id,
            "uri": deployment.uri,
            "protocol_type": "BidiStream",
            "http_version": "HTTP/2.0",
        }
        if deployment.additional_headers:
            payload["additional_headers"] = dict(deployment.additional_headers)
        payload["created_at"] = rfc3339_ms(deployment.created_at_ms)
        payload["min_protocol_version"] = manifest.min_protocol_version
        payload["max_protocol_version"] = manifest.max_protocol_version
        if manifest.sdk_version:
            payload["sdk_version"] = manifest.sdk_version
        payload["services"] = services
        return payload

    def _service_of(
        self, spec: pb.ServiceSpec, deployment_id: str, *, dry_run: bool = False
    ) -> ServiceInfo:
        """The registered revision when `deployment_id` serves it. Otherwise the spec as the
        deployment declared it: for a dry run with the revision it would get, for a superseded
        deployment with revision 0 (the backend does not keep old revisions' numbers)."""
        current = self._backend.service(spec.name)
        if current is not None and current.deployment_id == deployment_id:
            return current
        revision = ((current.revision if current else 0) + 1) if dry_run else 0
        return ServiceInfo(spec, revision, deployment_id, not spec.options.ingress_private)

    # ------------------------------------------------------------------ invocations

    async def _invocation(self, method: str, parts: list[str], request: Request) -> Response:
        """PATCH /invocations/{id}/{command}, DELETE /invocations/{id}?mode=..."""
        invocation_id = parts[1]
        if len(parts) == 2:
            refused = _only(method, "DELETE")
            if refused is not None:
                return refused
            mode = request.query.get("mode", "cancel")
            command = _DELETE_MODES.get(mode)
            if command is None:
                return _invalid_query("mode", f"unknown mode '{mode}', use cancel, kill or purge")
            refused = _check_invocation_id(invocation_id)
            if refused is not None:
                return refused
            await self._backend.invocation_command(invocation_id, command, None)
            return Response(202)
        command = _COMMANDS.get(parts[2])
        if command is None:
            return admin_error(404, "not found")
        refused = _only(method, "PATCH")
        if refused is not None:
            return refused
        deployment: str | None = None
        if command == "resume":
            deployment, refused = _patch_deployment(request.query.get("deployment"))
        elif command == "restart-as-new":
            refused = _restart_params(request.query)
        refused = refused or _check_invocation_id(invocation_id)
        if refused is not None:
            return refused
        result = await self._backend.invocation_command(invocation_id, command, deployment)
        if result.body is None:
            return Response(result.status)
        return _json(result.status, result.body)

    async def _bulk(self, command: str, body: bytes) -> Response:
        """POST /invocations/bulk/{command} (node/admin_operations.py)."""
        if self._operations is None:
            return admin_error(501, "this admin API was started without bulk commands")
        return await admin_operations.bulk(self._operations, command, body)

    # ------------------------------------------------------------------ services

    async def _patch_service(self, name: str, body: bytes) -> Response:
        """PATCH /services/{name} (Restate's ModifyServiceRequest; node/admin_operations.py)."""
        if self._operations is None:
            return admin_error(501, "this admin API was started without service changes")

        def describe() -> Response:
            service = self._backend.service(name)
            if service is None:
                return admin_error(404, f"The requested service '{name}' does not exist")
            return _json(200, self._service(service))

        return await admin_operations.patch_service(self._operations, name, body, describe)

    def _service(self, info: ServiceInfo) -> Json:
        spec = info.spec
        options = spec.options
        payload: Json = {"name": spec.name, "ty": _SERVICE_TY.get(spec.ty, "Service")}
        payload["handlers"] = _handlers_json(info)
        if spec.documentation:
            payload["documentation"] = spec.documentation
        if spec.metadata:
            payload["metadata"] = dict(spec.metadata)
        payload.update(
            deployment_id=info.deployment_id,
            revision=info.revision,
            public=info.public,
            idempotency_retention=friendly_ms(
                _opt(options, "idempotency_retention_ms") or DEFAULT_IDEMPOTENCY_RETENTION_MS
            ),
        )
        if spec.ty == pb.WORKFLOW:
            payload["workflow_completion_retention"] = friendly_ms(
                _opt(options, "workflow_retention_ms") or DEFAULT_WORKFLOW_RETENTION_MS
            )
        journal = _opt(options, "journal_retention_ms")
        if journal is not None:
            payload["journal_retention"] = friendly_ms(journal)
        payload["inactivity_timeout"] = friendly_ms(
            _opt(options, "inactivity_timeout_ms") or DEFAULT_INACTIVITY_TIMEOUT_MS
        )
        payload["abort_timeout"] = friendly_ms(
            _opt(options, "abort_timeout_ms") or DEFAULT_ABORT_TIMEOUT_MS
        )
        payload["enable_lazy_state"] = bool(_opt(options, "enable_lazy_state"))
        payload["retry_policy"] = _retry_policy(options, with_defaults=True)
        return payload

    # ------------------------------------------------------------------ query

    async def _query(self, request: Request) -> Response:
        """POST /query {"query": "SQL"}: JSON rows when `Accept` is exactly application/json,
        otherwise an Arrow IPC stream (Restate's rules, node/query/encode.py)."""
        if self._queries is None:
            return admin_error(503, "Query service not available")
        try:
            doc = orjson.loads(request.body)
        except orjson.JSONDecodeError as exc:
            return admin_error(400, f"the request body is not valid JSON: {exc}")
        sql = doc.get("query") if isinstance(doc, dict) else None
        if not isinstance(sql, str) or not sql.strip():
            return admin_error(400, 'the request body must be {"query": "<SQL>"}')
        as_json = request.headers.get("accept") == "application/json"
        try:
            body = await self._queries.run(sql, json=as_json)
        except QueryError as exc:
            refused = admin_error(exc.status, exc.message)
            if exc.status == 429:
                return Response(429, refused.body, (*refused.headers, ("retry-after", "1")))
            return refused
        content_type = "application/json" if as_json else ARROW_STREAM
        return Response(200, body, (("content-type", content_type),))

    # ------------------------------------------------------------------ cluster

    def _cluster_status(self) -> Response:
        if self._cluster is None:
            return admin_error(501, "this admin API was started without a cluster view")
        return _json(200, cluster_json(self._cluster.cluster()))

    async def _cluster_change(self, method: str, parts: list[str], request: Request) -> Response:
        """POST /cluster/nodes {"name","address"}, DELETE /cluster/nodes/{name},
        POST /cluster/partitions/{id}/leader {"node"} (node/membership_changes.py)."""
        n, changes = len(parts), self._changes
        removing = parts[1] == "nodes" and n == 3
        adding = parts[1] == "nodes" and n == 2
        leading = parts[1] == "partitions" and n == 4 and parts[3] == "leader"
        if not (removing or adding or leading):
            return admin_error(404, f"no such route: /{'/'.join(parts)}")
        if refused := _only(method, "DELETE" if removing else "POST"):
            return refused
        if changes is None:
            return admin_error(
                409, "this node is not part of a cluster (set cluster and node_name)"
            )
        if removing:
            return _json(200, await changes.remove_node(parts[2]))
        body = _json_object(request.body)
        if isinstance(body, Response):
            return body
        if adding:
            name, address = body.get("name"), body.get("address")
            if not isinstance(name, str) or not isinstance(address, str):
                return admin_error(400, 'the body must be {"name": "<node>", "address": "<host>"}')
            return _json(200, await changes.add_node(name, address))
        node = body.get("node")
        if not parts[2].isdigit() or not isinstance(node, str):
            return admin_error(400, 'expected /cluster/partitions/<id>/leader {"node": "<node>"}')
        return _json(200, await changes.move_partition_leadership(int(parts[2]), node))

    def _version_info(self) -> Json:
        build = re.sub(r"[^0-9A-Za-z.-]", "-", self._version).strip(".") or "0"
        payload: Json = {
            "version": f"{RESTATE_COMPATIBLE_VERSION}+perdure.{build}",
            "min_admin_api_version": MIN_ADMIN_API_VERSION,
            "max_admin_api_version": MAX_ADMIN_API_VERSION,
        }
        if self._ingress_endpoint:
            payload["ingress_endpoint"] = self._ingress_endpoint
        payload["features"] = {}
        return payload


def cluster_json(status: ClusterStatus) -> Json:
    """GET /cluster's body (the shape in the module docstring)."""
    return {
        "cluster_name": status.cluster_name,
        "partition_count": status.partition_count,
        "this_node": status.this_node,
        "nodes": [
            {
                "name": n.name,
                "address": n.address,
                "pid": n.pid,
                "alive": n.alive,
                "ingress": n.ingress,
                "admin": n.admin,
                "processes": [
                    {
                        "raft_group": proc.raft_group,
                        "pid": proc.pid,
                        "alive": proc.alive,
                        "address": proc.address,
                    }
                    for proc in n.processes
                ],
            }
            for n in sorted(status.nodes, key=lambda n: n.name)
        ],
        "partitions": [
            {
                "id": p.id,
                "raft_group": p.raft_group,
                "leader": p.leader,
                "term": p.term,
                "applied": p.applied,
                "committed": p.committed,
                "replicas": [
                    {"node": r.node, "mode": r.mode, "applied": r.applied, "committed": r.committed}
                    for r in p.replicas
                ],
            }
            for p in sorted(status.partitions, key=lambda p: p.id)
        ],
    }


def _only(method: str, *allowed: str) -> Response | None:
    """None when `method` is allowed, else the 405 answer."""
    if method in allowed:
        return None
    response = admin_error(405, f"method {method} not allowed; use {' or '.join(allowed)}")
    return Response(
        response.status, response.body, (*response.headers, ("allow", ", ".join(allowed)))
    )


def _json_object(body: bytes) -> Json | Response:
    """`body` as a JSON object, or the 400 answer."""
    try:
        doc = orjson.loads(body or b"null")
    except orjson.JSONDecodeError as exc:
        return admin_error(400, f"the request body is not valid JSON: {exc}")
    if not isinstance(doc, dict):
        return admin_error(400, "the request body must be a JSON object")
    return doc


def _invalid_query(name: str, reason: str) -> Response:
    return admin_error(400, f"The query parameter '{name}' is invalid. Reason: {reason}")


def _invalid_field(name: str, reason: str) -> Response:
    return admin_error(400, f"The request field '{name}' is invalid. Reason: {reason}")


def _state_values(raw: object) -> dict[str, bytes] | None:
    """new_state {key: [u8, ...]} (serde's Bytes) as bytes per key; None when malformed."""
    if not isinstance(raw, dict):
        return None
    out: dict[str, bytes] = {}
    for name, value in raw.items():
        if not isinstance(value, list) or not all(
            isinstance(b, int) and 0 <= b <= 255 for b in value
        ):
            return None
        out[name] = bytes(value)
    return out


def _check_invocation_id(invocation_id: str) -> Response | None:
    """A cheap shape check (the backend decodes the id); None when it looks like one."""
    if invocation_id.startswith("inv_") and _ascii_alnum(invocation_id[4:]):
        return None
    return admin_error(
        400,
        f"The request field 'invocation_id' is invalid. Reason: '{invocation_id}' is not an "
        "invocation id (expected inv_1...)",
    )


def _ascii_alnum(text: str) -> bool:
    return text.isascii() and text.isalnum()


def _patch_deployment(value: str | None) -> tuple[str | None, Response | None]:
    """resume's `deployment`: absent (keep the pinned one), latest, keep, or a deployment id."""
    if value is None:
        return None, None
    if value in ("latest", "Latest", "keep", "Keep"):
        return value.lower(), None
    if value.startswith("dp_") and _ascii_alnum(value[3:]):
        return value, None
    return None, _invalid_query(
        "deployment", f"'{value}' is neither 'latest', 'keep' nor a deployment id (dp_...)"
    )


def _restart_params(query: Mapping[str, str]) -> Response | None:
    """restart-as-new's `from`: only 0 (restart from the input) is supported; `deployment`
    only applies together with `from` > 0 in Restate, so it is ignored here."""
    start = query.get("from")
    if start is None:
        return None
    if not (start.isascii() and start.isdigit()):
        return _invalid_query("from", f"'{start}' is not a journal index")
    if int(start) != 0:
        return _invalid_query(
            "from", "restarting from a journal prefix (from > 0) is not supported by Perdure"
        )
    return None


def _parse_register(body: bytes) -> tuple[str, dict[str, str], bool, bool] | Response:
    def invalid(field: str, reason: str) -> Response:
        return admin_error(400, f"The request field '{field}' is invalid. Reason: {reason}")

    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return admin_error(400, f"the request body is not valid JSON: {exc}")
    if not isinstance(doc, dict):
        return admin_error(400, "the request body must be a JSON object with a 'uri' field")
    if "arn" in doc and "uri" not in doc:
        return invalid("arn", "Lambda deployments are not supported by Perdure; give a 'uri'")
    uri = doc.get("uri")
    if not isinstance(uri, str) or not uri:
        return invalid("uri", "a deployment uri such as http://localhost:9080 is required")
    parsed = urlsplit(uri)
    if not parsed.scheme or not parsed.netloc:
        return invalid(
            "uri", f"The provided uri {uri} is not absolute, only absolute URIs can be used."
        )
    headers = doc.get("additional_headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        return invalid("additional_headers", "must be an object of string header values")
    flags: dict[str, bool] = {}
    for name in ("force", "dry_run", "use_http_11", "breaking"):
        flag = doc.get(name, False)
        if flag is None:
            flag = False
        if not isinstance(flag, bool):
            return invalid(name, "must be true or false")
        flags[name] = flag
    # One flag on our side: `breaking` (accept incompatible changes) and `force` both allow them.
    return uri, headers, flags["force"] or flags["breaking"], flags["dry_run"]


def _opt(message: Any, name: str) -> Any:
    """An optional proto field's value, None when unset."""
    return getattr(message, name) if message.HasField(name) else None


def _retry_policy(options: pb.Options, *, with_defaults: bool) -> Json:
    has_policy = options.HasField("retry_policy")
    policy = options.retry_policy
    get: Callable[[str], Any] = (lambda n: _opt(policy, n)) if has_policy else (lambda n: None)
    out: Json = {}
    initial, factor = get("initial_interval_ms"), get("exponentiation_factor")
    max_interval, max_attempts = get("max_interval_ms"), get("max_attempts")
    on_max = {pb.PAUSE: "Pause", pb.KILL: "Kill"}.get(policy.on_max_attempts)
    if with_defaults:
        default = DEFAULT_RETRY
        out["initial_interval"] = friendly_ms(
            initial if initial is not None else default.initial_interval_ms
        )
        out["exponentiation_factor"] = factor if factor is not None else default.factor
        out["max_attempts"] = max_attempts if max_attempts is not None else default.max_attempts
        out["max_interval"] = friendly_ms(
            max_interval if max_interval is not None else default.max_interval_ms
        )
        out["on_max_attempts"] = on_max or default.on_max_attempts.capitalize()
        return out
    if initial is not None:
        out["initial_interval"] = friendly_ms(initial)
    if factor is not None:
        out["exponentiation_factor"] = factor
    if max_attempts is not None:
        out["max_attempts"] = max_attempts
    if max_interval is not None:
        out["max_interval"] = friendly_ms(max_interval)
    if on_max:
        out["on_max_attempts"] = on_max
    return out


def _handlers_json(info: ServiceInfo) -> list[Json]:
    return [_handler_json(h, info.public) for h in info.spec.handlers]


def _handler_json(spec: pb.HandlerSpec, service_public: bool) -> Json:
    options = spec.options
    payload: Json = {"name": spec.name}
    ty = _HANDLER_TY.get(spec.ty)
    if ty is not None:
        payload["ty"] = ty
    if spec.documentation:
        payload["documentation"] = spec.documentation
    if spec.metadata:
        payload["metadata"] = dict(spec.metadata)
    for field, name in (
        ("idempotency_retention_ms", "idempotency_retention"),
        ("journal_retention_ms", "journal_retention"),
        ("inactivity_timeout_ms", "inactivity_timeout"),
        ("abort_timeout_ms", "abort_timeout"),
    ):
        value = _opt(options, field)
        if value is not None:
            payload[name] = friendly_ms(value)
    lazy = _opt(options, "enable_lazy_state")
    if lazy is not None:
        payload["enable_lazy_state"] = lazy
    payload["public"] = service_public and not _opt(options, "ingress_private")
    payload["input_description"] = _input_description(spec.input)
    payload["output_description"] = _output_description(spec.output)
    for schema_text, name in (
        (spec.input.json_schema, "input_json_schema"),
        (spec.output.json_schema, "output_json_schema"),
    ):
        schema = _schema(schema_text)
        if schema is not None:
            payload[name] = schema
    payload["retry_policy"] = _retry_policy(options, with_defaults=False)
    return payload


def _input_description(spec: pb.InputSpec) -> str:
    if not spec.present:
        return "none"
    value = f"value with content-type '{spec.content_type or '*/*'}'"
    return value if spec.required else f'one of ["none", "{value}"]'


def _output_description(spec: pb.OutputSpec) -> str:
    if not spec.present:
        return "none"
    return f"value with content-type '{spec.content_type or 'application/octet-stream'}'"


def _schema(text: str) -> Any:
    if not text:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None  # a deployment sent an unreadable schema; leave it out rather than fail
