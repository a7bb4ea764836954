"""One node process and one deployment process serving the example module named by the test
module's ``EXAMPLE`` attribute (e.g. ``"examples.saga:app"``), shared by that module's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Cluster, running_cluster


@pytest.fixture(scope="module")
def example(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    app: str = request.module.EXAMPLE
    tmp_path = tmp_path_factory.mktemp(app.split(":")[0].replace(".", "_"))
    with running_cluster(tmp_path, app) as cluster:
        yield cluster
