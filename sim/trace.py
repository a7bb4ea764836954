"""The trace of a run: every event that shapes it (faults, log commits, side effects) feeds one
digest, so two runs of a seed can be compared with one string; the last events are kept to
print when a run fails."""

from __future__ import annotations

import hashlib
from collections import deque


class Trace:
    def __init__(self, keep: int | None = 200) -> None:
        """`keep`: how many of the last events to keep (None: all)."""
        self._digest = hashlib.sha256()
        self._recent: deque[str] = deque(maxlen=keep)
        self.events = 0

    def event(self, time_s: float, what: str) -> None:
        line = f"{time_s:12.6f} {what}"
        self._digest.update(line.encode() + b"\n")
        self._recent.append(line)
        self.events += 1

    def data(self, raw: bytes) -> None:
        """Feed bytes (a log record) into the digest without keeping them."""
        self._digest.update(len(raw).to_bytes(4, "big") + raw)

    def digest(self) -> str:
        return self._digest.hexdigest()[:16]

    def recent(self) -> list[str]:
        return list(self._recent)
