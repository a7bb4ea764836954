"""Snapshots: how a member that cannot catch up from the log gets its group's state.

A member whose log lacks entries the others compacted (it was down while they trimmed, or its
data directory was wiped) fails with `SnapshotNeeded`. Its node then (`Node.run`) closes the
group's store and log, fetches a snapshot from another member and installs it, and opens the
group again; from there Raft sends it the entries after the snapshot.

Sending (`SnapshotSource`, served over the fabric): a RocksDB checkpoint of the store (a
consistent copy: hard-linked SST files, the memtable flushed first) and its applied LSN `L`;
the sending member's Raft journal says where a member holding state through `L` resumes its
log (log/snapshot.py). The receiver pulls the checkpoint's files in pages (one request per
page, so one snapshot never holds the fabric connection for long) and checks each file's size
and SHA-256.

Installing (`catch_up`, then `finish_install`), crash-safe at every step:
1. the files go to `store.incoming` (fsynced), a fresh directory;
2. `snapshot-install.json` names the log point (written atomically and fsynced): from here on
   the install completes even if the process dies;
3. `store.incoming` replaces `store`; the journal is compacted to the log point with `L` as
   its trim point (`install_log_point`); the marker is removed.
`finish_install` runs at every start of the group, before the store and log open, so a crash
between the steps is finished by the next start.

The copy always comes from a member that holds every record up to the trim point named by the
`SnapshotNeeded` (its leader's), preferring that leader: a copy older than the leader's
compaction point would be answered with the manifest again.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ingress import api
from log.api import SnapshotNeeded
from log.files import fsync_directory, replace_atomically
from log.raft import RaftLog
from log.snapshot import LogPoint, NoLogPoint, install_log_point
from node import metrics
from node.clock import Clock
from node.fabric import FabricClient, Unavailable
from partition.store import Store
from perdure_proto import fabric_pb2 as fb

log = logging.getLogger(__name__)

STORE_DIR = "store"
LOG_DIR = "log"
INCOMING_DIR = "store.incoming"
OUTGOING_DIR = "snapshots"
MARKER_FILE = "snapshot-install.json"

PAGE_BYTES = 1 << 20
MAX_SESSIONS = 2
SESSION_IDLE_S = 60.0
RETRY_S = 1.0


# ------------------------------------------------------------------------------ sending side


@dataclass
class _Session:
    begun: fb.SnapshotBegun
    path: Path
    used_at: float


class SnapshotSource:
    """Serves checkpoints of one group's store to members that need one (fabric methods
    SNAPSHOT_BEGIN and SNAPSHOT_PAGE). Checkpoints live under `data/snapshots` until read to
    the end, idle for a minute, or the source closes."""

    def __init__(self, store: Store, raft: RaftLog, data: Path, clock: Clock) -> None:
        self._store = store
        self._raft = raft
        self._dir = data / OUTGOING_DIR
        self._clock = clock
        self._sessions: dict[int, _Session] = {}
        self._ids = itertools.count(1)
        shutil.rmtree(self._dir, ignore_errors=True)  # a previous run's

    async def begin(self, request: fb.SnapshotRequest) -> fb.SnapshotBegun:
        self._expire()
        if len(self._sessions) >= MAX_SESSIONS:
            raise api.AdminError(503, "this member is already sending snapshots; try again")
        for _ in range(3):  # a trim between checkpoint and log point: take a newer one
            session = next(self._ids)
            path = self._dir / f"out-{os.getpid()}-{session}"
            self._dir.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(path, ignore_errors=True)
            lsn = await asyncio.to_thread(self._store.checkpoint, path)
            try:
                if lsn is None or lsn < request.min_lsn:
                    raise api.AdminError(
                        409,
                        f"this member applied records only up to LSN {lsn}, short of "
                        f"{request.min_lsn}: ask an up-to-date member",
                    )
                try:
                    point = await self._raft.snapshot_point(lsn)
                except NoLogPoint as exc:
                    log.info("snapshot of LSN %d has no log point (%s); taking another", lsn, exc)
                    shutil.rmtree(path, ignore_errors=True)
                    continue
                files = await asyncio.to_thread(_describe, path)
            except BaseException:
                shutil.rmtree(path, ignore_errors=True)
                raise
            begun = fb.SnapshotBegun(
                session=session,
                applied_lsn=lsn,
                through=point.through,
                term_before=point.term_before,
                term_through=point.term_through,
                member=self._raft.status().self_address,
                files=files,
                nodes=point.nodes,
            )
            self._sessions[session] = _Session(begun, path, self._clock.monotonic())
            metrics.SNAPSHOTS_SENT.inc()
            log.info(
                "sending a snapshot through LSN %d (%d files, %d bytes)",
                lsn,
                len(files),
                sum(f.size for f in files),
            )
            return begun
        raise api.AdminError(503, "the log was trimmed past every checkpoint taken; try again")

    async def page(self, request: fb.SnapshotPageRequest) -> fb.SnapshotPage:
        session = self._sessions.get(request.session)
        if session is None or request.file >= len(session.begun.files):
            raise api.AdminError(404, f"no snapshot session {request.session} (or no such file)")
        session.used_at = self._clock.monotonic()
        file = session.begun.files[request.file]
        data = await asyncio.to_thread(_read, session.path / file.name, request.offset)
        if request.file == len(session.begun.files) - 1 and request.offset + len(data) >= file.size:
            self._end(request.session)  # the last page of the last file
        return fb.SnapshotPage(data=data)

    def close(self) -> None:
        for session in list(self._sessions):
            self._end(session)

    def _expire(self) -> None:
        now = self._clock.monotonic()
        for session, s in list(self._sessions.items()):
            if now - s.used_at > SESSION_IDLE_S:
                self._end(session)

    def _end(self, session: int) -> None:
        s = self._sessions.pop(session, None)
        if s is not None:
            shutil.rmtree(s.path, ignore_errors=True)


def _describe(path: Path) -> list[fb.SnapshotFile]:
    files = []
    for entry in sorted(path.iterdir()):
        digest = hashlib.sha256()
        with entry.open("rb") as f:
            while chunk := f.read(PAGE_BYTES):
                digest.update(chunk)
        files.append(
            fb.SnapshotFile(name=entry.name, size=entry.stat().st_size, sha256=digest.hexdigest())
        )
    return files


def _read(path: Path, offset: int) -> bytes:
    with path.open("rb") as f:
        f.seek(offset)
        return f.read(PAGE_BYTES)


# ---------------------------------------------------------------------------- receiving side


class SnapshotFailed(Exception):
    """A snapshot could not be fetched from a member (it will be asked again, or another)."""


async def catch_up(
    data: Path,
    needed: SnapshotNeeded,
    sources: Sequence[tuple[str, FabricClient]],
    clock: Clock,
    *,
    fsync: bool = True,
    rounds: int | None = None,
) -> LogPoint | None:
    """Fetch a snapshot from the first of `sources` (name, client) able to send one, trying
    them in turn until one does (at most `rounds` times over: None for no end), and install it
    into the group's data directory `data` (whose store and log are closed). Returns where the
    log resumes, None if no source could send one."""
    for attempt in itertools.count(1):
        if rounds is not None and attempt > rounds:
            return None
        for name, source in sources:
            try:
                begun = await source.snapshot_begin(fb.SnapshotRequest(min_lsn=needed.min_lsn))
                await _download(source, begun, data / INCOMING_DIR, fsync)
            except (Unavailable, api.AdminError, SnapshotFailed) as exc:
                log.warning("no snapshot from %s (attempt %d): %s", name, attempt, exc)
                continue
            point = LogPoint(
                begun.applied_lsn,
                begun.through,
                begun.term_before,
                begun.term_through,
                tuple(begun.nodes),
            )
            replace_atomically(data / MARKER_FILE, json.dumps(asdict(point)).encode(), fsync=fsync)
            await asyncio.to_thread(finish_install, data, fsync=fsync)
            metrics.SNAPSHOTS_INSTALLED.inc()
            log.info(
                "installed a snapshot from %s through LSN %d; the log resumes after raft index %d",
                name,
                point.lsn,
                point.through,
            )
            return point
        await clock.sleep(RETRY_S)
    return None


async def _download(source: FabricClient, begun: fb.SnapshotBegun, into: Path, fsync: bool) -> None:
    await asyncio.to_thread(shutil.rmtree, into, True)
    into.mkdir(parents=True)
    for index, file in enumerate(begun.files):
        digest = hashlib.sha256()
        path = into / file.name
        with path.open("wb") as out:
            offset = 0
            while offset < file.size:
                page = await source.snapshot_page(
                    fb.SnapshotPageRequest(session=begun.session, file=index, offset=offset)
                )
                if not page.data:
                    raise SnapshotFailed(f"{file.name} ended at {offset} of {file.size} bytes")
                out.write(page.data)
                digest.update(page.data)
                offset += len(page.data)
            out.flush()
            if fsync:
                os.fsync(out.fileno())
        if offset != file.size or digest.hexdigest() != file.sha256:
            raise SnapshotFailed(f"{file.name} arrived damaged ({offset} of {file.size} bytes)")
    if fsync:
        fsync_directory(into)


def finish_install(data: Path, *, fsync: bool = True) -> LogPoint | None:
    """Complete a snapshot install whose marker is in the group's data directory `data` (after
    a crash, or right after `catch_up` fetched it): the fetched store replaces the old one and
    the journal resumes at the marker's log point. Call before the store and log open. None
    when no install is pending."""
    marker = data / MARKER_FILE
    incoming = data / INCOMING_DIR
    try:
        raw = marker.read_bytes()
    except FileNotFoundError:
        shutil.rmtree(incoming, ignore_errors=True)  # a fetch that did not finish
        return None
    fields = json.loads(raw)
    point = LogPoint(**{**fields, "nodes": tuple(fields.get("nodes", ()))})
    if incoming.exists():
        shutil.rmtree(data / STORE_DIR, ignore_errors=True)
        os.replace(incoming, data / STORE_DIR)
        if fsync:
            fsync_directory(data)
    install_log_point(data / LOG_DIR, point, fsync=fsync)
    marker.unlink()
    if fsync:
        fsync_directory(data)
    return point
