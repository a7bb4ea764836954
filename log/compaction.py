"""Log compaction for `RaftLog`: what `trim` does to pysyncobj's log and to our journal.

The state a log's records build lives outside the log (the node's RocksDB), so a "snapshot" here
is only a marker of where the log resumes. `RaftLog.trim(up_to)` works out the highest raft index
`through` whose entries hold only records with LSN <= up_to (and are applied), and hands
`(through, trimmed LSN)` to `Compaction.request`. pysyncobj's tick thread then (`on_tick`):

1. stores the trimmed LSN in `raft.meta` (fsynced), so a restart filters out trimmed records of
   the entry after `through` and answers `Trimmed` below the trim point;
2. compacts the journal through `through` (`DurableJournal.compact`: one atomic rewrite holding
   two stubs — index and term of `through - 1` and `through`, no command — then every later
   entry). The journal *is* pysyncobj's in-memory log, so pysyncobj forgets them too;
3. writes the manifest `raft.snapshot` (pysyncobj's `fullDumpFile`): tiny JSON naming the member,
   the compacted index and term, the trimmed LSN and the cluster. Not fsynced: it is derived.

A crash between (or after) the steps is harmless: the journal alone says where the log resumes
(`prepare` rewrites the manifest from it before pysyncobj starts), and the trim point is stored
before the journal drops anything.

pysyncobj's own machinery does the rest:

* Restart: pysyncobj loads its dump when `fullDumpFile` exists. `deserializer` returns the two
  stubs (pysyncobj's `(lastAppliedEntry, prevEntry, cluster)`); pysyncobj keeps the journal as it
  is and resumes applying after `through`, so compacted entries are neither read nor replayed.
* A follower whose next entry the leader compacted: pysyncobj's leader sends the dump (the
  manifest) instead of entries. A manifest cannot rebuild state, so the receiving member
  (`screen_incoming`) checks it: if it already holds every entry up to the leader's compaction
  point (it was only a stale retransmission), it ignores it; otherwise it stops with
  `SnapshotNeeded`. pysyncobj's own install path (which would clear the journal and skip the
  records) never runs. If the leader would send a stub (the follower lacks exactly the last
  compacted entry), `screen_outgoing` sends the manifest instead, with the same result.

Why not pysyncobj's own compaction trigger (`logCompactionMinEntries`, `forceLogCompaction`)?
It compacts at its *applied* index, which is ahead of what the log's owner made durable (entries
in between would not be replayed after a crash), it skips compaction when nothing was applied
since the last one, and it rewrites the journal only one tick after the dump is in place. So it
stays off, and the serializer hook is never called by it (it writes the current manifest if it
ever is). The work runs on pysyncobj's tick thread (never on the event loop): one meta write, one
rewrite of the retained entries (those after the trim point: small when the owner trims as it
makes its state durable) and one manifest write; the first two are fsynced.

A member may also receive AppendEntries reaching below its own compaction point (a stale
retransmission after its own trim); `screen_incoming` answers as pysyncobj does for entries it
never had ("resend from my last index"), so pysyncobj never truncates into the stubs.

Consequence for operations: pysyncobj sends new entries to every connected follower at once, so a
follower that stays connected is sent them before the leader applies, trims and compacts them, even
if it is slow. A member that is down or cut off while the leader (or a later leader) trims past
its log needs a snapshot transfer when it comes back, however short the outage was.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from log.api import Error, SnapshotNeeded
from log.files import replace_atomically
from log.journal import STUB, DurableJournal, JournalEntry, JournalError

logger = logging.getLogger(__name__)

MANIFEST_FILE = "raft.snapshot"
_FORMAT = "perdure-raft-manifest/1"
_MAX_MANIFEST_BYTES = 1 << 20

Message = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Manifest:
    """The whole "snapshot" pysyncobj stores and transfers: where the log resumes."""

    member: str
    compacted_index: int
    compacted_term: int
    trimmed_lsn: int
    nodes: tuple[str, ...]

    def encode(self) -> bytes:
        return json.dumps(
            {
                "format": _FORMAT,
                "member": self.member,
                "compacted_index": self.compacted_index,
                "compacted_term": self.compacted_term,
                "trimmed_lsn": self.trimmed_lsn,
                "nodes": list(self.nodes),
            }
        ).encode()

    @staticmethod
    def decode(data: bytes) -> Manifest:
        """Raises ValueError if `data` is not a manifest of this format."""
        try:
            raw = json.loads(data)
            if raw["format"] != _FORMAT:
                raise ValueError(f"unknown format {raw['format']!r}")
            return Manifest(
                member=str(raw["member"]),
                compacted_index=int(raw["compacted_index"]),
                compacted_term=int(raw["compacted_term"]),
                trimmed_lsn=int(raw["trimmed_lsn"]),
                nodes=tuple(str(n) for n in raw["nodes"]),
            )
        except (KeyError, TypeError, AttributeError, UnicodeDecodeError) as e:
            raise ValueError(f"not a raft manifest ({e!r})") from e


class Compaction:
    """Compaction of one member's log. Thread rules: `prepare` before pysyncobj starts,
    `request` on the event loop, everything else on pysyncobj's tick thread."""

    def __init__(
        self,
        journal: DurableJournal,
        *,
        data_dir: Path,
        member: str,
        partners: tuple[str, ...],
        on_done: Callable[[int], None],
    ) -> None:
        """`on_done(ticket)` runs on the tick thread once the request `ticket` (and every earlier
        one) is durable."""
        self._journal = journal
        self._dir = data_dir
        self._member = member
        self._nodes = (member, *partners)  # the configuration as of the last compaction
        self.cluster: Callable[[], tuple[str, ...]] | None = None
        """The group's current configuration (this member first), read on the tick thread when
        a manifest is written; set once pysyncobj runs (membership changes move it)."""
        self._on_done = on_done
        self._request: tuple[int, int, int] | None = None  # (ticket, through, trimmed lsn)
        self._done_ticket = 0
        self._manifest_bytes: bytes | None = None
        self._incoming: dict[str, bytearray] = {}
        self._warned: set[tuple[str, int]] = set()

    @property
    def manifest_path(self) -> Path:
        return self._dir / MANIFEST_FILE

    # --- before pysyncobj starts ------------------------------------------------------------------

    def prepare(self) -> None:
        """Make `raft.snapshot` agree with the journal: present (and current) iff the journal was
        compacted, since pysyncobj loads its dump at start iff the file exists. Raises
        `JournalError` on I/O errors."""
        try:
            if self._journal.compacted_index:
                with contextlib.suppress(OSError, ValueError):  # else: the configured partners
                    if nodes := Manifest.decode(self.manifest_path.read_bytes()).nodes:
                        self._nodes = self._moved_alone(nodes)  # pysyncobj loads it from there
                self._write_manifest()
            else:
                self.manifest_path.unlink(missing_ok=True)
        except OSError as e:
            raise JournalError(
                f"could not prepare {self.manifest_path} ({e}); check the disk, then restart"
            ) from e

    def _moved_alone(self, nodes: tuple[str, ...]) -> tuple[str, ...]:
        """A group of one member whose address changed (a single node given another Raft
        port): the stored configuration would name a member that is gone beside the one running,
        and no election could ever be won. Alone, the address is only a name: it becomes the
        configured one. A group of several members keeps what it stored."""
        if len(nodes) == 1 and not self._nodes[1:] and nodes[0] != self._member:
            logger.warning(
                "the single Raft member of %s moved from %s to %s",
                self._dir,
                nodes[0],
                self._member,
            )
            return (self._member,)
        return nodes

    # --- event loop ---------------------------------------------------------------------------

    def request(self, ticket: int, through: int, trimmed_lsn: int) -> None:
        """Ask the tick thread to store `trimmed_lsn` and compact through raft index `through`.
        Tickets increase; a later request supersedes an earlier one (it covers at least as much).
        """
        self._request = (ticket, through, trimmed_lsn)  # one atomic store, read by on_tick

    # --- pysyncobj's tick thread ------------------------------------------------------------

    def on_tick(self) -> None:
        request = self._request
        if request is None or request[0] <= self._done_ticket:
            return
        ticket, through, trimmed_lsn = request
        self._done_ticket = ticket  # a failure below is reported by the journal; never retried
        journal = self._journal
        try:
            journal.store_trimmed(trimmed_lsn)
            # The manifest holds the group's configuration, which the journal may stop holding
            # (membership entries compacted away): stored before the journal drops anything.
            if journal.compacted_index:
                self._write_manifest()
            if journal.compact(through):
                self._write_manifest()
        except Error:
            return  # the journal reported it (the member stops)
        except OSError as e:
            journal.fail(
                JournalError(
                    f"could not write {self.manifest_path} ({e}); the member stopped: fix the "
                    f"disk and restart"
                )
            )
            return
        self._on_done(ticket)

    def serializer(self, file_name: str, data: object) -> None:
        """pysyncobj's dump hook. Its own compaction is off, so it never calls this; if it did,
        this writes the current manifest (the journal ignores its follow-up `deleteEntriesTo`)."""
        if not self._journal.compacted_index:
            raise Error("nothing is compacted yet; pysyncobj's own compaction must stay off")
        replace_atomically(Path(file_name), self._current_manifest().encode(), fsync=False)

    def deserializer(self, file_name: str) -> tuple[JournalEntry, JournalEntry, list[str]]:
        """pysyncobj's load hook, called at start when `raft.snapshot` exists: resume after the
        journal's compaction point (the stubs are what pysyncobj compares with its log)."""
        journal = self._journal
        if not journal.compacted_index:
            raise Error(f"{file_name} exists but the journal was never compacted")
        # (pysyncobj compares them with its own node object: strings never match, so this member
        # is left out here, or it would count itself as a partner.)
        return journal[1], journal[0], [n for n in self._nodes if n != self._member]

    def screen_incoming(
        self, sender: str, message: Message, reply: Callable[[Message], object]
    ) -> bool:
        """Look at a message before pysyncobj does: False if it was handled here (dumps, and
        AppendEntries reaching below this member's compaction point), True to pass it on."""
        if not isinstance(message, dict) or message.get("type") != "append_entries":
            return True
        journal = self._journal
        if message.get("term", -1) < journal.getCurrentTerm():
            return True  # a stale leader's: pysyncobj ignores it
        if "serialized" in message:
            self._receive_dump(sender, message["serialized"])
            return False
        compacted = journal.compacted_index
        prev = message.get("prevLogIdx")
        if compacted and prev is not None and prev < compacted:
            reply(
                {
                    "type": "next_node_idx",
                    "next_node_idx": journal.last_index + 1,
                    "reset": True,
                    "success": False,
                }
            )
            return False
        entries = message.get("entries")
        if entries and entries[0][0] == STUB:  # screen_outgoing never lets one leave
            self._need_snapshot(sender, entries[0][1], entries[0][2], "sent a compacted entry")
            return False
        return True

    def screen_outgoing(self, receiver: str, message: Message) -> Message:
        """Replace AppendEntries that would carry a stub (the receiver lacks the last compacted
        entry) by the manifest, and warn once per follower and compaction point that a follower
        is behind it."""
        if not isinstance(message, dict) or message.get("type") != "append_entries":
            return message
        entries = message.get("entries")
        if entries and entries[0][0] == STUB:
            message = {
                "type": "append_entries",
                "term": message["term"],
                "commit_index": message["commit_index"],
                "serialized": (
                    self._manifest_bytes or self._current_manifest().encode(),
                    True,
                    True,
                ),
            }
        if "serialized" in message:
            compacted = self._journal.compacted_index
            if (receiver, compacted) not in self._warned:
                self._warned.add((receiver, compacted))
                logger.warning(
                    "raft member %s: member %s lacks entries up to raft index %d, which this "
                    "member compacted after a trim; it cannot catch up from the log and needs a "
                    "snapshot transfer (it stops with SnapshotNeeded)",
                    self._member,
                    receiver,
                    compacted,
                )
        return message

    # --- internals (tick thread) ----------------------------------------------------------------

    def _receive_dump(self, sender: str, data: object) -> None:
        if not isinstance(data, tuple) or len(data) != 3:  # the leader could not read its dump
            return
        chunk, first, last = data
        if first:
            self._incoming[sender] = bytearray()
        received = self._incoming.get(sender)
        if received is None:
            return
        received += chunk
        if not last and len(received) <= _MAX_MANIFEST_BYTES:
            return
        del self._incoming[sender]
        try:
            manifest = Manifest.decode(bytes(received))
        except ValueError as e:
            self._need_snapshot(sender, None, None, f"sent a snapshot this member cannot use ({e})")
            return
        journal = self._journal
        index, term = manifest.compacted_index, manifest.compacted_term
        if journal.compacted_index >= index or journal.term_at(index) == term:
            logger.info(
                "raft member %s: ignoring a snapshot from %s (compacted through %d): this member "
                "already holds every entry up to it",
                self._member,
                sender,
                index,
            )
            return
        self._need_snapshot(sender, index, term, "compacted its log", manifest.trimmed_lsn)

    def _need_snapshot(
        self, sender: str, index: int | None, term: int | None, what: str, min_lsn: int = -1
    ) -> None:
        journal = self._journal
        where = "" if index is None else f" through raft index {index} (term {term})"
        self._journal.fail(
            SnapshotNeeded(
                f"raft member {self._member}: the leader {sender} {what}{where}, and this member "
                f"lacks entries up to that point (it holds entries up to index "
                f"{journal.last_index}, compacted through {journal.compacted_index}): it cannot "
                f"catch up from the log: it needs a snapshot of an up-to-date member's state"
                f" (a node installs one by itself, node/snapshot.py)",
                leader=sender,
                min_lsn=min_lsn,
            )
        )

    def _current_manifest(self) -> Manifest:
        journal = self._journal
        index = journal.compacted_index
        return Manifest(
            member=self._member,
            compacted_index=index,
            compacted_term=journal.term_at(index) or 0,
            trimmed_lsn=journal.trimmed_lsn,
            nodes=self._nodes if self.cluster is None else self.cluster(),
        )

    def _write_manifest(self) -> None:
        data = self._current_manifest().encode()
        if data == self._manifest_bytes:
            return
        # Its positions are derived from the journal, its configuration is not: synced.
        replace_atomically(self.manifest_path, data, fsync=self._journal.fsync)
        self._manifest_bytes = data
