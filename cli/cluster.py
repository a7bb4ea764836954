"""`perdure cluster status|nodes|partitions`: the cluster as one node's admin API reports it
(GET /cluster, shape in node/admin_api.py), as tables or, with --json, as JSON.
`perdure cluster add|remove|lead`: membership changes, one at a time
(node/membership_changes.py)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from cli import table
from cli.admin import AdminClient, BadAnswer

NODE_HEADERS = ("NAME", "ADDRESS", "PID", "ALIVE", "INGRESS", "ADMIN")
# One row per replica, as restatectl's `partitions list`: 24 partitions on 3 nodes read as 72
# rows sorted by partition, the leader's replica marked by MODE.
PARTITION_HEADERS = ("ID", "RAFT-GROUP", "LEADER", "TERM", "NODE", "MODE", "APPLIED", "COMMITTED")

Json = dict[str, Any]


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    cluster = commands.add_parser(
        "cluster", help="show the cluster's nodes and partitions", description=__doc__
    )
    views: tuple[tuple[str, str, Callable[[Json, bool], str]], ...] = (
        ("status", "nodes and partitions", _status),
        ("nodes", "the nodes: name, address, pid, liveness, endpoints", _nodes),
        ("partitions", "the partitions: leader, term, positions of each replica", _partitions),
    )
    sub = cluster.add_subparsers(
        dest="cluster_command",
        metavar="{" + ",".join(name for name, _, _ in views) + "}",
        required=True,
    )
    for name, summary, view in views:
        leaf = sub.add_parser(name, parents=[common], help=summary, description=summary)
        leaf.set_defaults(run=_command(view))
    add = sub.add_parser(
        "add",
        parents=[common],
        help="add a node (started with cluster_join) to every partition's Raft group",
        description="Add a node, started with cluster_join = true, to every Raft group: each "
        "group's leader adds its member, which has caught up from a snapshot and votes from "
        "then on. Returns once every group committed the change.",
    )
    add.add_argument("name", help="the node's name (its node_name)")
    add.add_argument("address", help="the node's address (a host, as in the cluster setting)")
    add.set_defaults(run=lambda c, a: _change(c, "POST", "/cluster/nodes", _node(a)))
    remove = sub.add_parser(
        "remove",
        parents=[common],
        help="remove a node from every Raft group (stop it afterwards)",
        description="Remove a node from every Raft group (leadership it holds moves first); "
        "stop the node afterwards.",
    )
    remove.add_argument("name", help="the node's name")
    remove.set_defaults(run=lambda c, a: _change(c, "DELETE", f"/cluster/nodes/{a.name}"))
    lead = sub.add_parser(
        "lead",
        parents=[common],
        help="move a partition's leadership (with its Raft group's) to a node",
        description="Move the leadership of a partition's Raft group (every partition of the "
        "group moves with it) to a node's member; the group keeps it there.",
    )
    lead.add_argument("partition", type=int, help="the partition id (see cluster partitions)")
    lead.add_argument("node", help="the node's name")
    lead.set_defaults(
        run=lambda c, a: _change(
            c, "POST", f"/cluster/partitions/{a.partition}/leader", {"node": a.node}
        )
    )


def _node(args: argparse.Namespace) -> Json:
    return {"name": args.name, "address": args.address}


CHANGE_TIMEOUT_S = 120.0  # each Raft group in turn, leader changes waited out


def _change(client: AdminClient, method: str, path: str, body: Json | None = None) -> str:
    patient = AdminClient(client.base_url, timeout_s=CHANGE_TIMEOUT_S)
    return _dumps(patient.call(method, path, body))


def _command(view: Callable[[Json, bool], str]) -> Callable[[AdminClient, argparse.Namespace], str]:
    def run(client: AdminClient, args: argparse.Namespace) -> str:
        doc = client.get_json("/cluster")
        if not isinstance(doc, dict):
            raise BadAnswer(f"GET {client.base_url}/cluster answered JSON that is not an object")
        return view(doc, bool(getattr(args, "json", False)))

    return run


def _status(doc: Json, as_json: bool) -> str:
    return _dumps(doc) if as_json else status_text(doc)


def _nodes(doc: Json, as_json: bool) -> str:
    return _dumps({"nodes": _list(doc, "nodes")}) if as_json else nodes_table(doc)


def _partitions(doc: Json, as_json: bool) -> str:
    return _dumps({"partitions": _list(doc, "partitions")}) if as_json else partitions_table(doc)


def _dumps(value: object) -> str:
    return json.dumps(value, indent=2)


def status_text(doc: Json) -> str:
    """A summary line, then the nodes table and the partitions table."""
    nodes, partitions = _list(doc, "nodes"), _list(doc, "partitions")
    count = doc.get("partition_count")
    count = count if isinstance(count, int) else len(partitions)
    name = doc.get("cluster_name") or "(unnamed)"
    summary = f"Cluster {name}: {_plural(len(nodes), 'node')}, {_plural(count, 'partition')}"
    if doc.get("this_node"):
        summary += f" (as seen by {doc['this_node']})"
    return "\n".join(
        [summary, "", "Nodes", nodes_table(doc), "", "Partitions", partitions_table(doc)]
    )


def nodes_table(doc: Json) -> str:
    rows = [
        [node.get(k) for k in ("name", "address", "pid", "alive", "ingress", "admin")]
        for node in _list(doc, "nodes")
    ]
    return table.render(NODE_HEADERS, rows)


def partitions_table(doc: Json) -> str:
    rows: list[list[object]] = []
    for partition in _list(doc, "partitions"):
        head = [partition.get(k) for k in ("id", "raft_group", "leader", "term")]
        replicas = _list(partition, "replicas", required=False)
        if not replicas:  # no replica known: the partition's own figures
            rows.append([*head, None, None, partition.get("applied"), partition.get("committed")])
        for replica in replicas:
            tail = [replica.get(k) for k in ("node", "mode", "applied", "committed")]
            rows.append([*head, *tail])
    return table.render(PARTITION_HEADERS, rows)


def _list(doc: Json, key: str, *, required: bool = True) -> list[Json]:
    value = doc.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise BadAnswer(
            f"the /cluster answer has no '{key}' list of objects; is the admin URL a Perdure "
            "node's admin API (port 9070)?"
        )
    return value


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
