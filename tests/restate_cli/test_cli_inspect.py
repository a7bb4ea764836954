"""The restate CLI's read-only verbs against a real Perdure node: whoami, deployments,
services, invocations list/describe, sql. Each asserts the ids and values Perdure holds."""

from __future__ import annotations

import json
import re

from node.local import http
from tests.restate_cli.conftest import Perdure


def test_whoami_reaches_the_admin_api(perdure: Perdure) -> None:
    out = perdure.restate("whoami")
    assert perdure.node.admin_url in out
    assert "Could not connect" not in out


def test_deployments_list_and_describe_show_the_deployment_and_its_services(
    perdure: Perdure,
) -> None:
    listed = perdure.restate("deployments", "list")
    assert perdure.deployment_id in listed and perdure.deployment.uri in listed
    for service in ("Greeter", "Counter", "Payment", "Flaky", "Sleeper"):
        assert service in listed
    described = perdure.restate("deployments", "describe", perdure.deployment_id)
    assert perdure.deployment_id in described
    assert "add" in described and "Revision: 1 [Latest]" in described
    print(listed, described)


def test_services_list_describe_and_config_view(perdure: Perdure) -> None:
    listed = perdure.restate("services", "list")
    assert "virtual object" in listed and "workflow" in listed and perdure.deployment_id in listed
    described = perdure.restate("services", "describe", "Counter")
    assert "VirtualObject" in described and "add" in described and "get" in described
    config = perdure.restate("services", "config", "view", "Counter")
    assert "Idempotent requests retention:  1d" in config
    assert "Inactivity timeout:  1m" in config
    assert "Abort timeout:  10m" in config


def test_sql_answers_with_the_rows_of_the_system_tables(perdure: Perdure) -> None:
    status, head, out = perdure.call("/Greeter/greet", "sql")
    assert status == 200, out
    invocation_id = head["x-restate-id"]
    out_text = perdure.restate(
        "sql", f"SELECT id, target, status FROM sys_invocation WHERE id = '{invocation_id}'"
    )
    assert invocation_id in out_text and "Greeter/greet" in out_text and "completed" in out_text
    counted = perdure.restate("sql", "SELECT COUNT(*) AS n FROM sys_service")
    services = json.loads(http("GET", perdure.node.admin_url + "/services")[2])["services"]
    assert re.search(rf"\b{len(services)}\b", counted), counted


def test_invocations_list_and_describe_show_status_journal_and_last_failure(
    perdure: Perdure,
) -> None:
    payment = perdure.send("/Payment/p1/run", 10)
    flaky = perdure.send("/Flaky/fail", "describe-me")
    perdure.wait_status(payment, "suspended")
    perdure.wait_status(flaky, "backing-off")
    listed = perdure.restate("invocations", "list")
    assert payment in listed and flaky in listed
    assert "Payment/p1/run" in listed and "suspended" in listed
    assert "flaky failure: describe-me" in listed
    described = perdure.restate("invocations", "describe", payment)
    assert "Payment/p1/run" in described and "suspended" in described
    assert perdure.deployment_id in described  # pinned by its first journal entry
    assert "[PENDING] #1 Promise approval" in described  # the journal: what it waits on
    described = perdure.restate("invocations", "describe", flaky)
    assert "backing-off" in described and "flaky failure: describe-me" in described
    perdure.restate("invocations", "kill", flaky)
