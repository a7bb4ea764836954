"""The poison-message story with the restate CLI alone: a handler that fails on one input
blocks its key (every later call of the key waits behind it, retried up to 70 times); the
operator finds the blocked invocation, reads its last failure, kills it, and the key serves
again, with what was queued behind it."""

from __future__ import annotations

from tests.restate_cli.conftest import Perdure


def test_find_the_invocation_blocking_a_key_see_why_kill_it_and_the_key_serves_again(
    perdure: Perdure,
) -> None:
    poison = perdure.send("/Inventory/shelf/take", -5)
    perdure.wait_status(poison, "backing-off", "running")
    queued = perdure.send("/Inventory/shelf/take", 1)
    perdure.wait_status(queued, "pending")  # behind the poison message, on the same key

    listed = perdure.restate("invocations", "list", "--service", "Inventory")
    assert poison in listed and queued in listed
    described = perdure.restate("invocations", "describe", poison)
    assert "cannot take -5 items" in described, described

    killed = perdure.restate("invocations", "kill", poison)
    assert "Killed 1 invocations" in killed
    perdure.wait_status(poison, "completed")
    perdure.wait_status(queued, "completed")  # the key serves again: what waited ran
    (row,) = perdure.query(f"SELECT completion_result FROM sys_invocation WHERE id = '{queued}'")
    assert row["completion_result"] == "success"
    status, _, left = perdure.call("/Inventory/shelf/take", 2)
    assert (status, left) == (200, 97)
