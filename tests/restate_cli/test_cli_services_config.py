"""`restate services config patch|edit|view` against a real node of two partition processes:
PATCH /services/{name} goes through every group's log like a registration, so both processes'
ingresses apply it, GET /services reports it, and it survives a restart."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from node.local import http
from tests.query.test_query_partition_processes import keys_in_each_group
from tests.restate_cli.cli import RestateCli
from tests.restate_cli.conftest import JSON, Perdure, start_perdure


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory, cli: RestateCli) -> Iterator[Perdure]:
    running = start_perdure(
        tmp_path_factory.mktemp("services-config"), cli, {"PERDURE_PARTITION_PROCESSES": "2"}
    )
    try:
        yield running
    finally:
        running.node.stop()
        running.deployment.stop()


def service(perdure: Perdure, name: str) -> dict[str, Any]:
    status, _, body = http("GET", f"{perdure.node.admin_url}/v4/services/{name}")
    assert status == 200, body
    described: dict[str, Any] = json.loads(body)
    return described


def editor(perdure: Perdure, toml: str) -> Path:
    """A RESTATE_EDITOR program that replaces the file the CLI opens with `toml`."""
    script = perdure.tmp / "config-editor"
    script.write_text(f"#!{sys.executable}\nimport sys\nopen(sys.argv[1], 'w').write({toml!r})\n")
    script.chmod(0o755)
    return script


def test_config_patch_changes_the_retention_in_every_group(two: Perdure) -> None:
    out = two.restate("services", "config", "patch", "Counter", "--idempotency-retention", "5h")
    assert "5h" in out
    assert service(two, "Counter")["idempotency_retention"] == "5 hours"
    viewed = two.restate("services", "config", "view", "Counter")
    assert re.search(r"Idempotent requests retention:\s+5h\s", viewed), viewed
    # applied by each group's state machine: an idempotent result is kept 5 hours there
    keys = keys_in_each_group(2)
    for key in keys:
        status, _, body = http(
            "POST",
            f"{two.node.ingress_url}/Counter/{key}/add",
            b"1",
            {**JSON, "idempotency-key": "once"},
        )
        assert status == 200, body
    rows = two.query(
        "SELECT completion_retention FROM sys_invocation WHERE idempotency_key = 'once'"
    )
    assert [r["completion_retention"] for r in rows] == ["PT18000S"] * len(keys), rows


def test_config_edit_makes_a_service_private_on_both_processes_until_patched_back(
    two: Perdure,
) -> None:
    toml = 'public = false\ninactivity_timeout = "2min"\nabort_timeout = "3min"\n'
    two.restate("services", "config", "edit", "Greeter", editor=editor(two, toml))
    described = service(two, "Greeter")
    assert described["public"] is False
    assert (described["inactivity_timeout"], described["abort_timeout"]) == (
        "2 minutes",
        "3 minutes",
    )
    for _ in range(8):  # whichever process the ingress connection lands on
        status, _, out = two.call("/Greeter/greet", "x")
        assert status == 400 and "not public" in str(out), out
    two.restate("services", "config", "patch", "Greeter", "--public", "true")
    status, _, out = two.call("/Greeter/greet", "x")
    assert status == 200, out


def test_service_changes_survive_a_restart(two: Perdure) -> None:
    body = {
        "retry_policy": {"max_attempts": 3, "on_max_attempts": "Kill", "initial_interval": "1s"}
    }
    status, _, out = http(
        "PATCH", f"{two.node.admin_url}/services/Flaky", json.dumps(body).encode(), JSON
    )
    assert status == 200, out
    policy = json.loads(out)["retry_policy"]
    assert (policy["max_attempts"], policy["on_max_attempts"]) == (3, "Kill")
    two.node.stop()
    two.node.start()
    after = service(two, "Flaky")["retry_policy"]
    assert (after["max_attempts"], after["on_max_attempts"], after["initial_interval"]) == (
        3,
        "Kill",
        "1 second",
    )
    assert service(two, "Counter")["idempotency_retention"] == "5 hours"
    # the invoker applies it: a failing invocation is killed after 3 attempts, not paused
    flaky = two.send("/Flaky/fail", "three strikes")
    two.wait_status(flaky, "completed")


def test_patch_refuses_what_restate_refuses(two: Perdure) -> None:
    cases = [
        ("Nope", {"public": True}, 404),
        ("Counter", {"public": "yes"}, 400),
        ("Counter", {"workflow_completion_retention": "1h"}, 400),  # not a workflow
        ("Counter", {"abort_timeout": "soon"}, 400),
    ]
    for name, body, code in cases:
        status, _, out = http(
            "PATCH", f"{two.node.admin_url}/services/{name}", json.dumps(body).encode(), JSON
        )
        assert status == code, (name, body, out)
