"""pysyncobj's TCP message format, made fit for binary batches. Applied when this module is
imported.

pysyncobj 0.3.17 sends every message as `zlib.compress(pickle.dumps(msg, protocol=2), 3)`.
Protocol 2 encodes `bytes` as latin-1 text (20 KB of random bytes becomes 30 KB, 94 us instead of
2 us) and zlib level 3 spends ~2 ms per 20 KB of incompressible data, per follower. Measured in
research/feasibility.md section 2.3: 8-14x faster for binary batches with protocol 5 and level 0.

Members stay wire-compatible with unpatched ones: unpickling reads any protocol, and level-0 output
is valid zlib. The same pickler also encodes the commands pysyncobj stores in its journal, which is
harmless (our journal stores whatever bytes it is given).

Security: pysyncobj unpickles whatever reaches its port; RaftOptions.secret makes it authenticate
every message first (log/auth.py). Raft ports belong on loopback or a private network.
"""

from __future__ import annotations

import pickle
import zlib

import pysyncobj.pickle as _syncobj_pickle
import pysyncobj.tcp_connection as _syncobj_tcp

PICKLE_PROTOCOL = 5
ZLIB_LEVEL = 0


class _StoredZlib:
    """Stands in for the `zlib` module inside pysyncobj.tcp_connection (compress, decompress)."""

    @staticmethod
    def compress(data: bytes, level: int = -1) -> bytes:
        return zlib.compress(data, ZLIB_LEVEL)

    decompress = staticmethod(zlib.decompress)


def apply() -> None:
    """Install the fast format (idempotent)."""
    # pysyncobj.pickle.dumps reads the module global `__protocol` on each call.
    vars(_syncobj_pickle)["__protocol"] = PICKLE_PROTOCOL
    _syncobj_tcp.zlib = _StoredZlib


def is_applied() -> bool:
    """True if pysyncobj now pickles with protocol 5 and compresses its messages at level 0."""
    probe = _syncobj_pickle.dumps(b"probe")
    uses_protocol_5 = probe[:2] == bytes((pickle.PROTO[0], PICKLE_PROTOCOL))
    sample = b"a" * 4096
    stored = len(_syncobj_tcp.zlib.compress(sample, 3)) > len(sample)
    return uses_protocol_5 and stored


apply()
