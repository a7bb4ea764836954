"""The per-attempt protocol state machine: no I/O, messages in, messages out.

Theory of operation
-------------------
One ``AttemptMachine`` exists per (invocation id, attempt). It is built from the server's ``Start``
and then fed two kinds of input:

* user operations (``get_state``, ``run``, ``sleep``, ``output``, ...), each of which takes the next
  journal index. While the index is covered by ``Start.journal`` the machine is REPLAYING: the
  operation must match the recorded command (same type, name and key) and answers come from the
  journal; a mismatch fails the attempt with code 570. Past the journal it is PROCESSING: the
  operation becomes a new ``Command`` for the server.
* server messages: ``Ack`` (commands up to an index are durable), ``Completion`` (the result of a
  command that completes later), ``Cancel`` and ``Abort``.

What the handler may observe is expressed through ``Handle``s: a handle is done once its result is
known *and* durable (a new ``run`` result only after its ``Ack``). Commands go out strictly in index
order; a ``run`` reserves its index when called and its ``Run`` command leaves once the action
finished, so commands issued meanwhile are held back until then.

States and transitions::

    REPLAYING --(journal consumed)--> PROCESSING --(end | suspend | fail | abort)--> CLOSED
    REPLAYING --(mismatch | fail | abort)--------------------------------------> CLOSED

Cancellation: a ``Cancel`` (or ``Start.cancelled``, unless the journal already holds a
``Cancelled`` marker) leaves a cancellation pending. The shell reports every await of a durable
future (``await_point``, which numbers the awaits at each journal index) and asks
``cancellation_at`` whether that await observes a cancellation: when processing, a pending one is
journaled there as a ``Cancelled`` marker naming the await's number; when replaying, a recorded
marker is observed again at the same index and await number.

Everything to send accumulates in an outbox that the async shell drains (``take_outbox``).
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from perdure._commands import JournalCommands
from perdure._journal import cancelled_marker, cancelled_ordinal, describe, kind_of, matches
from perdure.exceptions import AttemptStopped
from perdure_proto import protocol_pb2 as pb

__all__ = ["AttemptMachine", "Closed", "Handle", "Phase", "RunTicket"]

JOURNAL_MISMATCH = 570
PROTOCOL_VIOLATION = 571
UNSUPPORTED_FEATURE = 573


class Phase(enum.Enum):
    REPLAYING = "replaying"
    PROCESSING = "processing"
    CLOSED = "closed"


class Closed(enum.Enum):
    """Why an attempt closed."""

    ENDED = "ended"
    SUSPENDED = "suspended"
    FAILED = "failed"
    ABORTED = "aborted"


@dataclass(frozen=True, slots=True)
class Handle:
    """Something the handler can wait for: the result, or the invocation id, of a command."""

    index: int
    kind: Literal["result", "invocation_id"] = "result"


@dataclass(frozen=True, slots=True)
class RunTicket:
    """A reserved ``run``: ``replayed`` means the result is already in the journal."""

    index: int
    replayed: bool


class AttemptMachine(JournalCommands):
    """Protocol state of one invocation attempt (see the module docstring)."""

    def __init__(self, invocation_id: str, attempt: int, start: pb.Start) -> None:
        self.invocation_id = invocation_id
        self.attempt = attempt
        self.start = start
        self._random: random.Random | None = None
        self.closed: Closed | None = None
        self._journal = list(start.journal)
        self._state: dict[str, bytes] = {e.key: e.value for e in start.state}
        self._next_index = 1
        self._emitted = len(self._journal)
        self._held: dict[int, pb.JournalEntry] = {}
        self._open_runs: dict[int, str] = {}
        self._unacked_runs: dict[int, pb.Result] = {}
        self._results: dict[int, pb.Result] = {}
        self._invocation_ids: dict[int, str] = {}
        self._end_pending = False
        self._outbox: list[pb.DeploymentMessage] = []
        observed = any(kind_of(e) == "cancelled" for e in self._journal)
        self._cancel_requested = start.cancelled and not observed
        self._await_index = 0
        self._awaits = 0

    # ------------------------------------------------------------------ observation

    @property
    def random(self) -> random.Random:
        """The attempt's deterministic ``Random``, seeded by the server. Made on first use:
        seeding costs ~4 us and most handlers never draw."""
        if self._random is None:
            self._random = random.Random(self.start.random_seed)
        return self._random

    @property
    def phase(self) -> Phase:
        if self.closed is not None:
            return Phase.CLOSED
        if self._next_index <= len(self._journal):
            return Phase.REPLAYING
        return Phase.PROCESSING

    @property
    def is_replaying(self) -> bool:
        return self.phase is Phase.REPLAYING

    def is_done(self, handle: Handle) -> bool:
        if handle.kind == "result":
            return handle.index in self._results
        return handle.index in self._invocation_ids

    def result(self, handle: Handle) -> pb.Result:
        return self._results[handle.index]

    def invocation_id_of(self, index: int) -> str:
        return self._invocation_ids[index]

    def runs_in_flight(self) -> bool:
        """True while a ``run`` is executing or its result awaits the server's ``Ack``."""
        return bool(self._open_runs or self._unacked_runs)

    def runs_executing(self) -> bool:
        """True while the action of a new ``run`` has not finished (its command is not out)."""
        return bool(self._open_runs)

    def resolves_without_server_event(self, handle: Handle) -> bool:
        """True when ``handle`` gets done by the server acknowledging what was sent (a run's
        ``Ack``, a call's or send's invocation id), not by an external event to suspend on."""
        if handle.kind == "invocation_id":
            return True
        return handle.index in self._open_runs or handle.index in self._unacked_runs

    @property
    def cancel_pending(self) -> bool:
        return self._cancel_requested

    def take_outbox(self) -> list[pb.DeploymentMessage]:
        out, self._outbox = self._outbox, []
        return out

    # ------------------------------------------------------------------ run

    def run(self, name: str) -> RunTicket:
        index, recorded = self._take(pb.JournalEntry(name=name, run=pb.Run()))
        if recorded is not None:
            self._results[index] = recorded.run.result
            return RunTicket(index, replayed=True)
        self._open_runs[index] = name
        return RunTicket(index, replayed=False)

    def complete_run(self, index: int, result: pb.Result) -> None:
        """Journal the outcome of the action of the new ``run`` at ``index``."""
        if self.closed is not None:
            return
        name = self._open_runs.pop(index)
        self._unacked_runs[index] = result
        self._emit(index, pb.JournalEntry(name=name, run=pb.Run(result=result)))

    # ------------------------------------------------------------------ cancellation

    def on_cancel(self) -> None:
        """The server asked to cancel the invocation."""
        if self.closed is None:
            self._cancel_requested = True

    def await_point(self) -> tuple[int, int]:
        """Count an await of a durable future: the next journal index and the await's number
        among the awaits made while that index was next."""
        if self._await_index != self._next_index:
            self._await_index, self._awaits = self._next_index, 0
        self._awaits += 1
        return self._next_index, self._awaits

    def ordinal_for(self, index: int, ordinal: int) -> int:
        """The number to record for an await that began at ``(index, ordinal)`` and is still
        blocked: its own when no command was issued since, else the next await's."""
        if index == self._next_index:
            return ordinal
        return (self._awaits if self._await_index == self._next_index else 0) + 1

    def cancellation_at(self, ordinal: int) -> bool:
        """Whether the await numbered ``ordinal`` observes a cancellation (journaled now or
        replayed); the caller then raises ``TerminalError("cancelled", 409)`` there."""
        if self.closed is not None:
            return False
        if self.is_replaying:
            recorded = self._journal[self._next_index - 1]
            if kind_of(recorded) != "cancelled" or ordinal < cancelled_ordinal(recorded):
                return False
            self._take(recorded)
            return True
        if not self._cancel_requested:
            return False
        self._cancel_requested = False
        marker = cancelled_marker(ordinal)
        index, _ = self._take(marker)
        self._emit(index, marker)
        return True

    # ------------------------------------------------------------------ end of the attempt

    def output(self, result: pb.Result) -> None:
        """Journal the handler's result (or terminal failure), then end the attempt."""
        self._mutate(pb.JournalEntry(output=pb.Output(result=result)))
        self._end_pending = True
        self._drain()

    def fail(
        self,
        code: int,
        message: str,
        stacktrace: str = "",
        retry_after_ms: int | None = None,
        related_index: int | None = None,
        related_name: str = "",
    ) -> None:
        """Fail the attempt with a retryable error; the server retries with a new attempt."""
        if self.closed is not None:
            return
        error = pb.AttemptError(
            code=code, message=message, stacktrace=stacktrace, related_name=related_name
        )
        if retry_after_ms is not None:
            error.retry_after_ms = retry_after_ms
        if related_index is not None:
            error.related_index = related_index
        self._outbox.append(self._message(error=error))
        self.closed = Closed.FAILED

    def suspend(self, waiting_on: Iterable[int]) -> None:
        """Stop the attempt until one of the commands at ``waiting_on`` completes (empty: replay
        at once). Commands already sent stay ahead of the ``Suspend``, so unacknowledged runs are
        fine; a run whose action has not finished is not."""
        if self.closed is not None:
            return
        if self._open_runs:
            raise RuntimeError("cannot suspend while the action of a run is executing")
        suspend = pb.Suspend(waiting_on=sorted(set(waiting_on)))
        self._outbox.append(self._message(suspend=suspend))
        self.closed = Closed.SUSPENDED

    # ------------------------------------------------------------------ server messages

    def on_ack(self, up_to_index: int) -> None:
        for index in [i for i in self._unacked_runs if i <= up_to_index]:
            self._results[index] = self._unacked_runs.pop(index)

    def on_completion(self, index: int, result: pb.Result | None, invocation_id: str) -> None:
        if result is not None and result.WhichOneof("result"):
            self._results[index] = result
        if invocation_id:
            self._invocation_ids[index] = invocation_id

    def abort(self) -> None:
        """The server aborted the attempt: send nothing more."""
        self._outbox.clear()
        if self.closed is None:
            self.closed = Closed.ABORTED

    # ------------------------------------------------------------------ internals

    def _take(self, attempted: pb.JournalEntry) -> tuple[int, pb.JournalEntry | None]:
        if self.closed is not None:
            raise AttemptStopped(f"attempt {self.attempt} of {self.invocation_id} is closed")
        index = self._next_index
        self._next_index += 1
        if index > len(self._journal):
            return index, None
        recorded = self._journal[index - 1]
        if not matches(recorded, attempted):
            self.fail(
                JOURNAL_MISMATCH,
                f"Journal mismatch at index {index}: the journal recorded {describe(recorded)} "
                f"but the handler attempted {describe(attempted)}. The handler must issue the "
                "same context operations in the same order on every attempt; if its code "
                "changed, register the new code as a new deployment.",
                related_index=index,
                related_name=attempted.name,
            )
            raise AttemptStopped("journal mismatch")
        return index, recorded

    def _emit(self, index: int, entry: pb.JournalEntry) -> None:
        self._held[index] = entry
        self._drain()

    def _drain(self) -> None:
        while self._emitted + 1 in self._held:
            self._emitted += 1
            entry = self._held.pop(self._emitted)
            command = pb.Command(index=self._emitted, entry=entry)
            self._outbox.append(self._message(command=command))
        if self._end_pending and not self._held and not self._open_runs and self.closed is None:
            self._outbox.append(self._message(end=pb.End()))
            self.closed = Closed.ENDED

    def _unsupported(self, what: str) -> None:
        self.fail(UNSUPPORTED_FEATURE, f"{what} is not supported by this SDK yet")
        raise AttemptStopped(what)

    def _message(
        self,
        *,
        command: pb.Command | None = None,
        suspend: pb.Suspend | None = None,
        error: pb.AttemptError | None = None,
        end: pb.End | None = None,
    ) -> pb.DeploymentMessage:
        return pb.DeploymentMessage(
            invocation_id=self.invocation_id,
            attempt=self.attempt,
            command=command,
            suspend=suspend,
            error=error,
            end=end,
        )
