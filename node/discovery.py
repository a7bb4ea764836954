"""Discovery of a deployment's services over gRPC, and the check for breaking changes."""

from __future__ import annotations

import grpc

from ingress.api import AdminError
from node.streams import CHANNEL_OPTIONS, grpc_target
from partition.schema import Schema
from perdure_proto import protocol_pb2 as pb
from perdure_proto import protocol_pb2_grpc as pbg

PROTOCOL_VERSION = 1
DISCOVERY_TIMEOUT_S = 10.0


async def discover(uri: str, headers: dict[str, str]) -> pb.Manifest:
    """Ask the deployment at `uri` for its manifest; AdminError(400) says why it failed."""
    target = grpc_target(uri)
    if not target or "/" in target:
        raise AdminError(400, f"invalid deployment uri {uri!r}: expected http://host:port")
    async with grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS) as channel:
        stub = pbg.DeploymentStub(channel)  # type: ignore[no-untyped-call]
        try:
            manifest: pb.Manifest = await stub.Discover(
                pb.DiscoverRequest(
                    min_protocol_version=PROTOCOL_VERSION, max_protocol_version=PROTOCOL_VERSION
                ),
                timeout=DISCOVERY_TIMEOUT_S,
                metadata=tuple((k.lower(), v) for k, v in headers.items()),
            )
        except grpc.aio.AioRpcError as exc:
            raise AdminError(
                400,
                f"cannot discover the deployment at {uri}: {exc.code().name}: {exc.details()}. "
                "Check that the deployment is running and that the server can reach it.",
            ) from exc
    if not manifest.services:
        raise AdminError(400, f"the deployment at {uri} exposes no services")
    if not manifest.min_protocol_version <= PROTOCOL_VERSION <= manifest.max_protocol_version:
        raise AdminError(
            400,
            f"the deployment at {uri} speaks protocol versions "
            f"{manifest.min_protocol_version}..{manifest.max_protocol_version}, "
            f"this server speaks {PROTOCOL_VERSION}",
        )
    return manifest


def breaking_changes(schema: Schema, manifest: pb.Manifest) -> list[str]:
    """Incompatible changes `manifest` makes to services that are registered already."""
    problems = []
    for spec in manifest.services:
        old = schema.services.get(spec.name)
        if old is None:
            continue
        if old.spec.ty != spec.ty:
            problems.append(
                f"service {spec.name} changes type from {pb.ServiceType.Name(old.spec.ty)} "
                f"to {pb.ServiceType.Name(spec.ty)}"
            )
        new_handlers = {h.name: h for h in spec.handlers}
        for h in old.spec.handlers:
            if h.name not in new_handlers:
                problems.append(f"handler {spec.name}/{h.name} is removed")
            elif new_handlers[h.name].ty != h.ty:
                problems.append(f"handler {spec.name}/{h.name} changes kind")
    return problems
