"""The simulated machines and the network between them.

Placement follows the real cluster (node/membership.py): every node runs a member of every
group, so member i of each group lives on node i, and group g prefers node g % N as its leader.
The network between nodes can be cut: a whole node isolated (all its links), or one link only
(a partial cut: both ends still reach the third node). Links are symmetric; a cut stops Raft's
messages (sim/raft.py), the shuffles' deliveries and the ingress's forwarding between the two
nodes alike. The deployment and the clients outside the cluster reach every node.
"""

from __future__ import annotations


def name(node: int) -> str:
    return f"n{node}"


class Nodes:
    def __init__(self, count: int) -> None:
        self.count = count
        self._cuts: set[frozenset[int]] = set()

    def preferred(self, group: int) -> int:
        """The node whose member should lead `group` (node.membership.preferred_leader)."""
        return group % self.count

    def linked(self, a: int, b: int) -> bool:
        return a == b or frozenset((a, b)) not in self._cuts

    def cut(self, a: int, b: int) -> None:
        self._cuts.add(frozenset((a, b)))

    def heal(self, a: int, b: int) -> None:
        self._cuts.discard(frozenset((a, b)))

    def isolate(self, node: int) -> list[tuple[int, int]]:
        """Cut every link of `node`; returns the links that were cut by this call."""
        cut = [(node, n) for n in range(self.count) if n != node and self.linked(node, n)]
        for a, b in cut:
            self.cut(a, b)
        return cut

    def heal_all(self) -> None:
        self._cuts.clear()
