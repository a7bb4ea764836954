"""Which partition owns what: N logical partitions, fixed when the cluster is created, each
owning one contiguous range of the 64-bit partition-key space (ids.partition_key: a hash of the
Virtual Object / workflow key or idempotency key; keyless invocations get a random one).

Contiguous equal ranges (rather than `key % N`) keep "the partitions of a key range" a simple
interval, which is what moving or splitting ranges between processes and nodes needs later.
"""

from __future__ import annotations

from dataclasses import dataclass

from partition import ids

KEY_SPACE = 1 << 64


@dataclass(frozen=True, slots=True)
class Partitioning:
    count: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.count <= 65_536:
            raise ValueError(f"the partition count must be 1..65536, not {self.count}")

    def of_key(self, partition_key: int) -> int:
        """The partition owning `partition_key` (0 .. count-1)."""
        return (partition_key * self.count) >> 64

    def of_invocation(self, invocation_id: str) -> int:
        """The partition of an invocation: its id carries its partition key."""
        if self.count == 1:
            return 0
        return self.of_key(ids.parse_invocation_id(invocation_id)[0])

    def key_range(self, partition: int) -> tuple[int, int]:
        """The partition keys `partition` owns: start <= key < end."""
        start = -(-partition * KEY_SPACE // self.count)
        end = -(-(partition + 1) * KEY_SPACE // self.count)
        return start, end
