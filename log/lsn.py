"""The LSN scheme of `RaftLog`: `raft_index << 20 | offset_in_batch`.

One Raft entry carries one batch of at most 2**20 records; record i of the batch committed at Raft
index n has LSN `n << 20 | i`. Raft indexes grow by one per entry, so LSNs strictly increase in
commit order, survive restarts (they are derived from the replicated log, not from a counter kept
in memory), and are identical on every member. Raft index 1 is pysyncobj's initial no-op, so the
first record's LSN is at least `2 << 20`; callers should only compare LSNs, not count them.
"""

from __future__ import annotations

OFFSET_BITS = 20
MAX_RECORDS_PER_BATCH = 1 << OFFSET_BITS


def make_lsn(raft_index: int, offset: int) -> int:
    return (raft_index << OFFSET_BITS) | offset


def raft_index_of(lsn: int) -> int:
    return lsn >> OFFSET_BITS
