"""What a run must end with, checked against an omniscient view of it.

`Shadow` is one more replica per group: a fresh store that applies the group's whole log, one
record per write batch (the members batch records as they come), noting what each record did:
which journal commands it added and which invocations it completed. Members are compared with it
row for row whenever one of them has applied exactly as far as the shadow can go, and at the end.

The invariants (each failure is one line of the report):

* replicas that applied the same records hold identical stores (every row, byte for byte);
* every acknowledged request (an `Invoke` in a log) and every invocation it started completed,
  exactly once (one completion among the actions of the whole log);
* each counter equals its acknowledged increments plus the sends made to it, and the adds on a
  key ran one at a time (each returned the previous result plus its own increment);
* a chain returns `A(B(C(x,token)))` with the token its C step journaled (or was cancelled);
  a `Stepper` returns the tokens its steps journaled: a handler sees the journaled results only;
* a step's side effect never ran in an attempt that started after the effect that journaled the
  step, from an earlier attempt of the same leadership, was durable (node.invoker retries only
  once a failed attempt's effects are applied, so the next `Start` carries them);
* no message between groups is dropped as a duplicate without having been applied;
* nothing is left over: no outbox, inbox, lock, timer or running invocation.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from pathlib import Path

from partition import actions as act
from partition import context, ids, keys, tables
from partition.state_machine import StateMachine
from partition.store import Store
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st
from sim import services
from sim.deployment import Execution
from sim.log import GroupLog

Row = tuple[bytes, bytes]


@dataclass(frozen=True, slots=True)
class Violation:
    kind: str
    text: str

    def __str__(self) -> str:
        known = KNOWN.get(self.kind)
        return f"[{self.kind}{', known: ' + known if known else ''}] {self.text}"


# Violations of bugs that are known and not fixed yet: reported, but a run that has only these
# passes (unless `--strict`). Each names the xfail test that shows the bug; when it passes,
# remove the entry (tests/sim checks that every kind listed here still occurs).
KNOWN: dict[str, str] = {}


LEFTOVERS = {
    keys.OUTBOX: "outbox",
    keys.INBOX: "inbox",
    keys.LOCK: "key lock",
    keys.TIMER: "timer",
    keys.ACTIVE: "running invocation",
}


def rows(store: Store) -> list[Row]:
    return store.scan_range(b"", b"\xff" * 8)


@dataclass(slots=True)
class Journaled:
    group: int
    index: int  # of the log entry that journaled it (GroupLog.entries[index - 1])
    entry: pb.JournalEntry


class Shadow:
    def __init__(self, log: GroupLog, path: Path, options: context.Options) -> None:
        self.log = log
        self.store = Store(path)
        self.index = 0  # of the last entry applied
        self.completions: collections.Counter[str] = collections.Counter()
        # Each invocation's status row as its (first) completion wrote it: the row itself goes
        # when the cleaner purges it.
        self.completed: dict[str, st.InvocationStatus] = {}
        self.journaled: dict[tuple[str, int], Journaled] = {}
        self.delivered: set[tuple[int, int]] = set()  # (producer, seq) applied
        self.gaps: list[tuple[int, int]] = []  # dropped as duplicates, never applied
        self._sm = StateMachine(self.store, options)

    @property
    def lsn(self) -> int:
        """The position of the last record applied (0: none)."""
        return self.log.entries[self.index - 1].lsn if self.index else 0

    def advance(self, up_to: int) -> None:
        """Apply every record up to position `up_to`."""
        entries = self.log.entries
        while self.index < len(entries) and entries[self.index].lsn <= up_to:
            record = entries[self.index].record
            self.index += 1
            envelope = rec.Envelope.FromString(record)
            if envelope.HasField("deliver"):
                self._check_delivery(envelope.deliver)
            effect = envelope.invoker_effect if envelope.HasField("invoker_effect") else None
            before = None if effect is None else tables.get_status(self.store, effect.invocation_id)
            txn = self.store.transaction()
            actions = self._sm.apply(txn, record)
            if effect is not None and before is not None and before.phase == st.INVOKED:
                after = tables.get_status(txn, effect.invocation_id)
                length = before.journal_length if after is None else after.journal_length
                for command in effect.commands:
                    if before.journal_length < command.index <= length:
                        key = (effect.invocation_id, command.index)
                        self.journaled.setdefault(
                            key, Journaled(self.log.group, self.index, command.entry)
                        )
            for action in actions:
                if isinstance(action, act.Ended) and action.completed:
                    self.completions[action.invocation_id] += 1
                    status = tables.get_status(txn, action.invocation_id)
                    if status is not None:
                        self.completed.setdefault(action.invocation_id, status)
            txn.commit(self.lsn)

    def _check_delivery(self, deliver: rec.Deliver) -> None:
        applied = tables.applied_from(self.store, deliver.producer)
        for m in deliver.messages:
            message = (deliver.producer, m.seq)
            if m.seq > applied:
                self.delivered.add(message)
            elif message not in self.delivered:
                self.gaps.append(message)

    def close(self) -> None:
        self.store.close()


def compare(name: str, store: Store, shadow: Shadow) -> list[Violation]:
    """`store` and the shadow, both at the shadow's position: every row must be the same."""
    mine, theirs = rows(store), rows(shadow.store)
    if mine == theirs:
        return []
    a, b = dict(mine), dict(theirs)
    diff = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    return [
        Violation(
            "replica-divergence",
            f"replica {name} differs from the shadow replica at log position {shadow.lsn}: "
            f"{len(diff)} rows, first {diff[0]!r}: {a.get(diff[0])!r} vs {b.get(diff[0])!r}",
        )
    ]


@dataclass(slots=True)
class Final:
    """Everything the final checks read, gathered from the logs and the shadows."""

    shadows: list[Shadow]
    executions: list[Execution]
    statuses: dict[str, st.InvocationStatus] = field(default_factory=dict)
    invokes: dict[str, rec.Invoke] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for shadow in self.shadows:
            self.statuses.update(shadow.completed)
            for k, raw in shadow.store.scan(keys.STATUS):
                self.statuses[k[len(keys.STATUS) :].decode()] = st.InvocationStatus.FromString(raw)
            for entry in shadow.log.entries:
                envelope = rec.Envelope.FromString(entry.record)
                if envelope.HasField("invoke"):
                    self.invokes.setdefault(envelope.invoke.invocation_id, envelope.invoke)
                elif envelope.HasField("invocation_command"):
                    self.cancelled.add(envelope.invocation_command.invocation_id)

    def journaled(self, invocation_id: str, index: int) -> Journaled | None:
        for shadow in self.shadows:
            found = shadow.journaled.get((invocation_id, index))
            if found is not None:
                return found
        return None

    def token(self, invocation_id: str, index: int) -> str:
        found = self.journaled(invocation_id, index)
        return "?" if found is None else found.entry.run.result.value.decode()


def final(data: Final, logs: list[GroupLog]) -> list[Violation]:
    out: list[Violation] = []
    out += _leftovers(data)
    out += _completed_once(data)
    out += _counters(data)
    out += _chains(data)
    out += _steps(data, logs)
    return out


def _leftovers(data: Final) -> list[Violation]:
    out: list[Violation] = []
    for shadow in data.shadows:
        for producer, seq in shadow.gaps:
            text = (
                f"group {shadow.log.group} dropped message {seq} of group {producer} as a "
                "duplicate without ever applying it (a later one was delivered first)"
            )
            out.append(Violation("delivery-gap", text))
        for prefix, what in LEFTOVERS.items():
            left = shadow.store.scan(prefix)
            if left:
                text = f"group {shadow.log.group}: {len(left)} {what} rows left at the end"
                out.append(Violation("leftover", text))
    return out


def _completed_once(data: Final) -> list[Violation]:
    out: list[Violation] = []
    completions: collections.Counter[str] = collections.Counter()
    for shadow in data.shadows:
        completions.update(shadow.completions)
    for invocation_id in data.invokes:
        if invocation_id not in data.statuses:
            text = f"acknowledged invocation {invocation_id} was never started"
            out.append(Violation("not-started", text))
    for invocation_id, status in data.statuses.items():
        what = f"{status.service}/{status.handler} {invocation_id}"
        if status.phase != st.COMPLETED:
            text = f"{what} did not complete (phase {st.Phase.Name(status.phase)})"
            out.append(Violation("not-completed", text))
        if completions[invocation_id] != 1:
            text = f"{what} completed {completions[invocation_id]} times"
            out.append(Violation("completions", text))
    return out


def _counters(data: Final) -> list[Violation]:
    out: list[Violation] = []
    adds: dict[str, list[tuple[int, int]]] = collections.defaultdict(list)  # key: (out, n)
    for status in data.statuses.values():
        if status.service == "Counter" and status.result.HasField("value"):
            adds[status.key].append((int(status.result.value), int(status.input)))
    expected: collections.Counter[str] = collections.Counter()
    for invoke in data.invokes.values():
        if invoke.service == "Counter":
            expected[invoke.key] += int(invoke.input)
        elif invoke.service == "Sender":
            for key, _ in services.parse_fanout(invoke.input):
                expected[key] += 1
    for key in sorted(expected.keys() | adds.keys()):
        results = sorted(adds[key])
        state = None
        for shadow in data.shadows:
            state = {e.key: e.value for e in tables.state_entries(shadow.store, "Counter", key)}
            if state:
                break
        count = int((state or {}).get("count", b"0"))
        if count != expected[key]:
            text = f"counter {key} is {count}, expected {expected[key]} (acknowledged adds, sends)"
            out.append(Violation("counter", text))
        previous = 0
        for result, n in results:
            if result != previous + n:
                text = f"counter {key}: an add of {n} returned {result} after {previous}"
                out.append(Violation("counter-order", text))
                break
            previous = result
    return out


def _chains(data: Final) -> list[Violation]:
    out: list[Violation] = []
    for a_id, invoke in data.invokes.items():
        if invoke.service != "ChainA":
            continue
        status = data.statuses.get(a_id)
        if status is None or status.phase != st.COMPLETED:
            continue  # reported already
        x, kb, kc = invoke.input.decode().split("|")
        b_id = ids.child_invocation_id(a_id, 1, kb)
        c_id = ids.child_invocation_id(b_id, 1, kc)
        result = status.result
        if result.HasField("failure"):
            if result.failure.code != 409 or a_id not in data.cancelled:
                text = f"chain {a_id} failed without being cancelled: {result.failure}"
                out.append(Violation("chain", text))
            continue
        got = result.value.decode()
        expected = f"A(B(C({x},{data.token(c_id, 1)})))"
        if got != expected:
            ran = {f"A(B(C({x},{e.token})))" for e in data.executions if e.invocation_id == c_id}
            kind = "observed-unjournaled" if got in ran else "chain"
            out.append(Violation(kind, f"chain {a_id} returned {got}, journaled {expected}"))
    return out


def _steps(data: Final, logs: list[GroupLog]) -> list[Violation]:
    out: list[Violation] = []
    for inv_id, invoke in data.invokes.items():
        status = data.statuses.get(inv_id)
        if invoke.service != "Stepper" or status is None or status.phase != st.COMPLETED:
            continue
        got = status.result.value.decode()
        expected = f"{data.token(inv_id, 1)},{data.token(inv_id, 2)}"
        if got != expected:
            ran = {e.token for e in data.executions if e.invocation_id == inv_id}
            kind = "observed-unjournaled" if set(got.split(",")) <= ran else "steps"
            out.append(Violation(kind, f"Stepper {inv_id} returned {got}, journaled {expected}"))
    runs = collections.defaultdict(list)
    for e in data.executions:
        runs[(e.invocation_id, e.index)].append(e)
    for (inv_id, index), executions in runs.items():
        journaled = data.journaled(inv_id, index)
        if journaled is None:
            continue  # never journaled: the invocation was cancelled before
        tokens = [e.token for e in executions]
        token = journaled.entry.run.result.value.decode()
        if token not in tokens:
            text = f"step {index} of {inv_id} journaled {token}, not one of its runs {tokens}"
            out.append(Violation("steps", text))
        log = logs[journaled.group]
        tag, durable_at = log.tags[journaled.index - 1], log.commit_times[journaled.index - 1]
        invoker, _, attempt = tag.rpartition("/")
        for e in executions:
            if (
                e.invoker == invoker
                and int(attempt or 0) < e.attempt
                and durable_at <= e.started_at
            ):
                out.append(
                    Violation(
                        "step-rerun",
                        f"step {index} of {inv_id} ran again ({e.token}) in attempt {e.attempt} of "
                        f"{invoker}, started at {e.started_at:.3f} s, after its result {token} "
                        f"(attempt {attempt}) was durable at {durable_at:.3f} s",
                    )
                )
    return out
