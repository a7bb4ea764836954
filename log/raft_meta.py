"""Raft's persistent metadata (current term, vote, commit index) and the log's trim point in
`raft.meta`, as JSON.

Stored with `files.replace_atomically`, so a crash leaves the old or the new version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from log.api import Error
from log.files import replace_atomically

META_FILE = "raft.meta"


class MetaError(Error):
    """`raft.meta` exists but cannot be read (see the message)."""


@dataclass(frozen=True, slots=True)
class RaftMeta:
    term: int = 0
    voted_for: str | None = None
    commit_index: int = 1
    trimmed_lsn: int = -1
    """Records with LSN <= this were trimmed (`RaftLog.trim`); -1 if none was."""


def load_meta(directory: Path) -> RaftMeta:
    """The stored metadata, or the initial one if none was stored yet."""
    path = directory / META_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return RaftMeta()
    try:
        meta = json.loads(raw)
        voted_for = meta["voted_for"]
        if voted_for is not None and not isinstance(voted_for, str):
            raise TypeError(f"voted_for must be a string, got {voted_for!r}")
        trimmed_lsn = int(meta.get("trimmed_lsn", -1))  # absent in directories from before trim
        return RaftMeta(int(meta["term"]), voted_for, int(meta["commit_index"]), trimmed_lsn)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise MetaError(
            f"raft metadata {path} is unreadable ({e}); it is written atomically, so this is "
            f"outside damage: restore the directory from a backup or rebuild this member"
        ) from e


def store_meta(directory: Path, meta: RaftMeta, *, fsync: bool) -> None:
    data = {
        "term": meta.term,
        "voted_for": meta.voted_for,
        "commit_index": meta.commit_index,
        "trimmed_lsn": meta.trimmed_lsn,
    }
    replace_atomically(directory / META_FILE, json.dumps(data).encode(), fsync=fsync)
