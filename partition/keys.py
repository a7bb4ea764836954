"""The key-prefix registry of the partition store: every table's rows start with its own byte.

Variable-length parts are separated by 0x00 (service names, keys and state names are UTF-8
strings; a 0x00 inside them is escaped so a prefix never matches a neighbouring key).
"""

from __future__ import annotations

import struct

META = b"\x00"
STATUS = b"s"
JOURNAL = b"j"
STATE = b"k"
LOCK = b"l"
INBOX = b"i"
DEPLOYMENT = b"d"
SERVICE = b"v"
# Index of the invocations not completed, valued their phase (one byte; empty: INVOKED, as
# written before the index held every unfinished phase): a new leader resumes the INVOKED ones,
# and queries that leave completed invocations out read only these (partition/tables.py).
ACTIVE = b"a"
TIMER = b"t"
PROMISE = b"p"
EXPIRY = b"e"  # index of completed invocations by the time their retention ends
OUTBOX = b"o"  # messages to other partitions, by outbox sequence number
DEDUP = b"u"  # the last sequence number applied from each producer partition
PAUSE_NOTICE = b"n"  # paused invocations whose pause the leader has yet to push to the webhook
LEADERSHIP = META + b"leadership"  # the number of the current leadership (AnnounceLeaders applied)
ANNOUNCED_TERM = META + b"announced_term"  # the Raft term of the current leadership's announcement
SAFE_TRIM = META + b"safe_trim"  # how far every member of the group may trim its log (an LSN)
PREFERRED_LEADER = META + b"preferred_leader"  # the member an operator moved leadership to
OUTBOX_SEQ = META + b"outbox_seq"  # the last sequence number given to an outbox message
# Set once ACTIVE holds every unfinished invocation (stores written before hold INVOKED ones).
ACTIVE_UNFINISHED = META + b"active_unfinished"

_SEP = b"\x00"


def _part(text: str) -> bytes:
    return text.encode().replace(b"\x01", b"\x01\x02").replace(b"\x00", b"\x01\x01") + _SEP


def status(invocation_id: str) -> bytes:
    return STATUS + invocation_id.encode()


def journal_prefix(invocation_id: str) -> bytes:
    return JOURNAL + _part(invocation_id)


def journal(invocation_id: str, index: int) -> bytes:
    return journal_prefix(invocation_id) + struct.pack(">I", index)


def state_prefix(service: str, key: str) -> bytes:
    return STATE + _part(service) + _part(key)


def state(service: str, key: str, name: str) -> bytes:
    return state_prefix(service, key) + name.encode()


def lock(service: str, key: str) -> bytes:
    return LOCK + _part(service) + _part(key)


def inbox(service: str, key: str, seq: int) -> bytes:
    return INBOX + _part(service) + _part(key) + struct.pack(">Q", seq)


def deployment(deployment_id: str) -> bytes:
    return DEPLOYMENT + deployment_id.encode()


def service(name: str) -> bytes:
    return SERVICE + name.encode()


def active(invocation_id: str) -> bytes:
    return ACTIVE + invocation_id.encode()


def pause_notice(invocation_id: str) -> bytes:
    return PAUSE_NOTICE + invocation_id.encode()


def timer(wake_ms: int, invocation_id: str, index: int) -> bytes:
    return TIMER + struct.pack(">Q", wake_ms) + _part(invocation_id) + struct.pack(">I", index)


def timer_upto(wake_ms: int) -> bytes:
    """Every timer row due at or before `wake_ms` sorts before this key."""
    return TIMER + struct.pack(">Q", wake_ms + 1)


def parse_timer(row_key: bytes) -> tuple[int, str, int]:
    wake_ms = struct.unpack(">Q", row_key[1:9])[0]
    body = row_key[9:-4]
    index = struct.unpack(">I", row_key[-4:])[0]
    return wake_ms, _unpart(body), index


def _unpart(raw: bytes) -> str:
    return raw[:-1].replace(b"\x01\x01", b"\x00").replace(b"\x01\x02", b"\x01").decode()


def promise_prefix(service: str, key: str) -> bytes:
    return PROMISE + _part(service) + _part(key)


def promise(service: str, key: str, name: str) -> bytes:
    return promise_prefix(service, key) + name.encode()


def expiry(expires_ms: int, invocation_id: str) -> bytes:
    return EXPIRY + struct.pack(">Q", expires_ms) + invocation_id.encode()


def parse_expiry(row_key: bytes) -> tuple[int, str]:
    return struct.unpack(">Q", row_key[1:9])[0], row_key[9:].decode()


def outbox(seq: int) -> bytes:
    return OUTBOX + struct.pack(">Q", seq)


def parse_outbox(row_key: bytes) -> int:
    return int(struct.unpack(">Q", row_key[1:9])[0])


def dedup(producer: int) -> bytes:
    return DEDUP + struct.pack(">I", producer)


def keyed_prefix(table: bytes, service: str, key: str | None = None) -> bytes:
    """The prefix of a keyed table's rows (STATE, LOCK, INBOX, PROMISE) for one service, or for
    one key of it."""
    return table + _part(service) + (b"" if key is None else _part(key))


def split_parts(raw: bytes, n: int) -> tuple[list[str], bytes]:
    """The first `n` separated parts of `raw` (a row key without its table byte), decoded, and
    what follows them."""
    parts = []
    for _ in range(n):
        end = raw.index(_SEP) + 1
        parts.append(_unpart(raw[:end]))
        raw = raw[end:]
    return parts, raw
