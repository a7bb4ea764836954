"""The restate CLI's invocation commands against a real Perdure node: one id, and by filter
(the CLI selects ids with /query, then calls PATCH /invocations/{id}/... for each)."""

from __future__ import annotations

import re

from node.local import wait_until
from tests.restate_cli.conftest import Perdure


def test_pause_resume_and_kill_one_invocation(perdure: Perdure) -> None:
    flaky = perdure.send("/Flaky/fail", "pause-me")
    perdure.wait_status(flaky, "backing-off", "running")
    out = perdure.restate("invocations", "pause", flaky)
    assert flaky in out
    perdure.wait_status(flaky, "paused")
    out = perdure.restate("invocations", "resume", flaky)
    assert flaky in out
    perdure.wait_status(flaky, "backing-off", "running")
    out = perdure.restate("invocations", "kill", flaky)
    assert flaky in out and "Killed 1 invocations" in out
    perdure.wait_status(flaky, "completed")
    (row,) = perdure.query(f"SELECT completion_failure FROM sys_invocation WHERE id = '{flaky}'")
    assert "killed" in row["completion_failure"]


def test_cancel_by_service_cancels_every_running_invocation_of_it(perdure: Perdure) -> None:
    naps = [perdure.send("/Sleeper/nap", f"n{i}") for i in range(5)]
    for nap in naps:
        perdure.wait_status(nap, "suspended")
    out = perdure.restate("invocations", "cancel", "Sleeper")
    assert all(nap in out for nap in naps) and "Cancelled 5 invocations" in out
    for nap in naps:
        perdure.wait_status(nap, "completed")
    rows = perdure.query(
        "SELECT id, completion_failure FROM sys_invocation WHERE target LIKE 'Sleeper/%'"
    )
    assert {r["id"] for r in rows} == set(naps)
    assert all("cancelled" in r["completion_failure"] for r in rows)
    listed = perdure.restate("invocations", "list", "--service", "Sleeper")
    assert "Showing 0/0" in listed or not any(nap in listed for nap in naps)


def test_restart_as_new_and_purge_a_completed_invocation(perdure: Perdure) -> None:
    status, head, out = perdure.call("/Greeter/greet", "again")
    assert status == 200, out
    greet = head["x-restate-id"]
    out = perdure.restate("invocations", "restart-as-new", greet)
    assert "Restarted 1 invocations" in out
    (new_id,) = re.findall(rf"{greet}\s+(inv_1\w+)", out)  # the OLD ID / NEW ID table
    perdure.wait_status(new_id, "completed")
    (row,) = perdure.query(f"SELECT target FROM sys_invocation WHERE id = '{new_id}'")
    assert row["target"] == "Greeter/greet"
    out = perdure.restate("invocations", "purge", greet)
    assert greet in out and "Purged 1 invocations" in out
    assert perdure.status_of(greet) is None


def test_bulk_cancel_by_service_over_a_thousand_running_invocations(perdure: Perdure) -> None:
    """The issue's scale: the CLI selects 1,000 ids with one /query and cancels each."""
    naps = {perdure.send("/Sleeper/nap", f"bulk{i}") for i in range(1000)}

    def all_suspended() -> bool:
        rows = perdure.query(
            "SELECT count(*) AS n FROM sys_invocation "
            "WHERE target = 'Sleeper/nap' AND status = 'suspended'"
        )
        return int(rows[0]["n"]) == len(naps)

    wait_until(all_suspended, 120, "1,000 naps to be suspended")
    out = perdure.restate("invocations", "cancel", "Sleeper", "--limit", "2000")
    assert "Cancelled 1000 invocations" in out, out[-2000:]

    def all_cancelled() -> bool:
        rows = perdure.query(
            "SELECT id, completion_failure FROM sys_invocation WHERE target = 'Sleeper/nap'"
        )
        done = {r["id"] for r in rows if "cancelled" in str(r.get("completion_failure", ""))}
        return naps <= done

    wait_until(all_cancelled, 120, "the 1,000 naps to end cancelled")
