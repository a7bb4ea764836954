from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from node.local import LocalDeployment, LocalNode


@dataclass
class Cluster:
    node: LocalNode
    deployment: LocalDeployment
    dir: Path

    @property
    def ingress(self) -> str:
        return self.node.ingress_url

    def lines(self, file: str) -> list[str]:
        path = self.dir / file
        return path.read_text().splitlines() if path.exists() else []


@contextmanager
def running_cluster(
    directory: Path,
    app: str,
    deployment_env: dict[str, str] | None = None,
    node_env: dict[str, str] | None = None,
) -> Iterator[Cluster]:
    """A real node process and a real deployment process serving `app`, registered; both are
    stopped (by PID) on exit."""
    deployment = LocalDeployment(
        directory / "deployment.log", app=app, extra_env=deployment_env or {}
    )
    node = LocalNode(directory / "data", extra_env=node_env or {})
    try:
        deployment.start()
        node.start()
        node.register(deployment.uri)
        yield Cluster(node, deployment, directory)
    finally:
        node.stop()
        deployment.stop()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A real node process and a real deployment process serving tests.e2e.services."""
    with running_cluster(tmp_path, "tests.e2e.services:app", {"E2E_DIR": str(tmp_path)}) as c:
        yield c
