"""The partition processes' CPU scheduling setting: batch when a node runs several of them."""

from __future__ import annotations

import pytest

from node import config
from node.main import batch_scheduled


def options(**env: str) -> config.NodeOptions:
    opts, _ = config.load([], {f"PERDURE_{k.upper()}": v for k, v in env.items()})
    return opts


def test_auto_is_batch_only_with_several_partition_processes() -> None:
    assert not batch_scheduled(options())
    assert batch_scheduled(options(partition_processes="2"))
    assert batch_scheduled(options(cpu_scheduling="batch"))
    assert not batch_scheduled(options(partition_processes="2", cpu_scheduling="normal"))


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(config.Error, match="cpu_scheduling: expected auto, batch or normal"):
        options(cpu_scheduling="realtime")
