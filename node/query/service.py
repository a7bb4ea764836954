"""Answers `/query` (node/admin_api.py) and the fabric's QUERY requests of other processes.

    service = QueryService(LocalSource(store, processor), routes, Options())
    body = await service.run("SELECT id FROM sys_invocation", json=True)   # QueryError: 4xx
    await service.close()      # before the store closes: waits for running queries

Where a query runs: planning, building rows and executing happen in this service's worker
threads, never on the event loop, so the partition's apply path goes on (the threads take the
GIL in turns with it). What runs on the loop is only taking the read view and a copy of the
invoker's attempts, both O(1) or O(running invocations).

Consistency: each partition group's rows come from one `ReadView` of its store, taken at one
instant, so every table of one group agrees with the others (a status row and its journal); the
invoker's attempts are copied at the same loop turn. Groups are read independently (each at its
own instant), from each group's leader: this process's store for its own group when it leads
it, the fabric's QUERY method for the others, whose answer is the same tables as Arrow IPC.

Bounds: at most `max_concurrent` queries run at once (429 beyond, counted until their threads
are done, so a query that timed out still holds its slot until it stops), `timeout_s` per query
(408), at most `max_rows` rows in a result (400), DataFusion's memory pool per query.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import orjson

from node import metrics
from node.attempts import AttemptInfo
from node.clock import SYSTEM, Cancellable, Clock
from node.query.errors import Cancelled, QueryError
from node.query.worker import PARTITIONED, Columns, QueryWorker, Where
from partition.read_view import ReadView
from partition.store import Store

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow and DataFusion are imported only where rows are built or framed (the query worker,
# and another group's QUERY): a node that is not asked queries does not map them (~45 MB).

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Options:
    max_concurrent: int = 4
    timeout_s: float = 30.0
    max_rows: int = 100_000
    # The worker process (and the ~150 MB DataFusion and pyarrow take in it) goes after this
    # long without a query; the next query starts another (not counted in its timeout).
    worker_idle_s: float = 300.0


class Leading(Protocol):
    """What the query reads of the partition processor: its leader unit's invoker, if any."""

    @property
    def leader_unit(self) -> Any: ...


class LocalSource:
    """This process's own group: its store and its invoker."""

    def __init__(self, store: Store, processor: Leading) -> None:
        self._store = store
        self._processor = processor

    def take(self) -> tuple[ReadView, list[AttemptInfo]]:
        """On the event loop: the store as it is now and the attempts at this same instant."""
        return ReadView(self._store), self.attempts()

    def attempts(self) -> list[AttemptInfo]:
        """On the event loop: the leader unit's invoker's attempts now (none on a follower)."""
        unit = self._processor.leader_unit
        return [] if unit is None else list(unit.attempts())

    @property
    def store_path(self) -> Path:
        return self._store.path


class Peer(Protocol):
    """Another process's QUERY method (node.fabric.FabricClient.query)."""

    async def query(self, body: bytes) -> bytes: ...


# Where each group's rows come from: None for this process, else the peer leading it.
Routes = Callable[[], Mapping[int, Peer | None]]


class _Job:
    """One query's threads: the deadline they check and how many still run."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.given_up = threading.Event()
        self.running = 0

    def check(self) -> None:
        if self.given_up.is_set() or time.monotonic() > self.deadline:
            raise Cancelled("the query was given up")


class QueryService:
    def __init__(
        self,
        local: LocalSource,
        routes: Routes,
        options: Options | None = None,
        clock: Clock = SYSTEM,
    ) -> None:
        self._local = local
        self._clock = clock
        self._idle_stop: Cancellable | None = None
        self._routes = routes
        self._options = options or Options()
        self._pool = ThreadPoolExecutor(
            max_workers=self._options.max_concurrent + 1, thread_name_prefix="query"
        )
        self._running = 0  # queries holding a slot (until their threads end)
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        path = local.store_path
        self._worker = QueryWorker(path, path.parent / "query-secondary")

    async def run(self, sql: str, *, json: bool) -> bytes:
        """The result of `sql`, JSON rows or an Arrow IPC stream; QueryError when refused."""
        options = self._options
        if self._closed:
            raise QueryError(503, "Query service not available: the node is stopping")
        if self._running >= options.max_concurrent:
            raise QueryError(
                429, f"Rate limited: {options.max_concurrent} queries are running; retry shortly"
            )
        job = self._hold(options.timeout_s)
        started = time.perf_counter()
        if self._idle_stop is not None:
            self._idle_stop.cancel()
            self._idle_stop = None
        try:
            await self._worker.started()
            job.deadline = time.monotonic() + options.timeout_s
            async with asyncio.timeout(options.timeout_s):
                wanted, columns, limits = await self._worker.plan(sql)
                partitioned = {n: w for n, w in wanted.items() if n in PARTITIONED}
                global_ = {n: w for n, w in wanted.items() if n not in PARTITIONED}
                routes = self._routes()
                remote = {g: peer for g, peer in routes.items() if peer is not None}
                ours = partitioned if any(p is None for p in routes.values()) else {}
                body = orjson.dumps(
                    {
                        "tables": {
                            n: {c: sorted(v) for c, v in w.items()} for n, w in partitioned.items()
                        },
                        "columns": {
                            n: None if columns.get(n) is None else sorted(columns[n] or ())
                            for n in partitioned
                        },
                        "limits": {n: limits[n] for n in partitioned if n in limits},
                    }
                )
                bodies = await asyncio.gather(*(_ask_raw(g, p, body) for g, p in remote.items()))
                answer = await self._worker.run(
                    sql,
                    {**ours, **global_},
                    self._local.attempts(),
                    list(bodies),
                    json=json,
                    max_rows=options.max_rows,
                    deadline=job.deadline,
                    columns=columns,
                    limits=limits,
                )
                metrics.QUERY_SECONDS.observe(time.perf_counter() - started)
                return answer
        except TimeoutError:
            raise QueryError(
                408, f"the query did not finish within {options.timeout_s:g} s; narrow it"
            ) from None
        finally:
            job.given_up.set()
            self._release_when_done(job)
            if self._idle_stop is None and not self._closed:
                self._idle_stop = self._clock.call_later(options.worker_idle_s, self._stop_idle)

    def _stop_idle(self) -> None:
        """No query for `worker_idle_s`: let the worker process go (unless one runs now)."""
        self._idle_stop = None
        if self._running == 0 and not self._closed and self._worker.stop():
            log.info(
                "query worker stopped after %.0f s without a query", self._options.worker_idle_s
            )

    async def serve_peer(self, body: bytes) -> bytes:
        """The fabric's QUERY method: this process's rows of the asked tables (wire below)."""
        try:
            request = orjson.loads(body)
            wanted = {
                name: {c: frozenset(v) for c, v in where.items()}
                for name, where in request["tables"].items()
                if name in PARTITIONED
            }
            read = request.get("columns") or {}  # (absent from an older node's request: all)
            columns: dict[str, Columns] = {
                name: None if read.get(name) is None else frozenset(read[name]) for name in wanted
            }
            limits = {n: int(v) for n, v in (request.get("limits") or {}).items() if n in wanted}
            job = self._hold(self._options.timeout_s)
            try:
                async with asyncio.timeout(self._options.timeout_s):
                    view, attempts = self._take()
                    tables = await self._thread(
                        job, self._build_local, job, wanted, columns, limits, view, attempts
                    )
                    return b"\x00" + await self._thread(job, _frame_tables, tables)
            except TimeoutError:
                raise QueryError(
                    408, "the partition process did not build its rows in time"
                ) from None
            finally:
                job.given_up.set()
                self._release_when_done(job)
        except QueryError as exc:
            return b"\x01" + orjson.dumps({"status": exc.status, "message": exc.message})
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return b"\x01" + orjson.dumps({"status": 400, "message": f"bad QUERY request: {exc}"})

    async def close(self) -> None:
        """Refuse new queries and wait for the running ones' threads (they stop at their next
        check), so nothing reads the store once this returns."""
        self._closed = True
        if self._idle_stop is not None:
            self._idle_stop.cancel()
            self._idle_stop = None
        await self._idle.wait()
        self._pool.shutdown(wait=True)
        await asyncio.to_thread(self._worker.close)

    # --------------------------------------------------------------------------- internals

    def _hold(self, timeout_s: float) -> _Job:
        self._running += 1
        self._idle.clear()
        return _Job(time.monotonic() + timeout_s)

    def _release_when_done(self, job: _Job) -> None:
        if job.running == 0:
            self._running -= 1
            if self._running == 0:
                self._idle.set()

    async def _thread(self, job: _Job, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        job.running += 1
        future = loop.run_in_executor(self._pool, fn, *args)

        def done(_: object) -> None:
            job.running -= 1
            if job.given_up.is_set():
                self._release_when_done(job)

        future.add_done_callback(done)
        try:
            return await asyncio.shield(future)
        except Cancelled:
            raise TimeoutError from None

    def _take(self) -> tuple[ReadView, list[AttemptInfo]]:
        return self._local.take()

    @staticmethod
    def _build_local(
        job: _Job,
        wanted: dict[str, Where],
        columns: dict[str, Columns],
        limits: dict[str, int],
        view: ReadView,
        attempts: list[AttemptInfo],
    ) -> dict[str, pa.Table]:
        from node.query import rows

        memo = rows.Memo()
        try:
            return {
                name: rows.build(
                    name,
                    view,
                    attempts,
                    where,
                    job.check,
                    columns.get(name),
                    memo,
                    limits.get(name),
                )
                for name, where in wanted.items()
            }
        finally:
            view.release()


# ------------------------------------------------------------------------------- QUERY wire
#
# Request: JSON {"tables": {name: {column: [allowed values]}}, "columns": {name: [column] or
# null}, "limits": {name: rows}} (partitioned tables only; "columns": what the query reads, null
# or absent: maybe all; "limits": the most rows it takes of a table, absent: all).
# Answer: 0x00 then per table [u32 name length][name][u64 stream length][Arrow IPC stream],
# or 0x01 then JSON {"status", "message"} when the peer refused.


def _frame_tables(tables: dict[str, pa.Table]) -> bytes:
    import pyarrow as pa

    out = bytearray()
    for name, table in tables.items():
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        stream = sink.getvalue().to_pybytes()
        encoded = name.encode()
        out += struct.pack(">I", len(encoded)) + encoded + struct.pack(">Q", len(stream)) + stream
    return bytes(out)


def unframe_tables(body: bytes) -> dict[str, pa.Table]:
    """A peer's answer to QUERY; raises QueryError with the peer's refusal."""
    import pyarrow as pa

    if body[:1] == b"\x01":
        refusal = orjson.loads(body[1:])
        raise QueryError(int(refusal["status"]), str(refusal["message"]))
    if body[:1] != b"\x00":
        raise QueryError(502, "a partition process answered QUERY with something unreadable")
    tables: dict[str, pa.Table] = {}
    pos = 1
    while pos < len(body):
        (n,) = struct.unpack_from(">I", body, pos)
        name = body[pos + 4 : pos + 4 + n].decode()
        pos += 4 + n
        (size,) = struct.unpack_from(">Q", body, pos)
        pos += 8
        tables[name] = pa.ipc.open_stream(body[pos : pos + size]).read_all()
        pos += size
    return tables


async def _ask_raw(group: int, peer: Peer, body: bytes) -> bytes:
    """A peer's framed answer to QUERY (its refusal raised as QueryError)."""
    try:
        answer = await peer.query(body)
    except QueryError:
        raise
    except Exception as exc:  # the fabric's Unavailable and kin: the group cannot answer now
        raise QueryError(
            503, f"partition group {group} did not answer the query ({exc}); retry shortly"
        ) from None
    if answer[:1] == b"\x01":
        unframe_tables(answer)  # raises the peer's refusal
    return answer
