"""Which partition owns what, and which Raft group (partition process) runs it.

N logical partitions, fixed when the cluster is created (default 24), each own one contiguous
range of the 64-bit partition-key space (ids.partition_key: a hash of the Virtual Object /
workflow key or of the idempotency key; keyless invocations get a random one). The partitions
are spread over G Raft groups, contiguous runs of them each: a group is one log, one RocksDB,
one state machine and one process, serving every partition it holds (research/feasibility.md
7.2: a Raft group costs a thread, a port and idle CPU, so groups follow the cores, partitions
follow the keys). Messages between invocations travel between groups (partition.messages).

Contiguous ranges (rather than `key % N`) keep "the partitions of a group" an interval of key
space, which is what moving partitions between groups needs later.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from partition import ids

KEY_SPACE = 1 << 64
DEFAULT_PARTITIONS = 24


@dataclass(frozen=True, slots=True)
class Partitioning:
    partitions: int = DEFAULT_PARTITIONS
    groups: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.partitions <= 65_536:
            raise ValueError(f"the partition count must be 1..65536, not {self.partitions}")
        if not 1 <= self.groups <= self.partitions:
            raise ValueError(
                f"the group count must be 1..{self.partitions} (the partitions), not {self.groups}"
            )

    def partition_of_key(self, partition_key: int) -> int:
        """The logical partition owning `partition_key` (0 .. partitions-1)."""
        return (partition_key * self.partitions) >> 64

    def group_of_partition(self, partition: int) -> int:
        return partition * self.groups // self.partitions

    def group_of_key(self, partition_key: int) -> int:
        return self.group_of_partition(self.partition_of_key(partition_key))

    def group_of_invocation(self, invocation_id: str) -> int:
        """The group running an invocation: its id carries its partition key."""
        if self.groups == 1:
            return 0
        return self.group_of_key(ids.invocation_partition_key(invocation_id))

    def key_range(self, partition: int) -> tuple[int, int]:
        """The partition keys `partition` owns: start <= key < end."""
        start = -(-partition * KEY_SPACE // self.partitions)
        end = -(-(partition + 1) * KEY_SPACE // self.partitions)
        return start, end

    def partitions_of_group(self, group: int) -> range:
        first = next(p for p in range(self.partitions) if self.group_of_partition(p) == group)
        last = max(p for p in range(self.partitions) if self.group_of_partition(p) == group)
        return range(first, last + 1)

    def random_key_in_group(self, group: int) -> int:
        """A random partition key that `group` owns: a keyless invocation started by a process
        that runs `group` stays there, with no hop."""
        owned = self.partitions_of_group(group)
        start = self.key_range(owned.start)[0]
        end = self.key_range(owned.stop - 1)[1]
        return start + int.from_bytes(os.urandom(8), "big") % (end - start)
