"""The partition processes of a node: the first process (group 0) starts one process per other
group, each `python -m node` with the same settings and its own group, and restarts any that
dies. A worker dies with the process that started it (Linux parent-death signal), so a kill -9
of the node leaves nothing running; a worker killed alone is started again within a second and
recovers its group from its log and store, like a restarted node.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

from node.clock import SYSTEM, Clock
from node.config import NodeOptions
from node.membership import SECRET_ENV

log = logging.getLogger(__name__)

RESTART_DELAY_S = 0.3
STOP_TIMEOUT_S = 10.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def worker_env(options: NodeOptions, group: int, secret: bytes) -> dict[str, str]:
    """The environment that makes `python -m node` run `group` with `options` and the node's
    cluster secret (the environment of a process is readable by its own user only)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERDURE_")}
    env[SECRET_ENV] = secret.decode()
    for f in fields(NodeOptions):
        value = getattr(options, f.name)
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        env["PERDURE_" + f.name.upper()] = text
    env["PERDURE_GROUP"] = str(group)
    if "PERDURE_PROFILE" in os.environ:
        env["PERDURE_PROFILE"] = f"{os.environ['PERDURE_PROFILE']}.group-{group}"
    return env


class Workers:
    """Runs (and keeps running) the processes of groups 1 .. options.partition_processes-1."""

    def __init__(self, options: NodeOptions, secret: bytes, clock: Clock = SYSTEM) -> None:
        self._options = options
        self._secret = secret
        self._clock = clock
        self._procs: dict[int, subprocess.Popen[bytes]] = {}

    def pids(self) -> dict[int, int]:
        return {g: p.pid for g, p in self._procs.items() if p.poll() is None}

    async def run(self) -> None:
        """Start every worker, restart those that die, stop them all when cancelled."""
        try:
            for group in range(1, self._options.partition_processes):
                self._start(group)
            while True:
                await self._clock.sleep(0.2)
                for group, proc in list(self._procs.items()):
                    if proc.poll() is not None:
                        log.error(
                            "partition process of group %d exited (%s); starting it again",
                            group,
                            proc.returncode,
                        )
                        await self._clock.sleep(RESTART_DELAY_S)
                        self._start(group)
        finally:
            await self._stop_all()

    def _start(self, group: int) -> None:
        self._procs[group] = subprocess.Popen(
            [sys.executable, "-m", "node"],
            env=worker_env(self._options, group, self._secret),
            cwd=Path.cwd(),
            preexec_fn=_die_with_parent,  # only a prctl: safe between fork and exec
        )

    async def _stop_all(self) -> None:
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = self._clock.monotonic() + STOP_TIMEOUT_S
        for proc in self._procs.values():
            while proc.poll() is None and self._clock.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
