"""One Perdure node: log, partition store, processor (and its leader unit), ingress and admin API.

Start-up order matters: the log replays what is durable, the processor applies it (skipping
what the store already holds), then this node announces its leadership through the log and,
once that record is applied, resumes the invocations that were running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ingress.grpc_ingress import GrpcIngress, GrpcIngressOptions
from ingress.handlers import IngressHandler
from ingress.http import HttpServer, HttpServerOptions
from ingress.http_types import Handler, Request, Response
from log.api import SnapshotNeeded
from log.lsn import raft_index_of
from log.raft import RaftLog, RaftOptions
from log.raft_options import ALONE_TICK_PERIOD
from node import invoker as invoker_mod
from node import leader, logs, metrics, metrics_merge, snapshot
from node.admin_api import AdminApi, admin_error
from node.admin_auth import read_token_file, with_admin_token
from node.backend import Backend
from node.campaign import ALONE_PERIOD_S, PERIOD_S, Campaign
from node.clock import SYSTEM, Clock
from node.cluster_view import ClusterView
from node.config import Error as ConfigError
from node.config import NodeOptions
from node.directory import Directory
from node.disk import DiskGuard
from node.fabric import FabricClient, FabricHandler, Unavailable
from node.fabric_wire import MuxServer
from node.membership import Membership, secret_for
from node.membership_changes import ClusterChanges, GroupMembership
from node.processor import PartitionProcessor
from node.proposer import Proposer
from node.query.service import LocalSource, QueryService
from node.retry import RetryPolicy
from node.workers import Workers
from partition import context, tables
from partition.routing import Partitioning
from partition.state_machine import StateMachine
from partition.store import Store
from perdure_proto import records_pb2 as rec

log = logging.getLogger(__name__)

CLUSTER_START_TIMEOUT_S = 120.0  # nodes of a cluster may start minutes apart (pods, restarts)
JOIN_TIMEOUT_S = 7 * 24 * 3600.0  # a joining node waits for an operator to add it
JOINED_FILE = "joined"  # in a group's data directory: its member was added (cluster_join)


@dataclass(frozen=True, slots=True)
class Endpoints:
    ingress_url: str
    admin_url: str


def with_metrics(handler: Handler, peers: dict[int, FabricClient] | None = None) -> Handler:
    """Serve Prometheus text at /metrics next to `handler`'s routes: this process's, merged
    with its partition processes' (`peers`) when it has any (node.metrics_merge)."""

    async def serve(request: Request) -> Response:
        if request.path == "/metrics":
            body = generate_latest()
            if peers:
                body = metrics_merge.merge([(0, body), *await _peer_metrics(peers)])
            return Response(200, body, (("content-type", CONTENT_TYPE_LATEST),))
        return await handler(request)

    return serve


async def _peer_metrics(peers: dict[int, FabricClient]) -> list[tuple[int, bytes]]:
    groups = list(peers)
    texts = await asyncio.gather(*(peers[g].metrics() for g in groups), return_exceptions=True)
    # A process that does not answer is left out (its counters reappear when it is back).
    return [(g, t) for g, t in zip(groups, texts, strict=True) if isinstance(t, bytes)]


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
    """One node. `run()` serves until cancelled and owns every task of the node (one task
    group: the partition processor, which owns the leader unit); `start()`/`stop()` run it as
    one named task for callers that are not structured that way."""

    def __init__(self, options: NodeOptions, clock: Clock = SYSTEM) -> None:
        self.options = options
        self._clock = clock
        self._started_at = time.perf_counter()
        self.endpoints: Endpoints | None = None
        self._ready: asyncio.Future[Endpoints] | None = None
        self._main: asyncio.Task[None] | None = None
        self.membership: Membership | None = None

    async def start(self) -> Endpoints:
        """Run the node in a task of its own; return once it serves."""
        self._ready = asyncio.get_running_loop().create_future()
        self._main = asyncio.get_running_loop().create_task(self.run(), name="node")
        waiting: set[asyncio.Future[Any]] = {self._ready, self._main}
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if self._main in done:  # it failed (or ended) while starting
            self._ready.cancel()
            await self._main
            raise RuntimeError("the node stopped while starting")
        return self._ready.result()

    async def serve_until(self, stop: asyncio.Event) -> None:
        """Wait for `stop`; raise at once if the node fails first (a node that cannot go on
        must end its process, not linger without a partition)."""
        if self._main is None:
            raise RuntimeError("start() the node first")
        async with asyncio.TaskGroup() as tg:
            stopped = tg.create_task(stop.wait(), name="wait-for-stop")
            waiting: set[asyncio.Future[Any]] = {stopped, self._main}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
        if self._main.done():
            await self._main  # its failure, if any
            raise RuntimeError("the node stopped by itself")

    async def stop(self) -> None:
        """Stop serving; a cluster member that leads its group hands leadership over first
        (within a second), so the others need not wait out an election timeout."""
        main, self._main = self._main, None
        campaign = getattr(self, "campaign", None)
        running = main is not None and not main.done()
        if running and self.membership is not None and campaign and await campaign.hand_over(1.0):
            log.info("handed leadership over before stopping")
        if main is not None and not main.done():
            main.cancel()
            await asyncio.gather(main, return_exceptions=True)

    async def run(self) -> None:
        """Serve until cancelled. A cluster member that finds its log behind what the others
        compacted (`SnapshotNeeded`) closes its group, installs a snapshot fetched from another
        member (node/snapshot.py) and opens the group again; nothing else ends the loop."""
        opts = self.options
        self.membership = Membership.of(opts)
        self._secret = secret_for(opts, self.membership)
        async with asyncio.TaskGroup() as tg:
            if opts.group == 0 and opts.partition_processes > 1:
                workers = Workers(opts, self._secret, self._clock)
                tg.create_task(workers.run(), name="workers")
            while True:
                needed = await self._serve_group()
                await self._catch_up(needed)

    async def _serve_group(self) -> SnapshotNeeded:
        """Serve this process's group until its log needs a snapshot; close what was opened, in
        reverse order."""
        try:
            async with contextlib.AsyncExitStack() as stack:
                await self._open(stack)
                await self._serve(stack)
        except SnapshotNeeded as exc:
            return exc
        except BaseExceptionGroup as group:
            found = _snapshot_needed(group)
            if found is None:
                raise
            return found
        raise RuntimeError("the group stopped serving by itself")

    async def _serve(self, stack: contextlib.AsyncExitStack) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.processor.run(), name="partition-processor")
            tg.create_task(self.campaign.run(), name="campaign")
            tg.create_task(self.disk.run(), name="disk-guard")
            if self.membership is None:
                # A single node leads at once: serve once its leader unit runs.
                await self.processor.wait_active(30.0)
            if self.has_peers:
                tg.create_task(self.directory.watch(), name="directory")
            # HTTP first to close: no new requests while the processor stops.
            async with contextlib.AsyncExitStack() as http:
                if self.has_peers:
                    await self._serve_fabric(http)
                if self.options.group == 0 and self.membership is not None:
                    tg.create_task(self.cluster_view.watch(), name="cluster-view")
                if self.options.group == 0 and self.options.partition_processes > 1:
                    await self._wait_for_peers()
                await self._serve_grpc(http)
                await self._serve_http(http)
                await asyncio.get_running_loop().create_future()  # until cancelled

    def _group_figures(self) -> dict[str, float]:
        """This process's group, for /metrics (node.metrics.GROUP_SERIES)."""
        raft = self.log.status()
        applied, committed = self.processor.applied_lsn, raft.committed_lsn
        applied_index = 0 if applied is None else raft_index_of(applied)
        committed_index = 0 if committed is None else raft_index_of(committed)
        return {
            "perdure_raft_term": raft.term,
            "perdure_raft_leader": 1.0 if self.processor.active else 0.0,
            "perdure_raft_commit_index": raft.commit_index,
            "perdure_raft_applied_lag_entries": max(0, committed_index - applied_index),
            "perdure_raft_members": len(self.log.members()),
            "perdure_store_size_bytes": self.store.size_bytes(),
        }

    def _preferred_leader(self) -> str | None:
        """The member that should lead this group: where an operator moved it (PreferLeader),
        else the group's node by position (groups spread over the nodes)."""
        membership = self.membership
        if membership is None:
            return None
        moved = tables.preferred_leader(self.store)
        return moved or membership.raft_address(
            membership.preferred_leader(self.options.group), self.options.group
        )

    def _joining(self, data: Path) -> bool:
        """Whether this group's member joins a running cluster: `cluster_join` is set and it was
        never added yet (JOINED_FILE)."""
        opts = self.options
        return (
            self.membership is not None and opts.cluster_join and not (data / JOINED_FILE).exists()
        )

    def _cluster_changes(self) -> ClusterChanges | None:
        if self.membership is None:
            return None
        return ClusterChanges(
            self.membership,
            self.partitioning,
            self.directory,
            self.group_membership,
            self.log,
            self._clock,
        )

    async def _catch_up(self, needed: SnapshotNeeded, rounds: int | None = None) -> None:
        """Install a snapshot of this group from another member, preferring the leader that
        compacted past this member (its copy is recent enough)."""
        membership = self.membership
        if membership is None:
            raise needed  # a single member has no one to fetch from
        group = self.options.group
        log.log(
            logging.INFO if needed.leader is None else logging.WARNING,
            "group %d needs a snapshot: %s",
            group,
            needed,
        )
        first = membership.node_of_raft_address(needed.leader) if needed.leader else None
        names = [first] if first and first != membership.me else []
        names += [n for n in membership.names if n not in (first, membership.me)]
        sources = [
            (name, FabricClient(*membership.fabric_address(name, group), self._secret))
            for name in names
        ]
        try:
            await snapshot.catch_up(
                self._data_dir(),
                needed,
                sources,
                self._clock,
                fsync=self.options.fsync,
                rounds=rounds,
            )
        finally:
            for _, client in sources:
                await client.close()

    def _data_dir(self) -> Path:
        opts = self.options
        return opts.data_path if opts.group == 0 else opts.data_path / f"group-{opts.group}"

    async def _open(self, stack: contextlib.AsyncExitStack) -> None:
        opts = self.options
        self.partitioning = partitioning = _partitioning(opts)
        logs.set_partitioning(partitioning)
        # Other processes to reach over the fabric: this node's other groups, or other nodes.
        self.has_peers = partitioning.groups > 1 or self.membership is not None
        group = opts.group
        data = self._data_dir()
        data.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(snapshot.finish_install, data, fsync=opts.fsync)
        joining = self._joining(data)
        if joining and not (data / snapshot.STORE_DIR).exists():
            # Catch up as a non-voter: a copy of the group's state before the group adds us.
            joined = SnapshotNeeded("joining the cluster")
            await self._catch_up(joined, rounds=1)
        self.store = Store(data / snapshot.STORE_DIR)
        stack.callback(self.store.close)
        indexed = await asyncio.to_thread(tables.index_unfinished, self.store)
        if indexed:
            log.info("group %d: indexed %d unfinished invocations (once per store)", group, indexed)
        self.log = RaftLog(
            _raft_options(opts, self.membership, self._secret, data, joining),
            on_commit=_observe_commit,
        )
        stack.push_async_callback(self.log.close)
        self.snapshots = snapshot.SnapshotSource(self.store, self.log, data, self._clock)
        stack.callback(self.snapshots.close)
        if joining:
            log.info("group %d: waiting to be added to the cluster (POST /cluster/nodes)", group)
        await self.log.start()
        figures = self._group_figures
        metrics.GROUPS.watch(group, figures)
        stack.callback(metrics.GROUPS.forget, group, figures)
        if joining:
            (data / JOINED_FILE).touch()
            log.info("group %d: added to the cluster and caught up", group)
        self.directory = Directory(
            group,
            partitioning.groups,
            self.log,
            self.membership,
            opts.internal_port,
            self._secret,
            self._clock,
        )
        stack.push_async_callback(self.directory.close)
        self.state_machine = StateMachine(
            self.store, context.Options(group=group, partitioning=partitioning)
        )
        self.proposer = Proposer(self.log, self._clock.now_ms)
        self.group_membership = GroupMembership(self.log, group, self.proposer)
        epoch = int.from_bytes(os.urandom(6), "big")
        self.processor = PartitionProcessor(
            self.log,
            self.store,
            self.state_machine,
            self.proposer,
            opts.node_name,
            epoch,
            self._on_schema_changed,
            _leader_options(opts),
            self._clock,
            deliverer=FabricDeliverer(self.directory) if partitioning.groups > 1 else None,
            replicated=self.membership is not None,
            trim_every=opts.trim_every_records,
        )
        self.campaign = Campaign(
            self.log,
            self.proposer,
            self.processor,
            opts.node_name,
            epoch,
            self._clock,
            period_s=PERIOD_S if self.membership is not None else ALONE_PERIOD_S,
            preferred=self._preferred_leader,
            retain_entries=opts.trim_retain_entries,
        )
        self.backend = Backend(
            self.proposer,
            self.store,
            self.state_machine.schema,
            self.processor,
            partitioning=partitioning,
            group=group,
            directory=self.directory if self.has_peers else None,
        )
        self.disk = DiskGuard(Path(opts.data_dir), opts.min_free_disk_bytes, clock=self._clock)
        self.backend.disk = self.disk
        self.queries = QueryService(LocalSource(self.store, self.processor), self._query_routes)
        stack.push_async_callback(self.queries.close)  # before the store closes
        self.backend.queries = self.queries
        self.cluster_view = ClusterView(
            opts,
            partitioning,
            self.log,
            self.processor,
            self.directory,
            self.membership,
            self._clock,
        )

    async def _serve_fabric(self, stack: contextlib.AsyncExitStack) -> None:
        opts = self.options
        host = "127.0.0.1" if self.membership is None else self.membership.my_host
        fabric = MuxServer(
            FabricHandler(self.backend, self.cluster_view, self.snapshots, self.group_membership),
            host,
            opts.internal_port + opts.group,
            secret=self._secret,
            max_message_bytes=opts.max_body_bytes + 1024 * 1024,
            name=f"fabric-{opts.group}",
        )
        stack.push_async_callback(fabric.close)
        await fabric.start()

    async def _wait_for_peers(self, timeout_s: float = 60.0) -> None:
        """Until every other group's process of this node answers on its fabric port."""
        deadline = self._clock.monotonic() + timeout_s
        for group, peer in self.directory.local_peers().items():
            while True:
                try:
                    await peer.health()
                    break
                except Unavailable:
                    if self._clock.monotonic() > deadline:
                        raise RuntimeError(
                            f"the partition process of group {group} did not start within "
                            f"{timeout_s:.0f} s (see its log lines above)"
                        ) from None
                    await self._clock.sleep(0.05)

    async def _serve_grpc(self, stack: contextlib.AsyncExitStack) -> None:
        """The gRPC ingress (ingress/grpc_ingress.py): every partition process serves it on
        the same port, like the HTTP ingress, and sends each request through its Backend."""
        opts = self.options
        self.grpc_ingress: GrpcIngress | None = None
        if opts.grpc_port < 0:
            return
        self.grpc_ingress = GrpcIngress(
            self.backend,
            GrpcIngressOptions(
                host=opts.bind_host,
                port=opts.grpc_port,
                reuse_port=opts.partition_processes > 1,
                max_message_bytes=opts.max_body_bytes + 64 * 1024,
                tls_cert=_read(opts.grpc_tls_cert_file),
                tls_key=_read(opts.grpc_tls_key_file),
            ),
            metrics.LabelCache(metrics.INGRESS_INVOCATIONS).inc,
        )
        stack.push_async_callback(self.grpc_ingress.close)
        await self.grpc_ingress.start()

    async def _serve_http(self, stack: contextlib.AsyncExitStack) -> None:
        opts = self.options
        self.ingress = HttpServer(
            with_request_metrics(
                IngressHandler(self.backend, metrics.LabelCache(metrics.INGRESS_INVOCATIONS).inc)
            ),
            HttpServerOptions(
                host=opts.bind_host,
                port=opts.ingress_port,
                max_body_bytes=opts.max_body_bytes,
                name="ingress",
                reuse_port=self.options.partition_processes > 1,
                **_hygiene(opts),
            ),
        )
        stack.push_async_callback(self.ingress.close)
        ingress_port = await self.ingress.start()
        host = "127.0.0.1" if opts.bind_host in ("0.0.0.0", "") else opts.bind_host
        if opts.group != 0:  # the admin API is the first process's
            self.endpoints = Endpoints(f"http://{host}:{ingress_port}", "")
            log.info("partition process of group %d ready (ingress %s)", opts.group, ingress_port)
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(self.endpoints)
            return
        admin_host = opts.admin_bind_host or opts.bind_host
        self.admin = HttpServer(
            with_admin_token(
                with_metrics(
                    AdminApi(
                        self.backend,
                        ingress_endpoint=f"http://{opts.bind_host}:{opts.ingress_port}",
                        cluster=self.cluster_view,
                        queries=self.queries,
                        changes=self._cluster_changes(),
                        operations=self.backend,
                    ),
                    self.directory.local_peers(),
                ),
                read_token_file(opts.admin_token_file),
            ),
            HttpServerOptions(
                host=admin_host, port=opts.admin_port, name="admin", **_hygiene(opts)
            ),
            error_response=admin_error,
        )
        stack.push_async_callback(self.admin.close)
        admin_port = await self.admin.start()
        admin_url = f"http://{_reachable(admin_host)}:{admin_port}"
        self.endpoints = Endpoints(f"http://{host}:{ingress_port}", admin_url)
        log.info(
            "perdure node %s ready in %.2f s: ingress %s, admin %s",
            opts.node_name,
            time.perf_counter() - self._started_at,
            self.endpoints.ingress_url,
            self.endpoints.admin_url,
        )
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(self.endpoints)

    def _on_schema_changed(self) -> None:
        self.backend.refresh()

    def _query_routes(self) -> dict[int, FabricClient | None]:
        """Where a query reads each group's rows: its leader's process (None: this one)."""
        return {g: self.directory.route(g) for g in range(self.directory.groups)}


def _reachable(host: str) -> str:
    """An address to reach a server bound to `host` (the wildcard: loopback)."""
    return "127.0.0.1" if host in ("0.0.0.0", "") else host


def _hygiene(opts: NodeOptions) -> dict[str, Any]:
    """The HTTP servers' timeouts and caps (HttpServerOptions) from the node's options."""
    return {
        "header_timeout_s": opts.http_header_timeout_ms / 1000,
        "body_timeout_s": opts.http_body_timeout_ms / 1000,
        "max_connections": opts.http_max_connections,
        "max_buffered_bytes": opts.http_max_buffered_bytes,
    }


def _observe_commit(seconds: float, records: int) -> None:
    metrics.LOG_COMMIT_SECONDS.observe(seconds)
    metrics.LOG_RECORDS_APPENDED.inc(records)


def _snapshot_needed(group: BaseExceptionGroup[BaseException]) -> SnapshotNeeded | None:
    """The `SnapshotNeeded` among a failed task group's errors (the log's own failure; what
    else failed then failed because of it, and is logged), None if there is none."""
    found: list[SnapshotNeeded] = []
    others: list[BaseException] = []

    def walk(error: BaseException) -> None:
        if isinstance(error, BaseExceptionGroup):
            for inner in error.exceptions:
                walk(inner)
        elif isinstance(error, SnapshotNeeded):
            found.append(error)
        else:
            others.append(error)

    walk(group)
    if not found:
        return None
    for error in others:
        log.info("while the log stopped for a snapshot: %r", error)
    return found[0]


def _leader_options(opts: NodeOptions) -> leader.Options:
    return leader.Options(
        invoker=invoker_mod.Options(
            streams_per_deployment=opts.streams_per_deployment,
            default_retry=RetryPolicy(
                initial_interval_ms=opts.default_retry_initial_interval_ms,
                max_interval_ms=opts.default_retry_max_interval_ms,
                max_attempts=max(1, opts.default_retry_max_attempts),
                on_max_attempts="kill" if opts.default_retry_on_max_attempts == "kill" else "pause",
            ),
            inactivity_timeout_ms=opts.inactivity_timeout_ms,
            abort_timeout_ms=opts.abort_timeout_ms,
        ),
        cleanup_period_s=opts.cleanup_interval_ms / 1000,
        group=opts.group,
        pause_webhook_url=opts.pause_webhook_url,
    )


class FabricDeliverer:
    """The shuffle's way to the other groups: the fabric port of the process leading each."""

    def __init__(self, directory: Directory) -> None:
        self._directory = directory

    async def deliver(self, target: int, records: list[rec.Envelope]) -> None:
        route = self._directory.route(target)
        if route is None:
            raise Unavailable(f"group {target} is this process's own: nothing to deliver to")
        await route.deliver(records)


def _raft_options(
    opts: NodeOptions, membership: Membership | None, secret: bytes, data: Path, joining: bool
) -> RaftOptions:
    if membership is None:
        return RaftOptions(
            self_address=f"127.0.0.1:{opts.raft_port + opts.group}",
            data_dir=data / snapshot.LOG_DIR,
            fsync=opts.fsync,
            secret=secret,
            tick_period=ALONE_TICK_PERIOD,
        )
    # The group's preferred leader stands for election sooner than the others, so it usually
    # wins (at start, and after a failure once it is back); the campaign hands leadership to
    # it when another member won anyway.
    preferred = membership.preferred_leader(opts.group) == membership.me
    return RaftOptions(
        self_address=membership.raft_address(membership.me, opts.group),
        partners=tuple(
            membership.raft_address(name, opts.group)
            for name in membership.names
            if name != membership.me
        ),
        data_dir=data / snapshot.LOG_DIR,
        fsync=opts.fsync,
        secret=secret,
        # A joining member is ready once an operator added it: that may take a while.
        start_timeout=JOIN_TIMEOUT_S if joining else CLUSTER_START_TIMEOUT_S,
        joining=joining,
        raft_min_timeout=0.15 if preferred else 0.25,
        raft_max_timeout=0.25 if preferred else 0.35,
    )


def _partitioning(opts: NodeOptions) -> Partitioning:
    """The partitioning the data directory was created with (written on first start): a node
    never changes it, since every invocation id and state row is placed by it."""
    wanted = Partitioning(opts.partitions, opts.partition_processes)
    path = opts.data_path / "partitioning.json"
    if not path.exists():
        if opts.group != 0:
            raise ConfigError(f"{path} is missing: start the node, not a partition process")
        opts.data_path.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"partitions": wanted.partitions, "groups": wanted.groups}))
        os.replace(tmp, path)
        return wanted
    stored = json.loads(path.read_text())
    found = Partitioning(int(stored["partitions"]), int(stored["groups"]))
    if found != wanted:
        raise ConfigError(
            f"the data in {opts.data_path} was created with {found.partitions} partitions over "
            f"{found.groups} partition processes; start with --partitions {found.partitions} "
            f"--partition-processes {found.groups} (changing them needs a new data directory)"
        )
    return found


def _read(path: str) -> bytes | None:
    """A file's bytes, None for no path (the setting unset)."""
    return Path(path).read_bytes() if path else None
