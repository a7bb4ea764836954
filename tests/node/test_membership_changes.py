"""Membership changes on their own: what a group's member does with a configuration change
(`GroupMembership`), and the admin API's routes for them (`POST /cluster/nodes`,
`DELETE /cluster/nodes/{name}`, `POST /cluster/partitions/{id}/leader`). The whole path with
real processes is tests/e2e/test_membership_changes.py."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, cast

from ingress.api import AdminError
from ingress.http_types import EMPTY_QUERY, Request
from log.api import Error as LogError
from node.admin_api import AdminApi
from node.membership_changes import GroupMembership, Op
from perdure_proto import fabric_pb2 as fb
from perdure_proto import records_pb2 as rec
from tests.ingress.fakes import FakeAdmin


@dataclass
class Status:
    self_address: str


@dataclass
class FakeRaft:
    me: str = "a:1"
    leading: bool = True
    configuration: list[str] = field(default_factory=lambda: ["a:1", "b:1", "c:1"])
    changes: list[tuple[bool, str]] = field(default_factory=list)
    transfers: list[str | None] = field(default_factory=list)
    refuse: bool = False

    def is_leader(self) -> bool:
        return self.leading

    def status(self) -> Status:
        return Status(self.me)

    def members(self) -> tuple[str, ...]:
        return tuple(sorted(self.configuration))

    async def change_membership(self, add: bool, address: str) -> None:
        if self.refuse:
            raise LogError("another change is still uncommitted")
        self.changes.append((add, address))
        if add:
            self.configuration.append(address)
        else:
            self.configuration.remove(address)

    def transfer_leadership(self, to: str | None = None) -> bool:
        self.transfers.append(to)
        return True


@dataclass
class FakeProposer:
    proposed: list[rec.Envelope] = field(default_factory=list)

    async def propose(self, record: rec.Envelope) -> int:
        self.proposed.append(record)
        return 1


def member(raft: FakeRaft, proposer: FakeProposer | None = None) -> GroupMembership:
    return GroupMembership(cast(Any, raft), 0, cast(Any, proposer or FakeProposer()))


def outcome(out: fb.Outcome) -> tuple[str, int]:
    kind = out.WhichOneof("kind") or ""
    return kind, out.rejected.code if kind == "rejected" else 0


async def test_only_the_leader_changes_the_configuration_and_retries_are_harmless() -> None:
    raft = FakeRaft(leading=False)
    add = fb.MembershipRequest(op=Op.ADD, address="d:1")
    assert outcome(await member(raft).change(add)) == ("rejected", 503)
    raft.leading = True
    assert outcome(await member(raft).change(add)) == ("done", 0)
    assert outcome(await member(raft).change(add)) == ("done", 0)  # already a member
    assert raft.changes == [(True, "d:1")]
    raft.refuse = True  # e.g. the previous change is not committed yet: the caller retries
    remove = fb.MembershipRequest(op=Op.REMOVE, address="b:1")
    assert outcome(await member(raft).change(remove)) == ("rejected", 503)


async def test_a_leaving_leader_hands_over_first_and_two_members_stay() -> None:
    raft = FakeRaft()
    leave = fb.MembershipRequest(op=Op.REMOVE, address="a:1")
    assert outcome(await member(raft).change(leave)) == ("rejected", 503)
    assert raft.transfers == [None] and raft.changes == []
    assert outcome(await member(raft).change(fb.MembershipRequest(op=Op.REMOVE, address="c:1")))
    assert raft.configuration == ["a:1", "b:1"]
    last = fb.MembershipRequest(op=Op.REMOVE, address="b:1")
    assert outcome(await member(raft).change(last)) == ("rejected", 409)


async def test_moving_leadership_is_stored_in_the_log_then_handed_over() -> None:
    raft, proposer = FakeRaft(), FakeProposer()
    lead = fb.MembershipRequest(op=Op.LEAD, address="c:1")
    assert outcome(await member(raft, proposer).change(lead)) == ("done", 0)
    assert [p.prefer_leader.raft_address for p in proposer.proposed] == ["c:1"]
    assert raft.transfers == ["c:1"]
    stranger = fb.MembershipRequest(op=Op.LEAD, address="z:1")
    assert outcome(await member(raft, proposer).change(stranger)) == ("rejected", 409)


@dataclass
class FakeControl:
    calls: list[tuple[str, ...]] = field(default_factory=list)

    async def add_node(self, name: str, host: str) -> dict[str, Any]:
        self.calls.append(("add", name, host))
        if name == "taken":
            raise AdminError(409, "node taken is a member at 10.0.0.9")
        return {"name": name, "address": host, "members": ["n1", name]}

    async def remove_node(self, name: str) -> dict[str, Any]:
        self.calls.append(("remove", name))
        return {"name": name, "members": ["n2"]}

    async def move_partition_leadership(self, partition: int, name: str) -> dict[str, Any]:
        self.calls.append(("lead", str(partition), name))
        return {"partition": partition, "raft_group": 0, "leader": name}


async def call(api: AdminApi, method: str, path: str, body: object = None) -> tuple[int, Any]:
    raw = b"" if body is None else json.dumps(body).encode()
    response = await api(
        Request(method, path, {"content-type": "application/json"}, raw, EMPTY_QUERY)
    )
    return response.status, json.loads(response.body) if response.body else None


async def test_admin_routes_for_membership_changes() -> None:
    control = FakeControl()
    api = AdminApi(FakeAdmin(), changes=control)
    added = await call(api, "POST", "/cluster/nodes", {"name": "n4", "address": "10.0.0.4"})
    assert added == (200, {"name": "n4", "address": "10.0.0.4", "members": ["n1", "n4"]})
    assert await call(api, "DELETE", "/v4/cluster/nodes/n4") == (
        200,
        {"name": "n4", "members": ["n2"]},
    )
    status, body = await call(api, "POST", "/cluster/partitions/3/leader", {"node": "n2"})
    assert status == 200 and body["leader"] == "n2"
    assert control.calls == [("add", "n4", "10.0.0.4"), ("remove", "n4"), ("lead", "3", "n2")]

    refusals = [
        ("POST", "/cluster/nodes", {"name": "taken", "address": "10.0.0.5"}, 409),
        ("POST", "/cluster/nodes", {"name": "n5"}, 400),
        ("POST", "/cluster/nodes", ["n5"], 400),
        ("GET", "/cluster/nodes", None, 405),
        ("POST", "/cluster/nodes/n4", None, 405),
        ("POST", "/cluster/partitions/x/leader", {"node": "n2"}, 400),
        ("POST", "/cluster/whatever", {}, 404),
    ]
    for method, path, body, expected in refusals:
        status, answer = await call(api, method, path, body)
        assert status == expected and answer["message"], (method, path, status, answer)
    single = AdminApi(FakeAdmin())  # a node that is not part of a cluster
    status, answer = await call(single, "DELETE", "/cluster/nodes/n4")
    assert status == 409 and "not part of a cluster" in answer["message"]
