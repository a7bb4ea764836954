"""Seeds of each node-level fault (sim/faults.py `KINDS`) hold every invariant: node crashes,
every node restarted at once, a node cut off, a single link cut, a node's members removed from
every group and added back from snapshots; and a member the others compacted past while it was
down catches up from a snapshot instead of replaying.

Each kind runs the first few seeds whose plan injects it (`python -m sim --kind K`); the trace
must show the fault happening, not only planned, and the first seed must replay exactly."""

from __future__ import annotations

import re

import pytest

from tests.sim.test_simulation import digests, simulate

SEEDS_PER_KIND = 3

# kind: (the trace lines to print, what one of them must say)
SHOWN_BY = {
    "node-crash": ("crash node", r"crash node n\d"),
    "restart-all": ("restart every node", r"restart every node at once"),
    "partition": ("cut n", r"cut n\d-n\d, n\d-n\d"),
    "partial-cut": ("cut n", r"cut n\d-n\d for"),
    "membership": ("installs a snapshot", r"n\d\.g\d installs a snapshot of n\d\.g\d"),
}


@pytest.mark.parametrize("kind", sorted(SHOWN_BY))
def test_seeds_of_each_node_fault_hold_every_invariant(kind: str) -> None:
    grep, shown = SHOWN_BY[kind]
    ran = simulate("--kind", kind, "--seeds", str(SEEDS_PER_KIND), "--grep", grep)
    assert ran.returncode == 0, ran.stdout[-6000:] + ran.stderr[-3000:]
    assert len(digests(ran.stdout)) == SEEDS_PER_KIND, ran.stdout[-3000:]
    assert re.search(shown, ran.stdout), f"no seed showed {kind}:\n{ran.stdout[-3000:]}"
    seed, digest = min(digests(ran.stdout).items())
    again = simulate("--seed", str(seed))
    assert digests(again.stdout) == {seed: digest}, again.stdout  # replays exactly


# A 3-node seed in which a node stays down long enough for the others to compact past it
# (retain 16 entries): it installs a snapshot when it comes back.
COMPACTED_PAST = 34


def test_a_member_the_others_compacted_past_catches_up_from_a_snapshot() -> None:
    ran = simulate("--seed", str(COMPACTED_PAST), "--grep", "snapshot")
    assert ran.returncode == 0, ran.stdout[-6000:] + ran.stderr[-3000:]
    needed = re.search(r"log g\d: (n\d):g(\d) holds entry \d+, .*: snapshot needed", ran.stdout)
    assert needed, ran.stdout[-3000:]
    node, group = needed.groups()
    assert f"{node}.g{group} installs a snapshot of" in ran.stdout, ran.stdout[-3000:]
