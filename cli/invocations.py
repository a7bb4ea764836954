"""`perdure invocations cancel|kill|purge|pause|resume` by filter: one request, executed inside
the partitions (POST /invocations/bulk/{command}, node/admin_operations.py): each partition
group's leader appends one record that changes every matching invocation in one write.

    perdure invocations cancel --service Sleeper --status suspended
    perdure invocations kill --service Counter --key alice
    perdure invocations purge --service Greeter --created-before 2026-12-01T00:00:00Z
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from cli.admin import AdminClient

COMMANDS = {
    "cancel": ("Cancelled", "cancel invocations that have not completed (handlers observe it)"),
    "kill": ("Killed", "kill invocations that have not completed (no more user code runs)"),
    "purge": ("Purged", "forget completed invocations (their results and journals)"),
    "pause": ("Paused", "pause running or suspended invocations"),
    "resume": ("Resumed", "resume paused or suspended invocations"),
}


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    group = commands.add_parser(
        "invocations",
        help="act on invocations by filter, inside the partitions",
        description=__doc__,
    )
    sub = group.add_subparsers(
        dest="invocations_command", metavar="{" + ",".join(COMMANDS) + "}", required=True
    )
    for name, (_, summary) in COMMANDS.items():
        leaf = sub.add_parser(name, parents=[common], help=summary, description=summary)
        leaf.add_argument("--service", help="the service's name")
        leaf.add_argument("--handler", help="the handler's name (with --service)")
        leaf.add_argument("--key", help="the Virtual Object's or workflow's key")
        leaf.add_argument(
            "--status",
            action="append",
            help="pending, scheduled, running, suspended, paused or completed (repeatable)",
        )
        leaf.add_argument(
            "--created-after", metavar="TIME", help="RFC 3339, e.g. 2026-12-01T00:00:00Z"
        )
        leaf.add_argument("--created-before", metavar="TIME", help="RFC 3339")
        leaf.add_argument("--deployment", help="pinned to this deployment (dp_...)")
        leaf.add_argument("--limit", type=int, help="at most this many per partition group")
        leaf.set_defaults(run=lambda c, a, name=name: _bulk(c, a, name))


def filter_of(args: argparse.Namespace) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for field in ("service", "handler", "key", "created_after", "created_before", "deployment"):
        value = getattr(args, field, None)
        if value is not None:
            doc[field] = value
    if getattr(args, "status", None):
        doc["status"] = args.status
    if getattr(args, "limit", None) is not None:
        doc["limit"] = args.limit
    return doc


def _bulk(client: AdminClient, args: argparse.Namespace, name: str) -> str:
    answer = client.call("POST", f"/invocations/bulk/{name}", filter_of(args))
    if getattr(args, "json", False):
        return json.dumps(answer, indent=2)
    done = COMMANDS[name][0]
    return (
        f"{done} {answer['affected']} invocations "
        f"({answer['completed_groups']} of {answer['partition_groups']} partition groups)"
    )
