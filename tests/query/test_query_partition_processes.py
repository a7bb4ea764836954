"""/query on a node with two partition processes: the admin process merges its own group's rows
with the other group's, fetched over the fabric (the QUERY method)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from node.local import LocalDeployment, LocalNode, http
from partition import ids
from partition.routing import Partitioning

JSON = {"content-type": "application/json"}


def keys_in_each_group(per_group: int) -> list[str]:
    partitioning = Partitioning(24, 2)
    chosen: dict[int, list[str]] = {0: [], 1: []}
    n = 0
    while min(len(v) for v in chosen.values()) < per_group:
        key = f"k{n}"
        group = partitioning.group_of_key(ids.partition_key(key))
        if len(chosen[group]) < per_group:
            chosen[group].append(key)
        n += 1
    return chosen[0] + chosen[1]


def test_rows_of_every_partition_process_are_merged(tmp_path: Path) -> None:
    deployment = LocalDeployment(tmp_path / "deployment.log")
    node = LocalNode(tmp_path / "data", extra_env={"PERDURE_PARTITION_PROCESSES": "2"})
    try:
        deployment.start()
        node.start()
        node.register(deployment.uri)
        keys = keys_in_each_group(3)
        for key in keys:
            status, _, out = http("POST", f"{node.ingress_url}/Counter/{key}/add", b"2", JSON)
            assert status == 200, out

        def query(sql: str, accept: str = "application/json") -> bytes:
            status, _, body = http(
                "POST",
                node.admin_url + "/v4/query",
                json.dumps({"query": sql}).encode(),
                {**JSON, "accept": accept},
            )
            assert status == 200, body
            return body

        count = pa.ipc.open_stream(query("SELECT COUNT(*) FROM sys_invocation", "*/*")).read_all()
        assert count.column(0).to_pylist() == [len(keys)]
        rows = json.loads(query("SELECT service_key, value_utf8 FROM state ORDER BY service_key"))
        assert rows["rows"] == [{"service_key": k, "value_utf8": "2"} for k in sorted(keys)]
        one = keys[-1]  # a key of group 1, read through the fabric with its filter pushed down
        rows = json.loads(
            query(
                "select key, value from state where service_name = 'Counter' "
                f"and service_key = '{one}' ;"
            )
        )
        assert rows["rows"] == [{"key": "count", "value": "32"}]
        services = json.loads(query("SELECT name FROM sys_service WHERE name = 'Counter'"))
        assert services["rows"] == [{"name": "Counter"}]  # the registry is not repeated per group
    finally:
        node.stop()
        deployment.stop()
