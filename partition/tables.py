"""Narrow typed views of the partition store's tables.

Each table reads and writes through a `Reader` (the store, or a transaction that sees its own
writes) and knows its key layout (partition.keys) and row message (perdure_proto.storage_pb2).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Protocol

from partition import keys
from partition.store import Store
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st


class Reader(Protocol):
    def get(self, key: bytes) -> bytes | None: ...


class ScanReader(Reader, Protocol):
    def scan(self, prefix: bytes) -> list[tuple[bytes, bytes]]: ...


class Writer(ScanReader, Protocol):
    def put(self, key: bytes, value: bytes) -> None: ...

    def delete(self, key: bytes) -> None: ...

    def delete_prefix(self, prefix: bytes) -> None: ...

    def after_commit(self, callback: Callable[[], None]) -> None: ...


def get_status(r: Reader, invocation_id: str) -> st.InvocationStatus | None:
    raw = r.get(keys.status(invocation_id))
    if raw is None:
        return None
    status = st.InvocationStatus()
    status.ParseFromString(raw)
    return status


def put_status(w: Writer, invocation_id: str, status: st.InvocationStatus) -> None:
    w.put(keys.status(invocation_id), status.SerializeToString())
    if status.phase == st.COMPLETED:
        w.delete(keys.active(invocation_id))
        if status.expires_at_ms:
            w.put(keys.expiry(status.expires_at_ms, invocation_id), b"")
    else:
        w.put(keys.active(invocation_id), _PHASE_BYTES[status.phase])


_PHASE_BYTES = {phase: bytes([phase]) for phase in st.Phase.values()}
_INVOKED = (b"", _PHASE_BYTES[st.INVOKED])  # (b"": written before the index held every phase)


def active_invocations(r: ScanReader) -> list[str]:
    """Invocations in phase INVOKED (to resume after a restart or a leader change)."""
    start = len(keys.ACTIVE)
    return [k[start:].decode() for k, phase in r.scan(keys.ACTIVE) if phase in _INVOKED]


def unfinished_invocations(r: ScanReader) -> list[tuple[str, int]]:
    """Every invocation not completed, with its phase (st.Phase), in id order."""
    start = len(keys.ACTIVE)
    return [
        (k[start:].decode(), phase[0] if phase else st.INVOKED) for k, phase in r.scan(keys.ACTIVE)
    ]


def index_unfinished(store: Store) -> int:
    """Make the ACTIVE index hold every unfinished invocation, once per store: stores written
    before it did held only the INVOKED ones. A derived index, rebuilt from the statuses alone
    in one write batch with its marker, before the store serves (node/server.py); a replica
    doing it reaches what the others reach. Returns how many entries it wrote."""
    if store.get(keys.ACTIVE_UNFINISHED) is not None:
        return 0
    txn = store.transaction()
    written = 0
    for row_key, raw in store.scan(keys.STATUS):
        status = st.InvocationStatus()
        status.ParseFromString(raw)
        if status.phase != st.COMPLETED:
            txn.put(keys.ACTIVE + row_key[len(keys.STATUS) :], _PHASE_BYTES[status.phase])
            written += 1
    txn.put(keys.ACTIVE_UNFINISHED, b"1")
    txn.commit_derived()
    return written


def put_pause_notice(w: Writer, invocation_id: str, paused_at_ms: int) -> None:
    """`invocation_id` paused at `paused_at_ms`; the leader is to tell the pause webhook."""
    w.put(keys.pause_notice(invocation_id), struct.pack(">Q", paused_at_ms))


def get_pause_notice(r: Reader, invocation_id: str) -> int | None:
    """When `invocation_id` paused, if that pause is still to be pushed to the webhook."""
    raw = r.get(keys.pause_notice(invocation_id))
    return None if raw is None else int(struct.unpack(">Q", raw)[0])


def delete_pause_notice(w: Writer, invocation_id: str) -> None:
    w.delete(keys.pause_notice(invocation_id))


def pause_notices(r: ScanReader) -> list[tuple[str, int]]:
    """Pauses not pushed to the webhook yet: (invocation id, paused at ms)."""
    prefix = len(keys.PAUSE_NOTICE)
    return [(k[prefix:].decode(), struct.unpack(">Q", v)[0]) for k, v in r.scan(keys.PAUSE_NOTICE)]


def journal_entries(r: ScanReader, invocation_id: str) -> list[pb.JournalEntry]:
    out = []
    for _, raw in r.scan(keys.journal_prefix(invocation_id)):
        entry = pb.JournalEntry()
        entry.ParseFromString(raw)
        out.append(entry)
    return out


def put_journal_entry(w: Writer, invocation_id: str, index: int, entry: pb.JournalEntry) -> None:
    w.put(keys.journal(invocation_id, index), entry.SerializeToString())


def delete_journal(w: Writer, invocation_id: str, length: int) -> None:
    for index in range(1, length + 1):
        w.delete(keys.journal(invocation_id, index))


def state_entries(r: ScanReader, service: str, key: str) -> list[pb.StateEntry]:
    prefix = keys.state_prefix(service, key)
    return [
        pb.StateEntry(key=row_key[len(prefix) :].decode(), value=value)
        for row_key, value in r.scan(prefix)
    ]


def set_state(w: Writer, service: str, key: str, name: str, value: bytes) -> None:
    w.put(keys.state(service, key, name), value)


def clear_state(w: Writer, service: str, key: str, name: str) -> None:
    w.delete(keys.state(service, key, name))


def clear_all_state(w: Writer, service: str, key: str) -> None:
    w.delete_prefix(keys.state_prefix(service, key))


def get_lock(r: Reader, service: str, key: str) -> st.KeyLock:
    lock = st.KeyLock()
    raw = r.get(keys.lock(service, key))
    if raw is not None:
        lock.ParseFromString(raw)
    return lock


def put_lock(w: Writer, service: str, key: str, lock: st.KeyLock) -> None:
    if not lock.invocation_id and lock.inbox_head == lock.inbox_tail:
        w.delete(keys.lock(service, key))
    else:
        w.put(keys.lock(service, key), lock.SerializeToString())


def push_inbox(w: Writer, service: str, key: str, lock: st.KeyLock, invocation_id: str) -> None:
    w.put(keys.inbox(service, key, lock.inbox_tail), invocation_id.encode())
    lock.inbox_tail += 1


# An inbox row holds an invocation id, or QUEUED_MUTATION + a ModifyState (an id never starts
# with a NUL byte).
QUEUED_MUTATION = b"\x00"


def push_inbox_mutation(
    w: Writer, service: str, key: str, lock: st.KeyLock, mutation: rec.ModifyState
) -> None:
    w.put(keys.inbox(service, key, lock.inbox_tail), QUEUED_MUTATION + mutation.SerializeToString())
    lock.inbox_tail += 1


def pop_inbox(w: Writer, service: str, key: str, lock: st.KeyLock) -> str | rec.ModifyState | None:
    """The next queued invocation id or state mutation; None when the inbox is empty."""
    while lock.inbox_head < lock.inbox_tail:
        row = keys.inbox(service, key, lock.inbox_head)
        raw = w.get(row)
        w.delete(row)
        lock.inbox_head += 1
        if raw is not None and raw.startswith(QUEUED_MUTATION):
            return rec.ModifyState.FromString(raw[1:])
        if raw is not None:
            return raw.decode()
    return None


def get_deployment(r: Reader, deployment_id: str) -> st.DeploymentRow | None:
    raw = r.get(keys.deployment(deployment_id))
    if raw is None:
        return None
    row = st.DeploymentRow()
    row.ParseFromString(raw)
    return row


def put_deployment(w: Writer, row: st.DeploymentRow) -> None:
    w.put(keys.deployment(row.id), row.SerializeToString())


def delete_deployment(w: Writer, deployment_id: str) -> None:
    w.delete(keys.deployment(deployment_id))


def delete_service(w: Writer, name: str) -> None:
    w.delete(keys.service(name))


def all_deployments(r: ScanReader) -> list[st.DeploymentRow]:
    out = []
    for _, raw in r.scan(keys.DEPLOYMENT):
        row = st.DeploymentRow()
        row.ParseFromString(raw)
        out.append(row)
    return out


def put_service(w: Writer, row: st.ServiceRow) -> None:
    w.put(keys.service(row.spec.name), row.SerializeToString())


def all_services(r: ScanReader) -> list[st.ServiceRow]:
    out = []
    for _, raw in r.scan(keys.SERVICE):
        row = st.ServiceRow()
        row.ParseFromString(raw)
        out.append(row)
    return out


def get_journal_entry(r: Reader, invocation_id: str, index: int) -> pb.JournalEntry | None:
    raw = r.get(keys.journal(invocation_id, index))
    if raw is None:
        return None
    entry = pb.JournalEntry()
    entry.ParseFromString(raw)
    return entry


def put_timer(w: Writer, wake_ms: int, invocation_id: str, index: int, kind: int) -> None:
    w.put(keys.timer(wake_ms, invocation_id, index), st.TimerRow(kind=kind).SerializeToString())  # type: ignore[arg-type]


def take_timer(w: Writer, wake_ms: int, invocation_id: str, index: int) -> st.TimerRow | None:
    """Remove the timer row and return it (None if it fired already or never existed)."""
    key = keys.timer(wake_ms, invocation_id, index)
    raw = w.get(key)
    if raw is None:
        return None
    w.delete(key)
    row = st.TimerRow()
    row.ParseFromString(raw)
    return row


def get_promise(r: Reader, service: str, key: str, name: str) -> st.PromiseRow:
    row = st.PromiseRow()
    raw = r.get(keys.promise(service, key, name))
    if raw is not None:
        row.ParseFromString(raw)
    return row


def put_promise(w: Writer, service: str, key: str, name: str, row: st.PromiseRow) -> None:
    w.put(keys.promise(service, key, name), row.SerializeToString())


def clear_promises(w: Writer, service: str, key: str) -> None:
    w.delete_prefix(keys.promise_prefix(service, key))


def delete_status(w: Writer, invocation_id: str, status: st.InvocationStatus) -> None:
    w.delete(keys.status(invocation_id))
    w.delete(keys.active(invocation_id))
    if status.expires_at_ms:
        w.delete(keys.expiry(status.expires_at_ms, invocation_id))


class RangeReader(Reader, Protocol):
    def scan_range(self, start: bytes, end: bytes) -> list[tuple[bytes, bytes]]: ...


TimerKey = tuple[int, str, int]  # (wake-up ms, invocation id, journal index)


def timers_due_by(r: RangeReader, until_ms: int) -> list[TimerKey]:
    """Every durable timer whose wake-up time is at or before `until_ms`, earliest first."""
    return [keys.parse_timer(k) for k, _ in r.scan_range(keys.TIMER, keys.timer_upto(until_ms))]


def expired_invocations(r: RangeReader, now_ms: int) -> list[str]:
    """Completed invocations whose retention ended before `now_ms`, earliest first."""
    end = keys.EXPIRY + now_ms.to_bytes(8, "big")
    return [keys.parse_expiry(k)[1] for k, _ in r.scan_range(keys.EXPIRY, end)]


def push_outbox(w: Writer, target: int, message: rec.PartitionMessage) -> int:
    """Queue `message` for partition `target`; returns its outbox sequence number (1, 2, ...)."""
    raw = w.get(keys.OUTBOX_SEQ)
    seq = (0 if raw is None else int(struct.unpack(">Q", raw)[0])) + 1
    w.put(keys.OUTBOX_SEQ, struct.pack(">Q", seq))
    row = st.OutboxRow(target=target)
    row.message.CopyFrom(message)
    w.put(keys.outbox(seq), row.SerializeToString())
    return seq


def outbox_after(r: RangeReader, after_seq: int, limit: int) -> list[tuple[int, st.OutboxRow]]:
    """Up to `limit` outbox messages with a sequence number above `after_seq`, in order."""
    out: list[tuple[int, st.OutboxRow]] = []
    for k, v in r.scan_range(keys.outbox(after_seq + 1), keys.OUTBOX + b"\xff" * 9):
        row = st.OutboxRow()
        row.ParseFromString(v)
        out.append((keys.parse_outbox(k), row))
        if len(out) >= limit:
            break
    return out


def truncate_outbox(w: Writer, up_to: int) -> None:
    """Forget outbox messages up to `up_to` (their targets have them)."""
    for k, _ in w.scan(keys.OUTBOX):
        if keys.parse_outbox(k) > up_to:
            break
        w.delete(k)


def applied_from(r: Reader, producer: int) -> int:
    """The last sequence number applied from partition `producer` (0: none yet)."""
    raw = r.get(keys.dedup(producer))
    return 0 if raw is None else int(struct.unpack(">Q", raw)[0])


def set_applied_from(w: Writer, producer: int, seq: int) -> None:
    w.put(keys.dedup(producer), struct.pack(">Q", seq))


def leadership(r: Reader) -> int:
    """The number of the current leadership (AnnounceLeader records applied; 0: none yet)."""
    raw = r.get(keys.LEADERSHIP)
    return 0 if raw is None else int(struct.unpack(">Q", raw)[0])


def next_leadership(w: Writer) -> int:
    number = leadership(w) + 1
    w.put(keys.LEADERSHIP, struct.pack(">Q", number))
    return number


def announced_term(r: Reader) -> int:
    """The highest Raft term an applied AnnounceLeader was elected in (0: none)."""
    raw = r.get(keys.ANNOUNCED_TERM)
    return 0 if raw is None else int(struct.unpack(">Q", raw)[0])


def set_announced_term(w: Writer, term: int) -> None:
    w.put(keys.ANNOUNCED_TERM, struct.pack(">Q", term))


def safe_trim(r: Reader) -> int | None:
    """How far every member of the group may trim its log (SafeTrim records applied)."""
    raw = r.get(keys.SAFE_TRIM)
    return None if raw is None else int(struct.unpack(">Q", raw)[0])


def raise_safe_trim(w: Writer, up_to_lsn: int) -> None:
    if up_to_lsn > (safe_trim(w) or 0):
        w.put(keys.SAFE_TRIM, struct.pack(">Q", up_to_lsn))


def preferred_leader(r: Reader) -> str | None:
    """The raft address of the member an operator moved the leadership to (PreferLeader
    records applied), None for the default."""
    raw = r.get(keys.PREFERRED_LEADER)
    return raw.decode() if raw else None


def set_preferred_leader(w: Writer, raft_address: str) -> None:
    if raft_address:
        w.put(keys.PREFERRED_LEADER, raft_address.encode())
    else:
        w.delete(keys.PREFERRED_LEADER)
