# ruff: noqa: E501  (the restate CLI's SQL is kept verbatim, long lines included)
"""POST /query against a real node process and a real deployment: each system table's rows after
real invocations, and the exact SQL the restate CLI 1.7 sends (research/restate-ops.md B.3)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from node.local import LocalDeployment, LocalNode, http, wait_until

JSON = {"content-type": "application/json"}
RFC3339_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


@dataclass
class Seeded:
    node: LocalNode
    greet: str  # completed successfully
    add: str  # Counter/alice/add, completed
    payment: str  # Payment/p1/run: suspended on its promise
    flaky: str  # Flaky/fail: retried, backing off


def call(node: LocalNode, path: str, body: Any) -> tuple[int, dict[str, str], bytes]:
    return http("POST", node.ingress_url + path, json.dumps(body).encode(), JSON)


def query(node: LocalNode, sql: str, accept: str | None = "application/json") -> Any:
    headers = dict(JSON) if accept is None else {**JSON, "accept": accept}
    status, head, body = http(
        "POST", node.admin_url + "/v4/query", json.dumps({"query": sql}).encode(), headers
    )
    assert status == 200, (status, body)
    if accept == "application/json":
        assert head["content-type"] == "application/json"
        return json.loads(body)["rows"]
    assert head["content-type"] == "application/vnd.apache.arrow.stream"
    return pa.ipc.open_stream(body).read_all()


def refused(node: LocalNode, sql: str) -> tuple[int, dict[str, Any]]:
    status, _, body = http(
        "POST",
        node.admin_url + "/query",
        json.dumps({"query": sql}).encode(),
        {**JSON, "accept": "application/json"},
    )
    return status, json.loads(body)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    directory: Path = tmp_path_factory.mktemp("query")
    deployment = LocalDeployment(directory / "deployment.log", app="tests.query.services:app")
    node = LocalNode(directory / "data")
    try:
        deployment.start()
        node.start()
        node.register(deployment.uri)
        ids = {}
        for name, path, body in (
            ("greet", "/Greeter/greet", "bob"),
            ("add", "/Counter/alice/add", 3),
        ):
            status, head, out = call(node, path, body)
            assert status == 200, out
            ids[name] = head["x-restate-id"]
        for name, path, body in (
            ("payment", "/Payment/p1/run/send", 10),
            ("flaky", "/Flaky/fail/send", "boom"),
        ):
            status, _, out = call(node, path, body)
            assert status == 202, out
            ids[name] = json.loads(out)["invocationId"]
        seeded = Seeded(node, **ids)

        def settled() -> bool:
            rows = query(
                node,
                f"SELECT status, retry_count FROM sys_invocation WHERE id IN "
                f"('{seeded.payment}', '{seeded.flaky}') ORDER BY id",
            )
            statuses = {r["status"] for r in rows}
            return statuses <= {"suspended", "backing-off"} and len(statuses) == 2

        wait_until(settled, 30, "the workflow to suspend and the flaky invocation to back off")
        yield seeded
    finally:
        node.stop()
        deployment.stop()


def test_sys_invocation_computes_restates_statuses(seeded: Seeded) -> None:
    rows = query(seeded.node, "SELECT * FROM sys_invocation")
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == {seeded.greet, seeded.add, seeded.payment, seeded.flaky}
    greet, add = by_id[seeded.greet], by_id[seeded.add]
    assert greet["target"] == "Greeter/greet"
    assert greet["target_service_ty"] == "service"
    assert "target_service_key" not in greet  # null columns are left out of the row
    assert greet["status"] == "completed" and greet["completion_result"] == "success"
    assert add["target"] == "Counter/alice/add"
    assert add["target_service_key"] == "alice"
    assert add["target_service_ty"] == "virtual_object"
    assert RFC3339_MS_Z.match(add["created_at"]), add["created_at"]
    payment = by_id[seeded.payment]
    assert payment["status"] == "suspended"
    assert payment["target"] == "Payment/p1/run"
    assert payment["target_service_ty"] == "workflow"
    flaky = by_id[seeded.flaky]
    assert flaky["status"] == "backing-off"
    assert flaky["retry_count"] >= 1
    assert "flaky failure: boom" in flaky["last_failure"]
    assert RFC3339_MS_Z.match(flaky["next_retry_at"])
    # Nothing was journaled, so nothing is pinned yet; the invoker knows where it ran.
    assert "pinned_deployment_id" not in flaky
    assert flaky["last_attempt_deployment_id"].startswith("dp_")
    assert payment["pinned_deployment_id"] == flaky["last_attempt_deployment_id"]


def test_raw_status_state_journal_promise_lock_tables(seeded: Seeded) -> None:
    node = seeded.node
    statuses = {r["id"]: r["status"] for r in query(node, "SELECT * FROM sys_invocation_status")}
    assert statuses[seeded.payment] == "suspended"
    assert statuses[seeded.flaky] == "invoked"
    assert statuses[seeded.greet] == "completed"
    (state,) = query(node, "SELECT * FROM state")
    assert state["service_name"] == "Counter" and state["service_key"] == "alice"
    assert state["key"] == "count" and state["value_utf8"] == "3"
    assert state["value"] == "33"  # bytes as lowercase hex
    journal = query(node, f"SELECT * FROM sys_journal WHERE id = '{seeded.payment}'")
    assert [(j["index"], j["entry_type"], j["completed"]) for j in journal] == [
        (1, "GetPromise", False)
    ]
    assert journal[0]["promise_name"] == "approval" and journal[0]["version"] == 1
    (promise,) = query(node, "SELECT * FROM sys_promise")
    assert (promise["service_name"], promise["service_key"], promise["key"]) == (
        "Payment",
        "p1",
        "approval",
    )
    assert promise["completed"] is False
    (lock,) = query(node, "SELECT * FROM sys_keyed_service_status")
    assert lock == {
        "partition_key": lock["partition_key"],
        "service_name": "Payment",
        "service_key": "p1",
        "invocation_id": seeded.payment,
    }
    assert query(node, "SELECT * FROM sys_inbox") == []
    (state_row,) = query(node, f"SELECT * FROM sys_invocation_state WHERE id = '{seeded.flaky}'")
    assert state_row["in_flight"] in (True, False) and state_row["retry_count"] >= 1


def test_registry_tables(seeded: Seeded) -> None:
    services = query(
        seeded.node, "SELECT name, ty, public, revision FROM sys_service ORDER BY name"
    )
    assert [(s["name"], s["ty"]) for s in services] == [
        ("Counter", "virtual_object"),
        ("Flaky", "service"),
        ("Greeter", "service"),
        ("Payment", "workflow"),
        ("Steps", "service"),
    ]
    assert all(s["public"] is True and s["revision"] == 1 for s in services)
    (deployment,) = query(seeded.node, "SELECT * FROM sys_deployment")
    assert deployment["id"].startswith("dp_") and deployment["ty"] == "http"
    assert sorted(deployment["services"]) == ["Counter", "Flaky", "Greeter", "Payment", "Steps"]


def test_arrow_schemas_have_restates_columns_and_types(seeded: Seeded) -> None:
    counts = {
        "sys_invocation_status": 38,
        "sys_invocation_state": 17,
        "sys_journal": 16,
        "state": 9,
        "sys_inbox": 6,
        "sys_promise": 9,
        "sys_keyed_service_status": 4,
        "sys_service": 5,
        "sys_deployment": 7,
    }
    for table, n in counts.items():
        got = query(seeded.node, f"SELECT * FROM {table} LIMIT 0", accept=None).schema
        assert len(got) == n, (table, got.names)
    status = query(seeded.node, "SELECT * FROM sys_invocation_status", accept="*/*").schema
    assert status.field("partition_key").type == pa.uint64()
    assert status.field("id").type == pa.large_utf8()
    assert status.field("created_at").type == pa.timestamp("ms", tz="+00:00")
    assert status.field("completion_retention").type == pa.duration("ms")
    assert status.field("suspended_waiting_for_completions").type == pa.list_(pa.uint32())
    state = query(seeded.node, "SELECT * FROM state", accept=None).schema
    assert state.field("value").type == pa.large_binary()
    view = query(seeded.node, "SELECT status, retry_count FROM sys_invocation", accept=None)
    assert view.schema.field("status").type == pa.large_utf8()


def cli_filter(service: str) -> str:
    return f"WHERE inv.target_service_name IN ('{service}') AND status != 'completed'"


def test_cli_invocations_list(seeded: Seeded) -> None:
    """`restate invocations list --service Flaky`: the count (Arrow, Int64, the derived-table
    alias quirk), the ids and the details."""
    node = seeded.node
    count = query(
        node,
        f"""SELECT COUNT(1) FROM (SELECT
            *
        FROM sys_invocation inv
        LIMIT 50000
        )
        {cli_filter("Flaky")}""",
        accept="*/*",
    )
    assert count.schema.field(0).type == pa.int64()
    assert count.column(0).to_pylist() == [1]
    ids = query(
        node,
        f"""SELECT
            id
        FROM sys_invocation inv
        {cli_filter("Flaky")}
        ORDER BY inv.created_at DESC, inv.id
        LIMIT 100""",
    )
    assert ids == [{"id": seeded.flaky}]
    (details,) = query(node, details_sql(f"{cli_filter('Flaky')} AND inv.id in ('{seeded.flaky}')"))
    assert details["id"] == seeded.flaky
    assert details["target"] == "Flaky/fail"
    assert details["target_service_ty"] == "service"
    assert details["status"] == "backing-off"
    assert details["pinned_deployment_exists"] is False  # (it failed before journaling)
    assert details["num_retries"] >= 1
    assert "flaky failure: boom" in details["last_failure_message"]
    assert RFC3339_MS_Z.match(details["created_at"])
    # Without a filter: everything not completed, newest first.
    everything = query(
        node,
        "SELECT id FROM sys_invocation inv WHERE status != 'completed' "
        "ORDER BY inv.created_at DESC, inv.id LIMIT 100",
    )
    assert [r["id"] for r in everything] == [seeded.flaky, seeded.payment]


def details_sql(where: str) -> str:
    return f"""SELECT
            inv.id, inv.target, inv.target_service_ty, inv.idempotency_key, inv.status, inv.created_at,
            inv.modified_at as state_modified_at, inv.pinned_deployment_id, inv.retry_count as num_retries,
            inv.last_failure as last_failure_message,
            inv.last_failure_related_entry_index as last_failure_entry_index,
            inv.last_failure_related_entry_name as last_failure_entry_name,
            inv.last_failure_related_entry_type as last_failure_entry_ty,
            inv.last_attempt_deployment_id, inv.last_attempt_server, inv.next_retry_at, inv.last_start_at,
            inv.invoked_by_id, inv.invoked_by_target, inv.trace_id, inv.completion_result, inv.completion_failure,
            dp.id IS NOT NULL as pinned_deployment_exists
        FROM sys_invocation inv
        LEFT JOIN sys_deployment dp ON dp.id = inv.pinned_deployment_id
        {where}
        """


def test_cli_invocations_describe(seeded: Seeded) -> None:
    node, invocation = seeded.node, seeded.payment
    (details,) = query(
        node, details_sql(f"WHERE inv.id = '{invocation}' AND inv.id in ('{invocation}')")
    )
    assert details["status"] == "suspended" and details["target"] == "Payment/p1/run"
    assert details["pinned_deployment_exists"] is True
    for columns, expected in (
        ("('promise_name')", 1),
        ("('version', 'entry_json', 'appended_at')", 3),
    ):
        count = query(
            node,
            f"""SELECT COUNT(*) FROM information_schema.columns
            WHERE
                table_name = 'sys_journal'
                AND column_name IN {columns}""",
            accept="*/*",
        )
        assert count.schema.field(0).type == pa.int64()
        assert count.column(0).to_pylist() == [expected]
    journal = query(
        node,
        f"""SELECT
            sj.index, sj.entry_type, sj.completed, sj.invoked_id, sj.invoked_target, sj.sleep_wakeup_at,
            sj.name, sj.promise_name, sj.version, sj.entry_json, sj.appended_at
        FROM sys_journal sj
        WHERE
            sj.id = '{invocation}'
        ORDER BY index DESC
        LIMIT 100""",
    )
    assert journal == [
        {
            "index": 1,
            "entry_type": "GetPromise",
            "completed": False,
            "promise_name": "approval",
            "version": 1,
        }
    ]
    # The fallbacks the CLI substitutes for missing columns parse and run.
    (fallback,) = query(
        node,
        "SELECT CAST(NULL as STRING) AS promise_name, CAST(1 as INT UNSIGNED) AS version, "
        "CAST(NULL as TIMESTAMP) AS appended_at",
    )
    assert fallback == {"version": 1}


def test_cli_state_get_and_clear(seeded: Seeded) -> None:
    node = seeded.node
    rows = query(
        node,
        "select key, value from state where service_name = 'Counter' and service_key = 'alice' ;",
    )
    assert rows == [{"key": "count", "value": "33"}]
    assert (
        query(
            node,
            "select key, value from state where service_name = 'Counter' and service_key = 'nobody' ;",
        )
        == []
    )
    rows = query(
        node,
        "SELECT service_name, service_key, key, value FROM state WHERE service_name = 'Counter'",
    )
    assert rows == [
        {"service_name": "Counter", "service_key": "alice", "key": "count", "value": "33"}
    ]


def test_cli_bulk_and_services_status_queries(seeded: Seeded) -> None:
    node = seeded.node
    rows = query(
        node,
        "SELECT id, target FROM sys_invocation_status WHERE target LIKE 'Flaky/%' "
        "AND status != 'completed' LIMIT 500",
    )
    assert rows == [{"id": seeded.flaky, "target": "Flaky/fail"}]
    rows = query(
        node,
        "SELECT id, target FROM sys_invocation_status WHERE target LIKE 'Payment/%' "
        "AND status IN ('invoked', 'suspended') LIMIT 500",
    )
    assert rows == [{"id": seeded.payment, "target": "Payment/p1/run"}]
    (deployment,) = query(node, "SELECT id FROM sys_deployment")
    count = query(
        node,
        "SELECT COUNT(1) AS inv_count FROM sys_invocation_status "
        f"WHERE pinned_deployment_id = '{deployment['id']}' AND status != 'completed'",
        accept="*/*",
    )
    assert count.column(0).to_pylist() == [1]  # the workflow (the flaky one is not pinned)
    pending = query(
        node,
        "SELECT target_service_name, target_handler_name, 'pending' as status, "
        "COUNT(1) as num_invocations, MIN(created_at) as oldest_at, "
        "FIRST_VALUE(id ORDER BY created_at ASC) as oldest_invocation "
        "FROM sys_invocation_status WHERE status == 'invoked' AND target_service_name IN ('Flaky') "
        "GROUP BY target_service_name, target_handler_name",
    )
    assert pending[0]["oldest_invocation"] == seeded.flaky
    assert pending[0]["num_invocations"] == 1


def test_filters_pushed_down_give_the_same_rows_as_a_full_scan(seeded: Seeded) -> None:
    node = seeded.node
    full = query(node, "SELECT id, status FROM sys_invocation ORDER BY id")
    for row in full:
        narrowed = query(node, f"SELECT id, status FROM sys_invocation WHERE id = '{row['id']}'")
        assert narrowed == [row]
    either = query(
        node,
        f"SELECT id FROM sys_invocation WHERE id = '{seeded.greet}' OR target_service_name = "
        "'Flaky' ORDER BY id",
    )
    assert sorted(r["id"] for r in either) == sorted([seeded.greet, seeded.flaky])
    # count(*) and id-only reads skip decoding the statuses: the same rows all the same.
    (counted,) = query(node, "SELECT count(*) AS n FROM sys_invocation")
    assert counted["n"] == len(full)
    ids = query(node, "SELECT id FROM sys_invocation_status ORDER BY id")
    assert [r["id"] for r in ids] == [r["id"] for r in full]
    # A key becomes a prefix scan (its partition key starts its invocations' ids).
    keyed = query(
        node,
        "SELECT id, target_service_key AS k FROM sys_invocation "
        "WHERE target_service_key IS NOT NULL ORDER BY id",
    )
    assert keyed
    for key in {r["k"] for r in keyed}:
        by_key = query(
            node, f"SELECT id FROM sys_invocation WHERE target_service_key = '{key}' ORDER BY id"
        )
        assert [r["id"] for r in by_key] == [r["id"] for r in keyed if r["k"] == key], key


def test_bad_queries_are_refused_with_400(seeded: Seeded) -> None:
    node = seeded.node
    for sql, text in (
        ("selec 1", "SQL error"),
        ("SELECT nope FROM sys_invocation", "nope"),
        ("SELECT * FROM nodes", "not found"),
        ("CREATE TABLE x (a INT)", "DDL not supported"),
        ("INSERT INTO sys_service VALUES ('a', 1, true, 'service', 'dp')", ""),
        ("DELETE FROM state", ""),
    ):
        status, body = refused(node, sql)
        assert status == 400, (sql, body)
        assert body["message"].startswith("Datafusion error: ") and text in body["message"]
    for path, raw, expected in (
        ("/query", b"{", b"not valid JSON"),
        ("/query", b'{"sql": "SELECT 1"}', b"must be"),
        ("/v1/query", b'{"query": "SELECT 1"}', b"Unsupported Admin API version V1"),
    ):
        status, _, answer = http("POST", node.admin_url + path, raw, JSON)
        assert status == 400 and expected in answer, (path, answer)
    assert http("GET", node.admin_url + "/query")[0] == 405
