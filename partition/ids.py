"""Identifiers: invocation ids encode their partition key, as Restate's do.

`inv_1` + base62(partition key u64 || uuid u128). The partition key is a hash of the Virtual
Object / workflow key (or of the idempotency key); an invocation with an idempotency key, and a
workflow's `run`, get a uuid derived from what identifies them, so a repeated request maps to
the same invocation id without any lookup table.
"""

from __future__ import annotations

import base64
import hashlib
import os

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
_ID_BYTES = 24


class Error(ValueError):
    """A malformed identifier (the caller's input is wrong)."""


# Two base-62 digits per division: half the big-int divisions of a digit at a time (an id is
# made per request).
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]


def _b62(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 3844)
        out.append(_PAIRS[r])
    return "".join(reversed(out)).lstrip("0") or "0"


class _RandomPool:
    """Random bytes from os.urandom, fetched in bulk (one syscall per 1,024 ids)."""

    def __init__(self, chunk: int = 24 * 1024) -> None:
        self._chunk = chunk
        self._buf = b""
        self._pos = 0

    def take(self, n: int) -> bytes:
        if self._pos + n > len(self._buf):
            self._buf = os.urandom(max(self._chunk, n))
            self._pos = 0
        out = self._buf[self._pos : self._pos + n]
        self._pos += n
        return out


_random = _RandomPool()


def _unb62(text: str, size: int) -> bytes:
    n = 0
    for c in text:
        i = _INDEX.get(c)
        if i is None:
            raise Error(f"invalid character {c!r} in id")
        n = n * 62 + i
    try:
        return n.to_bytes(size, "big")
    except OverflowError as exc:
        raise Error("id is too long") from exc


def partition_key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def invocation_id(pkey: int, inv_uuid: bytes) -> str:
    return "inv_1" + _b62(pkey.to_bytes(8, "big") + inv_uuid)


def random_invocation_id(key_hint: str | None = None, pkey: int | None = None) -> str:
    """A new id: placed by `key_hint`'s partition key, else at `pkey`, else anywhere."""
    raw = _random.take(24)
    if key_hint:
        pkey = partition_key(key_hint)
    elif pkey is None:
        pkey = int.from_bytes(raw[:8], "big")
    return invocation_id(pkey, raw[8:])


def deterministic_invocation_id(
    service: str, key: str | None, handler: str, idempotency_key: str | None
) -> str:
    """The id of an idempotent invocation, or of a workflow run (idempotency_key None)."""
    ident = "\x00".join((service, key or "", handler, idempotency_key or ""))
    digest = hashlib.blake2b(ident.encode(), digest_size=16).digest()
    pkey = partition_key(key if key is not None else (idempotency_key or service))
    return invocation_id(pkey, digest)


def parse_invocation_id(text: str) -> tuple[int, bytes]:
    """(partition key, uuid bytes); raises Error when `text` is not an invocation id."""
    if not text.startswith("inv_1") or len(text) < 10:
        raise Error(f"{text!r} is not an invocation id (expected 'inv_1...')")
    raw = _unb62(text[5:], _ID_BYTES)
    return int.from_bytes(raw[:8], "big"), raw[8:]


def random_seed(invocation_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(invocation_id.encode(), digest_size=8).digest(), "big")


def deployment_id(uri: str) -> str:
    """One deployment per endpoint: re-registering a URI (with `force`) keeps its id."""
    digest = hashlib.blake2b(uri.encode(), digest_size=16).digest()
    return "dp_1" + _b62(digest)


def child_invocation_id(parent_id: str, index: int, key: str | None) -> str:
    """The id of the invocation a call/send at journal `index` of `parent_id` starts: derived,
    so every replica (and every replay of the record) computes the same one."""
    digest = hashlib.blake2b(f"{parent_id}\x00{index}".encode(), digest_size=16).digest()
    pkey = partition_key(key) if key else int.from_bytes(digest[:8], "big")
    return invocation_id(pkey, digest)


def awakeable_id(invocation_id: str, index: int) -> str:
    raw = invocation_id.encode() + index.to_bytes(4, "big")
    return "sign_1" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_awakeable_id(text: str) -> tuple[str, int]:
    """(invocation id, journal index); raises Error when `text` is not an awakeable id."""
    if not text.startswith("sign_1"):
        raise Error(f"{text!r} is not an awakeable id (expected 'sign_1...')")
    body = text[6:]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        invocation_id = raw[:-4].decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise Error(f"{text!r} is not a valid awakeable id") from exc
    if len(raw) < 5 or not invocation_id.startswith("inv_"):
        raise Error(f"{text!r} is not a valid awakeable id")
    return invocation_id, int.from_bytes(raw[-4:], "big")
