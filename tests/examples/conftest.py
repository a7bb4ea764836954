"""One node process and one deployment process serving the example module named by the test
module's ``EXAMPLE`` attribute (e.g. ``"examples.saga:app"``), shared by that module's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from node.local import LocalDeployment, LocalNode
from tests.e2e.conftest import Cluster


@pytest.fixture(scope="module")
def example(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    app: str = request.module.EXAMPLE
    tmp_path = tmp_path_factory.mktemp(app.split(":")[0].replace(".", "_"))
    deployment = LocalDeployment(tmp_path / "deployment.log", app=app)
    node = LocalNode(tmp_path / "data")
    try:
        deployment.start()
        node.start()
        node.register(deployment.uri)
        yield Cluster(node, deployment, tmp_path)
    finally:
        node.stop()
        deployment.stop()
