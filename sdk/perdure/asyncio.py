"""Combinators over durable futures: ``select``, ``gather``, ``as_completed``, ``wait_completed``.

Known gap: the order in which futures completed is not journaled (the protocol has no entry for
it), so a replay may pick a different winner than the original run when several futures had
completed by then.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, TypeVar

from perdure._attempt import AttemptRunner
from perdure._context_types import RestateDurableFuture
from perdure._futures import ServerFuture
from perdure._machine import Handle
from perdure.exceptions import TerminalError

__all__ = ["as_completed", "gather", "select", "wait_completed"]

T = TypeVar("T")


def _check(futures: tuple[Any, ...]) -> tuple[list[ServerFuture[Any]], AttemptRunner | None]:
    runner: AttemptRunner | None = None
    checked: list[ServerFuture[Any]] = []
    for f in futures:
        if not isinstance(f, ServerFuture):
            raise TerminalError(f"{f!r} is not a durable future of this SDK; cannot combine it")
        if f.runner is not None:
            if runner is not None and f.runner is not runner:
                raise TerminalError("cannot combine futures of two different invocations")
            runner = f.runner
        checked.append(f)
    return checked, runner


async def _wait_any(futures: list[ServerFuture[Any]], runner: AttemptRunner | None) -> None:
    if any(f.done() for f in futures) or runner is None:
        return
    handles: list[Handle] = [f.handle for f in futures if f.handle is not None]
    await runner.wait_any(handles)


async def select(**kws: RestateDurableFuture[Any]) -> list[Any]:
    """``[name, value]`` of the first completed future (raises its ``TerminalError``)."""
    if not kws:
        raise ValueError("select() needs at least one future")
    futures, runner = _check(tuple(kws.values()))
    await _wait_any(futures, runner)
    for name, f in zip(kws, futures, strict=True):
        if f.done():
            return [name, await f]
    raise RuntimeError("select(): no future completed")  # pragma: no cover


async def gather(*futures: RestateDurableFuture[Any]) -> list[RestateDurableFuture[Any]]:
    """Wait for all futures; returns the futures themselves (await each for its value)."""
    checked, runner = _check(futures)
    for f in checked:
        if not f.done() and runner is not None and f.handle is not None:
            await runner.wait_any([f.handle])
    return list(futures)


async def as_completed(
    *futures: RestateDurableFuture[Any],
) -> AsyncGenerator[RestateDurableFuture[Any], None]:
    """Yield the futures in completion order."""
    pending, runner = _check(futures)
    while pending:
        await _wait_any(pending, runner)
        done = [f for f in pending if f.done()]
        for f in done:
            pending.remove(f)
            yield f


async def wait_completed(
    *futures: RestateDurableFuture[Any],
) -> tuple[list[RestateDurableFuture[Any]], list[RestateDurableFuture[Any]]]:
    """``(done, pending)`` as soon as at least one future is done."""
    checked, runner = _check(futures)
    await _wait_any(checked, runner)
    done: list[RestateDurableFuture[Any]] = [f for f in checked if f.done()]
    pending: list[RestateDurableFuture[Any]] = [f for f in checked if not f.done()]
    return done, pending
