"""Waiting on durable futures: waiters, suspension, cancellation delivery, always-replay mode.

Handler code waits through ``Waits.wait_any(handles)``, and every such wait is an await point for
cancellation (``AttemptMachine.cancellation_at``): a pending cancellation raises
``TerminalError("cancelled", 409)`` there, or in a waiter already blocked when the ``Cancel``
arrives.

Suspension: once every pending waiter is blocked on something only an external event completes
(a call result, a timer, an awakeable, a promise) and no run is in flight, the attempt suspends on
those commands. In always-replay mode it suspends as soon as the handler would wait at all, with an
empty ``waiting_on`` ("replay me now") when what it waits for comes from the server acknowledging
what was sent (a run result, an invocation id), so every step runs under a fresh replay and
non-determinism shows up at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from perdure._machine import AttemptMachine, Closed, Handle
from perdure.exceptions import AttemptStopped, SuspendedException, TerminalError

__all__ = ["Waits", "cancelled_error"]


def cancelled_error() -> TerminalError:
    """What a handler sees where it observes a cancellation."""
    return TerminalError("cancelled", 409)


@dataclass(slots=True)
class _Waiter:
    handles: Sequence[Handle]
    future: asyncio.Future[None]
    index: int
    ordinal: int


class Waits:
    """The waiters of one attempt."""

    def __init__(
        self, machine: AttemptMachine, always_replay: bool, changed: Callable[[], None]
    ) -> None:
        self.machine = machine
        self.always_replay = always_replay
        self._changed = changed
        self._waiters: list[_Waiter] = []
        self._suspend_check_pending = False

    async def wait_any(self, handles: Sequence[Handle], ready: bool = False) -> None:
        """Return once one of ``handles`` is done (at once when ``ready``: the caller knows
        something is); raise the cancellation if this await observes one, or if the attempt
        closes first."""
        m = self.machine
        index, ordinal = m.await_point()
        if m.cancellation_at(ordinal):
            self._changed()
            raise cancelled_error()
        if ready:
            return
        while True:
            if any(m.is_done(h) for h in handles):
                return
            if m.closed is not None:
                if m.closed is Closed.SUSPENDED:
                    raise SuspendedException()
                raise AttemptStopped("attempt closed")
            waiter = _Waiter(handles, asyncio.get_running_loop().create_future(), index, ordinal)
            self._waiters.append(waiter)
            self._schedule_suspend_check()
            try:
                await waiter.future
            finally:
                self._waiters.remove(waiter)

    def wake(self) -> None:
        """Release the waiters whose handles are done; deliver a pending cancellation; check
        whether the attempt should suspend now."""
        m = self.machine
        for waiter in self._waiters:
            if not waiter.future.done() and any(m.is_done(h) for h in waiter.handles):
                waiter.future.set_result(None)
        self._deliver_cancel()
        if any(not w.future.done() for w in self._waiters):
            self._schedule_suspend_check()

    def close(self) -> None:
        """The attempt closed: fail every waiter."""
        suspended = self.machine.closed is Closed.SUSPENDED
        for waiter in self._waiters:
            if not waiter.future.done():
                exc = SuspendedException() if suspended else AttemptStopped("attempt closed")
                waiter.future.set_exception(exc)

    def _deliver_cancel(self) -> None:
        m = self.machine
        if not m.cancel_pending or m.is_replaying or m.closed is not None:
            return
        for waiter in self._waiters:
            if waiter.future.done():
                continue
            if m.cancellation_at(m.ordinal_for(waiter.index, waiter.ordinal)):
                waiter.future.set_exception(cancelled_error())
                self._changed()
            return

    def _schedule_suspend_check(self) -> None:
        if not self._suspend_check_pending:
            self._suspend_check_pending = True
            asyncio.get_running_loop().call_soon(self._check_suspend)

    def _check_suspend(self) -> None:
        self._suspend_check_pending = False
        m = self.machine
        pending = [w for w in self._waiters if not w.future.done()]
        if m.closed is not None or not pending or m.runs_executing():
            return
        handles = [h for w in pending for h in w.handles]
        if any(m.is_done(h) for h in handles):
            return
        acknowledged_soon = any(m.resolves_without_server_event(h) for h in handles)
        if not self.always_replay:
            if acknowledged_soon or m.runs_in_flight():
                return
            m.suspend(h.index for h in handles)
        elif acknowledged_soon:
            m.suspend(())
        else:
            m.suspend(h.index for h in handles)
        self._changed()
