"""Membership changes: add a node, remove a node, move a group's leadership; one at a time.

Every node runs a member of every Raft group, so adding or removing a node is one Raft
configuration change per group, each appended and committed by that group's leader
(`RaftLog.change_membership`: pysyncobj's single-server changes, refused while another is
uncommitted). The groups' configurations, stored in their logs and manifests, are the truth;
`Membership` only names their members.

Adding a node (`POST /cluster/nodes {"name", "address"}`, `perdure cluster add NAME ADDRESS`):
start it first with the cluster list including itself and `cluster_join = true`. Before its
members start, each fetches a snapshot of its group from a member and installs it, and it stays
out of elections (the others refuse a peer that is not in their configuration anyway). The admin
API then adds its member to each group in turn; the member receives the log after its snapshot,
becomes ready, and from then on votes and may lead. So a new node catches up as a non-voter
(by snapshot) and votes once added, rather than joining the quorum empty.

Removing a node (`DELETE /cluster/nodes/NAME`, `perdure cluster remove NAME`): each group's
leader removes its member; a group it leads hands leadership over first. Its members then hear
from no one (the others refuse its connections): stop it afterwards.

Moving leadership (`POST /cluster/partitions/ID/leader {"node"}`, `perdure cluster lead ID
NODE`): the partition's group leader hands leadership to that node's member (Raft's TimeoutNow;
refused until that member has every entry). All partitions of the group move with it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from ingress import api
from log.api import Error as LogError
from log.api import NotLeader
from log.raft import RaftLog
from node.clock import SYSTEM, Clock
from node.directory import Directory
from node.fabric import Unavailable
from node.membership import Membership
from node.proposer import Proposer
from partition.routing import Partitioning
from perdure_proto import fabric_pb2 as fb
from perdure_proto import records_pb2 as rec

log = logging.getLogger(__name__)

Op = fb.MembershipRequest.Op
CHANGE_TIMEOUT_S = 30.0  # per group: a leader change or a slow commit is waited out
RETRY_S = 0.2
_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$")


def _done() -> fb.Outcome:
    return fb.Outcome(done=True)


def _refused(code: int, message: str) -> fb.Outcome:
    return fb.Outcome(rejected=fb.Rejected(code=code, message=message))


class GroupMembership:
    """A partition process's side (the fabric's MEMBERSHIP method): its group's leader changes
    the group's configuration; any other member answers 503 (the caller finds the leader)."""

    def __init__(self, raft: RaftLog, group: int, proposer: Proposer) -> None:
        self._raft = raft
        self._group = group
        self._proposer = proposer

    async def change(self, request: fb.MembershipRequest) -> fb.Outcome:
        raft, address = self._raft, request.address
        if not raft.is_leader():
            return _refused(503, f"this member does not lead group {self._group}")
        me, members = raft.status().self_address, raft.members()
        if request.op == Op.LEAD:
            if address not in members:
                return _refused(409, f"{address} is not a member of group {self._group}")
            try:  # where the campaign keeps (or hands back) the leadership from now on
                record = rec.Envelope(prefer_leader=rec.PreferLeader(raft_address=address))
                await self._proposer.propose(record)
            except LogError as exc:
                return _refused(503, f"group {self._group}: {exc}")
            if address != me:
                raft.transfer_leadership(address)  # the caller waits until it moved
            return _done()
        add = request.op == Op.ADD
        if add == (address in members):
            return _done()  # already so: a retried request
        if not add and address == me:
            raft.transfer_leadership(None)
            return _refused(503, f"group {self._group}'s leader is leaving: moving leadership")
        if not add and len(members) <= 2:
            return _refused(409, f"group {self._group} would have fewer than two members")
        try:
            await raft.change_membership(add, address)
        except NotLeader:
            return _refused(503, f"this member no longer leads group {self._group}")
        except LogError as exc:
            return _refused(503, f"group {self._group}: {exc}")
        log.info("group %d: %s member %s", self._group, "added" if add else "removed", address)
        return _done()


class ClusterChanges:
    """The admin API's side: a change is carried out on each group in turn, by its leader."""

    def __init__(
        self,
        membership: Membership,
        partitioning: Partitioning,
        directory: Directory,
        local: GroupMembership,
        raft: RaftLog,
        clock: Clock = SYSTEM,
    ) -> None:
        self._membership = membership
        self._partitioning = partitioning
        self._groups = partitioning.groups
        self._directory = directory
        self._local = local
        self._raft = raft
        self._clock = clock

    def members(self) -> list[str]:
        """Names of the nodes in this group's configuration."""
        names = (self._membership.node_of_raft_address(a) for a in self._raft.members())
        return sorted(name for name in names if name)

    async def add_node(self, name: str, host: str) -> dict[str, Any]:
        """Add node `name` at `host` (started with cluster_join) to every group."""
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$", name) or not _HOST.match(host):
            raise api.AdminError(400, "expected a node name and an address (a host, no port)")
        members = self.members()
        if name in members and self._membership.host(name) != host:
            raise api.AdminError(409, f"node {name} is a member at {self._membership.host(name)}")
        if host in {self._membership.host(n) for n in members} and name not in members:
            raise api.AdminError(409, f"another member runs on {host}")
        self._membership.learn(name, host)
        await self._each_group(Op.ADD, name)
        return {"name": name, "address": host, "members": self.members()}

    async def remove_node(self, name: str) -> dict[str, Any]:
        """Remove node `name` from every group (stop it afterwards)."""
        self._check_member(name)
        await self._each_group(Op.REMOVE, name)
        return {"name": name, "members": self.members()}

    async def move_partition_leadership(self, partition: int, name: str) -> dict[str, Any]:
        """Move the leadership of `partition`'s group (and so of its other partitions)."""
        if not 0 <= partition < self._partitioning.partitions:
            raise api.AdminError(404, f"no partition {partition}")
        group = self._partitioning.group_of_partition(partition)
        return {"partition": partition, **await self.move_leadership(group, name)}

    async def move_leadership(self, group: int, name: str) -> dict[str, Any]:
        self._check_member(name)
        request = fb.MembershipRequest(
            op=Op.LEAD, address=self._membership.raft_address(name, group)
        )
        deadline = self._clock.monotonic() + CHANGE_TIMEOUT_S
        while self._directory.leader_address(group) != request.address:
            await self._on_leader(group, request, deadline)
            if self._clock.monotonic() > deadline:
                raise api.AdminError(
                    503,
                    f"the leadership of group {group} did not move to {name} within "
                    f"{CHANGE_TIMEOUT_S:.0f} s (it moves only to a member that has every entry)",
                )
            await self._clock.sleep(RETRY_S)
        return {"raft_group": group, "leader": name}

    def _check_member(self, name: str) -> None:
        """Raises 404 unless node `name` (or a node not named yet, by its host) is a member."""
        hosts = {address.rpartition(":")[0] for address in self._raft.members()}
        if self._membership.host(name) not in hosts:
            raise api.AdminError(404, f"node {name} is not a member of the cluster")

    async def _each_group(self, op: int, name: str) -> None:
        for group in range(self._groups):
            request = fb.MembershipRequest(
                op=op,  # type: ignore[arg-type]
                address=self._membership.raft_address(name, group),
            )
            await self._on_leader(group, request, self._clock.monotonic() + CHANGE_TIMEOUT_S)

    async def _on_leader(self, group: int, request: fb.MembershipRequest, deadline: float) -> None:
        """Carry `request` out on `group`'s leader, retrying while leadership moves."""
        while True:
            peer = self._directory.route(group)
            try:
                if peer is None:
                    out = await self._local.change(request)
                else:
                    out = await peer.membership(request)
            except Unavailable as exc:
                out = _refused(503, f"the leader of group {group} is unreachable: {exc}")
            if out.WhichOneof("kind") == "done":
                return
            code, message = out.rejected.code, out.rejected.message
            if code != 503 or self._clock.monotonic() > deadline:
                raise api.AdminError(code, message)
            await self._clock.sleep(RETRY_S)
