"""Helpers for the log tests: free ports, options, bounded waits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from log.api import Entry
from log.raft import RaftOptions
from node.local import free_ports


def free_port() -> int:
    """A free port below the ephemeral range, never handed out twice (node.local.free_ports)."""
    return free_ports(1)


def raft_options(data_dir: Path, **overrides: Any) -> RaftOptions:
    options = RaftOptions(self_address=f"127.0.0.1:{free_port()}", data_dir=data_dir)
    return replace(options, **overrides)


async def take(entries: AsyncIterator[Entry], n: int, timeout: float = 10.0) -> list[Entry]:
    """The next `n` entries of a reader, failing if they do not all arrive within `timeout`."""
    out: list[Entry] = []
    async with asyncio.timeout(timeout):
        while len(out) < n:
            out.append(await anext(entries))
    return out


async def take_until(entries: AsyncIterator[Entry], lsn: int, timeout: float = 10.0) -> list[Entry]:
    """Entries of a reader up to and including position `lsn`, within `timeout`."""
    out: list[Entry] = []
    async with asyncio.timeout(timeout):
        async for entry in entries:
            out.append(entry)
            if entry.lsn >= lsn:
                return out
    raise AssertionError(f"the reader ended before position {lsn}")


async def nothing_arrives(entries: AsyncIterator[Entry], within: float = 0.05) -> bool:
    """True if the reader yields nothing for `within` seconds (the pending read is cancelled)."""
    try:
        await asyncio.wait_for(anext(entries), within)
    except TimeoutError:
        return True
    return False
