"""Disk space guard: the node stops taking new work before its data directory's disk fills.

    guard = DiskGuard(data_dir, min_free_bytes=128 << 20, clock=clock)
    tg.create_task(guard.run(), name="disk-guard")
    if guard.full: refuse with 503 and guard.message()

Why a reserve rather than reacting to ENOSPC: the log fsyncs every entry on pysyncobj's thread
and RocksDB writes in the background; a write failing half way there is far harder to recover
from than one never started (one that fails anyway stops the process cleanly: node/fatal.py). So
the guard samples the free space (statvfs: what an unprivileged process may still write) every
`check_interval_s`; below `min_free_bytes` the node is *full*: the ingress refuses new
invocations and awakeable completions with 503 before anything is journaled, and so does the
admin API for writes that add data (registrations, state edits, restart-as-new), while reads
(attach, output, queries, the admin API's), the writes that free space (cancel, kill, purge,
clearing state, removing a deployment) and the invocations already accepted carry on within the
reserve. Once free space is back above `min_free_bytes` times `RESUME_FACTOR` (so a node at the
edge does not flap), it takes new work again by itself.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from node.clock import SYSTEM, Clock

log = logging.getLogger(__name__)

RESUME_FACTOR = 1.25


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged writer may still use on the file system holding `path`."""
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


class DiskGuard:
    """Whether the disk of `path` is too full to take new work (see the module docstring)."""

    def __init__(
        self,
        path: Path,
        min_free_bytes: int,
        *,
        clock: Clock = SYSTEM,
        check_interval_s: float = 0.5,
    ) -> None:
        self.path = path
        self.min_free_bytes = min_free_bytes
        self._clock = clock
        self._interval = check_interval_s
        self.full = False
        self.free = -1  # bytes at the last check (-1: not checked yet)

    def check(self) -> bool:
        """Sample the free space now; returns `full`. A guard with no reserve never fills."""
        if self.min_free_bytes <= 0:
            return False
        try:
            self.free = free_bytes(self.path)
        except OSError as exc:  # the directory is being replaced (snapshot install): next time
            log.debug("disk guard: cannot stat %s: %s", self.path, exc)
            return self.full
        if not self.full and self.free < self.min_free_bytes:
            self.full = True
            log.warning("%s; refusing new work until space is freed", self.message())
        elif self.full and self.free >= self.min_free_bytes * RESUME_FACTOR:
            self.full = False
            log.warning(
                "disk space is back (%s free under %s): taking new work again",
                _mib(self.free),
                self.path,
            )
        return self.full

    def message(self) -> str:
        return (
            f"the node's disk is full: {_mib(self.free)} free under {self.path}, below its "
            f"reserve of {_mib(self.min_free_bytes)} (min_free_disk_bytes); new work is refused "
            "until space is freed, nothing accepted is lost; retry later"
        )

    async def run(self) -> None:
        """Check every `check_interval_s` until cancelled."""
        while True:
            self.check()
            await self._clock.sleep(self._interval)


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"
