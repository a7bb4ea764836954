"""The cluster secret on the Raft wire (log/auth.py): real members, real sockets."""

from __future__ import annotations

import asyncio
import os
import pickle
import socket
import struct
import zlib
from dataclasses import replace
from pathlib import Path

import pytest

from log.auth import InvalidToken, Sealer
from log.raft import RaftLog, RaftOptions
from tests.log.support import free_port, take_until
from tests.log.test_raft import find_leader

SECRET = b"s3cret-of-the-cluster"


def members(tmp_path: Path, secrets: list[bytes | None]) -> list[RaftOptions]:
    addresses = [f"127.0.0.1:{free_port()}" for _ in secrets]
    return [
        RaftOptions(
            self_address=address,
            partners=tuple(a for a in addresses if a != address),
            data_dir=tmp_path / f"member{i}",
            secret=secret,
            start_timeout=5.0,
        )
        for i, (address, secret) in enumerate(zip(addresses, secrets, strict=True))
    ]


def test_a_sealed_message_opens_only_with_the_same_secret() -> None:
    sealer = Sealer(SECRET)
    token = sealer.encrypt_at_time(b"payload", 42)
    assert sealer.extract_timestamp(token) == 42
    assert sealer.decrypt(token) == b"payload"
    with pytest.raises(InvalidToken):
        Sealer(b"another secret").decrypt(token)
    tampered = bytearray(token)
    tampered[9] ^= 1
    with pytest.raises(InvalidToken):
        sealer.decrypt(bytes(tampered))
    with pytest.raises(InvalidToken):
        sealer.decrypt(b"short")
    with pytest.raises(ValueError, match="empty"):
        Sealer(b"")


def test_the_secret_is_not_printed_with_the_options(tmp_path: Path) -> None:
    (options,) = members(tmp_path, [SECRET])
    assert "s3cret" not in repr(options)


async def test_members_sharing_the_secret_replicate_and_one_without_it_gets_nothing(
    tmp_path: Path,
) -> None:
    options = members(tmp_path, [SECRET, SECRET, b"a guess"])
    logs = [RaftLog(o) for o in options[:2]]
    stranger = RaftLog(options[2])
    try:
        await asyncio.gather(*(log.start() for log in logs))
        start_stranger = asyncio.ensure_future(stranger.start())
        leader = await find_leader(logs)
        lsns = [await leader.append(b"r%d" % i) for i in range(20)]
        for log in logs:
            assert len(await take_until(log.read(0), lsns[-1])) >= 20
        with pytest.raises(Exception, match="a majority of"):
            await start_stranger  # it never hears a message it can authenticate
        assert not stranger.is_leader()
        assert stranger.status().commit_index == 0
    finally:
        await stranger.close()
        for log in logs:
            await log.close()


def pysyncobj_frame(message: object) -> bytes:
    """A message as an unauthenticated pysyncobj member would send it."""
    data = zlib.compress(pickle.dumps(message), 3)
    return struct.pack("i", len(data)) + data


class WritesAFile:
    """Unpickling this runs `open(path, "w")`: the classic pickle exploit."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.path, "w"))


async def test_a_pickle_sent_without_the_secret_is_never_unpickled(tmp_path: Path) -> None:
    proof = tmp_path / "pwned"
    pickle.loads(pickle.dumps(WritesAFile(str(tmp_path / "probe"))))  # the payload does work
    assert (tmp_path / "probe").exists()

    options = members(tmp_path, [SECRET, SECRET, SECRET])
    logs = [RaftLog(o) for o in options]
    try:
        await asyncio.gather(*(log.start() for log in logs))
        leader = await find_leader(logs)
        for target in options:
            host, port = target.self_address.rsplit(":", 1)
            for message in (WritesAFile(str(proof)), [WritesAFile(str(proof))]):
                with socket.create_connection((host, int(port)), timeout=2) as sock:
                    sock.sendall(pysyncobj_frame(message))
                    sock.settimeout(2)
                    try:
                        assert sock.recv(100) == b""  # disconnected, nothing answered
                    except (ConnectionResetError, TimeoutError):
                        pass
        await asyncio.sleep(0.2)
        assert not proof.exists()
        assert await leader.append(b"still serving") > 0
    finally:
        for log in logs:
            await log.close()


async def test_a_member_without_a_secret_cannot_join_members_with_one(tmp_path: Path) -> None:
    options = members(tmp_path, [SECRET, SECRET, None])
    logs = [RaftLog(o) for o in options[:2]]
    open_member = RaftLog(replace(options[2], start_timeout=1.5))
    try:
        await asyncio.gather(*(log.start() for log in logs))
        leader = await find_leader(logs)
        await leader.append(b"sealed")
        with pytest.raises(Exception, match="a majority of"):
            await open_member.start()
        assert open_member.status().commit_index == 0
    finally:
        await open_member.close()
        for log in logs:
            await log.close()
    assert os.path.isdir(tmp_path / "member2")
