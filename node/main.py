"""`perdure-server`: run one node until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import sys

from node import config, fatal, logs
from node.server import Node


async def _serve(options: config.NodeOptions, libc: ctypes.CDLL | None) -> None:
    node = Node(options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with asyncio.TaskGroup() as tg:
        trimming = tg.create_task(_trim_the_heap(libc), name="malloc-trim") if libc else None
        try:
            endpoints = await node.start()
            if options.log_format == "text":  # JSON logs: JSON lines only (the node logs it)
                print(
                    f"perdure ready: ingress {endpoints.ingress_url} admin {endpoints.admin_url}",
                    flush=True,
                )
            await node.serve_until(stop)
        finally:
            await node.stop()
            if trimming is not None:
                trimming.cancel()


TRIM_HEAP_EVERY_S = 10.0


async def _trim_the_heap(libc: ctypes.CDLL) -> None:
    """Give the heap's free pages back to the system now and then (glibc's malloc_trim, a few
    ms, off the event loop): what big requests freed in the heap would otherwise stay."""
    while True:
        await asyncio.sleep(TRIM_HEAP_EVERY_S)
        await asyncio.to_thread(libc.malloc_trim, 0)


def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def _return_big_buffers_to_the_system(libc: ctypes.CDLL) -> None:
    """glibc raises its mmap threshold to the size of the largest block freed (up to 32 MiB),
    after which big request bodies come from the heap, which it keeps: one 31 MiB request left
    a node at 750 MB. A fixed threshold (1 MiB) keeps big buffers in their own mappings, given
    back when freed."""
    libc.mallopt(_M_MMAP_THRESHOLD, 1 << 20)


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def batch_scheduled(options: config.NodeOptions) -> bool:
    """Whether this process (and every thread it starts) runs SCHED_BATCH.

    Partition processes hand requests to each other (a keyed request reaching the process that
    does not lead its partition is forwarded) and share the cores with the deployments and the
    clients. Under the default policy a process woken by a forwarded request or an answer
    preempts whichever runs, so the processes ping-pong: at 64 connections on 2 cores, 2
    processes saw 4-6 context switches per request against 1.6 for one process, and the server
    spent 30-50 % more CPU per request. SCHED_BATCH only stops a woken task from preempting:
    it runs at the next scheduling point, or at once on an idle core (as at low load). One
    process gains nothing from it (measured), hence "auto"."""
    if options.cpu_scheduling == "auto":
        return options.partition_processes > 1
    return options.cpu_scheduling == "batch"


def _schedule(options: config.NodeOptions) -> None:
    """Set the policy before any thread starts (threads inherit it)."""
    if batch_scheduled(options) and hasattr(os, "SCHED_BATCH"):
        try:
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
        except OSError as exc:  # not Linux, or refused: the default policy is fine
            print(
                f"perdure-server: SCHED_BATCH refused ({exc}); keeping the default policy",
                file=sys.stderr,
            )


def main(argv: list[str] | None = None) -> int:
    try:
        options, dump = config.load(argv)
    except config.Error as exc:
        print(f"perdure-server: {exc}", file=sys.stderr)
        return 2
    if dump:
        sys.stdout.write(config.dump(options))
        return 0
    _schedule(options)
    logs.setup(options.log_level, options.log_format, options.node_name, options.group)
    libc = _glibc()  # None where libc is not glibc: nothing to tune
    if libc is not None:
        _return_big_buffers_to_the_system(libc)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    profile = os.environ.get("PERDURE_PROFILE")  # a path: write cProfile stats there on exit
    try:
        if profile:
            import cProfile

            cProfile.runctx("asyncio.run(_serve(options, libc))", globals(), locals(), profile)
        else:
            asyncio.run(_serve(options, libc))
    except Exception as exc:
        refused = fatal.configuration_error(exc)
        if refused is not None:
            print(f"perdure-server: {refused}", file=sys.stderr)
            return 2
        failure = fatal.storage_failure(exc)
        if failure is None:
            raise  # a bug: its traceback belongs in the log
        logging.getLogger("node").critical("stopping: %s", failure)
        return fatal.EXIT_STATUS
    return 0


if __name__ == "__main__":
    sys.exit(main())
