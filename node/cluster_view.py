"""What GET /cluster shows: this node, its partition processes and every logical partition,
with the Raft figures of the group that runs it.

The first process answers. Its own group's figures are read when asked; the other processes'
come from the directory's status poll over the fabric (node.directory, so they may be that
stale, and a process that stopped answering shows as not alive with its last known figures).
"""

from __future__ import annotations

import asyncio
import logging
import os

from ingress import api
from log.raft import RaftLog
from node.clock import SYSTEM, Clock
from node.config import NodeOptions
from node.directory import Directory
from node.fabric import Unavailable
from node.membership import Membership
from node.processor import PartitionProcessor
from partition.routing import Partitioning
from perdure_proto import fabric_pb2 as fb

log = logging.getLogger(__name__)

POLL_S = 0.5
ALIVE_WITHIN_S = 2.0


class ClusterView:
    """Implements ingress.api.ClusterView (and the fabric's status call)."""

    def __init__(
        self,
        options: NodeOptions,
        partitioning: Partitioning,
        raft: RaftLog,
        processor: PartitionProcessor,
        directory: Directory,
        membership: Membership | None = None,
        clock: Clock = SYSTEM,
    ) -> None:
        self._options = options
        self._partitioning = partitioning
        self._raft = raft
        self._processor = processor
        self._directory = directory
        self._membership = membership
        self._clock = clock
        self._remote: dict[tuple[str, int], tuple[fb.GroupStatus, float]] = {}
        host = "127.0.0.1" if options.bind_host in ("0.0.0.0", "") else options.bind_host
        self._ingress = f"http://{host}:{options.ingress_port}"
        admin_host = options.admin_bind_host or options.bind_host
        admin_host = "127.0.0.1" if admin_host in ("0.0.0.0", "") else admin_host
        self._admin = f"http://{admin_host}:{options.admin_port}"

    def group_status(self) -> fb.GroupStatus:
        raft = self._raft.status()
        out = fb.GroupStatus(
            group=self._options.group,
            pid=os.getpid(),
            raft_address=raft.self_address,
            term=raft.term,
            leader_address=raft.leader_address or "",
            leading=self._processor.active,
            node=self._options.node_name,
            ingress=self._ingress,
            admin=self._admin if self._options.group == 0 else "",
        )
        if self._processor.applied_lsn is not None:
            out.has_applied, out.applied = True, self._processor.applied_lsn
        if raft.committed_lsn is not None:
            out.has_committed, out.committed = True, raft.committed_lsn
        return out

    def _member_names(self) -> list[str]:
        """The nodes in this group's Raft configuration (membership changes move it), this
        one first; a node not named yet goes by its host until it answers a poll."""
        me = self._options.node_name
        if self._membership is None:
            return [me]
        names = (self._membership.node_of_raft_address(a) for a in self._raft.members())
        return [me, *sorted({n for n in names if n and n != me})]

    async def watch(self) -> None:
        """Poll the other nodes' processes until cancelled (a cluster only)."""
        if self._membership is None:
            return
        while True:
            others = self._member_names()[1:]
            peers = [(name, g) for name in others for g in range(self._partitioning.groups)]
            for gone in set(self._remote) - set(peers):  # removed, or known by name now
                del self._remote[gone]
            # All at once: a peer that does not answer (down, cut off) delays no other.
            await asyncio.gather(*(self._poll(name, group) for name, group in peers))
            await self._clock.sleep(POLL_S)

    async def _poll(self, name: str, group: int) -> None:
        try:
            status = await self._directory.client(name, group).status()
        except Unavailable as exc:
            log.debug("no status from %s group %d: %s", name, group, exc)
            return
        if self._membership is not None and status.node and status.node != name:
            self._membership.learn(status.node, self._membership.host(name))  # it says who
        self._remote[(name, group)] = (status, self._clock.monotonic())

    def _node_groups(self, node: str) -> dict[int, tuple[fb.GroupStatus | None, bool]]:
        """Each group's status on `node` and whether it answered lately."""
        now = self._clock.monotonic()
        if node == self._options.node_name:
            out: dict[int, tuple[fb.GroupStatus | None, bool]] = {
                self._options.group: (self.group_status(), True)
            }
            seen_by_group = {g: self._directory.seen.get(g) for g in self._directory.local_peers()}
        else:
            out = {}
            seen_by_group = {
                g: self._remote.get((node, g)) for g in range(self._partitioning.groups)
            }
        for group, seen in seen_by_group.items():
            if seen is None:
                out[group] = (None, False)
            else:
                out[group] = (seen[0], now - seen[1] <= ALIVE_WITHIN_S)
        return out

    def cluster(self) -> api.ClusterStatus:
        me = self._options.node_name
        by_node = {name: self._node_groups(name) for name in self._member_names()}
        nodes = tuple(_node(name, groups) for name, groups in by_node.items())
        partitions = []
        for partition in range(self._partitioning.partitions):
            group = self._partitioning.group_of_partition(partition)
            statuses = {name: groups.get(group, (None, False)) for name, groups in by_node.items()}
            partitions.append(_partition(partition, group, statuses, me, self._membership))
        return api.ClusterStatus(
            cluster_name=None,
            partition_count=self._partitioning.partitions,
            this_node=me,
            nodes=nodes,
            partitions=tuple(partitions),
        )


def _node(name: str, groups: dict[int, tuple[fb.GroupStatus | None, bool]]) -> api.NodeStatus:
    first, alive = groups.get(0, (None, False))
    processes = tuple(
        api.ProcessStatus(
            raft_group=g,
            pid=None if s is None else int(s.pid),
            alive=up,
            address=s.raft_address if s is not None else "",
        )
        for g, (s, up) in sorted(groups.items())
    )
    return api.NodeStatus(
        name=name,
        address=first.raft_address if first is not None else "",
        pid=None if first is None else int(first.pid),
        alive=alive,
        ingress=(first.ingress or None) if first is not None else None,
        admin=(first.admin or None) if first is not None else None,
        processes=processes,
    )


def _partition(
    partition: int,
    group: int,
    statuses: dict[str, tuple[fb.GroupStatus | None, bool]],
    me: str,
    membership: Membership | None,
) -> api.PartitionStatus:
    mine, _ = statuses.get(me, (None, False))
    known = {name: s for name, (s, alive) in statuses.items() if s is not None and alive}
    # This node's own Raft view first (it is current; others' statuses are up to a poll old);
    # failing that, the member reporting it leads in the newest term (a member cut off may
    # still report it leads until it hears otherwise).
    leader: str | None = None
    if mine is not None and mine.leader_address:
        if membership is None:
            leader = me if mine.leader_address == mine.raft_address else None
        else:
            leader = membership.node_of_raft_address(mine.leader_address)
    if leader is None:
        leading = [(int(s.term), name) for name, s in known.items() if s.leading]
        leader = max(leading)[1] if leading else None
    replicas = tuple(
        api.ReplicaStatus(
            node=name,
            mode="leader" if s.leading else "follower",
            applied=s.applied if s.has_applied else None,
            committed=s.committed if s.has_committed else None,
        )
        for name, s in known.items()
    )
    term = max((int(s.term) for s in known.values()), default=0)
    applied = mine.applied if mine is not None and mine.has_applied else None
    committed = mine.committed if mine is not None and mine.has_committed else None
    return api.PartitionStatus(partition, group, leader, term, applied, committed, replicas)
