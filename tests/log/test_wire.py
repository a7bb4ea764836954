"""pysyncobj's wire format is patched (pickle protocol 5, zlib level 0) when log.raft loads."""

from __future__ import annotations

import pickle
import subprocess
import sys
import zlib
from pathlib import Path

import pysyncobj.pickle as syncobj_pickle
import pysyncobj.tcp_connection as syncobj_tcp

import log.raft  # noqa: F401  (importing the raft log must apply the patch)
from log import wire

REPO = Path(__file__).resolve().parents[2]


def test_the_patch_is_applied_by_importing_the_raft_log() -> None:
    probe = (
        "import log.raft, pysyncobj.pickle as p, pysyncobj.tcp_connection as t;"
        "assert p.dumps(b'x')[:2] == b'\\x80\\x05', 'pickle protocol';"
        "assert len(t.zlib.compress(b'a' * 999, 3)) > 999, 'zlib level'"
    )
    subprocess.run([sys.executable, "-c", probe], cwd=REPO, check=True, timeout=30)
    assert wire.is_applied()


def test_messages_pickle_bytes_with_protocol_5() -> None:
    blob = bytes(range(256)) * 100
    message = {"type": "append_entries", "entries": [(blob, 7, 1)]}
    data = syncobj_pickle.dumps(message)
    assert data[:2] == b"\x80\x05"
    assert len(data) < len(blob) + 200  # protocol 2 would spell the bytes as latin-1 text
    assert syncobj_pickle.loads(data) == message


def test_messages_are_stored_not_compressed_and_stay_valid_zlib() -> None:
    payload = pickle.dumps(b"a" * 10_000, protocol=5)
    framed = syncobj_tcp.zlib.compress(payload, 3)
    assert len(framed) > len(payload)  # level 0: stored, no CPU spent compressing
    assert zlib.decompress(framed) == payload  # unpatched peers can still read it
    assert syncobj_tcp.zlib.decompress(framed) == payload


def test_applying_twice_changes_nothing() -> None:
    wire.apply()
    assert wire.is_applied()
