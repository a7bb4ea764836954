"""`RaftOptions`: how one member of a Raft group runs, and the pysyncobj configuration it maps to.

Defaults follow research/feasibility.md 7.1 (measured on this project's 2-core machine): elections
in 0.15-0.3 s, heartbeats every 30 ms, reconnect after 0.2 s (sub-0.5 s failover, sub-0.3 s
rejoin), `appendEntriesUseBatch=False` (each batch is sent at once; avoids pysyncobj's truncation
on overlapping AppendEntries), 1 MiB socket and AppendEntries buffers. pysyncobj's own log
compaction trigger is off: `RaftLog.trim` compacts, through pysyncobj's dump hooks and file
(log/compaction.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pysyncobj import SyncObjConf

from log.compaction import Compaction
from log.replica import journal_path

_NEVER = 10**12  # pysyncobj wants numbers; this is "never" for compaction
ALONE_TICK_PERIOD = 0.05
"""The tick of a single-member group: no heartbeats to send, no leader to watch; only its first
election waits on a tick (at most this much later). An idle partition process then wakes 20
times a second instead of 200 (measured: 3 % of a core -> 0.3 %)."""


def _check_address(name: str, address: str) -> None:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(
            f"{name} must look like 'host:port' (e.g. '127.0.0.1:4501'), got {address!r}"
        )


@dataclass(frozen=True, slots=True)
class RaftOptions:
    """How one member of a Raft group runs. Times are in seconds."""

    self_address: str
    """'host:port' other members use to reach this one (its id in the group)."""
    data_dir: Path
    """Directory of the journal and Raft metadata (one member per directory; locked)."""
    partners: tuple[str, ...] = ()
    """Addresses of the other members; empty = a single-member group."""
    bind_address: str | None = None
    """'host:port' to listen on; default `self_address` (never bind pickle ports publicly)."""
    secret: bytes | None = field(default=None, repr=False)
    """The cluster secret: when set, every message between members is authenticated with it
    before it is unpickled, and a peer without it is disconnected (log/auth.py)."""
    group_commit_window: float = 0.001
    max_batch_bytes: int = 256 * 1024
    max_record_bytes: int = 64 * 1024 * 1024
    fsync: bool = True
    tick_period: float = 0.005
    """How long pysyncobj's tick thread sleeps when nothing happens. Appends, peers' messages,
    appended entries and `call_on_tick` wake it at once (log/replica.py), so this only sets the
    resolution of Raft's timers (heartbeats, elections); 5 ms instead of feasibility's 1 ms cuts
    idle CPU from ~3.5% to ~1% with the same c=1 latency. A member alone in its group has no
    timer that matters once it leads: `ALONE_TICK_PERIOD`."""
    raft_min_timeout: float = 0.15
    raft_max_timeout: float = 0.3
    append_entries_period: float = 0.03
    connection_timeout: float = 0.5
    connection_retry_time: float = 0.2
    leader_fallback_timeout: float = 1.0
    """A leader that heard from no majority for this long steps down."""
    socket_buffer_bytes: int = 1024 * 1024
    commands_queue_size: int = 100_000
    start_timeout: float = 10.0
    """`start()` fails if the member is not ready (and, alone, leading) by then."""
    joining: bool = False
    """A member joining a running group (node/membership_changes.py): it never stands for
    election until a leader has added it to the group and it caught up (a member that is not
    yet in the others' configuration would only disturb them with higher terms)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))  # accept a str too
        _check_address("self_address", self.self_address)
        for partner in self.partners:
            _check_address("each partner", partner)
        if self.self_address in self.partners:
            raise ValueError(f"partners must not include self_address {self.self_address!r}")
        if self.bind_address is not None:
            _check_address("bind_address", self.bind_address)
        positive = ("group_commit_window", "tick_period", "append_entries_period", "start_timeout")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if not 0 < self.max_batch_bytes <= self.max_record_bytes < 2**32 - 1024:
            raise ValueError("need 0 < max_batch_bytes <= max_record_bytes < 4 GiB")
        if not self.raft_min_timeout > 3 * self.append_entries_period:
            raise ValueError("raft_min_timeout must exceed 3 heartbeats (append_entries_period)")
        if not self.raft_max_timeout > self.raft_min_timeout:
            raise ValueError("raft_max_timeout must be greater than raft_min_timeout")
        if not self.connection_timeout >= self.raft_max_timeout:
            raise ValueError("connection_timeout must be >= raft_max_timeout")
        if not self.leader_fallback_timeout > self.append_entries_period:
            raise ValueError("leader_fallback_timeout must exceed append_entries_period")


def syncobj_conf(
    options: RaftOptions,
    on_ready: Callable[[], None],
    on_state_changed: Callable[[int, int], None],
    compaction: Compaction,
) -> SyncObjConf:
    return SyncObjConf(
        autoTick=True,
        dynamicMembershipChange=True,
        autoTickPeriod=options.tick_period,
        appendEntriesUseBatch=False,
        appendEntriesPeriod=options.append_entries_period,
        raftMinTimeout=options.raft_min_timeout,
        raftMaxTimeout=options.raft_max_timeout,
        connectionTimeout=options.connection_timeout,
        connectionRetryTime=options.connection_retry_time,
        leaderFallbackTimeout=options.leader_fallback_timeout,
        appendEntriesBatchSizeBytes=options.socket_buffer_bytes,
        sendBufferSize=options.socket_buffer_bytes,
        recvBufferSize=options.socket_buffer_bytes,
        commandsQueueSize=options.commands_queue_size,
        logCompactionMinEntries=_NEVER,
        logCompactionMinTime=_NEVER,
        fullDumpFile=str(compaction.manifest_path),
        serializer=compaction.serializer,
        deserializer=compaction.deserializer,
        journalFile=journal_path(options.data_dir),
        bindAddress=options.bind_address or options.self_address,
        password=options.secret,
        maxBindRetries=1,
        onReady=on_ready,
        onStateChanged=on_state_changed,
    )
