"""A real node (one partition process) with the CLI test services registered, shared by the
tests of a module; the restate CLI installed from npm."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from node.local import LocalDeployment, LocalNode, http, wait_until
from tests.restate_cli.cli import RestateCli

JSON = {"content-type": "application/json"}


@dataclass
class Perdure:
    node: LocalNode
    deployment: LocalDeployment
    deployment_id: str
    cli: RestateCli
    tmp: Path

    def restate(self, *args: str, editor: Path | None = None) -> str:
        return self.cli.ok(self.node.admin_url, *args, editor=editor)

    def call(self, path: str, body: Any) -> tuple[int, dict[str, str], Any]:
        status, head, out = http(
            "POST", self.node.ingress_url + path, json.dumps(body).encode(), JSON
        )
        return status, head, json.loads(out) if out else None

    def send(self, path: str, body: Any) -> str:
        status, _, out = self.call(path + "/send", body)
        assert status == 202, out
        invocation_id: str = out["invocationId"]
        return invocation_id

    def query(self, sql: str) -> list[dict[str, Any]]:
        status, _, body = http(
            "POST",
            self.node.admin_url + "/v4/query",
            json.dumps({"query": sql}).encode(),
            {**JSON, "accept": "application/json"},
        )
        assert status == 200, body
        rows: list[dict[str, Any]] = json.loads(body)["rows"]
        return rows

    def status_of(self, invocation_id: str) -> str | None:
        rows = self.query(f"SELECT status FROM sys_invocation WHERE id = '{invocation_id}'")
        return rows[0]["status"] if rows else None

    def wait_status(self, invocation_id: str, *statuses: str, timeout: float = 30) -> None:
        wait_until(
            lambda: self.status_of(invocation_id) in statuses,
            timeout,
            f"{invocation_id} to be {' or '.join(statuses)}",
        )


def start_perdure(tmp: Path, cli: RestateCli, env: dict[str, str] | None = None) -> Perdure:
    deployment = LocalDeployment(tmp / "deployment.log", app="tests.restate_cli.services:app")
    node = LocalNode(tmp / "data", extra_env=env or {})
    deployment.start()
    try:
        node.start()
        registered = node.register(deployment.uri)
    except BaseException:
        node.stop()
        deployment.stop()
        raise
    return Perdure(node, deployment, str(registered["id"]), cli, tmp)


@pytest.fixture(scope="module")
def cli() -> RestateCli:
    return RestateCli.installed()


@pytest.fixture(scope="module")
def perdure(tmp_path_factory: pytest.TempPathFactory, cli: RestateCli) -> Iterator[Perdure]:
    running = start_perdure(tmp_path_factory.mktemp("restate-cli"), cli)
    try:
        yield running
    finally:
        running.node.stop()
        running.deployment.stop()
