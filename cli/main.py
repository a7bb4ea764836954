"""`perdure`'s entry point: parse the command line, run the command, print its text.

Every command group is a module with `register(commands, common)` that adds its subcommands,
each with `set_defaults(run=...)`: a function of an `AdminClient` and the parsed arguments that
returns the text to print. `cluster` and `invocations` (bulk commands by filter) are the groups
so far; `deployments` slots in the same way. Exit status: 0 done, 1 the command failed (one
line on stderr, no traceback), 2 bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from cli import admin, cluster, invocations

PROG = "perdure"
GROUPS: tuple[
    Callable[[argparse._SubParsersAction[argparse.ArgumentParser], argparse.ArgumentParser], None],
    ...,
] = (cluster.register, invocations.register)


def _common() -> argparse.ArgumentParser:
    """Options every command takes, before or after the command's name. Both places default
    to SUPPRESS so that a subcommand's parser does not overwrite what the top level parsed."""
    default = argparse.SUPPRESS
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--admin-url",
        metavar="URL",
        default=default,
        help=f"the node's admin API (default: ${admin.URL_ENV} or {admin.DEFAULT_URL})",
    )
    common.add_argument(
        "--json", action="store_true", default=default, help="print the answer as JSON"
    )
    return common


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog=PROG,
        description="Operate a Perdure cluster through a node's admin API.",
        parents=[_common()],
    )
    commands = top.add_subparsers(dest="command", required=True)
    common = _common()
    for register in GROUPS:
        register(commands, common)
    commands.metavar = "{" + ",".join(commands.choices) + "}"  # also names them when missing
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    client = admin.AdminClient(admin.admin_url(getattr(args, "admin_url", None)))
    try:
        text = args.run(client, args)
    except admin.Error as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `perdure ... | head`: the reader left, not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # (Python's docs' way)
    return 0
