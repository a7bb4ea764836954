"""Journal entries: building them, naming them for humans, and matching a replay against them."""

from __future__ import annotations

from perdure._pb import protocol_pb2 as pb

__all__ = ["describe", "kind_of", "matches", "void_result"]


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
    "empty": "Empty",
}


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
    if entry.name:
        parts.insert(0, f"name={entry.name!r}")
    return f"{_TITLES.get(kind, kind)}({', '.join(parts)})"


def void_result() -> pb.Result:
    """The result of something that returns nothing."""
    return pb.Result(void=pb.Void())
