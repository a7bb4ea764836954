"""Who is in the cluster: static membership from the `cluster` setting, and the secret.

    cluster = "n1=10.0.0.1,n2=10.0.0.2,n3=10.0.0.3"    # every node gets the same list
    node_name = "n2"                                  # which of them this one is

Each node runs every Raft group (`partition_processes` of them): group g's member on node n
listens for Raft at `host(n):raft_port+g` and for the fabric at `host(n):internal_port+g`, so
ports are equal on every node and each node needs an address of its own (a pod IP; on one
machine, 127.0.0.1, 127.0.0.2, ...: Linux routes all of 127/8 to loopback). Those ports bind to
the node's own address only, never 0.0.0.0, and refuse peers without the cluster secret.

The secret comes from `cluster_secret_file` or the `PERDURE_CLUSTER_SECRET` environment variable;
a cluster refuses to start without one. A single node generates one per start for its own
partition processes.
"""

from __future__ import annotations

import os
import re
import secrets as _secrets
from dataclasses import dataclass, field
from pathlib import Path

from node.config import Error, NodeOptions

SECRET_ENV = "PERDURE_CLUSTER_SECRET"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    host: str


@dataclass(frozen=True, slots=True)
class Membership:
    """The configured nodes, and names learned of nodes added since (membership changes go
    through each group's Raft log, node/membership_changes.py; the groups' configurations are
    the truth, this only names their members). A node nobody named yet goes by its host."""

    members: tuple[Member, ...]
    me: str
    raft_port: int
    internal_port: int
    learned: dict[str, str] = field(default_factory=dict)  # name -> host, of added nodes

    @classmethod
    def of(cls, opts: NodeOptions) -> Membership | None:
        """The membership `opts` describes; None for a single node (no `cluster`)."""
        if not opts.cluster.strip():
            return None
        members: list[Member] = []
        for item in opts.cluster.split(","):
            name, sep, host = item.strip().partition("=")
            if not sep or not _NAME.match(name) or not host or ":" in host or " " in host:
                raise Error(
                    f"setting cluster: expected name=host[,name=host...], got item {item!r}"
                )
            if any(m.name == name for m in members) or any(m.host == host for m in members):
                raise Error(f"setting cluster: {name} or {host} appears twice")
            members.append(Member(name, host))
        if opts.node_name not in {m.name for m in members}:
            raise Error(
                f"setting node_name: {opts.node_name!r} is not in the cluster "
                f"({', '.join(m.name for m in members)})"
            )
        return cls(tuple(members), opts.node_name, opts.raft_port, opts.internal_port)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.members)

    def host(self, name: str) -> str:
        """The host of node `name`; a name not known is taken for a host (see the class)."""
        if name in self.learned:
            return self.learned[name]
        return next((m.host for m in self.members if m.name == name), name)

    def learn(self, name: str, host: str) -> None:
        """Node `name` runs on `host` (told by an operator's request or by the node itself)."""
        if _NAME.match(name) and self.host(name) != host:
            self.learned[name] = host

    @property
    def my_host(self) -> str:
        return self.host(self.me)

    def raft_address(self, name: str, group: int) -> str:
        return f"{self.host(name)}:{self.raft_port + group}"

    def fabric_address(self, name: str, group: int) -> tuple[str, int]:
        return self.host(name), self.internal_port + group

    def preferred_leader(self, group: int) -> str:
        """The node that should lead `group` when it is up: groups spread over the nodes."""
        return self.members[group % len(self.members)].name

    def node_of_raft_address(self, address: str) -> str | None:
        """The node whose member has Raft `address` ('host:port'): its name, or its host when
        it has none yet; None for something that is not an address."""
        host, _, _ = address.rpartition(":")
        if not host:
            return None
        learned = next((name for name, h in self.learned.items() if h == host), None)
        return learned or next((m.name for m in self.members if m.host == host), host)


def load_secret(opts: NodeOptions, env: dict[str, str] | None = None) -> bytes | None:
    """The cluster secret from `cluster_secret_file` or the environment (None: not set)."""
    env = dict(os.environ) if env is None else env
    if opts.cluster_secret_file:
        try:
            secret = Path(opts.cluster_secret_file).read_bytes().strip()
        except OSError as exc:
            raise Error(f"setting cluster_secret_file: cannot read it: {exc}") from exc
        if not secret:
            raise Error(f"setting cluster_secret_file: {opts.cluster_secret_file} is empty")
        return secret
    value = env.get(SECRET_ENV, "").strip()
    return value.encode() if value else None


def secret_for(opts: NodeOptions, membership: Membership | None) -> bytes:
    """The secret this node's Raft and fabric ports require."""
    secret = load_secret(opts)
    if secret is not None:
        if len(secret) < 16:
            raise Error("the cluster secret must be at least 16 bytes")
        try:
            secret.decode()
        except UnicodeDecodeError:
            raise Error("the cluster secret must be text (UTF-8)") from None
        return secret
    if membership is not None:
        raise Error(
            f"a cluster needs a secret: set cluster_secret_file or {SECRET_ENV} "
            "(the same on every node)"
        )
    return _secrets.token_hex(32).encode()  # a single node's own processes only
