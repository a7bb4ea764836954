"""One Perdure node: log, partition store, processor, invoker, ingress and admin API.

Start-up order matters: the log replays what is durable, the processor applies it (skipping
what the store already holds), then this node announces its leadership through the log and,
once that record is applied, resumes the invocations that were running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ingress.handlers import IngressHandler
from ingress.http import HttpServer, HttpServerOptions
from ingress.http_types import Handler, Request, Response
from log.raft import RaftLog, RaftOptions
from node import invoker as invoker_mod
from node import metrics
from node.admin_api import AdminApi, admin_error
from node.backend import Backend
from node.cleaner import Cleaner
from node.config import NodeOptions
from node.invoker import Invoker
from node.processor import PartitionProcessor
from node.proposer import Proposer
from node.retry import RetryPolicy
from node.timers import TimerService
from partition.state_machine import StateMachine
from partition.store import Store
from perdure_proto import records_pb2 as rec

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Endpoints:
    ingress_url: str
    admin_url: str


def with_metrics(handler: Handler) -> Handler:
    """Serve Prometheus text at /metrics next to `handler`'s routes."""

    async def serve(request: Request) -> Response:
        if request.path == "/metrics":
            return Response(200, generate_latest(), (("content-type", CONTENT_TYPE_LATEST),))
        return await handler(request)

    return serve


def with_request_metrics(handler: Handler) -> Handler:
    """Count ingress responses by status and time them (labels pre-bound per status)."""
    by_status: dict[int, Any] = {}
    observe = metrics.INGRESS_DURATION.observe

    async def serve(request: Request) -> Response:
        t0 = time.perf_counter()
        response = await handler(request)
        observe(time.perf_counter() - t0)
        counter = by_status.get(response.status)
        if counter is None:
            counter = by_status[response.status] = metrics.INGRESS_REQUESTS.labels(
                str(response.status)
            )
        counter.inc()
        return response

    if hasattr(handler, "error_response"):
        serve.error_response = handler.error_response  # type: ignore[attr-defined]
    return serve


class Node:
    def __init__(self, options: NodeOptions) -> None:
        self.options = options
        self._tasks: set[asyncio.Task[None]] = set()
        self._started_at = time.perf_counter()
        self.endpoints: Endpoints | None = None

    async def start(self) -> Endpoints:
        opts = self.options
        data = opts.data_path
        data.mkdir(parents=True, exist_ok=True)
        self.store = Store(data / "store")
        self.log = RaftLog(
            RaftOptions(
                self_address=f"127.0.0.1:{opts.raft_port}",
                data_dir=data / "log",
                fsync=opts.fsync,
            )
        )
        await self.log.start()
        if not await self.log.wait_leader(10.0):
            raise RuntimeError("this node did not become the leader of its log within 10 s")
        self.state_machine = StateMachine(self.store)
        self.proposer = Proposer(self.log)
        self.invoker = Invoker(
            self.store,
            self.proposer,
            self.state_machine.schema,
            invoker_mod.Options(
                streams_per_deployment=opts.streams_per_deployment,
                default_retry=RetryPolicy(
                    initial_interval_ms=opts.default_retry_initial_interval_ms,
                    max_interval_ms=opts.default_retry_max_interval_ms,
                    max_attempts=max(1, opts.default_retry_max_attempts),
                    on_max_attempts="kill"
                    if opts.default_retry_on_max_attempts == "kill"
                    else "pause",
                ),
                inactivity_timeout_ms=opts.inactivity_timeout_ms,
                abort_timeout_ms=opts.abort_timeout_ms,
            ),
        )
        epoch = int.from_bytes(os.urandom(6), "big")
        self.timers = TimerService(self.store, self.proposer)
        self.cleaner = Cleaner(self.store, self.proposer, opts.cleanup_interval_ms / 1000)
        self.processor = PartitionProcessor(
            self.log,
            self.store,
            self.state_machine,
            self.invoker,
            self.proposer,
            opts.node_name,
            epoch,
            self._on_schema_changed,
            self.timers,
            self.cleaner,
        )
        self.backend = Backend(self.proposer, self.store, self.state_machine.schema, self.processor)
        self._spawn(self.processor.run(), "partition-processor")
        lsn = await self.proposer.propose(
            rec.Envelope(announce_leader=rec.AnnounceLeader(leader_id=opts.node_name, epoch=epoch))
        )
        await self.processor.wait_applied(lsn)
        self.ingress = HttpServer(
            with_request_metrics(IngressHandler(self.backend)),
            HttpServerOptions(
                host=opts.bind_host,
                port=opts.ingress_port,
                max_body_bytes=opts.max_body_bytes,
                name="ingress",
            ),
        )
        self.admin = HttpServer(
            with_metrics(
                AdminApi(
                    self.backend, ingress_endpoint=f"http://{opts.bind_host}:{opts.ingress_port}"
                )
            ),
            HttpServerOptions(host=opts.bind_host, port=opts.admin_port, name="admin"),
            error_response=admin_error,
        )
        ingress_port = await self.ingress.start()
        admin_port = await self.admin.start()
        host = "127.0.0.1" if opts.bind_host in ("0.0.0.0", "") else opts.bind_host
        self.endpoints = Endpoints(f"http://{host}:{ingress_port}", f"http://{host}:{admin_port}")
        log.info(
            "perdure node %s ready in %.2f s: ingress %s, admin %s",
            opts.node_name,
            time.perf_counter() - self._started_at,
            self.endpoints.ingress_url,
            self.endpoints.admin_url,
        )
        return self.endpoints

    def _on_schema_changed(self) -> None:
        self.backend.refresh()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s failed", task.get_name(), exc_info=task.exception())

    async def stop(self) -> None:
        for server in (getattr(self, "ingress", None), getattr(self, "admin", None)):
            if server is not None:
                await server.close()
        if hasattr(self, "invoker"):
            await self.invoker.close()
        if hasattr(self, "timers"):
            self.timers.stop()
            self.cleaner.stop()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if hasattr(self, "log"):
            await self.log.close()
        if hasattr(self, "store"):
            self.store.close()
