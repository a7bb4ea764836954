"""The journal commands a handler issues through ``AttemptMachine``: state, timers, calls, sends,
awakeables, promises and invocation control.

Each operation takes the next journal index: replaying, it must match the recorded command and is
answered from the journal; processing, it becomes a new command (``_emit``). Completable commands
return their index, the handle the shell waits on.
"""

from __future__ import annotations

from perdure_proto import protocol_pb2 as pb

__all__ = ["JournalCommands"]


class JournalCommands:
    """Mixin of ``AttemptMachine`` (which provides the journal cursor below)."""

    start: pb.Start
    _state: dict[str, bytes]
    _results: dict[int, pb.Result]
    _invocation_ids: dict[int, str]

    @property
    def is_replaying(self) -> bool:
        raise NotImplementedError

    def _take(self, attempted: pb.JournalEntry) -> tuple[int, pb.JournalEntry | None]:
        raise NotImplementedError

    def _emit(self, index: int, entry: pb.JournalEntry) -> None:
        raise NotImplementedError

    def _unsupported(self, what: str) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ state

    def get_state(self, key: str, name: str = "") -> bytes | None:
        if self.start.partial_state and key not in self._state and not self.is_replaying:
            self._unsupported(f"lazy state (key {key!r} is not in the eager state)")
        attempted = pb.JournalEntry(name=name, get_state=pb.GetState(key=key))
        index, recorded = self._take(attempted)
        if recorded is not None:
            got = recorded.get_state
            return got.value if got.HasField("value") else None
        value = self._state.get(key)
        if value is not None:
            attempted.get_state.value = value
        self._emit(index, attempted)
        return value

    def state_keys(self, name: str = "") -> list[str]:
        if self.start.partial_state and not self.is_replaying:
            self._unsupported("lazy state (state_keys needs the full state)")
        attempted = pb.JournalEntry(name=name, get_state_keys=pb.GetStateKeys())
        index, recorded = self._take(attempted)
        if recorded is not None:
            return list(recorded.get_state_keys.keys)
        keys = sorted(self._state)
        attempted.get_state_keys.keys.extend(keys)
        self._emit(index, attempted)
        return keys

    def set_state(self, key: str, value: bytes, name: str = "") -> None:
        entry = pb.JournalEntry(name=name, set_state=pb.SetState(key=key, value=value))
        self._mutate(entry)
        self._state[key] = value

    def clear_state(self, key: str, name: str = "") -> None:
        self._mutate(pb.JournalEntry(name=name, clear_state=pb.ClearState(key=key)))
        self._state.pop(key, None)

    def clear_all_state(self, name: str = "") -> None:
        self._mutate(pb.JournalEntry(name=name, clear_all_state=pb.ClearAllState()))
        self._state.clear()

    def _mutate(self, entry: pb.JournalEntry) -> None:
        index, recorded = self._take(entry)
        if recorded is None:
            self._emit(index, entry)

    # ------------------------------------------------------------------ completable commands

    def sleep(self, wake_up_time_ms: int, name: str = "") -> int:
        return self._completable(
            pb.JournalEntry(name=name, sleep=pb.Sleep(wake_up_time_ms=wake_up_time_ms))
        )

    def call(self, call: pb.Call, name: str = "") -> int:
        return self._completable(pb.JournalEntry(name=name, call=call))

    def send(self, send: pb.Send, name: str = "") -> int:
        return self._completable(pb.JournalEntry(name=name, send=send))

    def awakeable(self, name: str = "") -> int:
        return self._completable(pb.JournalEntry(name=name, awakeable=pb.Awakeable()))

    def complete_awakeable(self, awakeable_id: str, result: pb.Result, name: str = "") -> None:
        complete = pb.CompleteAwakeable(id=awakeable_id, result=result)
        self._mutate(pb.JournalEntry(name=name, complete_awakeable=complete))

    # ------------------------------------------------------------------ promises, invocations

    def get_promise(self, key: str, name: str = "") -> int:
        return self._completable(pb.JournalEntry(name=name, get_promise=pb.GetPromise(key=key)))

    def peek_promise(self, key: str, name: str = "") -> int:
        return self._completable(pb.JournalEntry(name=name, peek_promise=pb.PeekPromise(key=key)))

    def complete_promise(self, key: str, result: pb.Result, name: str = "") -> int:
        complete = pb.CompletePromise(key=key, result=result)
        return self._completable(pb.JournalEntry(name=name, complete_promise=complete))

    def attach_invocation(self, invocation_id: str, name: str = "") -> int:
        attach = pb.AttachInvocation(invocation_id=invocation_id)
        return self._completable(pb.JournalEntry(name=name, attach_invocation=attach))

    def cancel_invocation(self, invocation_id: str, name: str = "") -> None:
        cancel = pb.CancelInvocation(invocation_id=invocation_id)
        self._mutate(pb.JournalEntry(name=name, cancel_invocation=cancel))

    def _completable(self, entry: pb.JournalEntry) -> int:
        index, recorded = self._take(entry)
        if recorded is None:
            self._emit(index, entry)
            return index
        if recorded.HasField("completion") and recorded.completion.WhichOneof("result"):
            self._results.setdefault(index, recorded.completion)
        if recorded.completion_invocation_id:
            self._invocation_ids.setdefault(index, recorded.completion_invocation_id)
        return index
