"""`perdure-server`: run one node until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from node import config, logs
from node.server import Node


async def _serve(options: config.NodeOptions) -> None:
    node = Node(options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        endpoints = await node.start()
        if options.log_format == "text":  # JSON logs: JSON lines only (the node logs it too)
            print(
                f"perdure ready: ingress {endpoints.ingress_url} admin {endpoints.admin_url}",
                flush=True,
            )
        await node.serve_until(stop)
    finally:
        await node.stop()


def main(argv: list[str] | None = None) -> int:
    try:
        options, dump = config.load(argv)
    except config.Error as exc:
        print(f"perdure-server: {exc}", file=sys.stderr)
        return 2
    if dump:
        sys.stdout.write(config.dump(options))
        return 0
    logs.setup(options.log_level, options.log_format, options.node_name, options.group)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    profile = os.environ.get("PERDURE_PROFILE")  # a path: write cProfile stats there on exit
    if profile:
        import cProfile

        cProfile.runctx("asyncio.run(_serve(options))", globals(), locals(), profile)
    else:
        asyncio.run(_serve(options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
