"""Partitioning: 24 logical partitions over a few groups, each a contiguous run of key space."""

from __future__ import annotations

import pytest

from partition import ids
from partition.routing import KEY_SPACE, Partitioning


@pytest.mark.parametrize("groups", [1, 2, 3, 5, 24])
def test_partitions_tile_the_key_space_and_groups_hold_contiguous_runs(groups: int) -> None:
    p = Partitioning(24, groups)
    ends = 0
    for partition in range(24):
        start, end = p.key_range(partition)
        assert start == ends and end > start
        assert p.partition_of_key(start) == partition == p.partition_of_key(end - 1)
        ends = end
    assert ends == KEY_SPACE
    seen = [p.group_of_partition(x) for x in range(24)]
    assert seen == sorted(seen) and set(seen) == set(range(groups))
    assert sum(len(p.partitions_of_group(g)) for g in range(groups)) == 24


def test_an_invocation_runs_in_the_group_of_its_key() -> None:
    p = Partitioning(24, 2)
    for n in range(50):
        key = f"key-{n}"
        group = p.group_of_key(ids.partition_key(key))
        assert p.group_of_invocation(ids.random_invocation_id(key)) == group
        idempotent = ids.deterministic_invocation_id("Counter", key, "add", "x")
        assert p.group_of_invocation(idempotent) == group


@pytest.mark.parametrize("group", [0, 1, 2])
def test_keyless_invocations_can_stay_in_the_group_that_received_them(group: int) -> None:
    p = Partitioning(24, 3)
    for _ in range(100):
        assert p.group_of_key(p.random_key_in_group(group)) == group


def test_bad_counts_are_refused() -> None:
    for partitions, groups in ((0, 1), (24, 0), (4, 5)):
        with pytest.raises(ValueError):
            Partitioning(partitions, groups)
