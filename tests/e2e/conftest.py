from __future__ import annotations

from collections.abc import Iterator
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


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A real node process and a real deployment process serving tests.e2e.services."""
    env = {"E2E_DIR": str(tmp_path)}
    deployment = LocalDeployment(
        tmp_path / "deployment.log", app="tests.e2e.services:app", extra_env=env
    )
    node = LocalNode(tmp_path / "data")
    try:
        deployment.start()
        node.start()
        node.register(deployment.uri)
        yield Cluster(node, deployment, tmp_path)
    finally:
        node.stop()
        deployment.stop()
