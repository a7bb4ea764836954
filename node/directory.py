"""Where a request for a Raft group goes from this partition process: here, another process of
this node, or the process leading that group on another node (one hop).

On a single node every group has one member, its own process: a group's requests go to that
process. In a cluster, each node runs a member of every group and a group's requests go to the
member that leads it. This process knows its own group's leader from Raft; the other groups'
come from a status poll of this node's other processes (`watch`, every `POLL_S`), each of which
knows its own. A request routed by a directory that is behind (a leader just changed) reaches a
member that does not lead, which refuses it with 503 (nothing journaled) rather than forwarding
it again: the client's retry finds the new leader.
"""

from __future__ import annotations

import logging

from log.raft import RaftLog
from node.clock import SYSTEM, Clock
from node.fabric import FabricClient, Unavailable
from node.membership import Membership
from perdure_proto import fabric_pb2 as fb

log = logging.getLogger(__name__)

POLL_S = 0.2
LOCALHOST = "127.0.0.1"


class Directory:
    def __init__(
        self,
        group: int,
        groups: int,
        raft: RaftLog,
        membership: Membership | None,
        internal_port: int,
        secret: bytes,
        clock: Clock = SYSTEM,
    ) -> None:
        self.group = group
        self.groups = groups
        self._raft = raft
        self._membership = membership
        self._internal_port = internal_port
        self._secret = secret
        self._clock = clock
        self._clients: dict[tuple[str, int], FabricClient] = {}
        self.seen: dict[int, tuple[fb.GroupStatus, float]] = {}  # this node's other processes

    @property
    def node(self) -> str:
        return "" if self._membership is None else self._membership.me

    def client(self, node: str, group: int) -> FabricClient:
        """The fabric client of `group`'s process on `node` ("" or this node: loopback)."""
        key = (node if node != self.node else "", group)
        client = self._clients.get(key)
        if client is None:
            if key[0] and self._membership is not None:
                host, port = self._membership.fabric_address(node, group)
            else:
                host = LOCALHOST if self._membership is None else self._membership.my_host
                port = self._internal_port + group
            client = self._clients[key] = FabricClient(host, port, self._secret)
        return client

    def local_peers(self) -> dict[int, FabricClient]:
        """This node's other partition processes."""
        return {g: self.client("", g) for g in range(self.groups) if g != self.group}

    def leader_address(self, group: int) -> str | None:
        """The raft address of `group`'s leader, as far as this process knows (None: unknown)."""
        if group == self.group:
            return self._raft.leader_address()
        seen = self.seen.get(group)
        return (seen[0].leader_address or None) if seen is not None else None

    def leader_of(self, group: int) -> str | None:
        """The node leading `group`, as far as this process knows (None: unknown)."""
        if self._membership is None:
            return ""
        address = self.leader_address(group)
        return self._membership.node_of_raft_address(address) if address else None

    def route(self, group: int) -> FabricClient | None:
        """Where `group`'s requests go from here; None for this process."""
        if self._membership is None:
            return None if group == self.group else self.client("", group)
        if group == self.group and self._raft.is_leader():
            return None
        leader = self.leader_of(group)
        if leader is None:  # no leader known: its member here answers (503 unless it leads)
            return None if group == self.group else self.client("", group)
        if group == self.group and leader == self.node:
            return None
        return self.client(leader, group)

    async def watch(self) -> None:
        """Poll this node's other processes until cancelled."""
        while True:
            for group, peer in self.local_peers().items():
                try:
                    self.seen[group] = (await peer.status(), self._clock.monotonic())
                except Unavailable as exc:
                    log.debug("no status from group %d: %s", group, exc)
            await self._clock.sleep(POLL_S)

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
