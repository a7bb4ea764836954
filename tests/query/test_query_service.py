"""The query service's bounds, JSON encoding and filter pushdown, in process over a real store."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from node.query import encode, engine, rows
from node.query.errors import QueryError
from node.query.service import LocalSource, Options, Peer, QueryService
from partition import ids, keys, tables
from partition.read_view import ReadView
from partition.store import Store
from perdure_proto import protocol_pb2 as pb
from perdure_proto import storage_pb2 as st


class NoLeader:
    leader_unit = None


class HangingPeer:
    """Another group's process that answers only when told to."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()
        self.release = asyncio.Event()

    async def query(self, body: bytes) -> bytes:
        self.asked.set()
        await self.release.wait()
        return b"\x00"  # no tables


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "store")
    yield s
    s.close()


def service(store: Store, peer: Peer | None = None, **options: Any) -> QueryService:
    routes: dict[int, Peer | None] = {0: None} if peer is None else {0: None, 1: peer}
    return QueryService(LocalSource(store, NoLeader()), lambda: routes, Options(**options))


@pytest.fixture
async def hanging() -> AsyncIterator[HangingPeer]:
    peer = HangingPeer()
    yield peer
    peer.release.set()


async def test_too_many_queries_at_once_answer_429_until_one_ends(
    store: Store, hanging: HangingPeer
) -> None:
    queries = service(store, hanging, max_concurrent=1)
    first = asyncio.create_task(queries.run("SELECT count(*) FROM state", json=True))
    await asyncio.wait_for(hanging.asked.wait(), 10)
    with pytest.raises(QueryError) as refused:
        await queries.run("SELECT 1", json=True)
    assert refused.value.status == 429
    hanging.release.set()
    assert json.loads(await first) == {"rows": [{"count(*)": 0}]}
    assert json.loads(await queries.run("SELECT 1 AS one", json=True)) == {"rows": [{"one": 1}]}
    await queries.close()


async def test_a_query_over_its_time_answers_408_and_frees_its_slot(
    store: Store, hanging: HangingPeer
) -> None:
    queries = service(store, hanging, max_concurrent=1, timeout_s=0.3)
    with pytest.raises(QueryError) as slow:
        await queries.run("SELECT * FROM sys_inbox", json=True)
    assert slow.value.status == 408
    hanging.release.set()
    assert json.loads(await queries.run("SELECT 2 AS two", json=True)) == {"rows": [{"two": 2}]}
    await queries.close()


async def test_a_result_over_the_row_limit_answers_400(store: Store) -> None:
    queries = service(store, max_rows=5)
    assert len(json.loads(await queries.run("SELECT * FROM range(5)", json=True))["rows"]) == 5
    with pytest.raises(QueryError) as big:
        await queries.run("SELECT * FROM range(6)", json=True)
    assert big.value.status == 400 and "more than 5 rows" in big.value.message
    await queries.close()


async def test_a_query_reads_the_store_as_it_was_when_it_started(store: Store) -> None:
    """A read view taken before a write does not see it, across tables and scans."""
    txn = store.transaction()
    txn.put(keys.state("Counter", "a", "count"), b"1")
    txn.commit(1)
    view = ReadView(store)
    txn = store.transaction()
    txn.put(keys.state("Counter", "a", "count"), b"2")
    txn.put(keys.state("Counter", "b", "count"), b"7")
    txn.commit(2)
    table = rows.build("state", view, [], {})
    assert table.column("value").to_pylist() == [b"1"]
    assert view.get(keys.state("Counter", "b", "count")) is None
    view.release()
    fresh = ReadView(store)
    assert rows.build("state", fresh, [], {}).num_rows == 2
    narrowed = rows.build(
        "state",
        fresh,
        [],
        {"service_name": frozenset({"Counter"}), "service_key": frozenset({"b"})},
    )
    assert narrowed.column("value").to_pylist() == [b"7"]
    fresh.release()


def test_json_rows_follow_arrow_json() -> None:
    schema = pa.schema(
        [
            ("at", pa.timestamp("ms", tz="+00:00")),
            ("naive", pa.timestamp("ms")),
            ("raw", pa.large_binary()),
            ("keep", pa.duration("ms")),
            ("n", pa.uint64()),
            ("list", pa.list_(pa.uint32())),
            ("text", pa.large_utf8()),
        ]
    )
    ms = int(dt.datetime(2025, 1, 31, 10, 20, 30, tzinfo=dt.UTC).timestamp() * 1000)
    batch = pa.RecordBatch.from_pylist(
        [
            {
                "at": ms + 123,
                "naive": ms,
                "raw": b"\x01\xab",
                "keep": 86_400_000,
                "n": 2**63 + 1,
                "list": [1, 2],
                "text": None,
            },
            {"at": ms, "keep": 1_500},
        ],
        schema=schema,
    )
    out = json.loads(encode.json_rows(engine.Result(schema, [batch])))
    assert out == {
        "rows": [
            {
                "at": "2025-01-31T10:20:30.123Z",
                "naive": "2025-01-31T10:20:30",
                "raw": "01ab",
                "keep": "PT86400S",
                "n": 2**63 + 1,
                "list": [1, 2],
            },
            {"at": "2025-01-31T10:20:30Z", "keep": "PT1.5S"},
        ]
    }


def test_filters_on_ids_services_and_keys_reach_the_scans() -> None:
    plan = engine.plan(
        "select key, value from state where service_name = 'Counter' and service_key = 'alice' ;"
    )
    assert plan.tables == {
        "state": {"service_name": frozenset({"Counter"}), "service_key": frozenset({"alice"})}
    }
    plan = engine.plan("SELECT id FROM sys_invocation inv WHERE inv.id IN ('inv_1a', 'inv_1b')")
    assert plan.tables["sys_invocation_status"] == {"id": frozenset({"inv_1a", "inv_1b"})}
    # An OR over two columns, a LIKE, a negation: nothing narrows the read.
    for where in (
        "id = 'inv_1a' OR target_service_name = 'Greeter'",
        "target LIKE 'Greeter/%'",
        "id != 'inv_1a'",
    ):
        plan = engine.plan(f"SELECT id FROM sys_invocation_status WHERE {where}")
        assert plan.tables == {"sys_invocation_status": {}}, where
    # An IN subquery DataFusion turns into a join, and a derived table, are scans like any other.
    plan = engine.plan(
        "SELECT id FROM sys_invocation_status WHERE target_service_name IN "
        "(SELECT name FROM sys_service WHERE ty = 'virtual_object') AND id = 'inv_1a'"
    )
    assert plan.tables == {
        "sys_invocation_status": {"id": frozenset({"inv_1a"})},
        "sys_service": {},
    }
    plan = engine.plan(
        "SELECT COUNT(1) FROM (SELECT * FROM sys_invocation_status inv LIMIT 50000) "
        "WHERE inv.id = 'inv_1a'"
    )
    assert plan.columns == {"sys_invocation_status": frozenset({"id"})}
    # A subquery left in an expression may read a table where the plan does not show it: every
    # table it names is read whole.
    plan = engine.plan(
        "SELECT id, (SELECT count(*) FROM sys_service) AS n FROM sys_invocation_status "
        "WHERE id = 'inv_1a'"
    )
    assert plan.tables == {"sys_invocation_status": {}, "sys_service": {}}
    assert plan.columns == {"sys_invocation_status": None, "sys_service": None}
    # information_schema reads no table.
    assert engine.plan("SELECT count(*) FROM information_schema.columns").tables == {}
    # sys_invocation reads the invoker's state only for the statuses it returns: narrowed
    # alike (a key's prefix scan, not every status for the paused ones)...
    by_key = {"target_service_name": frozenset({"Counter"}), "target_service_key": frozenset({"k"})}
    plan = engine.plan(
        "SELECT id, status FROM sys_invocation "
        "WHERE target_service_name = 'Counter' AND target_service_key = 'k'"
    )
    assert plan.tables == {"sys_invocation_status": by_key, "sys_invocation_state": by_key}
    # ... unless the query reads sys_invocation_state itself.
    plan = engine.plan(
        "SELECT s.id FROM sys_invocation v JOIN sys_invocation_state s ON v.id = s.id "
        "WHERE v.target_service_key = 'k'"
    )
    assert "target_service_key" not in plan.tables["sys_invocation_state"]


def test_a_keys_paused_invocations_are_found_by_a_prefix_scan(store: Store) -> None:
    """The invoker's state of a paused invocation comes from its status row; narrowed to a key,
    only that key's statuses are read, and the paused one of the key is still there."""
    txn = store.transaction()
    paused = {}
    for key in ("a", "b"):
        invocation_id = ids.random_invocation_id(key)
        paused[key] = invocation_id
        status = st.InvocationStatus(
            service="Counter",
            key=key,
            handler="add",
            phase=st.PAUSED,
            service_type=pb.VIRTUAL_OBJECT,
        )
        status.last_failure.code, status.last_failure.message = 500, f"boom {key}"
        tables.put_status(txn, invocation_id, status)
    txn.commit(1)
    view = ReadView(store)
    try:
        where = {
            "target_service_name": frozenset({"Counter"}),
            "target_service_key": frozenset({"b"}),
        }
        table = rows.build("sys_invocation_state", view, [], where)
        assert table.column("id").to_pylist() == [paused["b"]]
        assert table.column("last_failure").to_pylist() == ["boom b"]
        assert rows.build("sys_invocation_state", view, [], {}).num_rows == 2
    finally:
        view.release()


def test_ddl_dml_and_bad_sql_are_query_errors() -> None:
    for sql in ("CREATE TABLE t (a INT)", "DROP TABLE state", "SET x = 1", "SELEC 1"):
        with pytest.raises(QueryError) as bad:
            engine.plan(sql)
        assert bad.value.status == 400 and bad.value.message.startswith("Datafusion error:")


async def test_a_query_worker_that_died_is_replaced(store: Store) -> None:
    """kill -9 of the worker process: the next query is refused with 503, the one after runs
    in a new worker."""
    queries = service(store)
    assert json.loads(await queries.run("SELECT 1 AS one", json=True)) == {"rows": [{"one": 1}]}
    pool = queries._worker._pool
    assert pool is not None
    for pid in list(pool._processes):
        os.kill(pid, signal.SIGKILL)
    await asyncio.sleep(0.5)
    with pytest.raises(QueryError) as died:
        await queries.run("SELECT 1 AS one", json=True)
    assert died.value.status == 503
    assert json.loads(await queries.run("SELECT 3 AS x", json=True)) == {"rows": [{"x": 3}]}
    await queries.close()


async def test_an_idle_worker_process_goes_and_the_next_query_starts_another(
    store: Store,
) -> None:
    """After `worker_idle_s` without a query the worker process exits (its memory with it); a
    query meanwhile keeps it; the next query after it went runs in a new one."""
    queries = service(store, worker_idle_s=0.4)
    assert json.loads(await queries.run("SELECT 1 AS one", json=True)) == {"rows": [{"one": 1}]}
    pool = queries._worker._pool
    assert pool is not None
    (pid,) = list(pool._processes)
    await asyncio.sleep(0.25)
    await queries.run("SELECT 2 AS two", json=True)  # used again: the idle time starts over
    await asyncio.sleep(0.25)
    assert queries._worker._pool is pool
    async with asyncio.timeout(10):
        while _alive(pid):
            await asyncio.sleep(0.05)
    assert queries._worker._pool is None
    assert json.loads(await queries.run("SELECT 3 AS x", json=True)) == {"rows": [{"x": 3}]}
    again = queries._worker._pool
    assert again is not None and pid not in again._processes
    await queries.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie not yet reaped counts as gone
        return stat.read().split()[2] != "Z"


def test_the_node_process_does_not_load_pyarrow_or_datafusion_until_it_must() -> None:
    """The query worker builds and runs queries: a node's own process maps neither library
    (about 45 MB of RSS) unless another group asks it for rows."""
    import subprocess
    import sys

    from node.query import schema, worker

    assert set(schema.PARTITIONED) == worker.PARTITIONED
    assert set(schema.TABLES) - worker.PARTITIONED == set(schema.GLOBAL)
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, node.server; print('pyarrow' in sys.modules, 'datafusion' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert loaded == ["False", "False"]


def test_the_plan_knows_the_columns_each_table_is_read_for() -> None:
    assert engine.plan("SELECT count(*) FROM sys_service").columns == {"sys_service": frozenset()}
    plan = engine.plan(
        "SELECT target_handler_name, count(1) FROM sys_invocation_status "
        "WHERE target_service_name = 'Counter' AND journal_size > 2 GROUP BY target_handler_name"
    )
    # The filters' columns too, pushed into the scan or not.
    assert plan.columns == {
        "sys_invocation_status": frozenset(
            {"target_handler_name", "target_service_name", "journal_size"}
        )
    }
    plan = engine.plan("SELECT id, status FROM sys_invocation WHERE target_service_key = 'k'")
    assert plan.columns["sys_invocation_status"] is not None
    assert {"id", "status", "target_service_key"} <= plan.columns["sys_invocation_status"]
    # A subquery joined in: the columns of both sides.
    plan = engine.plan(
        "SELECT id FROM sys_invocation_status WHERE target_service_name IN "
        "(SELECT name FROM sys_service)"
    )
    assert plan.columns == {
        "sys_invocation_status": frozenset({"id", "target_service_name"}),
        "sys_service": frozenset({"name"}),
    }


def test_a_table_built_for_some_columns_has_every_row_and_those_columns(store: Store) -> None:
    txn = store.transaction()
    made = []
    for n in range(5):
        invocation_id = ids.random_invocation_id(f"k{n}")
        made.append(invocation_id)
        status = st.InvocationStatus(
            service="Counter",
            key=f"k{n}",
            handler="add",
            phase=st.COMPLETED,
            service_type=pb.VIRTUAL_OBJECT,
            created_at_ms=1000 + n,
        )
        tables.put_status(txn, invocation_id, status)
    txn.commit(1)
    view = ReadView(store)
    try:
        full = rows.build("sys_invocation_status", view, [], {})
        for columns in (frozenset(), frozenset({"id"}), frozenset({"status", "target"})):
            some = rows.build("sys_invocation_status", view, [], {}, columns=columns)
            assert some.schema == full.schema and some.num_rows == len(made)
            for name in full.column_names:
                expected = full.column(name) if name in columns else [None] * len(made)
                assert some.column(name).to_pylist() == list(
                    expected.to_pylist() if isinstance(expected, pa.ChunkedArray) else expected
                ), (columns, name)
    finally:
        view.release()


def test_the_view_state_reuses_the_paused_statuses_its_query_met(store: Store) -> None:
    """Built after the statuses with the same narrowing, the invoker's state takes the paused
    invocations the status build met instead of parsing every status again (here the view is
    released in between: reading it would raise)."""
    txn = store.transaction()
    paused = ids.random_invocation_id("p")
    status = st.InvocationStatus(
        service="Counter", key="p", handler="add", phase=st.PAUSED, service_type=pb.VIRTUAL_OBJECT
    )
    status.last_failure.code, status.last_failure.message = 500, "boom"
    tables.put_status(txn, paused, status)
    done = st.InvocationStatus(service="Counter", key="d", handler="add", phase=st.COMPLETED)
    tables.put_status(txn, ids.random_invocation_id("d"), done)
    txn.commit(1)
    view, memo = ReadView(store), rows.Memo()
    assert rows.build("sys_invocation_status", view, [], {}, memo=memo).num_rows == 2
    view.release()
    state = rows.build("sys_invocation_state", view, [], {}, memo=memo)
    assert state.column("id").to_pylist() == [paused]
    assert state.column("last_failure").to_pylist() == ["boom"]
    with pytest.raises(RuntimeError, match="released"):  # another narrowing: not in the memo
        rows.build("sys_invocation_state", view, [], {"id": frozenset({paused})}, memo=memo)


def test_a_view_query_reading_only_the_join_id_of_the_state_builds_none_of_it() -> None:
    for sql in (
        "SELECT count(*) FROM sys_invocation",
        "SELECT COUNT(1) FROM (SELECT * FROM sys_invocation inv LIMIT 50000) "
        "WHERE status != 'completed'",
    ):
        plan = engine.plan(sql)
        assert plan.tables["sys_invocation_state"] == {"id": frozenset()}, sql
    plan = engine.plan("SELECT id FROM sys_invocation WHERE status = 'running'")
    assert "id" not in plan.tables["sys_invocation_state"]  # running is the invoker's: read


def test_a_limit_reaches_a_scan_only_where_any_rows_will_do(store: Store) -> None:
    estimate = (
        "SELECT COUNT(1) FROM (SELECT * FROM sys_invocation inv LIMIT 50000) "
        "WHERE status != 'completed'"
    )
    assert engine.plan(estimate).limits == {"sys_invocation_status": 50000}
    assert engine.plan("SELECT id FROM sys_invocation_status LIMIT 3").limits == {
        "sys_invocation_status": 3
    }
    for sql in (
        # The first rows that pass a filter, or the first in an order: not any rows.
        "SELECT id FROM sys_invocation_status WHERE journal_size > 2 LIMIT 10",
        "SELECT id FROM sys_invocation_status ORDER BY created_at LIMIT 10",
    ):
        assert engine.plan(sql).limits == {}, sql
    txn = store.transaction()
    for _ in range(5):
        status = st.InvocationStatus(service="Greeter", handler="greet", phase=st.COMPLETED)
        tables.put_status(txn, ids.random_invocation_id(None), status)
    txn.commit(1)
    view = ReadView(store)
    try:
        for columns in (None, frozenset({"id"})):
            table = rows.build("sys_invocation_status", view, [], {}, columns=columns, limit=2)
            assert table.num_rows == 2, columns
    finally:
        view.release()


def test_a_filter_on_the_status_narrows_the_read_to_the_statuses_it_lets_through() -> None:
    unfinished = frozenset({"inboxed", "scheduled", "invoked", "suspended", "paused"})
    cases = {
        "SELECT id FROM sys_invocation_status WHERE status != 'completed'": unfinished,
        "SELECT id FROM sys_invocation_status WHERE status NOT IN ('completed', 'paused') "
        "AND target_service_name = 'Counter'": unfinished - {"paused"},
        # The view's own status (the CLI's default list), as DataFusion simplifies its CASE.
        "SELECT id FROM sys_invocation inv WHERE status != 'completed' "
        "ORDER BY inv.created_at DESC, inv.id LIMIT 100": unfinished,
        # Running is the invoker's word for an invoked invocation with an attempt in flight.
        "SELECT id FROM sys_invocation WHERE status = 'running'": frozenset({"invoked"}),
    }
    for sql, statuses in cases.items():
        assert engine.plan(sql).tables["sys_invocation_status"]["status"] == statuses, sql
    for sql in (
        "SELECT id FROM sys_invocation_status WHERE status = 'completed' OR journal_size > 1",
        "SELECT id FROM sys_invocation_status WHERE lower(target) = status",
    ):
        assert "status" not in engine.plan(sql).tables["sys_invocation_status"], sql


def test_unfinished_invocations_are_read_through_their_index(store: Store) -> None:
    """A read narrowed to unfinished statuses takes them from the index, once the store has it
    whole: a store written before (no marker) is read in full, and gets the index once."""
    made: dict[int, str] = {}
    txn = store.transaction()
    for phase in (st.INBOXED, st.INVOKED, st.SUSPENDED, st.PAUSED, st.COMPLETED):
        invocation_id = ids.random_invocation_id(f"k{phase}")
        made[phase] = invocation_id
        status = st.InvocationStatus(service="Counter", key=f"k{phase}", handler="add", phase=phase)
        tables.put_status(txn, invocation_id, status)
    # What a store written before the index held every phase looks like: INVOKED only.
    for phase in (st.INBOXED, st.SUSPENDED, st.PAUSED):
        txn.delete(keys.active(made[phase]))
    txn.put(keys.active(made[st.INVOKED]), b"")
    txn.commit(1)
    not_done = {"status": frozenset({"inboxed", "suspended", "paused", "invoked"})}

    def ids_read() -> list[str]:
        view = ReadView(store)
        try:
            return sorted(rows.build("sys_invocation_status", view, [], not_done)["id"].to_pylist())
        finally:
            view.release()

    everything = sorted(made.values())
    assert ids_read() == everything  # no marker: every status (the query filters them)
    assert tables.active_invocations(store) == [made[st.INVOKED]]
    assert tables.index_unfinished(store) == 4
    assert tables.index_unfinished(store) == 0  # once
    assert ids_read() == sorted(v for p, v in made.items() if p != st.COMPLETED)
    assert tables.active_invocations(store) == [made[st.INVOKED]]
    # The index follows later writes: completed leaves it, a new invocation enters it.
    txn = store.transaction()
    done = st.InvocationStatus(service="Counter", key="k1", handler="add", phase=st.COMPLETED)
    tables.put_status(txn, made[st.INBOXED], done)
    txn.commit(2)
    assert made[st.INBOXED] not in ids_read()


def test_the_invokers_state_finds_paused_invocations_through_the_index(store: Store) -> None:
    txn = store.transaction()
    paused = ids.random_invocation_id(None)
    status = st.InvocationStatus(service="Greeter", handler="greet", phase=st.PAUSED)
    status.last_failure.code, status.last_failure.message = 500, "boom"
    tables.put_status(txn, paused, status)
    for _ in range(3):
        done = st.InvocationStatus(service="Greeter", handler="greet", phase=st.COMPLETED)
        tables.put_status(txn, ids.random_invocation_id(None), done)
    txn.commit(1)

    def state_ids() -> list[str]:
        view = ReadView(store)
        try:
            return list(rows.build("sys_invocation_state", view, [], {})["id"].to_pylist())
        finally:
            view.release()

    assert state_ids() == [paused]  # (no marker: every status read)
    tables.index_unfinished(store)
    assert state_ids() == [paused]
    # Read through the index, not the statuses: an entry missing from it is not found.
    txn = store.transaction()
    txn.delete(keys.active(paused))
    txn.commit(2)
    assert state_ids() == []
