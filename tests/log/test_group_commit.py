"""GroupCommit: concurrent appends become few batches, in order, within the window."""

from __future__ import annotations

import asyncio

import pytest

from log.api import Closed
from log.group_commit import GroupCommit, PendingBatch


class Submitted:
    """Records each submitted batch and commits it at once (LSN = batch number * 1000 + offset)."""

    def __init__(self) -> None:
        self.batches: list[list[bytes]] = []

    def __call__(self, batch: PendingBatch) -> None:
        number = len(self.batches)
        self.batches.append(list(batch.records))
        batch.succeed(lambda offset: number * 1000 + offset)


def group(submitted: Submitted, busy: bool = False, **overrides: float) -> GroupCommit:
    options: dict[str, float] = {"window": 0.001, "max_bytes": 1000, "max_records": 100}
    options.update(overrides)
    return GroupCommit(
        window=options["window"],
        max_bytes=int(options["max_bytes"]),
        max_records=int(options["max_records"]),
        submit=submitted,
        busy=lambda: busy,
    )


async def test_appends_made_together_share_one_batch_in_call_order() -> None:
    submitted = Submitted()
    commit = group(submitted)
    futures = [commit.add(b"%d" % i) for i in range(50)]
    assert submitted.batches == []  # nothing leaves before the end of this loop turn
    assert await asyncio.gather(*futures) == list(range(50))
    assert submitted.batches == [[b"%d" % i for i in range(50)]]


async def test_a_batch_closes_before_it_would_exceed_max_bytes() -> None:
    submitted = Submitted()
    commit = group(submitted, max_bytes=250)
    futures = [commit.add(b"x" * 100) for _ in range(5)]
    await asyncio.gather(*futures)
    assert [len(b) for b in submitted.batches] == [2, 2, 1]


async def test_a_record_bigger_than_max_bytes_travels_alone() -> None:
    submitted = Submitted()
    commit = group(submitted, max_bytes=100)
    futures = [commit.add(b"a"), commit.add(b"b" * 500), commit.add(b"c")]
    await asyncio.gather(*futures)
    assert [[len(r) for r in b] for b in submitted.batches] == [[1], [500], [1]]


async def test_a_batch_closes_at_max_records() -> None:
    submitted = Submitted()
    commit = group(submitted, max_records=3)
    futures = [commit.add(b"") for _ in range(7)]
    await asyncio.gather(*futures)
    assert [len(b) for b in submitted.batches] == [3, 3, 1]


async def test_an_idle_log_submits_at_the_end_of_the_loop_turn() -> None:
    submitted = Submitted()
    commit = group(submitted, window=10.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await commit.add(b"alone")
    assert loop.time() - started < 1.0
    assert submitted.batches == [[b"alone"]]


async def test_while_busy_records_wait_at_most_the_window() -> None:
    submitted = Submitted()
    commit = group(submitted, busy=True, window=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await commit.add(b"alone")
    assert 0.04 <= loop.time() - started < 1.0


async def test_while_busy_records_accumulate_until_kicked() -> None:
    submitted = Submitted()
    state = {"busy": True}
    commit = GroupCommit(
        window=10.0, max_bytes=1000, max_records=100, submit=submitted, busy=lambda: state["busy"]
    )
    futures = [commit.add(b"%d" % i) for i in range(3)]
    await asyncio.sleep(0)
    commit.kick()
    assert submitted.batches == []  # still busy: kick does nothing
    state["busy"] = False
    commit.kick()
    assert submitted.batches == [[b"0", b"1", b"2"]]
    assert await asyncio.gather(*futures) == [0, 1, 2]


async def test_pending_records_fail_when_the_log_closes() -> None:
    submitted = Submitted()
    commit = group(submitted, window=10.0)
    future = commit.add(b"never sent")
    commit.fail_pending(Closed("closed"))
    with pytest.raises(Closed):
        await future
    assert submitted.batches == []


async def test_a_cancelled_append_does_not_break_its_batch() -> None:
    submitted = Submitted()
    commit = group(submitted)
    first, second = commit.add(b"1"), commit.add(b"2")
    first.cancel()
    assert await second == 1
    assert submitted.batches == [[b"1", b"2"]]


async def test_records_that_exactly_fill_max_bytes_share_a_batch_submitted_at_once() -> None:
    submitted = Submitted()
    commit = group(submitted, max_bytes=200, window=10.0)
    first, second = commit.add(b"a" * 100), commit.add(b"b" * 100)
    assert submitted.batches == [[b"a" * 100, b"b" * 100]]  # full: no waiting for the turn's end
    assert list(await asyncio.gather(first, second)) == [0, 1]


async def test_failing_pending_records_skips_cancelled_appends() -> None:
    submitted = Submitted()
    commit = group(submitted, window=10.0)
    gave_up, waiting = commit.add(b"1"), commit.add(b"2")
    gave_up.cancel()
    commit.fail_pending(Closed("closed"))  # raises nothing for the cancelled append
    with pytest.raises(Closed):
        await waiting


async def test_records_added_after_pending_ones_failed_are_still_submitted() -> None:
    submitted = Submitted()
    commit = group(submitted, window=10.0)
    failed = commit.add(b"lost")
    commit.fail_pending(Closed("closed"))
    assert await asyncio.wait_for(commit.add(b"next"), 1.0) == 0
    assert submitted.batches == [[b"next"]]
    with pytest.raises(Closed):
        await failed
