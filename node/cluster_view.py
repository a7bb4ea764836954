"""What GET /cluster shows: this node, its partition processes and every logical partition,
with the Raft figures of the group that runs it.

The first process answers. Its own group's figures are read when asked; the other processes'
come from a status poll over the fabric every `POLL_S` (so they may be that stale, and a process
that stopped answering shows as not alive with its last known figures).
"""

from __future__ import annotations

import logging
import os

from ingress import api
from log.raft import RaftLog
from node.clock import SYSTEM, Clock
from node.config import NodeOptions
from node.fabric import FabricClient, Unavailable
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
        peers: dict[int, FabricClient],
        clock: Clock = SYSTEM,
    ) -> None:
        self._options = options
        self._partitioning = partitioning
        self._raft = raft
        self._processor = processor
        self._peers = peers
        self._clock = clock
        self._seen: dict[int, tuple[fb.GroupStatus, float]] = {}

    def group_status(self) -> fb.GroupStatus:
        raft = self._raft.status()
        out = fb.GroupStatus(
            group=self._options.group,
            pid=os.getpid(),
            raft_address=raft.self_address,
            term=raft.term,
            leader_address=raft.leader_address or "",
            leading=self._processor.active,
        )
        if self._processor.applied_lsn is not None:
            out.has_applied, out.applied = True, self._processor.applied_lsn
        if raft.committed_lsn is not None:
            out.has_committed, out.committed = True, raft.committed_lsn
        return out

    async def watch(self) -> None:
        """Poll the other processes' status until cancelled."""
        while True:
            for group, peer in self._peers.items():
                try:
                    self._seen[group] = (await peer.status(), self._clock.monotonic())
                except Unavailable as exc:
                    log.debug("no status from group %d: %s", group, exc)
            await self._clock.sleep(POLL_S)

    def _groups(self) -> dict[int, tuple[fb.GroupStatus | None, bool]]:
        now = self._clock.monotonic()
        out: dict[int, tuple[fb.GroupStatus | None, bool]] = {
            self._options.group: (self.group_status(), True)
        }
        for group in self._peers:
            seen = self._seen.get(group)
            if seen is None:
                out[group] = (None, False)
            else:
                out[group] = (seen[0], now - seen[1] <= ALIVE_WITHIN_S)
        return out

    def cluster(self) -> api.ClusterStatus:
        opts = self._options
        name = opts.node_name
        groups = self._groups()
        host = "127.0.0.1" if opts.bind_host in ("0.0.0.0", "") else opts.bind_host
        processes = tuple(
            api.ProcessStatus(
                raft_group=g,
                pid=None if s is None else int(s.pid),
                alive=alive,
                address=s.raft_address if s is not None else "",
            )
            for g, (s, alive) in sorted(groups.items())
        )
        me = api.NodeStatus(
            name=name,
            address=self._raft.status().self_address,
            pid=os.getpid(),
            alive=True,
            ingress=f"http://{host}:{opts.ingress_port}",
            admin=f"http://{host}:{opts.admin_port}",
            processes=processes,
        )
        partitions = []
        for partition in range(self._partitioning.partitions):
            group = self._partitioning.group_of_partition(partition)
            status, _ = groups[group]
            partitions.append(_partition(partition, group, status, name))
        return api.ClusterStatus(
            cluster_name=None,
            partition_count=self._partitioning.partitions,
            this_node=name,
            nodes=(me,),
            partitions=tuple(partitions),
        )


def _partition(
    partition: int, group: int, status: fb.GroupStatus | None, node: str
) -> api.PartitionStatus:
    if status is None:
        return api.PartitionStatus(partition, group, None, 0, None, None, ())
    applied = status.applied if status.has_applied else None
    committed = status.committed if status.has_committed else None
    # One node: a group's leader is this node when the group has a leader at all.
    leader = node if status.leader_address == status.raft_address else None
    replica = api.ReplicaStatus(
        node=node,
        mode="leader" if status.leading else "follower",
        applied=applied,
        committed=committed,
    )
    return api.PartitionStatus(
        partition, group, leader, int(status.term), applied, committed, (replica,)
    )
