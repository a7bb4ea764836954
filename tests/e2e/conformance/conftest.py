"""One node process and one deployment process (serving tests.e2e.conformance.services) per test
module: the scenarios of a module share them and keep apart by using distinct keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Cluster, running_cluster


@pytest.fixture(scope="module")
def conformance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A real node and a real deployment, shared by the tests of one module."""
    tmp_path = tmp_path_factory.mktemp("conformance")
    env = {"CONFORMANCE_DIR": str(tmp_path)}
    with running_cluster(tmp_path, "tests.e2e.conformance.services:app", env) as cluster:
        yield cluster
