"""A process of its own for the heavy part of a query (planning, building rows, DataFusion,
encoding), so a query never competes with the node's event loop for its GIL.

Measured before it: a loop of `count(*)` over 5,000 invocations cut greet's ingress throughput
on the same node by 77 %: building rows is Python, and a query thread took half the GIL from
the event loop. The worker reads the group's RocksDB store as a *secondary instance* (RocksDB
lets another process open the same files read-only and catch up with the primary's writes,
its write-ahead log included), so it sees the store as it is when a query starts, consistent
(write batches are atomic), without a copy and without the node's process.

The worker runs at a lower CPU priority (nice 10): on a machine whose cores the node already
keeps busy, a query takes what the node leaves. It starts with the first query (importing
DataFusion costs ~1 s and ~100 MB, which an idle node need not pay) and stops with the node, or
after `worker_idle_s` (5 minutes) without a query.
One at a time: a second query waits for the first (the admin API refuses beyond
`max_concurrent` waiting). Each call carries its deadline;
the worker checks it between batches of rows.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar

from node.attempts import AttemptInfo
from node.query.errors import Cancelled, QueryError

Where = dict[str, frozenset[str]]  # column -> values the query's filters allow (node.query.rows)
Columns = frozenset[str] | None  # the columns a query reads of a table (None: maybe all)
# The tables kept per partition group (node.query.schema.PARTITIONED: a test checks they agree),
# named here so the node's process need not import pyarrow to route a query.
PARTITIONED = frozenset(
    {
        "sys_invocation_status",
        "sys_invocation_state",
        "sys_journal",
        "state",
        "sys_inbox",
        "sys_promise",
        "sys_keyed_service_status",
    }
)

_db: Any = None  # the worker's secondary instance of the store
T = TypeVar("T")


class QueryWorker:
    """The node side: submits work to the worker process."""

    def __init__(self, store_path: Path, scratch: Path) -> None:
        self._store_path = store_path
        self._scratch = scratch
        self._pool: ProcessPoolExecutor | None = None
        self._warm = False
        self._starts = 0  # worker processes started: each has a scratch directory of its own

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            if self._starts == 0:
                shutil.rmtree(self._scratch, ignore_errors=True)
            # The directory of the worker before last: gone long since (the last one may still
            # be exiting when a query comes right after it stopped).
            shutil.rmtree(self._scratch / f"worker-{self._starts - 2}", ignore_errors=True)
            directory = self._scratch / f"worker-{self._starts}"
            self._starts += 1
            directory.mkdir(parents=True)
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_open,
                initargs=(str(self._store_path), str(directory)),
            )
        return self._pool

    def stop(self) -> bool:
        """Let the worker process go, without waiting for it; the next call starts another.
        False when there was none."""
        pool, self._pool, self._warm = self._pool, None, False
        if pool is None:
            return False
        pool.shutdown(wait=False, cancel_futures=True)
        return True

    async def started(self) -> None:
        """Once the worker process runs (its first start takes a second or two: not a query's
        own time)."""
        if self._pool is None or not self._warm:
            await self._call(_ready)
            self._warm = True

    async def plan(self, sql: str) -> tuple[dict[str, Where], dict[str, Columns], dict[str, int]]:
        """The tables `sql` reads, what its filters allow of each, the columns it reads of each
        and the most rows it takes of some (node.query.engine.plan)."""
        planned: tuple[dict[str, Where], dict[str, Columns], dict[str, int]] = await self._call(
            _plan, sql
        )
        return planned

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor(), fn, *args)
        except BrokenProcessPool:  # it died (killed, out of memory): a new one next time
            self.stop()
            raise QueryError(503, "the query worker process stopped; retry the query") from None

    async def run(
        self,
        sql: str,
        local: dict[str, Where],
        attempts: list[AttemptInfo],
        remote: list[bytes],
        *,
        json: bool,
        max_rows: int,
        deadline: float,
        columns: dict[str, Columns] | None = None,
        limits: dict[str, int] | None = None,
    ) -> bytes:
        """Answer `sql` over this group's rows of the `local` tables (read in the worker, with
        the invoker's `attempts`) and the other groups' framed rows `remote`."""
        answer: bytes = await self._call(
            _run,
            sql,
            local,
            attempts,
            remote,
            json,
            max_rows,
            deadline,
            columns or {},
            limits or {},
        )
        return answer

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._warm = False
        shutil.rmtree(self._scratch, ignore_errors=True)


# ------------------------------------------------------------------ in the worker process


def _open(store_path: str, scratch: str) -> None:
    global _db
    import os

    from rocksdict import AccessType, Options, Rdict

    # Introspection is background work: the node's own processes come first for the CPU.
    os.nice(10)

    _db = Rdict(store_path, Options(raw_mode=True), access_type=AccessType.secondary(scratch))


def _ready() -> None:
    from node.query import engine  # noqa: F401 - imported now, not in the first query's time


def _plan(sql: str) -> tuple[dict[str, Where], dict[str, Columns], dict[str, int]]:
    from node.query import engine

    planned = engine.plan(sql)
    return dict(planned.tables), dict(planned.columns), dict(planned.limits)


def _run(
    sql: str,
    local: dict[str, Where],
    attempts: list[AttemptInfo],
    remote: list[bytes],
    json: bool,
    max_rows: int,
    deadline: float,
    columns: dict[str, Columns],
    limits: dict[str, int],
) -> bytes:
    import pyarrow as pa
    from rocksdict import ReadOptions

    from node.query import encode, engine, rows
    from node.query.service import unframe_tables
    from partition.read_view import ReadView

    def check() -> None:
        if time.monotonic() > deadline:
            raise Cancelled("the query was given up")

    try:
        _db.try_catch_up_with_primary()  # the store as it is now
        view = ReadView.over(_db.iter(ReadOptions()))
        parts: dict[str, list[pa.Table]] = {}
        try:
            memo = rows.Memo()
            for name, where in local.items():
                table = rows.build(
                    name, view, attempts, where, check, columns.get(name), memo, limits.get(name)
                )
                parts.setdefault(name, []).append(table)
        finally:
            view.release()
        for body in remote:
            for name, table in unframe_tables(body).items():
                parts.setdefault(name, []).append(table)
        tables = {name: pa.concat_tables(found) for name, found in parts.items()}
        result = engine.execute(sql, tables, max_rows, check)
        check()
        return encode.json_rows(result) if json else encode.arrow_stream(result)
    except Cancelled:
        raise QueryError(408, "the query did not finish in time; narrow it") from None
