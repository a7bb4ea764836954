"""Serving an App over gRPC: the ``perdure.protocol.v1.Deployment`` service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import grpc

from perdure._stream import InvokeStream
from perdure.discovery import PROTOCOL_VERSION
from perdure.endpoint import App
from perdure_proto import protocol_pb2 as pb
from perdure_proto import protocol_pb2_grpc as pb_grpc

__all__ = [
    "ALWAYS_REPLAY_ENV",
    "DeploymentServicer",
    "always_replay_from_env",
    "serve",
    "serve_async",
    "start_server",
]

log = logging.getLogger("perdure.server")

_MAX_MESSAGE = 64 * 1024 * 1024
_OPTIONS = [
    ("grpc.max_receive_message_length", _MAX_MESSAGE),
    ("grpc.max_send_message_length", _MAX_MESSAGE),
    ("grpc.so_reuseport", 0),
    # The Perdure server keeps its streams open while idle and pings every 20 s to find dead
    # connections (its keepalive settings, node/streams.py). gRPC's default server policy allows
    # one ping per 5 min while it sends no data and answers the third early one with GOAWAY
    # `too_many_pings`, which kills every invocation on the connection. Accept a ping every 10 s
    # (half the node's period, so timer drift never makes one early), with or without calls in
    # flight; pings faster than that still count as strikes, and the third is still refused.
    # Note the key's name: gRPC's GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS is spelt
    # "grpc.http2.min_ping_interval_without_data_ms" (an unknown key is silently ignored).
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_ping_strikes", 2),
]


ALWAYS_REPLAY_ENV = "PERDURE_ALWAYS_REPLAY"


def always_replay_from_env() -> bool:
    """``PERDURE_ALWAYS_REPLAY=1`` (or true/yes/on) turns on always-replay mode."""
    return os.environ.get(ALWAYS_REPLAY_ENV, "").strip().lower() in ("1", "true", "yes", "on")


class DeploymentServicer(pb_grpc.DeploymentServicer):
    """Answers ``Discover`` with the manifest; runs invocations arriving on ``Invoke`` streams.

    ``always_replay``: ``None`` takes ``app.always_replay`` or the ``PERDURE_ALWAYS_REPLAY``
    environment variable.
    """

    def __init__(self, app: App, always_replay: bool | None = None) -> None:
        self._app = app
        if always_replay is None:
            always_replay = app.always_replay or always_replay_from_env()
        self.always_replay = always_replay

    async def Discover(self, request: pb.DiscoverRequest, context: Any) -> pb.Manifest:
        lo, hi = request.min_protocol_version, request.max_protocol_version
        if (lo and lo > PROTOCOL_VERSION) or (hi and hi < PROTOCOL_VERSION):
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"this deployment speaks protocol version {PROTOCOL_VERSION}, "
                f"the server asked for {lo}..{hi}: upgrade the SDK or the server",
            )
        return self._app.manifest()

    async def Invoke(
        self, request_iterator: AsyncIterator[pb.ServerBatch], context: Any
    ) -> AsyncIterator[pb.DeploymentBatch]:
        codec = await self._app.journal_codec()
        stream = InvokeStream(self._app.handler, codec, always_replay=self.always_replay)
        reader = asyncio.get_running_loop().create_task(
            self._read(stream, request_iterator), name="perdure-invoke-reader"
        )
        try:
            async for batch in stream.batches():
                yield batch
        finally:
            reader.cancel()
            stream.close()

    @staticmethod
    async def _read(stream: InvokeStream, requests: AsyncIterator[pb.ServerBatch]) -> None:
        try:
            await stream.pump(requests)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("Invoke stream input failed; aborting its invocations")
            stream.close()


async def start_server(
    app: App, host: str = "127.0.0.1", port: int = 9080, always_replay: bool | None = None
) -> tuple[Any, int]:
    """Start serving ``app`` (``port=0``: any free port); returns the started
    ``grpc.aio.Server`` and the bound port."""
    server = grpc.aio.server(options=_OPTIONS)
    servicer = DeploymentServicer(app, always_replay)
    pb_grpc.add_DeploymentServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind the deployment gRPC server to {host}:{port}")
    await server.start()
    log.info("Perdure deployment serving %d services on %s:%d", len(app.services), host, bound)
    return server, bound


async def serve_async(app: App, host: str = "127.0.0.1", port: int = 9080) -> None:
    """Serve ``app`` over gRPC until cancelled."""
    server, _ = await start_server(app, host, port)
    try:
        await server.wait_for_termination()
    finally:
        await asyncio.shield(server.stop(grace=1.0))


def serve(app: App, host: str = "127.0.0.1", port: int = 9080) -> None:
    """Serve ``app`` over gRPC, blocking until interrupted (uses uvloop when installed)."""
    loop_factory = None
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=loop_factory) as r:
        r.run(serve_async(app, host, port))
