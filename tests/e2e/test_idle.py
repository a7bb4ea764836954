"""An idle single node sleeps: its threads wake fewer than 80 times a second in all. They woke
about 270 times (pysyncobj's tick every 5 ms, the campaign's look at Raft's role every 20 ms),
3-4 % of a core doing nothing, per partition process, on every idle node."""

from __future__ import annotations

import os
import time
from pathlib import Path

from node.local import http
from tests.e2e.conftest import running_cluster

JSON = {"content-type": "application/json"}
WAKEUPS_PER_S = 80
WINDOW_S = 3.0


def wakeups(pid: int) -> int:
    """Voluntary context switches of every thread of `pid` so far (each is a sleep ended)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            status = Path(f"/proc/{pid}/task/{tid}/status").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        for line in status.splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                total += int(line.split()[1])
    return total


def test_an_idle_node_wakes_rarely(tmp_path: Path) -> None:
    with running_cluster(tmp_path, "examples.services:app") as cluster:
        node = cluster.node
        assert node.process is not None
        # It has served (its stream to the deployment is open, its leader unit runs)...
        status, _, _ = http("POST", node.ingress_url + "/Greeter/greet", b'"idle"', JSON)
        assert status == 200
        time.sleep(1.0)  # ... and the answer's own wake-ups are over
        before = wakeups(node.process.pid)
        time.sleep(WINDOW_S)
        rate = (wakeups(node.process.pid) - before) / WINDOW_S
        print(f"an idle node's threads woke {rate:.0f} times a second")
        assert rate < WAKEUPS_PER_S
