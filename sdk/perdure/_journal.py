"""Journal entries: building them, naming them for humans, and matching a replay against them."""

from __future__ import annotations

from perdure_proto import protocol_pb2 as pb

__all__ = [
    "cancelled_marker",
    "cancelled_ordinal",
    "describe",
    "kind_of",
    "matches",
    "void_result",
]


def kind_of(entry: pb.JournalEntry) -> str:
    """The command type of ``entry`` (``"get_state"``, ``"run"``, ...) or ``"empty"``."""
    return entry.WhichOneof("command") or "empty"


_TITLES = {
    "get_state": "GetState",
    "get_state_keys": "GetStateKeys",
    "set_state": "SetState",
    "clear_state": "ClearState",
    "clear_all_state": "ClearAllState",
    "run": "Run",
    "output": "Output",
    "sleep": "Sleep",
    "call": "Call",
    "send": "Send",
    "awakeable": "Awakeable",
    "complete_awakeable": "CompleteAwakeable",
    "get_promise": "GetPromise",
    "peek_promise": "PeekPromise",
    "complete_promise": "CompletePromise",
    "attach_invocation": "AttachInvocation",
    "cancel_invocation": "CancelInvocation",
    "cancelled": "Cancelled",
    "empty": "Empty",
}


_PROMISE_KINDS = ("get_promise", "peek_promise", "complete_promise")
_TARGET_KINDS = ("attach_invocation", "cancel_invocation")


def _identity(entry: pb.JournalEntry) -> tuple[str, ...]:
    """What must be equal for a replayed command to match: type, name and addressed key."""
    kind = kind_of(entry)
    if kind == "get_state":
        return (kind, entry.name, entry.get_state.key)
    if kind == "set_state":
        return (kind, entry.name, entry.set_state.key)
    if kind == "clear_state":
        return (kind, entry.name, entry.clear_state.key)
    if kind == "call":
        c = entry.call
        return (kind, entry.name, c.service, c.handler, c.key)
    if kind == "send":
        s = entry.send
        return (kind, entry.name, s.service, s.handler, s.key)
    if kind == "complete_awakeable":
        return (kind, entry.name, entry.complete_awakeable.id)
    if kind in _PROMISE_KINDS:
        return (kind, entry.name, getattr(entry, kind).key)
    if kind in _TARGET_KINDS:
        return (kind, entry.name, getattr(entry, kind).invocation_id)
    if kind == "cancelled":
        # The name of a Cancelled marker says at which await it was observed; it is read back
        # by the replay (``cancelled_ordinal``), not matched.
        return (kind,)
    return (kind, entry.name)


def matches(recorded: pb.JournalEntry, attempted: pb.JournalEntry) -> bool:
    """True when the handler, replaying, issued the same operation as the journal recorded."""
    return _identity(recorded) == _identity(attempted)


def describe(entry: pb.JournalEntry) -> str:
    """A short human description, e.g. ``GetState(key='count')`` or ``Run(name='charge')``."""
    kind = kind_of(entry)
    parts: list[str] = []
    if kind in ("get_state", "set_state", "clear_state"):
        parts.append(f"key={getattr(entry, kind).key!r}")
    elif kind in ("call", "send"):
        target = getattr(entry, kind)
        key = f"/{target.key}" if target.key else ""
        parts.append(f"target='{target.service}{key}/{target.handler}'")
    elif kind == "complete_awakeable":
        parts.append(f"id={entry.complete_awakeable.id!r}")
    elif kind in _PROMISE_KINDS:
        parts.append(f"promise={getattr(entry, kind).key!r}")
    elif kind in _TARGET_KINDS:
        parts.append(f"invocation_id={getattr(entry, kind).invocation_id!r}")
    if entry.name:
        parts.insert(0, f"name={entry.name!r}")
    return f"{_TITLES.get(kind, kind)}({', '.join(parts)})"


CANCELLED_PREFIX = "perdure:await#"


def cancelled_marker(ordinal: int) -> pb.JournalEntry:
    """The ``Cancelled`` marker observed at the ``ordinal``-th await at its journal index."""
    return pb.JournalEntry(name=f"{CANCELLED_PREFIX}{ordinal}", cancelled=pb.Cancelled())


def cancelled_ordinal(entry: pb.JournalEntry) -> int:
    """At which await (counted from 1 at the marker's index) a replay raises the cancellation;
    1 when the marker does not say (then the first await there raises)."""
    suffix = entry.name.removeprefix(CANCELLED_PREFIX)
    return int(suffix) if entry.name.startswith(CANCELLED_PREFIX) and suffix.isdigit() else 1


def void_result() -> pb.Result:
    """The result of something that returns nothing."""
    return pb.Result(void=pb.Void())
