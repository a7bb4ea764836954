"""Bugs the simulation found in node code, each shown here in isolation (sim/checks.py `KNOWN`
lists the violations they cause in a run). xfail(strict): when one is fixed, its test passes,
pytest reports it, and the entry in `KNOWN` goes."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from log.memory import MemoryLog
from node.proposer import Proposer
from node.shuffle import Shuffle
from partition import tables
from partition.store import Store
from perdure_proto import records_pb2 as rec
from sim.loop import SimClock, run
from tests.sim.test_simulation import simulate


class _FailsWhenCancelled:
    """A deliverer whose delivery fails at the moment the shuffle is cancelled (the target's
    leader went away with the node that also ran this shuffle's leader unit)."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.fail: asyncio.Future[None] | None = None

    async def deliver(self, target: int, records: list[rec.Envelope]) -> None:
        self.fail = asyncio.get_running_loop().create_future()
        self.started.set()
        await self.fail


@pytest.mark.xfail(
    strict=True,
    reason="node/shuffle.py: its retry loop catches the ExceptionGroup that asyncio.TaskGroup "
    "raises instead of CancelledError when a delivery fails as the shuffle is cancelled, so "
    "the shuffle (its leader unit, and whatever awaits the unit's stop) never stops",
)
def test_a_shuffle_stops_when_cancelled_as_a_delivery_fails(tmp_path: Path) -> None:
    async def main() -> bool:
        store = Store(tmp_path / "store")
        txn = store.transaction()
        tables.push_outbox(txn, 1, rec.PartitionMessage())
        txn.commit(1)
        deliverer = _FailsWhenCancelled()
        shuffle = Shuffle(0, store, Proposer(MemoryLog()), deliverer, SimClock())
        task = asyncio.create_task(shuffle.run())
        await deliverer.started.wait()
        assert deliverer.fail is not None
        deliverer.fail.set_exception(ConnectionError("the target's leader went away"))
        task.cancel()  # in the same loop turn: the leader unit stops
        done, _ = await asyncio.wait([task], timeout=10.0)
        stopped = bool(done)
        if not stopped:
            task.cancel()  # tidy up: a second cancel reaches it while it sleeps
            await asyncio.gather(task, return_exceptions=True)
        store.close()
        return stopped

    assert run(main()), "the shuffle was cancelled and still ran 10 s later"


# Runs in which the bug shows: a leader unit stopped (a step down, a crash) while its shuffle's
# delivery fails in the same turn. Which seeds show it depends on every interleaving; when none
# of these does any more (and the bug is not fixed), find others with
# `python -m sim --seeds 300 | grep stop-hangs` (or `--hostile`).
STOP_HANGS_RUNS = (("--hostile", "--seed", "3"), ("--seed", "79"), ("--seed", "339"))


def test_the_simulation_still_shows_a_leader_unit_that_does_not_stop() -> None:
    shown = []
    for args in STOP_HANGS_RUNS:
        ran = simulate(*args)
        assert ran.returncode == 0, ran.stdout[-6000:] + ran.stderr[-3000:]  # known bugs only
        if re.search(r"\[stop-hangs, known.*(leader unit was stopped|shuffle)", ran.stdout):
            shown.append(args)
    assert shown, f"none of {STOP_HANGS_RUNS} showed stop-hangs"
