from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from log.api import Log
from log.memory import MemoryLog
from log.raft import RaftLog
from tests.log.support import raft_options


def _raft_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "_autoTickThread" in t.name]


@pytest.fixture(autouse=True)
def no_raft_thread_left_behind() -> Iterator[None]:
    before = set(_raft_threads())
    yield
    left = [t for t in _raft_threads() if t not in before and t.is_alive()]
    assert not left, f"raft threads still running after the test: {left}"


@pytest.fixture(params=["memory", "raft"])
async def log(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Log]:
    """A started log of each implementation; closed after the test."""
    instance: Log = MemoryLog() if request.param == "memory" else RaftLog(raft_options(tmp_path))
    await instance.start()
    try:
        yield instance
    finally:
        await instance.close()
