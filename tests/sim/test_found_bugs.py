"""Bugs the simulation found in node code, fixed: each shown in isolation, and the seeds that
showed it run clean (a violation of its kind now fails a run: it is no longer in sim.checks
`KNOWN`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

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


# Runs that showed it before the fix: a leader unit stopped (a step down, a crash) while its
# shuffle's delivery failed in the same turn ("stop-hangs": the unit never stopped, and its
# partition had no leader until the process restarted).
STOP_HANGS_RUNS = (("--hostile", "--seed", "3"), ("--seed", "79"), ("--seed", "339"))


def test_the_runs_that_showed_a_leader_unit_that_did_not_stop_run_clean() -> None:
    for args in STOP_HANGS_RUNS:
        ran = simulate(*args)
        assert ran.returncode == 0, ran.stdout[-6000:] + ran.stderr[-3000:]
        assert "stop-hangs" not in ran.stdout, args
