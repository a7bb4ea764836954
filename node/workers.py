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

POLL_S = 0.2
RESTART_DELAY_S = 0.3
MAX_RESTART_DELAY_S = 10.0
STABLE_S = 30.0  # a worker that ran this long before dying is restarted after RESTART_DELAY_S
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
        self._started_at: dict[int, float] = {}
        self._restart_at: dict[int, float] = {}  # group -> when to start its dead worker again
        self._delays: dict[int, float] = {}  # group -> the delay of its next quick restart

    def pids(self) -> dict[int, int]:
        return {g: p.pid for g, p in self._procs.items() if p.poll() is None}

    async def run(self) -> None:
        """Start every worker, restart those that die, stop them all when cancelled."""
        try:
            for group in range(1, self._options.partition_processes):
                self._start(group)
            while True:
                await self._clock.sleep(POLL_S)
                self.supervise()
        finally:
            await self._stop_all()

    def supervise(self) -> None:
        """Schedule the restart of each worker found dead, start those whose time has come. A
        worker that dies again soon after its start (a full disk makes it stop at once, see
        node/fatal.py) waits twice as long each time, up to MAX_RESTART_DELAY_S."""
        now = self._clock.monotonic()
        for group, proc in list(self._procs.items()):
            if group in self._restart_at or proc.poll() is None:
                continue
            lived = now - self._started_at[group]
            delay = self._delays.get(group, RESTART_DELAY_S) if lived < STABLE_S else 0.0
            delay = max(delay, RESTART_DELAY_S)
            self._delays[group] = min(2 * delay, MAX_RESTART_DELAY_S)
            self._restart_at[group] = now + delay
            log.error(
                "partition process of group %d exited (%s) after %.1f s; starting it again in "
                "%.1f s",
                group,
                proc.returncode,
                lived,
                delay,
            )
        for group, at in list(self._restart_at.items()):
            if now >= at:
                del self._restart_at[group]
                self._start(group)

    def _start(self, group: int) -> None:
        self._started_at[group] = self._clock.monotonic()
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
