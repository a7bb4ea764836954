"""The simulation's clock: virtual time that moves only when nothing is ready to run."""

from __future__ import annotations

import asyncio
import time

import pytest

from sim.channel import Channel
from sim.loop import EPOCH_MS, SimClock, Stuck, run


def test_an_hour_of_sleep_takes_no_wall_time() -> None:
    async def main() -> tuple[float, int]:
        clock = SimClock()
        await clock.sleep(3600)
        return clock.monotonic(), clock.now_ms()

    started = time.monotonic()
    virtual, now_ms = run(main())
    assert time.monotonic() - started < 1.0
    assert virtual == pytest.approx(3600)
    assert now_ms == EPOCH_MS + 3_600_000


def test_timers_fire_in_the_order_of_their_due_times() -> None:
    async def main() -> list[str]:
        fired: list[str] = []
        clock = SimClock()
        for name, delay in (("c", 0.3), ("a", 0.1), ("b", 0.2)):
            clock.call_later(delay, lambda name=name: fired.append(name))  # type: ignore[misc]
        await clock.sleep(1)
        return fired

    assert run(main()) == ["a", "b", "c"]


def test_a_loop_where_every_task_waits_forever_is_stuck() -> None:
    async def main() -> None:
        await asyncio.Event().wait()

    with pytest.raises(Stuck):
        run(main())


def test_a_channel_keeps_the_order_of_what_it_carries() -> None:
    async def main() -> list[int]:
        import random

        got: list[int] = []
        channel: Channel[int] = Channel(got.append, random.Random(7), max_latency_s=0.5)
        for n in range(50):
            channel.send(n)
        await asyncio.sleep(1)
        return got

    assert run(main()) == list(range(50))
