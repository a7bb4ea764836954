from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.partition.scenario import Scenario


@pytest.fixture
def sc(tmp_path: Path) -> Iterator[Scenario]:
    """A registered partition over a real RocksDB in a temp dir."""
    scenario = Scenario(tmp_path / "store")
    scenario.register()
    yield scenario
    scenario.store.close()
