"""The cluster secret on pysyncobj's wire: every message authenticated before it is unpickled.

pysyncobj unpickles what reaches its port, so reaching the port would mean running code. Its
`password` mode runs every received message through an "encryptor" (`extract_timestamp`,
`decrypt`) before `pickle.loads`, drops the connection on any error, and binds each connection
to random keys both sides exchange first (so a message recorded on one connection is refused on
another). pysyncobj's own encryptor is Fernet from `cryptography`, a dependency we do not take;
`install()` puts `Sealer` in its place: HMAC-SHA256 (stdlib) over a timestamp and the message,
checked in constant time. Messages are authenticated, not encrypted: the Raft ports belong on a
private network all the same.

    RaftOptions(..., secret=b"...")   # members with different secrets never exchange a message
"""

from __future__ import annotations

import hashlib
import hmac
import struct

import pysyncobj.syncobj as _syncobj

_STAMP = struct.Struct(">Q")
_MAC_BYTES = 32
_CONTEXT = b"perdure raft v1\0"


class InvalidToken(Exception):
    """A message that does not carry a valid authentication code for this cluster's secret."""


class Sealer:
    """pysyncobj's encryptor interface (`encrypt_at_time`, `extract_timestamp`, `decrypt`)."""

    def __init__(self, secret: bytes | str) -> None:
        raw = secret.encode() if isinstance(secret, str) else bytes(secret)
        if not raw:
            raise ValueError("the cluster secret is empty")
        self._key = hmac.new(raw, _CONTEXT, hashlib.sha256).digest()

    def _mac(self, signed: bytes) -> bytes:
        return hmac.new(self._key, signed, hashlib.sha256).digest()

    def encrypt_at_time(self, data: bytes, current_time: int) -> bytes:
        signed = _STAMP.pack(max(0, int(current_time))) + bytes(data)
        return signed + self._mac(signed)

    def extract_timestamp(self, token: bytes) -> int:
        if len(token) < _STAMP.size + _MAC_BYTES:
            raise InvalidToken("too short")
        return int(_STAMP.unpack_from(token)[0])

    def decrypt(self, token: bytes) -> bytes:
        token = bytes(token)
        if len(token) < _STAMP.size + _MAC_BYTES:
            raise InvalidToken("too short")
        signed, mac = token[:-_MAC_BYTES], token[-_MAC_BYTES:]
        if not hmac.compare_digest(mac, self._mac(signed)):
            raise InvalidToken("wrong authentication code")
        return signed[_STAMP.size :]


def install() -> None:
    """Make pysyncobj's `password` mode use `Sealer` (idempotent)."""
    _syncobj.getEncryptor = Sealer
    _syncobj.HAS_CRYPTO = True


install()
