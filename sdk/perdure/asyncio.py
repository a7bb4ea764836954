"""Combinators over durable futures: ``select``, ``gather``, ``as_completed``, ``wait_completed``.

The protocol has no entry for the order in which futures completed, so every choice a combinator
makes (the winner of ``select``, the done set of ``wait_completed``, each step of ``as_completed``)
is journaled as a ``Run`` command named ``perdure:<combinator>`` holding the chosen positions. A
replay reads the choice back instead of re-deciding, so it follows the original run.
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
    # Always one await point, done or not, so a replay (where more is done) counts the same
    # awaits and observes a journaled cancellation at the same one.
    if runner is None:
        return
    handles: list[Handle] = [f.handle for f in futures if f.handle is not None]
    await runner.wait_any(handles, ready=any(f.done() for f in futures))


async def _choose(
    label: str, futures: list[ServerFuture[Any]], runner: AttemptRunner | None
) -> list[int]:
    def done() -> list[int]:
        return [i for i, f in enumerate(futures) if f.done()]

    if runner is None:
        return done()
    return await runner.durable_choice(f"perdure:{label}", done)


async def select(**kws: RestateDurableFuture[Any]) -> list[Any]:
    """``[name, value]`` of the first completed future (raises its ``TerminalError``)."""
    if not kws:
        raise ValueError("select() needs at least one future")
    futures, runner = _check(tuple(kws.values()))
    await _wait_any(futures, runner)
    first = (await _choose("select", futures, runner))[0]
    return [list(kws)[first], await futures[first]]


async def gather(*futures: RestateDurableFuture[Any]) -> list[RestateDurableFuture[Any]]:
    """Wait for all futures; returns the futures themselves (await each for its value)."""
    checked, runner = _check(futures)
    for f in checked:
        if runner is not None and f.handle is not None:
            await runner.wait_any([f.handle], ready=f.done())
    return list(futures)


async def as_completed(
    *futures: RestateDurableFuture[Any],
) -> AsyncGenerator[RestateDurableFuture[Any], None]:
    """Yield the futures in completion order."""
    pending, runner = _check(futures)
    while pending:
        await _wait_any(pending, runner)
        done = [pending[i] for i in await _choose("as_completed", pending, runner)]
        for f in done:
            pending.remove(f)
            yield f


async def wait_completed(
    *futures: RestateDurableFuture[Any],
) -> tuple[list[RestateDurableFuture[Any]], list[RestateDurableFuture[Any]]]:
    """``(done, pending)`` as soon as at least one future is done."""
    checked, runner = _check(futures)
    await _wait_any(checked, runner)
    chosen = set(await _choose("wait_completed", checked, runner))
    done: list[RestateDurableFuture[Any]] = [f for i, f in enumerate(checked) if i in chosen]
    pending: list[RestateDurableFuture[Any]] = [f for i, f in enumerate(checked) if i not in chosen]
    return done, pending
