"""The first process restarts a partition process that died: at once after a long run, and
backing off (0.3 s, doubling to 10 s) while it keeps dying right after its start, as it does
while its disk is full (node/fatal.py). Real child processes; the clock is the test's."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from node.clock import Cancellable
from node.config import NodeOptions
from node.workers import MAX_RESTART_DELAY_S, RESTART_DELAY_S, STABLE_S, Workers


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def now_ms(self) -> int:
        return int(self.now * 1000)

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        raise AssertionError("supervise() is driven by hand here")

    def call_later(self, seconds: float, callback: Callable[[], None]) -> Cancellable:
        raise AssertionError("not used")


class Dying(Workers):
    """Workers whose process exits at once with status 74, like a worker on a full disk."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(NodeOptions(partition_processes=2), b"secret", clock)
        self.starts: list[float] = []

    def _start(self, group: int) -> None:
        self.starts.append(self._clock.monotonic())
        self._started_at[group] = self._clock.monotonic()
        self._procs[group] = subprocess.Popen([sys.executable, "-c", "raise SystemExit(74)"])

    def wait_dead(self) -> None:
        for proc in self._procs.values():
            proc.wait(timeout=30)


def restart_delays(workers: Dying, clock: ManualClock, deaths: int, lived_s: float) -> list[float]:
    """Let the worker die `deaths` times, each after `lived_s`; the delay before each restart."""
    delays = []
    for _ in range(deaths):
        clock.now += lived_s
        workers.wait_dead()
        workers.supervise()  # found dead: restart scheduled
        died_at, before = clock.now, len(workers.starts)
        while len(workers.starts) == before:
            clock.now += 0.1
            workers.supervise()
            assert clock.now - died_at < 2 * MAX_RESTART_DELAY_S, "never restarted"
        delays.append(workers.starts[-1] - died_at)
    return delays


def test_a_worker_dying_at_once_is_restarted_later_and_later_up_to_a_bound() -> None:
    clock = ManualClock()
    workers = Dying(clock)
    workers._start(1)
    delays = restart_delays(workers, clock, deaths=8, lived_s=0.5)
    expected = [0.3, 0.6, 1.2, 2.4, 4.8, 9.6, MAX_RESTART_DELAY_S, MAX_RESTART_DELAY_S]
    assert expected[0] == RESTART_DELAY_S
    assert delays == pytest.approx(expected, abs=0.15)  # (the clock steps by 0.1 s)
    # A worker that ran a long time before dying comes back quickly again.
    again = restart_delays(workers, clock, deaths=1, lived_s=STABLE_S + 1)
    assert again == pytest.approx([RESTART_DELAY_S], abs=0.15)
    workers.wait_dead()


def test_supervision_restarts_a_dead_worker_without_waiting_on_the_others() -> None:
    clock = ManualClock()
    workers = Dying(clock)
    workers._start(1)
    workers._start(2)
    workers.wait_dead()
    started = time.monotonic()
    workers.supervise()  # both dead: both scheduled, neither slept for
    assert time.monotonic() - started < RESTART_DELAY_S
    clock.now += RESTART_DELAY_S
    workers.supervise()
    assert len(workers.starts) == 4
    workers.wait_dead()
