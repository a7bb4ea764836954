"""Identifiers: invocation ids encode their partition key, as Restate's do, in Restate's text.

`inv_1` + base62(partition key u64, 11 digits) + base62(uuid u128, 22 digits), and `dp_1` +
base62(u128, 22 digits): Restate's `IdEncoder` (crates/types/src/id_util.rs), digits
0-9a-zA-Z, each number zero-padded to its type's width and taken in the byte order Restate
encodes (`to_be()` on a little-endian machine: the big-endian bytes read as little-endian).
The restate CLI parses ids it is given or shown (`invocations describe`, the bulk commands'
"is this an id or a target?"), so any other text breaks it. The partition key is a hash of the
Virtual Object / workflow key (or of the idempotency key); an invocation with an idempotency
key, and a workflow's `run`, get a uuid derived from what identifies them, so a repeated
request maps to the same invocation id without any lookup table.
"""

from __future__ import annotations

import base64
import hashlib
import os

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
_U64_DIGITS = 11  # ceil(64 / 6): Restate's fixed widths
_U128_DIGITS = 22
INVOCATION_ID_LENGTH = len("inv_1") + _U64_DIGITS + _U128_DIGITS


class Error(ValueError):
    """A malformed identifier (the caller's input is wrong)."""


# Two base-62 digits per division: half the big-int divisions of a digit at a time (an id is
# made per request).
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]


def _b62(data: bytes, width: int) -> str:
    """`data` (big-endian, as stored) in Restate's digits: the number Restate encodes is the
    bytes read little-endian, zero-padded to `width` digits."""
    n = int.from_bytes(data, "little")
    out = []
    while n:
        n, r = divmod(n, 3844)
        out.append(_PAIRS[r])
    return "".join(reversed(out)).lstrip("0").rjust(width, "0")


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


_PAIR_INDEX = {pair: i for i, pair in enumerate(_PAIRS)}


def _unb62(text: str, size: int) -> bytes:
    """Two digits per step (ids are parsed to route every request and build every query
    row): the digits of an odd-length text start with one alone."""
    n = 0
    start = len(text) % 2
    if start:
        first = _INDEX.get(text[0])
        if first is None:
            raise Error(f"invalid character {text[0]!r} in id")
        n = first
    pairs = _PAIR_INDEX
    for at in range(start, len(text), 2):
        i = pairs.get(text[at : at + 2])
        if i is None:
            bad = next(c for c in text[at : at + 2] if c not in _INDEX)
            raise Error(f"invalid character {bad!r} in id")
        n = n * 3844 + i
    try:
        return n.to_bytes(size, "little")
    except OverflowError as exc:
        raise Error(f"its digits '{text}' do not fit in {size * 8} bits") from exc


def partition_key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def invocation_id(pkey: int, inv_uuid: bytes) -> str:
    return invocation_id_prefix(pkey) + _b62(inv_uuid, _U128_DIGITS)


def invocation_id_prefix(pkey: int) -> str:
    """What every invocation id at partition key `pkey` starts with: the invocations of one
    Virtual Object or workflow key (`partition_key(key)`) are one prefix scan of the statuses."""
    return "inv_1" + _b62(pkey.to_bytes(8, "big"), _U64_DIGITS)


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


def invocation_partition_key(text: str) -> int:
    """The partition key of invocation id `text` (parsing only that part of it); raises Error
    when `text` does not have an invocation id's form."""
    if not text.startswith("inv_1") or len(text) != INVOCATION_ID_LENGTH:
        return parse_invocation_id(text)[0]  # raises, saying what is wrong
    try:
        return int.from_bytes(_unb62(text[5 : 5 + _U64_DIGITS], 8), "big")
    except Error as exc:
        raise Error(f"{text!r} is not an invocation id: {exc}") from None


def parse_invocation_id(text: str) -> tuple[int, bytes]:
    """(partition key, uuid bytes); raises Error when `text` is not an invocation id."""
    if not text.startswith("inv_1"):
        raise Error(f"{text!r} is not an invocation id (expected 'inv_1...')")
    if len(text) != INVOCATION_ID_LENGTH:
        raise Error(
            f"{text!r} is not an invocation id: it has {len(text)} characters, an id has "
            f"{INVOCATION_ID_LENGTH} (inv_1 and 33 base-62 digits)"
        )
    split = 5 + _U64_DIGITS
    try:
        pkey = _unb62(text[5:split], 8)
        return int.from_bytes(pkey, "big"), _unb62(text[split:], 16)
    except Error as exc:
        raise Error(f"{text!r} is not an invocation id: {exc}") from None


def random_seed(invocation_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(invocation_id.encode(), digest_size=8).digest(), "big")


def deployment_id(uri: str) -> str:
    """One deployment per endpoint: re-registering a URI (with `force`) keeps its id."""
    digest = hashlib.blake2b(uri.encode(), digest_size=16).digest()
    return "dp_1" + _b62(digest, _U128_DIGITS)


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
