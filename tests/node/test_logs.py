"""Structured logs (node/logs.py): JSON lines with the invocation's id, service, handler and
partition on every line about an invocation; the same fields in text logs."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from node import logs
from node.local import http
from partition.ids import invocation_id
from partition.routing import Partitioning
from tests.e2e.conftest import running_cluster


def record(message: str, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("node.invoker", logging.WARNING, __file__, 1, message, (), None)
    for name, value in extra.items():
        setattr(rec, name, value)
    return rec


def test_json_lines_carry_the_invocation_fields_and_the_traceback() -> None:
    logs.set_partitioning(Partitioning(partitions=24, groups=2))
    inv = invocation_id(2**63, b"\x01" * 16)
    fields = logs.invocation(inv, "Counter", "add")
    assert fields["partition"] == 12  # the middle of the key space
    line = json.loads(logs.JsonFormatter("n1", 1).format(record("attempt failed", **fields)))
    assert line["message"] == "attempt failed" and line["level"] == "warning"
    assert (line["node"], line["group"], line["logger"]) == ("n1", 1, "node.invoker")
    assert (line["invocation_id"], line["service"], line["handler"]) == (inv, "Counter", "add")
    assert line["time"].endswith("Z") and "T" in line["time"]
    try:
        raise ValueError("boom")
    except ValueError:
        failed = record("crashed")
        failed.exc_info = sys.exc_info()
    line = json.loads(logs.JsonFormatter("n1", 0).format(failed))
    assert "ValueError: boom" in line["exception"] and "invocation_id" not in line
    text = logs.TextFormatter().format(record("attempt failed", **fields))
    assert text.endswith(
        f"attempt failed [invocation_id={inv} service=Counter handler=add partition=12]"
    )
    assert logs.invocation("not-an-id") == {"invocation_id": "not-an-id"}


def test_a_node_with_json_logs_writes_only_json_lines_naming_the_invocation(
    tmp_path: Path,
) -> None:
    json_logs = {"PERDURE_LOG_FORMAT": "json"}
    with running_cluster(
        tmp_path, "tests.e2e.services:app", {"E2E_DIR": str(tmp_path)}, json_logs
    ) as cluster:
        status, _, body = http(
            "POST",
            cluster.ingress + "/Flaky/twice_failing",
            b'"logs"',
            {"content-type": "application/json", "idempotency-key": "logs"},
        )
        assert status == 200 and json.loads(body) == "ab"
    lines = [json.loads(line) for line in (tmp_path / "data.log").read_text().splitlines()]
    failed = [
        line for line in lines if "attempt" in line["message"] and "failed" in line["message"]
    ]
    assert len(failed) == 2, failed  # the step failed twice, then succeeded
    for line in failed:
        assert line["invocation_id"].startswith("inv_1")
        assert (line["service"], line["handler"]) == ("Flaky", "twice_failing")
        assert 0 <= line["partition"] < 24 and line["node"] and line["level"] == "info"
